"""`python -m pipeline report`: one self-contained page whose figures match the Parquet, rendered by Chromium.

The output is the seeds plus a JSON Lines copy of seed 002 from "Example Wire" (a text duplicate
of seed 002, in its story) and an empty file (a reject), then a run of two feeds on a loopback
server: one with articles in five scripts (Cyrillic, Arabic, Devanagari, CJK, Thai) published on
days far apart, a very long headline, and an entry whose page is missing and has no text of its
own (a reject with its link); the other answers 500. Every figure in the page is parsed back
from the HTML and compared with DuckDB queries over the same files; headless Chromium renders
the page (Debian's `chromium`, installed by the set-up when running as root, else skipped) and
the screenshot is kept under pytest's tmp dir (its path is printed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipeline.analyst.query import connect
from pipeline.analyst.report.charts import axis_ticks, time_scale
from pipeline.analyst.report.data import (
    LOCAL_FILES,
    UNDATED,
    StoryView,
    failing_since,
    lead_sentence,
    source_host,
    story_order,
)
from pipeline.analyst.report.formatting import readable_day, readable_time, safe_href
from tests.conftest import run_cli, run_seeds_with_a_wire_copy
from tests.e2e.test_feeds import HTML_TYPE, article_page, feed_reply, rss, run_feeds
from tests.http_server import LoopbackServer, Reply
from tests.pipeline.analyst.browser import (
    chromium_or_skip,
    label_boxes,
    label_problems,
    pixels_like,
    run_chromium,
    screenshot,
)

pytestmark = pytest.mark.e2e

RECORD_URL = "https://www.courier.example.net/2025/06/bridge.html"
"""A JSON Lines record with a URL and no source: its outlet is the URL's host, in the report as in ``stories``."""
DATED_BUBBLE = (0x1F, 0x6F, 0xB4)  # the fill of a dated bubble in the timeline
LONG_HEADLINE = (
    "10 Best river crossings of the decade: how the Alder footbridge, the harbour tunnel and the "
    "old ferry compare after the council's long-awaited transport review"
)
FEED_ITEMS = [  # (title, publication date)
    ("Новый мост через реку открыт для пешеходов", "Mon, 02 Jun 2025 10:00:00 GMT"),
    ("افتتاح جسر جديد للمشاة فوق النهر", "Tue, 03 Jun 2025 08:00:00 GMT"),
    ("नदी पर पैदल यात्रियों के लिए नया पुल खुला", "Fri, 20 Jun 2025 09:30:00 GMT"),
    ("河上新建人行桥正式开放", "Mon, 30 Jun 2025 12:00:00 GMT"),
    ("สะพานคนเดินแห่งใหม่เปิดให้บริการแล้ว", "Mon, 30 Jun 2025 13:00:00 GMT"),
    (LONG_HEADLINE, "Tue, 01 Jul 2025 07:00:00 GMT"),
]


class PageParser(HTMLParser):
    """Tables by id (rows of cell texts and links), timeline circles, labels, sections, and what the page loads."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[list[str | None]]] = {}
        self.circles: list[dict] = []
        self.ticks: list[dict] = []
        self.labels: list[str] = []
        self.sections: dict[str, dict] = {}
        self.loaded: list[str] = []  # src attributes, <link> elements: anything the browser would fetch
        self.hrefs: list[str] = []
        self.scripts = 0
        self._table: str | None = None
        self._row: list[str] | None = None
        self._row_links: list[str | None] | None = None
        self._cell: list[str] | None = None
        self._label: list[str] | None = None
        self._section: str | None = None
        self._timeline_depth = 0
        self._in_title = False
        self._tick: dict | None = None
        self._h3: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("src"):
            self.loaded.append(attrs["src"])
        if tag == "link":
            self.loaded.append(str(attrs))
        if attrs.get("href") and not attrs["href"].startswith("#"):
            self.hrefs.append(attrs["href"])
            if self._row_links is not None:
                self._row_links[-1] = attrs["href"]
        self.scripts += tag == "script"
        self._in_title = self._in_title or tag == "title"
        if tag == "section" and "story" in attrs.get("class", ""):
            self._section = attrs["data-story-id"]
            self.sections[self._section] = {"count": int(attrs["data-count"]), "rows": [], "links": [], "mini": []}
        if tag == "h3" and self._section:
            self._h3 = []
        if tag == "table":
            self._table = attrs.get("id") or f"story:{self._section}"
            self.tables[self._table] = []
            self.links[self._table] = []
        elif tag == "tr" and self._table:
            self._row, self._row_links = [], []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row_links.append(None)
        elif tag == "circle":
            (self.sections[self._section]["mini"] if self._section else self.circles).append(attrs)
        elif tag == "text" and "tick" in attrs.get("class", "") and "data-day" in attrs:
            self._tick = {**attrs, "text": ""}
        elif tag == "div" and "story-label" in attrs.get("class", ""):
            self._label = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self.links[self._table].append(self._row_links)
            self._row = self._row_links = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False
        elif tag == "text" and self._tick is not None:
            self.ticks.append(self._tick)
            self._tick = None
        elif tag == "div" and self._label is not None:
            self.labels.append("".join(self._label))
            self._label = None
        elif tag == "h3" and self._h3 is not None:
            self.sections[self._section]["label"] = "".join(self._h3)
            self._h3 = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._label is not None:
            self._label.append(data)
        if self._tick is not None:
            self._tick["text"] += data
        if self._h3 is not None:
            self._h3.append(data)


def table_dicts(parser: PageParser, table_id: str) -> list[dict]:
    header, *rows = parser.tables[table_id]
    return [dict(zip(header, row)) for row in rows if len(row) == len(header)]


def run_feeds_into(out: Path) -> tuple[str, str, str]:
    """The feed run on the seeds' output; returns the two feed URLs and the missing page's URL."""
    with LoopbackServer() as server:
        items = []
        for n, (title, date) in enumerate(FEED_ITEMS):
            server.route(f"/n/{n}.html", Reply(200, article_page(title, seed=f"page {n}"), {"Content-Type": HTML_TYPE}))
            items.append({"title": title, "link": server.url(f"/n/{n}.html"), "guid": f"urn:n:{n}", "pubDate": date})
        missing = server.url("/n/missing.html")
        items.append({"title": "ข่าว: หน้าหายไป", "link": missing, "guid": "urn:n:missing"})  # 404, no text
        server.route("/world.xml", feed_reply(rss(items, title="Loopback World")))
        server.route("/down.xml", Reply(500, b"down"))
        feed, down = server.url("/world.xml"), server.url("/down.xml")
        run_feeds(out, "--feed", feed, "--feed", down)
    return feed, down, missing


def run_a_record_with_a_url(out: Path, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("record")
    text = " ".join(["The courier reports that the new footbridge over the river opened to walkers on Monday."] * 12)
    (folder / "courier.jsonl").write_text(json.dumps({"url": RECORD_URL, "title": "Footbridge opens", "text": text}))
    run_cli("run", "--input", str(folder), "--output", str(out), "--catalog", "")


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    out = run_seeds_with_a_wire_copy(tmp_path_factory)
    run_feeds_into(out)
    run_a_record_with_a_url(out, tmp_path_factory)
    assert run_cli("report", "--output", str(out)).stdout.strip().endswith("report.html")
    return out


@pytest.fixture(scope="module")
def page(output) -> PageParser:
    parser = PageParser()
    parser.feed((output / "report.html").read_text())
    return parser


def sql(query: str, output: Path) -> list[tuple]:
    return duckdb.sql(query.replace("OUTPUT", str(output))).fetchall()


ARTICLES_SQL = "read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning=true)"
STORIES_SQL = "read_parquet('OUTPUT/stories/*.parquet')"
REJECTS_SQL = "read_parquet('OUTPUT/rejects/*/*.parquet', hive_partitioning=true)"
POLLS_SQL = "read_parquet('OUTPUT/feed_polls/*/*.parquet', hive_partitioning=true)"


def test_page_is_self_contained(page, output):
    html = (output / "report.html").read_text()
    assert page.loaded == [] and page.scripts == 0
    assert "@import" not in html and "url(" not in html
    known = {
        url
        for (url,) in sql(
            f"SELECT url FROM {ARTICLES_SQL} UNION SELECT feed_url FROM {POLLS_SQL}"
            f" UNION SELECT coalesce(entry_link, page_url, source_uri) FROM {REJECTS_SQL}",
            output,
        )
    }
    assert page.hrefs and set(page.hrefs) <= known  # only links to the articles, feeds and rejected items


def test_headline_figures(page, output):
    kpis = {k: int(v) for k, v in page_kpis(output).items()}
    ((articles, duplicates, undated),) = sql(
        f"SELECT count(*), count(duplicate_of), count(*) FILTER (WHERE published_date IS NULL) FROM {ARTICLES_SQL}",
        output,
    )
    assert (kpis["articles"], kpis["duplicates"], kpis["undated"]) == (articles, duplicates, undated)
    assert kpis["stories"] == sql(f"SELECT count(*) FROM {STORIES_SQL}", output)[0][0]
    assert kpis["rejects"] == sql(f"SELECT count(*) FROM {REJECTS_SQL}", output)[0][0]
    assert kpis["feeds"] == sql(f"SELECT count(DISTINCT feed_url) FROM {POLLS_SQL}", output)[0][0] == 2


def page_kpis(output: Path) -> dict[str, str]:
    import re

    html = (output / "report.html").read_text()
    return {
        name: value for value, name in re.findall(r'<div class="kpi" id="kpi-[\w-]+"><b>(\d+)</b>([\w ]+)</div>', html)
    }


def expected_story_order(output: Path) -> list[tuple[str, str, int]]:
    """Stories by article count, ties by latest publication (else ingestion), then label: (id, label, articles)."""
    return [
        (story_id, label, n)
        for story_id, label, n, _ in sql(
            "SELECT s.story_id, s.story_label, s.article_count,"
            " coalesce(greatest(max(a.published_at), any_value(s.last_published)), max(a.ingested_at)) AS latest"
            f" FROM {STORIES_SQL} AS s JOIN {ARTICLES_SQL} AS a USING (story_id)"
            " GROUP BY ALL ORDER BY s.article_count DESC, latest DESC, s.story_label",
            output,
        )
    ]


def test_timeline_counts_order_and_current_labels(page, output):
    expected = {
        (story, str(day) if day else UNDATED): n
        for story, day, n in sql(f"SELECT story_id, published_date, count(*) FROM {ARTICLES_SQL} GROUP BY 1, 2", output)
    }
    shown = {(c["data-story-id"], c["data-day"]): int(c["data-count"]) for c in page.circles}
    order = expected_story_order(output)
    assert len(order) <= 15 and shown == expected
    assert page.labels == [label for _, label, _ in order]  # the stories table's labels, in order, whole
    assert LONG_HEADLINE in page.labels  # never clipped: the label is wrapping HTML text, not a cut SVG string


def test_timeline_is_on_a_true_time_scale(page, output):
    positions = {}
    for circle in page.circles:
        if circle["data-day"] != UNDATED:
            positions.setdefault(dt.date.fromisoformat(circle["data-day"]), set()).add(float(circle["cx"]))
    assert all(len(xs) == 1 for xs in positions.values())  # one x per day, whatever the story
    days = sorted(positions)
    assert len(days) >= 4
    first, last = days[0], days[-1]
    per_day = (positions[last].pop() - next(iter(positions[first]))) / (last - first).days
    for day in days[1:-1]:
        x = next(iter(positions[day]))
        assert abs(x - (next(iter(positions[first])) + per_day * (day - first).days)) < 0.2, day
    assert page.ticks and all(t["text"].endswith(t["data-day"][:4]) for t in page.ticks)  # e.g. '2 Jun 2025'


def test_every_story_has_a_section_with_its_articles(page, output):
    order = expected_story_order(output)
    assert list(page.sections) == [story_id for story_id, _, _ in order]
    for story_id, label, count in order:
        section = page.sections[story_id]
        rows = sql(
            "SELECT title, url, source_uri, text FROM "
            f"{ARTICLES_SQL} WHERE story_id = '{story_id}' ORDER BY published_at NULLS LAST, title",
            output,
        )
        assert section["label"] == label and section["count"] == len(rows) == count
        shown = table_dicts(page, f"story:{story_id}")
        links = page.links[f"story:{story_id}"][1:]
        # every article identifiable: its headline (else its lead sentence), then its URL or file name
        assert [r["headline"] for r in shown] == [
            (title or lead_sentence(text)) + (url or source_uri.rsplit("/", 1)[-1])
            for title, url, source_uri, text in rows
        ]
        assert [cells[2] for cells in links] == [url for _, url, _, _ in rows]
        mini = Counter()
        for circle in section["mini"]:
            mini[circle["data-day"]] += int(circle["data-count"])
        assert sum(mini.values()) == len(rows)


def test_headline_less_texts_show_their_lead_sentence_and_file_name(page, output):
    rows = sql(f"SELECT story_id, source_uri, url, text FROM {ARTICLES_SQL} WHERE title IS NULL", output)
    assert any(url is None for _, _, url, _ in rows), "the seeds have headline-less texts without a URL"
    for story_id, source_uri, url, text in rows:
        shown = [r["headline"] for r in table_dicts(page, f"story:{story_id}")]
        where = url or source_uri.rsplit("/", 1)[-1]  # e.g. 003_af398259dd468702.txt
        assert f"{lead_sentence(text)}{where}" in shown
        assert 25 <= len(lead_sentence(text)) <= 160 and "(no headline)" not in shown


def test_a_date_without_a_time_is_shown_as_a_date(page, output):
    rows = sql(
        f"SELECT story_id, published_at, published_precision FROM {ARTICLES_SQL} WHERE published_at IS NOT NULL", output
    )
    precisions = set()
    for story_id, published, precision in rows:
        shown = [r["published"] for r in table_dicts(page, f"story:{story_id}")]
        if precision == "day":
            assert readable_day(published.astimezone(dt.UTC).date()) in shown
            precisions.add(precision)
        else:
            assert readable_time(published) in shown
            precisions.add("time")
    assert precisions == {"day", "time"}
    every = [r["published"] for story in page.sections for r in table_dicts(page, f"story:{story}")]
    assert not any("00:00 UTC" in when for when in every)
    assert not any(r["first published"].endswith("UTC") for r in table_dicts(page, "stories"))


def test_one_outlet_rule_in_the_report_and_in_stories(page, output):
    expected = (
        connect(str(output))
        .sql("SELECT story_id, outlet(source, url) AS outlet FROM articles WHERE story_id IS NOT NULL")
        .fetchall()
    )
    by_story: dict[str, Counter] = {}
    for story_id, name in expected:
        by_story.setdefault(story_id, Counter())[name] += 1
    for story_id, outlets in by_story.items():
        assert Counter(r["outlet"] for r in table_dicts(page, f"story:{story_id}")) == outlets, story_id
    (record_story,) = sql(f"SELECT story_id FROM {ARTICLES_SQL} WHERE url = '{RECORD_URL}'", output)[0]
    shown = run_cli("stories", "--output", str(output), record_story).stdout
    assert "courier.example.net" in shown  # the record's host, in stories …
    assert "courier.example.net" in by_story[record_story]  # … and in the report
    feed_outlets = {name for story in by_story.values() for name in story}
    assert "Loopback World" not in feed_outlets  # the feed's title is no outlet


def test_feed_health_matches_feed_polls(page, output):
    rows = {r["feed"]: r for r in table_dicts(page, "feeds")}
    expected = sql(
        "SELECT feed_url, count(*), sum(new_entries), sum(articles), sum(rejects), max(consecutive_failures),"
        f" any_value(error) FROM {POLLS_SQL} GROUP BY 1",
        output,
    )
    assert set(rows) == {feed for feed, *_ in expected}
    for feed, polls, new_entries, articles, rejects, failures, error in expected:
        row = rows[feed]
        assert (int(row["polls"]), int(row["new entries"]), int(row["articles"]), int(row["rejects"])) == (
            polls,
            new_entries,
            articles,
            rejects,
        )
        assert int(row["failures in a row"]) == failures
        assert row["last status"] == (error or "200")
        assert bool(row["failing since"]) == (error is not None)
    (down,) = [r for r in rows.values() if r["last status"] == "http_500"]
    assert down["failing since"].endswith("UTC") and down["next attempt"].endswith("UTC")
    (world,) = [r for r in rows.values() if r["last status"] == "200"]
    assert (int(world["articles"]), int(world["rejects"])) == (len(FEED_ITEMS), 1)
    assert float(world["new entries per day"]) == len(FEED_ITEMS) + 1


def test_rejects_list_has_links_and_reasons(page, output):
    expected = sql(
        f"SELECT reason, coalesce(entry_link, page_url, source_uri), attempt FROM {REJECTS_SQL} ORDER BY reason",
        output,
    )
    shown = table_dicts(page, "reject-list")
    links = page.links["reject-list"][1:]
    assert sorted((r["reason"], r["try"]) for r in shown) == sorted(
        (reason, "" if attempt is None else str(attempt)) for reason, _, attempt in expected
    )
    by_reason = {r["reason"]: cells[3] for r, cells in zip(shown, links)}
    assert by_reason["http_404"].endswith("/n/missing.html")
    assert by_reason["http_500"].endswith("/down.xml")
    assert by_reason["empty_file"] is None  # a local file: shown, not linked
    assert {reason for reason, _, _ in expected} == {"empty_file", "http_404", "http_500"}


def test_stories_table_matches_the_stories_parquet(page, output):
    expected = {
        (label, source, n, story_id)
        for label, source, n, story_id in sql(
            f"SELECT story_label, label_source, article_count, story_id FROM {STORIES_SQL}", output
        )
    }
    shown = [(r["story"], r["label source"], int(r["articles"]), r["story_id"]) for r in table_dicts(page, "stories")]
    assert set(shown) == expected
    assert [story_id for *_, story_id in shown] == [story_id for story_id, _, _ in expected_story_order(output)]
    assert ("ISS withdrawal", 6) in [(label, n) for label, _, n, _ in shown]


def test_per_source_quality_matches_the_data(page, output):
    rows = {r["origin"]: r for r in table_dicts(page, "sources")}
    assert set(rows) == {LOCAL_FILES, "127.0.0.1"}
    assert "courier.example.net" in rows[LOCAL_FILES]["outlets"]  # a local record's outlet is its URL's host
    for origin, where in (
        (LOCAL_FILES, "NOT starts_with(source_uri, 'http')"),
        ("127.0.0.1", "starts_with(source_uri, 'http')"),
    ):
        ((articles, duplicates, undated),) = sql(
            "SELECT count(*), count(duplicate_of), count(*) FILTER (WHERE published_date IS NULL)"
            f" FROM {ARTICLES_SQL} WHERE {where}",
            output,
        )
        ((rejects,),) = sql(f"SELECT count(*) FROM {REJECTS_SQL} WHERE {where}", output)
        row = rows[origin]
        assert (int(row["articles"]), int(row["duplicates"]), int(row["missing date"]), int(row["rejects"])) == (
            articles,
            duplicates,
            undated,
            rejects,
        )
        assert row["extraction success"] == f"{100 * articles / (articles + rejects):.1f}%"
    assert rows[LOCAL_FILES]["rejects by reason"] == "empty_file: 1"
    assert rows["127.0.0.1"]["rejects by reason"] == "http_404: 1, http_500: 1"


def test_rejects_by_reason_and_runs_match(page, output):
    expected = sql(f"SELECT stage, reason, count(*) FROM {REJECTS_SQL} GROUP BY ALL ORDER BY 3 DESC, 1, 2", output)
    assert [(r["stage"], r["reason"], int(r["rejects"])) for r in table_dicts(page, "rejects")] == expected
    records = [
        json.loads(p.read_text())
        for p in sorted((output / "_runs").glob("*.json"), reverse=True)
        if not p.name.endswith(".summary.json")
    ]
    summaries = {
        r["run_id"]: json.loads((output / "_runs" / f"{r['run_id']}.summary.json").read_text()) for r in records
    }
    shown = table_dicts(page, "runs")
    assert [(r["run_id"], int(r["inputs"]), int(r["articles"]), int(r["files"])) for r in shown] == [
        (rec["run_id"], summaries[rec["run_id"]]["inputs"], rec["rows"]["articles"], len(rec["files"]))
        for rec in records
    ]
    assert [r["started at"] for r in shown] == [readable_time(rec["started_at"]) for rec in records]


def test_lead_sentence():
    assert lead_sentence("Dr. Smith said on Tuesday that the bridge is open. It is.") == (
        "Dr. Smith said on Tuesday that the bridge is open."
    )
    assert (
        lead_sentence("河上新建人行桥正式开放，市民可以步行过河。第二句。")
        == "河上新建人行桥正式开放，市民可以步行过河。"
    )
    assert (
        lead_sentence("नदी पर पैदल यात्रियों के लिए नया पुल आज खुला। दूसरा वाक्य।") == "नदी पर पैदल यात्रियों के लिए नया पुल आज खुला।"
    )
    long_thai = "สะพานคนเดินแห่งใหม่เปิดให้บริการแล้ว" * 10
    assert lead_sentence(long_thai).endswith("…") and len(lead_sentence(long_thai)) == 160
    assert lead_sentence("word " * 100).endswith("word…") and len(lead_sentence("word " * 100)) <= 160


def test_helpers():
    assert source_host("https://feeds.example.org/rss") == "feeds.example.org"
    assert source_host("/data/seeds/a.txt") == source_host("file.jsonl#line=3") == LOCAL_FILES
    x = time_scale(dt.date(2024, 1, 1), dt.date(2024, 1, 11), 0, 100)
    assert (x(dt.date(2024, 1, 1)), x(dt.date(2024, 1, 2)), x(dt.date(2024, 1, 11))) == (0, 10, 100)
    assert time_scale(dt.date(2024, 1, 1), dt.date(2024, 1, 1), 0, 100)(dt.date(2024, 1, 1)) == 50
    assert [t.day for t in axis_ticks(dt.date(2024, 1, 1), dt.date(2024, 1, 3))] == [
        dt.date(2024, 1, d) for d in (1, 2, 3)
    ]
    assert all(t.day.day == 1 for t in axis_ticks(dt.date(2024, 1, 15), dt.date(2024, 9, 1)))
    assert readable_time("2022-07-26T09:05:00+00:00") == "26 Jul 2022, 09:05 UTC"
    assert safe_href("javascript:alert(1)") is None and safe_href("https://x.example/a") == "https://x.example/a"


def test_ties_are_broken_by_recency():
    def story(name: str, count: int, day: int) -> StoryView:
        when = dt.datetime(2024, 3, day, tzinfo=dt.UTC)
        return StoryView(name, name, article_count=count, last_published=when)

    stories = [story("A older", 1, 1), story("B big", 5, 2), story("C newer", 1, 9), story("D newest", 1, 20)]
    assert [s.label for s in sorted(stories, key=story_order)] == ["B big", "D newest", "C newer", "A older"]


def test_failing_since_is_the_first_failure_after_the_last_success():
    t = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in range(1, 5)]
    polls = [
        {"polled_at": t[0], "error": None},
        {"polled_at": t[1], "error": "timeout"},
        {"polled_at": t[2], "error": "http_500"},
    ]
    assert failing_since(polls) == t[1]
    assert failing_since([*polls, {"polled_at": t[3], "error": None}]) is None


def test_missing_output_is_an_error(tmp_path):
    result = run_cli("report", "--output", str(tmp_path / "nothing"), check=False)
    assert result.returncode == 2 and "does not exist" in result.stderr


# --- headless Chromium ----------------------------------------------------------------------


def test_chromium_renders_the_page(output, page, tmp_path_factory):
    chromium = chromium_or_skip()
    report = output / "report.html"
    dom = run_chromium(chromium, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<div id="timeline"' in dom.stdout and dom.stdout.count('<circle class="cell"') == len(page.circles)
    assert f">{LONG_HEADLINE}</a></div>" in dom.stdout and "ISS withdrawal" in dom.stdout
    assert label_problems(label_boxes(chromium, report)) == []  # no timeline label clipped or overlapping

    target = screenshot(chromium, report, tmp_path_factory.mktemp("report-screenshot") / "report.png", height=2400)
    print(f"report screenshot: {target}")  # kept as the test's artefact
    assert pixels_like(target, DATED_BUBBLE) > 30, "the dated bubbles of the timeline are not in the screenshot"
