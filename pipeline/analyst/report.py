"""``python -m pipeline report --output DIR``: one self-contained HTML page about what is in DIR.

``DIR/report.html`` holds, top to bottom: headline figures; a story timeline (articles per story
per day on a true time scale, inline SVG); one section per story with its articles (date,
outlet, headline linked to the article) and a small timeline of its own; feed health (last
status, failing since, new entries per day, from ``feed_polls``); a list of rejects with the
item's link and the reason; per-source quality; rejects by reason; the last runs.

Labels are the stories table's, the current ones (``articles.story_label`` is the label at
ingestion). Stories are ordered by article count, ties broken by recency (latest article first).
No scripts, fonts or style sheets are loaded from anywhere: the page opens offline and can be
mailed; links go only to http(s) article and feed URLs. Figures are computed with pyarrow from
the committed Parquet files (only the columns needed; article text is never read) and the run
records in ``DIR/_runs/``; all paths go through Beam's FileSystems.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.arguments import Command, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT
from pipeline.options import ReportOptions
from pipeline.run_record import FORGET, RUN, SUMMARY_SUFFIX, RunRecord, read_record, record_paths
from pipeline.summary import RunSummary
from schemas import ARTICLES, FEED_POLLS, REJECTS, STORIES, TableSpec
from schemas.tables import HIVE_NULL_PARTITION
from transforms.output.files import match_paths, read_json, write_bytes_atomically
from transforms.output.layout import RUNS_DIR, committed_files

REPORT_FILE = "report.html"
UNDATED = "undated"
LOCAL_FILES = "local files"
TIMELINE_STORIES = 15
"""Stories in the main timeline."""
STORY_SECTIONS = 100
"""Stories given a section of their own (the stories table lists them all)."""
ARTICLES_PER_STORY = 50
"""Articles listed in a story's section (its count says how many there are)."""
REJECTS_LISTED = 200
"""Newest rejects listed one by one (the rejects-by-reason table counts them all)."""
RECENT_RUNS = 10
DETAIL_CHARS = 240
TRACK_WIDTH, TRACK_HEIGHT, TRACK_PAD, UNDATED_WIDTH = 640, 26, 14, 56
MINI_WIDTH, MINI_HEIGHT = 320, 36
ARTICLE_COLUMNS = [
    "article_id",
    "url",
    "source",
    "source_uri",
    "title",
    "published_at",
    "duplicate_of",
    "duplicate_kind",
    "story_id",
    "story_label",
    "ingested_at",
]
STORY_COLUMNS = [
    "story_id",
    "story_label",
    "label_source",
    "first_published",
    "last_published",
    "article_count",
    "top_terms",
]
REJECT_COLUMNS = [
    "source_uri",
    "stage",
    "reason",
    "detail",
    "entry_title",
    "entry_link",
    "page_url",
    "attempt",
    "gave_up",
    "ingested_at",
]
POLL_COLUMNS = [
    "feed_url",
    "current_url",
    "polled_at",
    "http_status",
    "not_modified",
    "new_entries",
    "articles",
    "rejects",
    "error",
    "error_detail",
    "consecutive_failures",
    "gone",
    "next_attempt_at",
    "latency_seconds",
]


@dataclass
class SourceQuality:
    """Quality figures of one origin: a feed or site host, or the local seed files."""

    origin: str
    names: Counter = field(default_factory=Counter)
    articles: int = 0
    duplicates: int = 0
    undated: int = 0
    rejects: Counter = field(default_factory=Counter)

    @property
    def extraction_success(self) -> float:
        """Share of the origin's items that became articles (articles ÷ (articles + rejects))."""
        total = self.articles + sum(self.rejects.values())
        return self.articles / total if total else 0.0

    @property
    def missing_date_rate(self) -> float:
        return self.undated / self.articles if self.articles else 0.0


@dataclass
class StoryView:
    """One story as the page shows it: the stories table's row (current label) and its articles."""

    story_id: str
    label: str
    label_source: str = ""
    article_count: int = 0
    first_published: dt.datetime | None = None
    last_published: dt.datetime | None = None
    top_terms: tuple[str, ...] = ()
    articles: list[dict] = field(default_factory=list)
    per_day: Counter = field(default_factory=Counter)  # day (ISO) or UNDATED → article rows

    @property
    def latest(self) -> dt.datetime | None:
        """The story's most recent activity: its latest publication, else its latest ingestion."""
        dated = [a["published_at"] for a in self.articles if a["published_at"]]
        if self.last_published or dated:
            return max([*dated, *([self.last_published] if self.last_published else [])])
        ingested = [a["ingested_at"] for a in self.articles if a["ingested_at"]]
        return max(ingested) if ingested else None

    @property
    def outlets(self) -> Counter:
        return Counter(a["source"] or source_host(a["source_uri"]) for a in self.articles)


@dataclass
class FeedHealth:
    """One feed over all its polls in ``feed_polls``."""

    feed_url: str
    current_url: str
    polls: int
    last_polled: dt.datetime
    last_status: str
    """'200', '304 not modified', 'timeout', 'http_500', …: the last poll's outcome."""
    failing_since: dt.datetime | None
    """First poll of the current run of failures; None when the last poll worked."""
    consecutive_failures: int
    next_attempt: dt.datetime | None
    gone: bool
    new_entries: int
    articles: int
    rejects: int
    items_per_day: float
    """New entries per day between the first and the last poll (a shorter history counts as one day)."""
    mean_latency: float | None
    last_error: str | None


@dataclass
class ReportData:
    output: str
    articles: int
    duplicates: int
    undated: int
    stories: list[StoryView]  # largest first, ties by recency
    sources: list[SourceQuality]
    rejects_by_reason: list[tuple[str, str, int]]  # (stage, reason, count)
    rejects: list[dict]  # newest first
    feeds: list[FeedHealth]
    runs: list[RecentRun]


# --- reading -----------------------------------------------------------------------------------


def source_host(source_uri: str) -> str:
    """The host of a feed or page URI; every local file counts as one origin."""
    parts = urlsplit(source_uri)
    return parts.hostname if parts.scheme in ("http", "https") and parts.hostname else LOCAL_FILES


def read_table(output: str, spec: TableSpec, columns: list[str]) -> pa.Table | None:
    """The given columns of a table's committed files (plus the partition column as a string), or None.

    Columns a file predates (added to the schema later) read as nulls.
    """
    parts = []
    for path in committed_files(output, spec):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            table = pq.read_table(handle, columns=columns, schema=spec.arrow_schema)
        if spec.partition is not None:
            value = path.rsplit("/", 2)[1].split("=", 1)[1]
            table = table.append_column(
                spec.partition.name,
                pa.array([None if value == HIVE_NULL_PARTITION else value] * table.num_rows, pa.string()),
            )
        parts.append(table)
    return pa.concat_tables(parts) if parts else None


def _rows(table: pa.Table | None) -> list[dict]:
    return table.to_pylist() if table is not None else []


@dataclass(frozen=True)
class RecentRun:
    """A run (or takedown) record with its summary, when the run wrote one."""

    record: RunRecord
    summary: RunSummary | None = None


def read_runs(output: str, limit: int = RECENT_RUNS) -> list[RecentRun]:
    """The latest run records, newest first, each with its run summary when there is one."""
    paths = set(match_paths(FileSystems.join(output, RUNS_DIR, "*.json")))
    runs = []
    for path in sorted(record_paths(output), reverse=True)[:limit]:
        summary_path = path[: -len(".json")] + SUMMARY_SUFFIX
        summary = RunSummary.from_json(read_json(summary_path)) if summary_path in paths else None
        runs.append(RecentRun(read_record(path), summary))
    return runs


def story_order(story: StoryView) -> tuple:
    """Largest first; among equals the most recent first, then by label."""
    latest = story.latest
    return (-story.article_count, -(latest.timestamp() if latest else float("-inf")), story.label)


def article_order(article: dict) -> tuple:
    """Dated articles in publication order, then undated ones by headline (none last)."""
    published = article["published_at"]
    title = article["title"]
    return (published is None, published or dt.datetime.min.replace(tzinfo=dt.UTC), title is None, title or "")


def gather_stories(articles: list[dict], stories: list[dict]) -> list[StoryView]:
    """Stories table rows joined with their articles; a story id only articles know keeps its ingestion label."""
    views = {
        s["story_id"]: StoryView(
            story_id=s["story_id"],
            label=s["story_label"],
            label_source=s["label_source"],
            article_count=s["article_count"],
            first_published=s["first_published"],
            last_published=s["last_published"],
            top_terms=tuple(s["top_terms"] or ()),
        )
        for s in stories
    }
    for row in articles:
        if not row["story_id"]:
            continue
        view = views.get(row["story_id"])
        if view is None:
            view = views[row["story_id"]] = StoryView(row["story_id"], row["story_label"] or row["story_id"])
        view.articles.append(row)
        view.per_day[row["published_date"] or UNDATED] += 1
    for view in views.values():
        view.articles.sort(key=article_order)
        view.article_count = max(view.article_count, len(view.articles))
    return sorted(views.values(), key=story_order)


def failing_since(polls: list[dict]) -> dt.datetime | None:
    """When the feed's current run of failed polls began (``polls`` oldest first); None if the last one worked."""
    since = None
    for poll in polls:
        since = (since or poll["polled_at"]) if poll["error"] else None
    return since


def feed_health(polls: list[dict]) -> list[FeedHealth]:
    """Per feed: its polls summed up, worst first (failing, then by name)."""
    by_feed: dict[str, list[dict]] = defaultdict(list)
    for poll in polls:
        by_feed[poll["feed_url"]].append(poll)
    feeds = []
    for feed_url, history in by_feed.items():
        history.sort(key=lambda p: p["polled_at"])
        last = history[-1]
        days = max(1.0, (last["polled_at"] - history[0]["polled_at"]).total_seconds() / 86400)
        latencies = [p["latency_seconds"] for p in history if p["latency_seconds"] is not None]
        new_entries = sum(p["new_entries"] or 0 for p in history)
        feeds.append(
            FeedHealth(
                feed_url=feed_url,
                current_url=last["current_url"],
                polls=len(history),
                last_polled=last["polled_at"],
                last_status=poll_outcome(last),
                failing_since=failing_since(history),
                consecutive_failures=last["consecutive_failures"],
                next_attempt=last["next_attempt_at"],
                gone=last["gone"],
                new_entries=new_entries,
                articles=sum(p["articles"] or 0 for p in history),
                rejects=sum(p["rejects"] or 0 for p in history),
                items_per_day=new_entries / days,
                mean_latency=sum(latencies) / len(latencies) if latencies else None,
                last_error=last["error_detail"],
            )
        )
    return sorted(feeds, key=lambda f: (f.failing_since is None, f.feed_url))


def poll_outcome(poll: dict) -> str:
    if poll["error"]:
        return poll["error"]
    if poll["not_modified"]:
        return "304 not modified"
    return str(poll["http_status"])


def gather(output: str) -> ReportData:
    """Every figure the page shows."""
    output = output.rstrip("/")
    articles = _rows(read_table(output, ARTICLES, ARTICLE_COLUMNS))
    stories = _rows(read_table(output, STORIES, STORY_COLUMNS))
    rejects = _rows(read_table(output, REJECTS, REJECT_COLUMNS))
    polls = _rows(read_table(output, FEED_POLLS, POLL_COLUMNS))
    sources: dict[str, SourceQuality] = {}
    totals = Counter()
    for row in articles:
        quality = sources.setdefault(source_host(row["source_uri"]), SourceQuality(source_host(row["source_uri"])))
        quality.articles += 1
        if row["source"]:
            quality.names[row["source"]] += 1
        undated = row["published_date"] is None
        quality.duplicates += row["duplicate_of"] is not None
        quality.undated += undated
        totals.update(articles=1, duplicates=row["duplicate_of"] is not None, undated=undated)
    reasons = Counter()
    for row in rejects:
        origin = source_host(row["source_uri"])
        sources.setdefault(origin, SourceQuality(origin)).rejects[row["reason"]] += 1
        reasons[(row["stage"], row["reason"])] += 1
    return ReportData(
        output=output,
        articles=totals["articles"],
        duplicates=totals["duplicates"],
        undated=totals["undated"],
        stories=gather_stories(articles, stories),
        sources=sorted(sources.values(), key=lambda s: (-s.articles, s.origin)),
        rejects_by_reason=sorted(((s, r, n) for (s, r), n in reasons.items()), key=lambda t: (-t[2], t[0], t[1])),
        rejects=sorted(rejects, key=lambda r: (r["ingested_at"], r["attempt"] or 0), reverse=True),
        feeds=feed_health(polls),
        runs=read_runs(output),
    )


# --- time ----------------------------------------------------------------------------------------


def readable_time(value: dt.datetime | str | None) -> str:
    """'26 Jul 2022, 09:00 UTC' (a datetime or an ISO string); '' for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    value = value.astimezone(dt.UTC) if value.tzinfo else value
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def readable_day(value: dt.date | str) -> str:
    """'26 Jul 2022'."""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {day:%b %Y}"


def timeline_days(per_story_day: dict[str, Counter]) -> list[str]:
    """The distinct dated days with articles, in order, then 'undated' when there are undated articles."""
    dated = sorted({d for days in per_story_day.values() for d in days if d != UNDATED})
    undated = any(UNDATED in days for days in per_story_day.values())
    return [*dated, *([UNDATED] if undated else [])]


def time_scale(first: dt.date, last: dt.date, left: float, right: float) -> Callable[[dt.date], float]:
    """Day → x, linear in time (a gap of ten days is ten times a gap of one); one day sits in the middle."""
    span = (last - first).days
    if span == 0:
        return lambda day: (left + right) / 2
    return lambda day: left + (right - left) * (day - first).days / span


def axis_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    """Readable tick days between ``first`` and ``last``: every day, week, month or year, about 2–10 of them."""
    span = (last - first).days
    if span <= 10:
        return [first + dt.timedelta(days=i) for i in range(span + 1)]
    if span <= 70:
        start = first + dt.timedelta(days=(7 - first.weekday()) % 7)  # Mondays
        return [start + dt.timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]
    step = 1 if span <= 300 else 3 if span <= 900 else 12
    ticks, year, month = [], first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, month - 12
        tick = dt.date(year, month, 1)
        if tick > last:
            return ticks or [first, last]
        if (tick.month - 1) % step == 0:
            ticks.append(tick)


# --- rendering -----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (never a ``javascript:`` or ``file:`` link from a feed)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _link(url: str | None, text: str) -> str:
    href = safe_href(url)
    return f'<a href="{_e(href)}" rel="noopener noreferrer">{_e(text)}</a>' if href else _e(text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _dated_span(stories: Sequence[StoryView]) -> tuple[dt.date, dt.date] | None:
    days = [dt.date.fromisoformat(d) for s in stories for d in s.per_day if d != UNDATED]
    return (min(days), max(days)) if days else None


def _track(
    story: StoryView,
    span: tuple[dt.date, dt.date] | None,
    undated: bool,
    width: int,
    height: int,
    peak: int,
    css_class: str = "cell",
) -> list[str]:
    """Bubbles of one story on a shared scale: dated days on a time axis, undated articles in a grey column."""
    right = width - (UNDATED_WIDTH if undated else 0) - TRACK_PAD
    x_of = time_scale(*span, TRACK_PAD, right) if span else None
    parts = []
    for day, count in sorted(story.per_day.items()):
        x = width - UNDATED_WIDTH / 2 if day == UNDATED else x_of(dt.date.fromisoformat(day))
        radius = max(2.5, (height / 2 - 2) * math.sqrt(count / peak))
        colour = "#8a96a3" if day == UNDATED else "#1f6fb4"
        when = "no known date" if day == UNDATED else readable_day(day)
        parts.append(
            f'<circle class="{css_class}" data-story-id="{_e(story.story_id)}" data-day="{day}" data-count="{count}" '
            f'cx="{x:.1f}" cy="{height / 2:.1f}" r="{radius:.1f}" fill="{colour}" fill-opacity="0.8">'
            f"<title>{_e(story.label)} · {when}: {_plural(count, 'article')}</title></circle>"
        )
    return parts


def timeline_html(stories: Sequence[StoryView], limit: int = TIMELINE_STORIES) -> str:
    """The main timeline: one row per story (label as wrapping HTML, never clipped), bubbles on a true time scale."""
    shown = [s for s in stories if s.per_day][:limit]
    if not shown:
        return '<p class="empty">No articles with a story yet.</p>'
    span = _dated_span(shown)
    undated = any(UNDATED in s.per_day for s in shown)
    peak = max(max(s.per_day.values()) for s in shown)
    axis = [
        f'<svg class="axis" xmlns="http://www.w3.org/2000/svg" width="{TRACK_WIDTH}" height="34" '
        f'viewBox="0 0 {TRACK_WIDTH} 34" role="img" aria-label="time axis">'
    ]
    if span:
        x_of = time_scale(*span, TRACK_PAD, TRACK_WIDTH - (UNDATED_WIDTH if undated else 0) - TRACK_PAD)
        for tick in axis_ticks(*span):
            x = x_of(tick)
            axis.append(
                f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="6" stroke="#8a96a3"/>'
                f'<text class="tick" data-day="{tick.isoformat()}" x="{x:.1f}" y="20" text-anchor="middle" '
                f'font-size="11" fill="#4a5561">{readable_day(tick)}</text>'
            )
    if undated:
        axis.append(
            f'<text class="tick" x="{TRACK_WIDTH - UNDATED_WIDTH / 2:.1f}" y="20" text-anchor="middle" '
            f'font-size="11" fill="#8a96a3">undated</text>'
        )
    axis.append("</svg>")
    rows = [f'<div class="tl-label"></div><div class="tl-track">{"".join(axis)}</div><div></div>']
    for story in shown:
        total = sum(story.per_day.values())
        track = _track(story, span, undated, TRACK_WIDTH, TRACK_HEIGHT, peak)
        rows.append(
            f'<div class="tl-label story-label"><a href="#story-{_e(story.story_id)}">{_e(story.label)}</a></div>'
            f'<div class="tl-track"><svg xmlns="http://www.w3.org/2000/svg" width="{TRACK_WIDTH}" '
            f'height="{TRACK_HEIGHT}" viewBox="0 0 {TRACK_WIDTH} {TRACK_HEIGHT}">'
            f'<line x1="0" y1="{TRACK_HEIGHT / 2}" x2="{TRACK_WIDTH}" y2="{TRACK_HEIGHT / 2}" stroke="#e3e7eb"/>'
            f"{''.join(track)}</svg></div>"
            f'<div class="tl-total story-total" data-story-id="{_e(story.story_id)}">{_plural(total, "article")}</div>'
        )
    return f'<div id="timeline" class="timeline">{"".join(rows)}</div>'


def story_section(story: StoryView) -> str:
    """A story's own section: figures, a small timeline on the story's own span, its articles."""
    outlets = story.outlets
    span = _dated_span([story])
    dates = (
        (f"{readable_day(span[0])} – {readable_day(span[1])}" if span and span[0] != span[1] else readable_day(span[0]))
        if span
        else "no known dates"
    )
    peak = max(story.per_day.values()) if story.per_day else 1
    mini = (
        f'<svg class="mini" xmlns="http://www.w3.org/2000/svg" width="{MINI_WIDTH}" height="{MINI_HEIGHT}" '
        f'viewBox="0 0 {MINI_WIDTH} {MINI_HEIGHT}" role="img" aria-label="articles per day">'
        f"{''.join(_track(story, span, UNDATED in story.per_day, MINI_WIDTH, MINI_HEIGHT, peak, 'mini-cell'))}</svg>"
    )
    rows = []
    for article in story.articles[:ARTICLES_PER_STORY]:
        mark = (
            f"copy of {article['duplicate_of'][:8]}… ({article['duplicate_kind']})" if article["duplicate_of"] else ""
        )
        when = readable_time(article["published_at"]) if article["published_at"] else "undated"
        rows.append(
            f'<tr data-article-id="{_e(article["article_id"])}"><td class="txt">{_e(when)}</td>'
            f'<td class="txt">{_e(article["source"] or source_host(article["source_uri"]))}</td>'
            f'<td class="txt">{_link(article["url"], article["title"] or "(no headline)")}</td>'
            f'<td class="txt dup">{_e(mark)}</td></tr>'
        )
    more = len(story.articles) - ARTICLES_PER_STORY
    more_note = f'<p class="meta">… and {_plural(more, "more article")}.</p>' if more > 0 else ""
    terms = ", ".join(story.top_terms[:6])
    return (
        f'<section class="story" id="story-{_e(story.story_id)}" data-story-id="{_e(story.story_id)}" '
        f'data-count="{len(story.articles)}"><h3>{_e(story.label)}</h3>'
        f'<p class="meta">{_plural(story.article_count, "article")} · {_plural(len(outlets), "outlet")} · '
        f"{_e(dates)}{' · label from ' + _e(story.label_source) if story.label_source else ''}"
        f"{' · ' + _e(terms) if terms else ''}</p>{mini}"
        f'<table class="story-articles"><thead><tr><th>published</th><th>outlet</th><th>headline</th>'
        f"<th>duplicate</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more_note}</section>"
    )


def _table(
    table_id: str, headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int] = frozenset()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"num" if i in numeric else "txt"}">{_e(v)}</td>' for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}" class="empty">none</td></tr>')
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def feeds_table(feeds: Sequence[FeedHealth]) -> str:
    headers = [
        "feed",
        "last poll",
        "last status",
        "failing since",
        "failures in a row",
        "next attempt",
        "polls",
        "new entries",
        "new entries per day",
        "articles",
        "rejects",
        "mean latency (s)",
    ]
    rows = []
    for f in feeds:
        moved = (
            f'<br><span class="meta">now {_link(f.current_url, f.current_url)}</span>'
            if f.current_url != f.feed_url
            else ""
        )
        status_class = "bad" if f.failing_since or f.gone else "ok"
        cells = [
            f'<td class="txt">{_link(f.feed_url, f.feed_url)}{moved}</td>',
            f'<td class="txt">{_e(readable_time(f.last_polled))}</td>',
            f'<td class="txt {status_class}" title="{_e(f.last_error or "")}">'
            f"{_e(f.last_status)}{' (gone)' if f.gone else ''}</td>",
            f'<td class="txt">{_e(readable_time(f.failing_since))}</td>',
            f'<td class="num">{f.consecutive_failures}</td>',
            f'<td class="txt">{_e(readable_time(f.next_attempt) or ("never (gone)" if f.gone else "next run"))}</td>',
            f'<td class="num">{f.polls}</td>',
            f'<td class="num">{f.new_entries}</td>',
            f'<td class="num">{f.items_per_day:.1f}</td>',
            f'<td class="num">{f.articles}</td>',
            f'<td class="num">{f.rejects}</td>',
            f'<td class="num">{"" if f.mean_latency is None else f"{f.mean_latency:.2f}"}</td>',
        ]
        rows.append(f'<tr data-feed="{_e(f.feed_url)}">{"".join(cells)}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{len(headers)}" class="empty">no feeds polled</td></tr>')
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f'<table id="feeds"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def rejects_list(rejects: Sequence[dict], limit: int = REJECTS_LISTED) -> str:
    rows = []
    for r in rejects[:limit]:
        item = r["entry_title"] or r["source_uri"]
        link = r["entry_link"] or r["page_url"] or r["source_uri"]
        detail = r["detail"] if len(r["detail"]) <= DETAIL_CHARS else r["detail"][: DETAIL_CHARS - 1] + "…"
        attempt = "" if r["attempt"] is None else f"{r['attempt']}{' (gave up)' if r['gave_up'] else ''}"
        rows.append(
            f'<tr><td class="txt">{_e(readable_time(r["ingested_at"]))}</td><td class="txt">{_e(r["stage"])}</td>'
            f'<td class="txt reason">{_e(r["reason"])}</td><td class="txt">{_link(link, item)}</td>'
            f'<td class="num">{_e(attempt)}</td><td class="txt detail" title="{_e(r["detail"])}">{_e(detail)}</td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="6" class="empty">none</td></tr>')
    more = len(rejects) - limit
    note = f'<p class="meta">… and {_plural(more, "older reject")} (see the rejects table).</p>' if more > 0 else ""
    return (
        '<table id="reject-list"><thead><tr><th>when</th><th>stage</th><th>reason</th><th>item</th><th>try</th>'
        f"<th>detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
    )


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;margin:24px;color:#1d2733;
  background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} h3{font-size:15px;margin:0 0 4px}
p.meta,span.meta{color:#5b6672;margin:0 0 10px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e7eb;text-align:left;vertical-align:top}
th{background:#eef2f5} td.num{text-align:right;font-variant-numeric:tabular-nums} td.empty{color:#8a96a3}
td.bad{color:#b3261e;font-weight:600;white-space:nowrap} td.ok{color:#1b6e3a;white-space:nowrap}
td.detail{max-width:420px;color:#4a5561}
td.txt{overflow-wrap:anywhere} a{color:#1f5f99}
.kpis{display:flex;gap:16px;flex-wrap:wrap} .kpi{border:1px solid #e3e7eb;border-radius:6px;padding:8px 14px}
.kpi b{display:block;font-size:20px}
.timeline{display:grid;grid-template-columns:minmax(160px,1fr) auto max-content;column-gap:12px;align-items:center;
  border:1px solid #e3e7eb;padding:8px;max-width:1200px}
.tl-label{font-size:13px;overflow-wrap:anywhere;padding:3px 0}
.tl-total{font-size:12px;color:#4a5561;white-space:nowrap}
.tl-track svg{display:block}
section.story{border-top:1px solid #e3e7eb;padding:12px 0}
svg.mini{display:block;margin:4px 0 8px;border:1px solid #eef2f5}
"""


def render(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The whole page as a string."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    kpis = [
        ("articles", data.articles),
        ("duplicates", data.duplicates),
        ("undated", data.undated),
        ("stories", len(data.stories)),
        ("rejects", sum(n for _, _, n in data.rejects_by_reason)),
        ("feeds", len(data.feeds)),
        ("runs shown", len(data.runs)),
    ]
    kpi_html = "".join(
        f'<div class="kpi" id="kpi-{name.replace(" ", "-")}"><b>{value}</b>{name}</div>' for name, value in kpis
    )
    stories = _table(
        "stories",
        ["story", "label source", "articles", "first published", "last published", "top terms", "story_id"],
        [
            (
                s.label,
                s.label_source,
                s.article_count,
                readable_time(s.first_published),
                readable_time(s.last_published),
                ", ".join(s.top_terms[:6]),
                s.story_id,
            )
            for s in data.stories
        ],
        numeric={2},
    )
    sections = "".join(story_section(s) for s in data.stories[:STORY_SECTIONS])
    more_stories = len(data.stories) - STORY_SECTIONS
    if more_stories > 0:
        sections += (
            f'<p class="meta">{_plural(more_stories, "smaller story")} not shown here; see the stories table.</p>'
        )
    sources = _table(
        "sources",
        [
            "origin",
            "source names",
            "articles",
            "duplicates",
            "missing date",
            "missing-date rate",
            "rejects",
            "extraction success",
            "rejects by reason",
        ],
        [
            (
                q.origin,
                ", ".join(n for n, _ in q.names.most_common(3)),
                q.articles,
                q.duplicates,
                q.undated,
                _percent(q.missing_date_rate),
                sum(q.rejects.values()),
                _percent(q.extraction_success),
                ", ".join(f"{r}: {n}" for r, n in sorted(q.rejects.items())),
            )
            for q in data.sources
        ],
        numeric={2, 3, 4, 5, 6, 7},
    )
    rejects = _table("rejects", ["stage", "reason", "rejects"], data.rejects_by_reason, numeric={2})
    runs = _table(
        "runs",
        ["run_id", "kind", "started at", "inputs", "articles", "already ingested", "stories", "rejects", "files"],
        [
            (
                r.record.run_id,
                r.record.kind if r.record.kind == RUN else f"{r.record.kind} {r.record.target}",
                readable_time(r.record.started_at),
                r.summary.inputs if r.summary else "",
                -r.record.removed.get("articles", 0) if r.record.kind == FORGET else r.record.rows.get("articles", 0),
                r.summary.already_ingested if r.summary else "",
                r.record.rows.get("stories", 0),
                r.record.rows.get("rejects", 0),
                len(r.record.files),
            )
            for r in data.runs
        ],
        numeric={3, 4, 5, 6, 7, 8},
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newsbeam report: {_e(data.output)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>newsbeam report</h1>
<p class="meta">Output <code>{_e(data.output)}</code> · generated {readable_time(generated_at)}</p>
<div class="kpis">{kpi_html}</div>
<h2>Story timeline: articles per story per day</h2>
<p class="meta">The {TIMELINE_STORIES} largest stories (ties: the most recent first), on a true time scale;
bubble area ∝ articles that day (duplicates included); grey: no known date. A label leads to the story's section.</p>
{timeline_html(data.stories)}
<h2>Feed health</h2>
<p class="meta">From <code>feed_polls/</code>, one row per poll. Failing since: the first of the failed polls in a
row up to the last one. New entries per day: entries no earlier run had, over the days between the first and the
last poll (at least one).</p>
{feeds_table(data.feeds)}
<h2>Rejects</h2>
<p class="meta">The newest {REJECTS_LISTED} items that did not become articles: what the item was (linked), the
reason, and which try (feed entries are tried again by later runs, then given up).</p>
{rejects_list(data.rejects)}
<h2>Stories</h2>
<p class="meta">Current labels and article counts over all runs, from the stories table.</p>
{stories}
<h2>Story by story</h2>
{sections or '<p class="empty">No stories yet.</p>'}
<h2>Per-source quality</h2>
<p class="meta">Origin: the feed's or page's host; all local seed files count as one. Extraction success = articles ÷
(articles + rejects).</p>
{sources}
<h2>Rejects by reason</h2>
{rejects}
<h2>Last runs</h2>
<p class="meta">From <code>_runs/*.json</code> and the run summaries beside them, newest first: inputs, and rows
committed per table.</p>
{runs}
</body></html>
"""


def write_report(output: str) -> str:
    """Writes OUTPUT/report.html (temporary name, then rename); returns its path."""
    path = FileSystems.join(output.rstrip("/"), REPORT_FILE)
    write_bytes_atomically(path, render(gather(output)).encode("utf-8"))
    return path


COMMAND = Command("report", __doc__.splitlines()[0], (ReportOptions,))


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, report_command)


def report_command(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    if output_missing(args.output, filesystem_options):
        return MISSING_OUTPUT_EXIT
    print(write_report(args.output))
    return 0
