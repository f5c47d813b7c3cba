"""End to end: feeds served by a real loopback HTTP server, the CLI as a subprocess, Parquet read back with DuckDB.

Each test scripts a ``LoopbackServer`` (feeds written inline, article pages on the same or another
server), runs ``python -m pipeline run --feed ...`` one or more times and checks the tables, the
state store (``feeds.json``), the run summary and what the server saw (``requests_to``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
from collections.abc import Callable, Iterable
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_cli
from tests.http_server import LoopbackServer, RecordedRequest, Reply
from tests.http_server import loopback_server as loopback_server_fixture  # noqa: F401 (registers the fixture)

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
RDF_TYPE = "application/rdf+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

# --- content builders ------------------------------------------------------------------------

_WORDS = """
harbour council budget river bridge station teacher market farmers rain winter festival library
museum railway airport hospital doctors nurses engineers mayor village county coast mountain forest
energy solar turbines grid prices wages workers union factory exports imports shipping port cargo
court judge jury verdict appeal lawyers police officers residents neighbours volunteers charity
school pupils exams results students university research scientists laboratory vaccine trial
patients clinic storm flood drought harvest wheat barley orchard vineyard tourism hotels visitors
parliament minister election voters candidates debate campaign poll survey report inquiry audit
company shares investors profit losses merger startup software network satellite launch rocket
orbit telescope planet comet discovery fossil dinosaur excavation archaeologists ruins temple
"""
_VOCABULARY = _WORDS.split()


def paragraphs(seed: str, count: int = 6, words: int = 30) -> list[str]:
    """Distinct, readable-looking paragraphs (each page its own text, so no two pages share a hash)."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        sentences, left = [], words
        while left > 0:
            n = min(left, rng.randint(8, 14))
            chosen = [rng.choice(_VOCABULARY) for _ in range(n)]
            sentences.append(" ".join(chosen).capitalize() + ".")
            left -= n
        result.append(" ".join(sentences))
    return result


def article_page(title: str, seed: str | None = None, page_date: str | None = None) -> bytes:
    """An article page of about 180 words in <article><p>…."""
    meta = f'<meta property="article:published_time" content="{page_date}">' if page_date else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(seed or title))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>{meta}</head>"
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        f"<footer>Copyright The Loopback Times</footer></body></html>"
    ).encode()


def long_text(seed: str) -> str:
    """Entry text well above --min-words."""
    return " ".join(paragraphs(seed, count=2, words=25))


def rss(items: Iterable[dict], title: str = "Loopback RSS") -> bytes:
    """RSS 2.0; item keys: title, link, guid, pubDate, description, content (content:encoded)."""
    parts = []
    for item in items:
        fields = []
        for key in ("title", "link", "guid", "pubDate", "description"):
            if item.get(key) is not None:
                fields.append(f"<{key}>{escape(item[key])}</{key}>")
        if item.get("content") is not None:
            fields.append(f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>")
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link><description>test feed</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def atom(entries: Iterable[dict], title: str = "Loopback Atom") -> bytes:
    """Atom 1.0; entry keys: title, link, id, published, updated, summary."""
    parts = []
    for entry in entries:
        summary = f"<summary>{escape(entry['summary'])}</summary>" if entry.get("summary") else ""
        parts.append(
            f"<entry><title>{escape(entry['title'])}</title><link rel='alternate' href='{escape(entry['link'])}'/>"
            f"<id>{escape(entry['id'])}</id><published>{entry['published']}</published>"
            f"<updated>{entry.get('updated', entry['published'])}</updated>{summary}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>"
        "<updated>2025-06-04T00:00:00Z</updated><author><name>Atom Desk</name></author>" + "".join(parts) + "</feed>"
    ).encode()


def rdf(items: Iterable[dict], title: str = "Loopback RDF") -> bytes:
    """RSS 1.0 (RDF); item keys: title, link, date (dc:date), description."""
    items = list(items)
    seq = "".join(f"<rdf:li rdf:resource='{escape(i['link'])}'/>" for i in items)
    parts = "".join(
        f"<item rdf:about='{escape(i['link'])}'><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<dc:date>{i['date']}</dc:date>"
        + (f"<description>{escape(i['description'])}</description>" if i.get("description") else "")
        + "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel rdf:about='http://example.org/rdf'><title>{escape(title)}</title><link>http://example.org/</link>"
        f"<description>test</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>" + parts + "</rdf:RDF>"
    ).encode()


def simple_rss(server: LoopbackServer, name: str, count: int = 2, **extra: str) -> tuple[bytes, list[str]]:
    """An RSS feed of ``count`` items linking to pages /NAME/N.html on ``server``; routes the pages;
    returns (feed, page paths)."""
    paths = [f"/{name}/{n}.html" for n in range(count)]
    for path in paths:
        server.route(path, Reply(200, article_page(f"{name} story {path}"), {"Content-Type": HTML_TYPE}))
    items = [
        {
            "title": f"{name} story {n}",
            "link": server.url(p),
            "guid": f"urn:{name}:{n}",
            "pubDate": "Mon, 02 Jun 2025 10:00:00 GMT",
            **extra,
        }
        for n, p in enumerate(paths)
    ]
    return rss(items, title=name), paths


def feed_reply(body: bytes, content_type: str = RSS_TYPE, **headers: str) -> Reply:
    return Reply(200, body, {"Content-Type": content_type, **headers})


# --- running and reading back ----------------------------------------------------------------


def run_feeds(out: Path, *args: str, host_delay: float = 0.0, private_ok: bool = True, check: bool = True):
    """The CLI on feeds only (no catalog; -v lists the counters), then the check every run must pass: no leftovers."""
    argv = ["run", "-v", "--output", str(out), "--catalog", "", "--host-delay", str(host_delay), *args]
    if private_ok:
        argv.append("--allow-private-network")
    result = run_cli(*argv, check=False)
    if check and result.returncode != 0:
        raise CliFailed(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    assert_no_leftovers(out)
    return result


class CliFailed(RuntimeError):
    """The CLI exited non-zero: never an expected failure (the xfail tests only expect AssertionError)."""


def assert_no_leftovers(out: Path) -> None:
    if not out.exists():
        return
    staging = [p for p in out.rglob("*") if p.name.startswith("_staging-")]
    temporary = [p for p in out.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name or p.name.startswith(".tmp")]
    assert not staging and not temporary, (staging, temporary)


def table(out: Path, name: str, where: str = "") -> list[dict]:
    """Rows of ``articles`` or ``rejects`` as dicts ([] before anything was written)."""
    if not list((out / name).glob("*/*.parquet")):
        return []
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{out}/{name}/*/*.parquet', hive_partitioning=true) {where}")
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def articles(out: Path) -> list[dict]:
    return table(out, "articles")


def rejects(out: Path) -> list[dict]:
    return table(out, "rejects")


def feed_states(out: Path) -> dict[str, dict]:
    path = out / "_state" / "feeds.json"
    return {item["feed_url"]: item for item in json.loads(path.read_text())["feeds"]}


def summary_figure(stdout: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}\s+(.*)$", stdout, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{stdout}"
    return match.group(1).strip()


def counters_of(stdout: str) -> dict[str, int]:
    """The counters a ``-v`` run lists under its summary, one ``name = value`` per line."""
    block = stdout.split("\n  counters\n", 1)[1].split("\nTry:", 1)[0]
    return {name: int(value) for name, value in re.findall(r"^\s+([\w.]+) = (\d+)$", block, re.MULTILINE)}


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def page_paths(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith(".html")]


# --- 1. three formats, then conditional GET --------------------------------------------------


def validating(
    body: bytes, content_type: str, answered: list[int], etag: str | None = None, last_modified: str | None = None
) -> Callable[[RecordedRequest], Reply]:
    """A feed route that answers 304 when the request carries the validators it handed out."""

    def reply(request: RecordedRequest) -> Reply:
        matches_etag = etag is not None and request.headers.get("if-none-match") == etag
        matches_date = last_modified is not None and request.headers.get("if-modified-since") == last_modified
        validators = {k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v}
        if matches_etag or (matches_date and "if-none-match" not in request.headers):
            answered.append(304)
            return Reply(304, b"", validators)
        answered.append(200)
        return Reply(200, body, {"Content-Type": content_type, **validators})

    return reply


def test_rss_atom_rdf_ingested_then_second_run_is_not_modified(loopback_server, tmp_path):
    server = loopback_server
    page_date = "2025-01-15T08:00:00+00:00"
    pages = {
        f"/{kind}/{n}.html": f"{kind} article {n}"
        for kind, count in (("rss", 3), ("atom", 2), ("rdf", 2))
        for n in range(count)
    }
    for path, title in pages.items():
        server.route(path, Reply(200, article_page(title, page_date=page_date), {"Content-Type": HTML_TYPE}))
    rss_body = rss(
        {
            "title": pages[f"/rss/{n}.html"],
            "link": server.url(f"/rss/{n}.html"),
            "guid": f"urn:rss:{n}",
            "pubDate": f"Tue, 03 Jun 2025 0{n}:39:21 +0200",
            "description": "Short teaser.",
        }
        for n in range(3)
    )
    atom_body = atom(
        {
            "title": pages[f"/atom/{n}.html"],
            "link": server.url(f"/atom/{n}.html"),
            "id": f"tag:loopback,2025:atom-{n}",
            "published": f"2025-06-03T1{n}:00:00-05:00",
        }
        for n in range(2)
    )
    rdf_body = rdf(
        {
            "title": pages[f"/rdf/{n}.html"],
            "link": server.url(f"/rdf/{n}.html"),
            "date": f"2025-06-04T0{n + 8}:30:00+01:00",
        }
        for n in range(2)
    )
    answered: dict[str, list[int]] = {"/rss.xml": [], "/atom.xml": [], "/rdf.xml": []}
    server.route("/rss.xml", validating(rss_body, RSS_TYPE, answered["/rss.xml"], etag='"rss-v1"'))
    server.route(
        "/atom.xml",
        validating(atom_body, ATOM_TYPE, answered["/atom.xml"], last_modified="Wed, 04 Jun 2025 10:00:00 GMT"),
    )
    server.route(
        "/rdf.xml",
        validating(
            rdf_body, RDF_TYPE, answered["/rdf.xml"], etag='W/"rdf-1"', last_modified="Wed, 04 Jun 2025 11:00:00 GMT"
        ),
    )
    out = tmp_path / "out"
    feeds = [arg for path in answered for arg in ("--feed", server.url(path))]

    first = run_feeds(out, *feeds)

    rows = {row["url"]: row for row in articles(out)}
    assert set(rows) == {server.url(path) for path in pages}
    assert {row["text_source"] for row in rows.values()} == {"page"}
    assert {row["date_source"] for row in rows.values()} == {"feed"}
    expected_dates = {
        **{server.url(f"/rss/{n}.html"): utc(f"2025-06-03T0{n}:39:21+02:00") for n in range(3)},
        **{server.url(f"/atom/{n}.html"): utc(f"2025-06-03T1{n}:00:00-05:00") for n in range(2)},
        **{server.url(f"/rdf/{n}.html"): utc(f"2025-06-04T0{n + 8}:30:00+01:00") for n in range(2)},
    }
    for url, row in rows.items():
        assert row["feed_published_at"] == expected_dates[url], url
        assert row["published_at"] == row["feed_published_at"]
        assert row["page_published_at"] == utc(page_date), url
        assert row["title"] == pages[url.removeprefix(server.base_url)]
        assert row["entry_id"] and len(row["text"].split()) >= 150
    assert {row["source_uri"] for row in rows.values()} == {server.url(path) for path in answered}
    a_file = next((out / "articles").glob("*/*.parquet"))
    assert str(pq.read_schema(a_file).field("feed_published_at").type) == "timestamp[us, tz=UTC]"
    assert rejects(out) == []
    assert summary_figure(first.stdout, "inputs").endswith("(feed entries: 7)")
    assert summary_figure(first.stdout, "articles written").startswith("7 ")
    assert summary_figure(first.stdout, "feeds polled") == "3 (not modified: 0, failed: 0, refused: 0)"
    assert counters_of(first.stdout).get("feeds.pages_fetched") == 7
    states = feed_states(out)
    assert states[server.url("/rss.xml")]["etag"] == '"rss-v1"'
    assert states[server.url("/atom.xml")]["last_modified"] == "Wed, 04 Jun 2025 10:00:00 GMT"
    pages_before = len(page_paths(server))
    files_before = sorted(p.name for p in (out / "articles").rglob("*.parquet"))

    second = run_feeds(out, *feeds)

    assert server.requests_to("/rss.xml")[-1].headers.get("if-none-match") == '"rss-v1"'
    assert server.requests_to("/atom.xml")[-1].headers.get("if-modified-since") == "Wed, 04 Jun 2025 10:00:00 GMT"
    assert server.requests_to("/rdf.xml")[-1].headers.get("if-none-match") == 'W/"rdf-1"'
    assert server.requests_to("/rdf.xml")[-1].headers.get("if-modified-since") == "Wed, 04 Jun 2025 11:00:00 GMT"
    assert {path: statuses for path, statuses in answered.items()} == {path: [200, 304] for path in answered}
    assert len(page_paths(server)) == pages_before, "no article page is requested again"
    assert sorted(p.name for p in (out / "articles").rglob("*.parquet")) == files_before
    assert len(articles(out)) == 7 and rejects(out) == []
    assert summary_figure(second.stdout, "articles written").startswith("0 ")
    assert summary_figure(second.stdout, "feeds polled") == "3 (not modified: 3, failed: 0, refused: 0)"
    validators = ("current_url", "etag", "last_modified")
    after = feed_states(out)
    assert {u: [s[k] for k in validators] for u, s in after.items()} == {
        u: [s[k] for k in validators] for u, s in states.items()
    }
    assert {s["last_status"] for s in after.values()} == {304}


def test_changed_feed_fetches_only_its_new_entries(loopback_server, tmp_path):
    server = loopback_server
    paths = ["/news/0.html", "/news/1.html", "/new.html"]
    for path in paths:
        server.route(path, Reply(200, article_page(f"story at {path}"), {"Content-Type": HTML_TYPE}))
    items = [
        {
            "title": f"story at {p}",
            "link": server.url(p),
            "guid": f"urn:news:{p}",
            "pubDate": "Tue, 03 Jun 2025 10:00:00 GMT",
        }
        for p in paths
    ]
    old_paths = paths[:2]
    server.route("/feed.xml", feed_reply(rss(items[:2]), ETag='"1"'), feed_reply(rss(items[::-1]), ETag='"2"'))
    out = tmp_path / "out"
    run_feeds(out, "--feed", server.url("/feed.xml"))
    second = run_feeds(out, "--feed", server.url("/feed.xml"))

    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in [*old_paths, "/new.html"])
    assert all(len(server.requests_to(p)) == 1 for p in [*old_paths, "/new.html"]), "seen entries are not fetched again"
    assert summary_figure(second.stdout, "articles written").startswith("1 ")
    assert summary_figure(second.stdout, "already ingested").startswith("2 ")
    assert feed_states(out)[server.url("/feed.xml")]["etag"] == '"2"'


# --- 2. redirects ----------------------------------------------------------------------------


def test_301_moves_the_feed_and_302_does_not(loopback_server, tmp_path):
    server = loopback_server
    moved_body, moved_pages = simple_rss(server, "moved")
    kept_body, kept_pages = simple_rss(server, "kept")
    server.route("/old.xml", Reply(301, b"", {"Location": server.url("/new.xml")}))
    server.route("/new.xml", feed_reply(moved_body))
    server.route("/temp.xml", Reply(302, b"", {"Location": "/real.xml"}))
    server.route("/real.xml", feed_reply(kept_body))
    out = tmp_path / "out"
    args = ("--feed", server.url("/old.xml"), "--feed", server.url("/temp.xml"))

    run_feeds(out, *args)

    states = feed_states(out)
    assert states[server.url("/old.xml")]["current_url"] == server.url("/new.xml")
    assert states[server.url("/temp.xml")]["current_url"] == server.url("/temp.xml")
    by_url = {row["url"]: row["source_uri"] for row in articles(out)}
    assert by_url == {
        **{server.url(p): server.url("/old.xml") for p in moved_pages},
        **{server.url(p): server.url("/temp.xml") for p in kept_pages},
    }, "source_uri stays the feed as configured"

    run_feeds(out, *args)

    assert len(server.requests_to("/old.xml")) == 1, "the next run goes to /new.xml directly"
    assert len(server.requests_to("/new.xml")) == 2
    assert len(server.requests_to("/temp.xml")) == 2 and len(server.requests_to("/real.xml")) == 2
    states = feed_states(out)
    assert states[server.url("/old.xml")]["current_url"] == server.url("/new.xml")
    assert states[server.url("/temp.xml")]["current_url"] == server.url("/temp.xml")
    assert len(articles(out)) == 4


# --- 3.–5. gone, rate limited, failing -------------------------------------------------------


def test_410_marks_the_feed_gone_until_reset(loopback_server, tmp_path):
    server = loopback_server
    body, pages = simple_rss(server, "back")
    server.route("/gone.xml", Reply(410, b"gone for good"), feed_reply(body))
    out = tmp_path / "out"
    url = server.url("/gone.xml")

    first = run_feeds(out, "--feed", url)

    (reject,) = rejects(out)
    assert (reject["source_uri"], reject["stage"], reject["reason"]) == (url, "fetch", "feed_gone")
    assert feed_states(out)[url]["gone"] is True
    assert feed_states(out)[url]["last_status"] == 410
    assert summary_figure(first.stdout, "feeds polled") == "1 (not modified: 0, failed: 1, refused: 0)"

    second = run_feeds(out, "--feed", url)

    assert len(server.requests_to("/gone.xml")) == 1, "a gone feed is not polled"
    assert summary_figure(second.stdout, "feeds polled").startswith("0 ")
    assert feed_states(out)[url]["gone"] is True

    run_feeds(out, "--feed", url, "--reset-feeds")

    assert len(server.requests_to("/gone.xml")) == 2
    assert feed_states(out)[url]["gone"] is False
    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)


def test_429_and_503_retry_after_postpone_the_feed(loopback_server, tmp_path):
    server = loopback_server
    server.route("/busy.xml", Reply(429, b"slow down", {"Retry-After": "120"}))
    maintenance_end = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).replace(microsecond=0)
    server.route(
        "/down.xml", Reply(503, b"maintenance", {"Retry-After": format_datetime(maintenance_end, usegmt=True)})
    )
    out = tmp_path / "out"
    url, down = server.url("/busy.xml"), server.url("/down.xml")

    before = dt.datetime.now(dt.UTC)
    run_feeds(out, "--feed", url, "--feed", down)
    after = dt.datetime.now(dt.UTC)

    found = {(r["source_uri"], r["stage"], r["reason"]) for r in rejects(out)}
    assert found == {(url, "fetch", "http_429"), (down, "fetch", "http_503")}
    state = feed_states(out)[url]
    next_attempt = dt.datetime.fromisoformat(state["next_attempt_at"])
    assert before + dt.timedelta(seconds=115) <= next_attempt <= after + dt.timedelta(seconds=125)
    assert state["failures"] == 1 and state["last_status"] == 429
    down_next = dt.datetime.fromisoformat(feed_states(out)[down]["next_attempt_at"])
    assert abs((down_next - maintenance_end).total_seconds()) < 5, "the HTTP-date form of Retry-After"

    second = run_feeds(out, "--feed", url, "--feed", down)

    assert len(server.requests_to("/busy.xml")) == 1 and len(server.requests_to("/down.xml")) == 1
    assert summary_figure(second.stdout, "feeds polled").startswith("0 ")


def make_due(out: Path, url: str) -> None:
    """Pretend the backoff has passed: move the feed's next attempt into the past."""
    path = out / "_state" / "feeds.json"
    stored = json.loads(path.read_text())
    for item in stored["feeds"]:
        if item["feed_url"] == url:
            item["next_attempt_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(stored))


def test_500_backs_off_exponentially_and_recovers_with_reset(loopback_server, tmp_path):
    server = loopback_server
    body, pages = simple_rss(server, "recovered")
    server.route("/flaky.xml", Reply(500, b"oops"), Reply(500, b"oops"), feed_reply(body))
    out = tmp_path / "out"
    url = server.url("/flaky.xml")

    before = dt.datetime.now(dt.UTC)
    run_feeds(out, "--feed", url)

    (reject,) = rejects(out)
    assert (reject["stage"], reject["reason"]) == ("fetch", "http_500")
    state = feed_states(out)[url]
    assert state["failures"] == 1
    wait = dt.datetime.fromisoformat(state["next_attempt_at"]) - before
    assert dt.timedelta(minutes=3.9) < wait < dt.timedelta(minutes=6.1), "about 5 minutes of backoff"

    run_feeds(out, "--feed", url)
    assert len(server.requests_to("/flaky.xml")) == 1, "backing off: not polled"

    make_due(out, url)
    before = dt.datetime.now(dt.UTC)
    run_feeds(out, "--feed", url)

    assert len(server.requests_to("/flaky.xml")) == 2
    state = feed_states(out)[url]
    assert state["failures"] == 2
    wait = dt.datetime.fromisoformat(state["next_attempt_at"]) - before
    assert dt.timedelta(minutes=7.9) < wait < dt.timedelta(minutes=12.1), "the backoff doubles"
    assert len(rejects(out)) == 1, "the same failure is not written twice"

    run_feeds(out, "--feed", url, "--reset-feeds")

    assert len(server.requests_to("/flaky.xml")) == 3
    state = feed_states(out)[url]
    assert state["failures"] == 0 and state["next_attempt_at"] is None and state["last_status"] == 200
    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)


# --- 6.–9. broken feeds ----------------------------------------------------------------------


def test_stalled_feed_times_out_and_the_other_feed_is_unaffected(loopback_server, tmp_path):
    server = loopback_server
    stalled, _ = simple_rss(server, "never")
    healthy, pages = simple_rss(server, "fine")
    server.route("/stall.xml", Reply(200, stalled, {"Content-Type": RSS_TYPE}, delay=3.0))
    server.route("/fine.xml", feed_reply(healthy))
    out = tmp_path / "out"

    result = run_feeds(
        out, "--feed", server.url("/stall.xml"), "--feed", server.url("/fine.xml"), "--http-timeout", "0.5"
    )

    (reject,) = rejects(out)
    assert (reject["source_uri"], reject["stage"], reject["reason"]) == (server.url("/stall.xml"), "fetch", "timeout")
    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)
    assert summary_figure(result.stdout, "feeds polled") == "2 (not modified: 0, failed: 1, refused: 0)"
    assert feed_states(out)[server.url("/stall.xml")]["failures"] == 1


def test_oversized_feed_is_rejected_too_large(loopback_server, tmp_path):
    server = loopback_server
    body, _ = simple_rss(server, "big", count=2, description="x" * 50_000)
    assert len(body) > 50_000

    def without_length(sock, request):  # no Content-Length: only the streaming cap can stop it
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n" + body)

    server.route("/big.xml", feed_reply(body))
    server.raw("/big-stream.xml", without_length)
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/big.xml"), "--feed", server.url("/big-stream.xml"), "--max-body-mb", "0.01")

    found = {(r["source_uri"], r["stage"], r["reason"]) for r in rejects(out)}
    assert found == {
        (server.url("/big.xml"), "fetch", "too_large"),
        (server.url("/big-stream.xml"), "fetch", "too_large"),
    }
    assert articles(out) == [] and page_paths(server) == []


def test_html_at_feed_url_is_not_a_feed_but_rss_as_text_plain_is_read(loopback_server, tmp_path):
    server = loopback_server
    body, pages = simple_rss(server, "plain")
    html_headers = {"Content-Type": HTML_TYPE, "ETag": '"home"', "Last-Modified": "Wed, 04 Jun 2025 10:00:00 GMT"}
    server.route("/page.xml", Reply(200, article_page("a home page, not a feed"), html_headers))
    server.route("/plain.xml", feed_reply(body, "text/plain; charset=utf-8"))
    out = tmp_path / "out"
    args = ("--feed", server.url("/page.xml"), "--feed", server.url("/plain.xml"))

    run_feeds(out, *args)

    (reject,) = rejects(out)
    assert (reject["source_uri"], reject["stage"], reject["reason"]) == (server.url("/page.xml"), "parse", "not_a_feed")
    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)
    assert {row["source_uri"] for row in articles(out)} == {server.url("/plain.xml")}

    run_feeds(out, *args)

    again = server.requests_to("/page.xml")[-1]
    assert "if-none-match" not in again.headers and "if-modified-since" not in again.headers, (
        "a feed we could not read is fetched in full"
    )
    assert len(rejects(out)) == 1, "the same reject is not written twice"


def test_malformed_feed_entries_are_salvaged_and_the_bozo_recorded(loopback_server, tmp_path):
    server = loopback_server
    body, pages = simple_rss(server, "broken", count=3)
    broken = body.replace(b"<description>test feed</description>", b"<description>caf&eacute; &amp; news</description>")
    assert broken != body
    server.route("/broken.xml", feed_reply(broken))
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/broken.xml"))

    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)
    assert rejects(out) == []
    bozo = feed_states(out)[server.url("/broken.xml")]["last_bozo"]
    assert bozo and "entity" in bozo.lower(), bozo


def test_unclosed_tag_feed_is_salvaged(loopback_server, tmp_path):
    server = loopback_server
    body, pages = simple_rss(server, "unclosed", count=2)
    broken = body.replace(b"</channel></rss>", b"")  # truncated: channel and rss never closed
    server.route("/unclosed.xml", feed_reply(broken))
    out = tmp_path / "out"

    result = run_feeds(out, "--feed", server.url("/unclosed.xml"))

    assert sorted(row["url"] for row in articles(out)) == sorted(server.url(p) for p in pages)
    assert feed_states(out)[server.url("/unclosed.xml")]["last_bozo"]
    assert counters_of(result.stdout).get("feeds.feeds_salvaged_bozo") == 1


# --- 10.–12. where the text comes from -------------------------------------------------------


def test_missing_pages_fall_back_to_the_entry_text_or_become_no_text(loopback_server, tmp_path):
    server = loopback_server
    items = [
        {
            "title": "teaser one",
            "link": server.url("/gone/1.html"),
            "guid": "urn:t:1",
            "description": long_text("summary one"),
        },
        {
            "title": "teaser two",
            "link": server.url("/gone/2.html"),
            "guid": "urn:t:2",
            "description": long_text("summary two"),
        },
        {"title": "title only", "link": server.url("/gone/3.html"), "guid": "urn:t:3"},
    ]
    server.route("/feed.xml", feed_reply(rss(items)))  # no page routes: every page answers 404
    out = tmp_path / "out"

    result = run_feeds(out, "--feed", server.url("/feed.xml"))

    rows = {row["url"]: row for row in articles(out)}
    assert set(rows) == {server.url("/gone/1.html"), server.url("/gone/2.html")}
    assert {row["text_source"] for row in rows.values()} == {"feed_summary"}
    assert rows[server.url("/gone/1.html")]["text"].split() == long_text("summary one").split()
    (reject,) = rejects(out)
    assert reject["reason"] == "http_404" and reject["stage"] == "fetch"
    assert reject["source_uri"].startswith(server.url("/feed.xml") + "#entry=")
    assert "404" in reject["detail"]
    assert (reject["entry_link"], reject["entry_title"], reject["page_url"]) == (
        server.url("/gone/3.html"),
        "title only",
        server.url("/gone/3.html"),
    )
    assert (reject["attempt"], reject["gave_up"]) == (1, False)
    assert all(len(server.requests_to(f"/gone/{n}.html")) == 1 for n in (1, 2, 3))
    assert counters_of(result.stdout).get("feeds.pages_http_404") == 3


def test_robots_txt_disallowed_pages_are_not_requested(loopback_server, tmp_path):
    server = loopback_server
    server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}))
    server.route("/public/open.html", Reply(200, article_page("open page"), {"Content-Type": HTML_TYPE}))
    for name in ("a", "b"):
        server.route(f"/private/{name}.html", Reply(200, article_page(f"secret {name}"), {"Content-Type": HTML_TYPE}))
    items = [
        {
            "title": "private a",
            "link": server.url("/private/a.html"),
            "guid": "urn:r:a",
            "content": f"<p>{long_text('content a')}</p>",
        },
        {
            "title": "private b",
            "link": server.url("/private/b.html"),
            "guid": "urn:r:b",
            "description": long_text("summary b"),
        },
        {
            "title": "public",
            "link": server.url("/public/open.html"),
            "guid": "urn:r:c",
            "description": long_text("summary c"),
        },
    ]
    server.route("/feed.xml", feed_reply(rss(items)))
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/feed.xml"))

    assert server.requests_to("/private/a.html") == [] and server.requests_to("/private/b.html") == []
    assert len(server.requests_to("/robots.txt")) == 1 and len(server.requests_to("/public/open.html")) == 1
    sources = {row["url"]: row["text_source"] for row in articles(out)}
    assert sources == {
        server.url("/private/a.html"): "feed_content",
        server.url("/private/b.html"): "feed_summary",
        server.url("/public/open.html"): "page",
    }
    assert rejects(out) == []


def test_no_fetch_articles_uses_the_entries_own_text(loopback_server, tmp_path):
    server = loopback_server
    items = [
        {
            "title": f"full {n}",
            "link": server.url(f"/full/{n}.html"),
            "guid": f"urn:f:{n}",
            "description": "A short teaser.",
            "content": f"<p>{long_text(f'full content {n}')}</p><p>Second paragraph of {n} here.</p>",
        }
        for n in range(2)
    ] + [
        {
            "title": "summary only",
            "link": server.url("/summary.html"),
            "guid": "urn:f:s",
            "description": long_text("only summary"),
        }
    ]
    for path in ("/full/0.html", "/full/1.html", "/summary.html"):
        server.route(path, Reply(200, article_page(path), {"Content-Type": HTML_TYPE}))
    server.route("/feed.xml", feed_reply(rss(items)))
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/feed.xml"), "--no-fetch-articles")

    assert [r.path for r in server.requests] == ["/feed.xml"], "no page and no robots.txt request"
    rows = {row["url"]: row for row in articles(out)}
    assert {url: row["text_source"] for url, row in rows.items()} == {
        server.url("/full/0.html"): "feed_content",
        server.url("/full/1.html"): "feed_content",
        server.url("/summary.html"): "feed_summary",
    }
    assert rows[server.url("/full/0.html")]["text"].endswith("Second paragraph of 0 here.")
    assert "\n\n" in rows[server.url("/full/0.html")]["text"]


# --- 13. politeness --------------------------------------------------------------------------


def gaps(requests: list[RecordedRequest]) -> list[float]:
    times = sorted(r.time for r in requests)
    return [b - a for a, b in itertools.pairwise(times)]


def test_one_host_is_paced_and_two_hosts_are_fetched_in_parallel(tmp_path):
    delay = 0.3
    with LoopbackServer() as feeds, LoopbackServer() as host_a, LoopbackServer() as host_b:
        items = []
        for name, server in (("a", host_a), ("b", host_b)):
            for n in range(4):
                path = f"/{name}/{n}.html"
                server.route(path, Reply(200, article_page(f"host {name} page {n}"), {"Content-Type": HTML_TYPE}))
                items.append({"title": f"{name}{n}", "link": server.url(path), "guid": f"urn:p:{name}{n}"})
        feeds.route("/feed.xml", feed_reply(rss(items)))
        out = tmp_path / "out"

        run_feeds(out, "--feed", feeds.url("/feed.xml"), host_delay=delay)

        assert len(articles(out)) == 8
        for server in (host_a, host_b):
            assert len(server.requests) == 5  # robots.txt + 4 pages
            assert min(gaps(server.requests)) >= delay - 0.02, gaps(server.requests)
        a_pages = sorted(r.time for r in host_a.requests)
        b_pages = sorted(r.time for r in host_b.requests)
        overlap = min(a_pages[-1], b_pages[-1]) - max(a_pages[0], b_pages[0])
        assert overlap > 0, "the two hosts' requests interleave in time"
        both = max(a_pages[-1], b_pages[-1]) - min(a_pages[0], b_pages[0])
        assert both < (a_pages[-1] - a_pages[0]) + (b_pages[-1] - b_pages[0])


def test_feed_and_pages_on_one_host_keep_the_delay(loopback_server, tmp_path):
    """The feed poll, robots.txt and the page are all requests to the one host: --host-delay between each
    (the poll and the page fetches are two Beam stages; they must share the host's pacer)."""
    delay = 1.5  # far above the pause between the two Beam stages, so the outcome doesn't depend on machine speed
    body, pages = simple_rss(loopback_server, "same", count=1)
    loopback_server.route("/feed.xml", feed_reply(body))
    out = tmp_path / "out"

    run_feeds(out, "--feed", loopback_server.url("/feed.xml"), host_delay=delay)

    assert len(articles(out)) == 1
    paths = [r.path for r in sorted(loopback_server.requests, key=lambda r: r.time)]
    assert paths == ["/feed.xml", "/robots.txt", pages[0]]
    assert min(gaps(loopback_server.requests)) >= delay - 0.02, gaps(loopback_server.requests)


# --- relative links, state directory --------------------------------------------------------


def test_relative_entry_links_resolve_against_the_feed_url(loopback_server, tmp_path):
    server = loopback_server
    server.route("/section/story.html", Reply(200, article_page("relative story"), {"Content-Type": HTML_TYPE}))
    server.route(
        "/section/feed.xml", feed_reply(rss([{"title": "relative", "link": "story.html", "guid": "urn:rel:1"}]))
    )
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/section/feed.xml"))

    assert [(row["url"], row["text_source"]) for row in articles(out)] == [(server.url("/section/story.html"), "page")]


def test_relative_entry_links_resolve_against_the_moved_feed(loopback_server, tmp_path):
    server = loopback_server
    server.route(
        "/new/section/story.html", Reply(200, article_page("moved relative story"), {"Content-Type": HTML_TYPE})
    )
    server.route("/old/feed.xml", Reply(301, b"", {"Location": server.url("/new/section/feed.xml")}))
    server.route(
        "/new/section/feed.xml", feed_reply(rss([{"title": "moved", "link": "story.html", "guid": "urn:rel:2"}]))
    )
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/old/feed.xml"))

    if feed_states(out)[server.url("/old/feed.xml")]["current_url"] != server.url("/new/section/feed.xml"):
        pytest.fail("the 301 was not followed")
    assert [row["url"] for row in articles(out)] == [server.url("/new/section/story.html")]
    assert server.requests_to("/old/story.html") == []


def test_state_directory_holds_feeds_json_and_the_ledger(loopback_server, tmp_path):
    server = loopback_server
    body, _ = simple_rss(server, "stateful")
    server.route("/feed.xml", feed_reply(body, ETag='"s1"'), Reply(304))
    out, state = tmp_path / "out", tmp_path / "state"

    run_feeds(out, "--feed", server.url("/feed.xml"), "--state", str(state))

    stored = json.loads((state / "feeds.json").read_text())["feeds"]
    assert [(s["feed_url"], s["etag"]) for s in stored] == [(server.url("/feed.xml"), '"s1"')]
    assert list((state / "seen").rglob("*.parquet")) and not (out / "_state").exists()
    assert len(articles(out)) == 2

    run_feeds(out, "--feed", server.url("/feed.xml"), "--state", str(state))

    assert server.requests_to("/feed.xml")[-1].headers.get("if-none-match") == '"s1"'
    assert len(articles(out)) == 2


# --- 14. feed lists --------------------------------------------------------------------------


def test_feeds_file_opml_feed_and_input_mixed(loopback_server, tmp_path):
    server = loopback_server
    expected: dict[str, list[str]] = {}
    for name in ("listed1", "listed2", "folder", "deep", "top", "flag"):
        body, pages = simple_rss(server, name, count=1)
        server.route(f"/{name}.xml", feed_reply(body))
        expected[server.url(f"/{name}.xml")] = [server.url(p) for p in pages]
    feeds_txt = tmp_path / "list.txt"
    feeds_txt.write_text(
        "# my subscriptions\n\n"
        f"{server.url('/listed1.xml')}   # the first one\n"
        "   # an indented comment\n"
        f"{server.url('/listed2.xml')}\n"
        f"{server.url('/listed1.xml')}\n"  # a repeat is polled once
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>subs</title></head><body>'
        '<outline text="News">'
        f'<outline text="folder feed" type="rss" xmlUrl="{server.url("/folder.xml")}"/>'
        f'<outline text="Inner"><outline text="deep" type="rss" xmlUrl="{server.url("/deep.xml")}"/></outline>'
        "</outline>"
        f'<outline text="top" type="rss" xmlURL="{server.url("/top.xml")}" htmlUrl="{server.url("/")}"/>'
        "</body></opml>"
    )
    seed = tmp_path / "seed.txt"
    seed.write_text("Harbour council approves new budget\n\n" + "\n\n".join(paragraphs("seed file", 4, 30)) + "\n")
    out = tmp_path / "out"

    result = run_feeds(
        out, "--feeds", str(feeds_txt), "--feeds", str(opml), "--feed", server.url("/flag.xml"), "--input", str(seed)
    )

    rows = articles(out)
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row["source_uri"], []).append(row["url"])
    assert {k: v for k, v in by_source.items() if k.startswith("http")} == expected
    seed_rows = [row for row in rows if not row["source_uri"].startswith("http")]
    assert len(seed_rows) == 1 and seed_rows[0]["source_uri"].endswith("seed.txt")
    assert seed_rows[0]["title"] == "Harbour council approves new budget"
    assert len(server.requests_to("/listed1.xml")) == 1
    assert set(feed_states(out)) == set(expected)
    assert summary_figure(result.stdout, "inputs") == "7 (feed entries: 6)"


# --- 15. cross-run dedup ---------------------------------------------------------------------


def test_article_from_a_second_feed_is_not_written_again(loopback_server, tmp_path):
    server = loopback_server
    server.route("/shared-story.html", Reply(200, article_page("the shared story"), {"Content-Type": HTML_TYPE}))
    server.route("/b-only.html", Reply(200, article_page("only in feed b"), {"Content-Type": HTML_TYPE}))
    server.route(
        "/a.xml",
        feed_reply(rss([{"title": "shared", "link": server.url("/shared-story.html"), "guid": "urn:feed-a:1"}])),
    )
    server.route(
        "/b.xml",
        feed_reply(
            rss(
                [
                    {
                        "title": "shared again",
                        "link": server.url("/shared-story.html?utm_source=feed-b"),
                        "guid": "urn:feed-b:77",
                    },
                    {"title": "b only", "link": server.url("/b-only.html"), "guid": "urn:feed-b:78"},
                ]
            )
        ),
    )
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/a.xml"))
    second = run_feeds(out, "--feed", server.url("/b.xml"))

    rows = articles(out)
    shared = [row for row in rows if row["url"] == server.url("/shared-story.html")]
    assert len(shared) == 1 and shared[0]["source_uri"] == server.url("/a.xml")
    assert [row["url"] for row in rows if row["source_uri"] == server.url("/b.xml")] == [server.url("/b-only.html")]
    assert summary_figure(second.stdout, "articles written").startswith("1 ")
    assert summary_figure(second.stdout, "already ingested").startswith("1 ")


# --- 16. SSRF --------------------------------------------------------------------------------


def test_private_address_refused_without_the_flag(loopback_server, tmp_path):
    server = loopback_server
    body, _ = simple_rss(server, "private")
    server.route("/feed.xml", feed_reply(body))
    out = tmp_path / "out"
    url = server.url("/feed.xml")

    result = run_feeds(out, "--feed", url, private_ok=False)

    (reject,) = rejects(out)
    assert (reject["source_uri"], reject["stage"], reject["reason"]) == (url, "fetch", "private_address")
    assert server.requests == [], "no request reaches the server"
    assert articles(out) == []
    assert summary_figure(result.stdout, "feeds polled") == "1 (not modified: 0, failed: 0, refused: 1)"
