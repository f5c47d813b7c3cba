"""What the report shows, read from the committed Parquet files and run records: plain view models.

Only the columns needed are read, with pyarrow through Beam's FileSystems; article text only for
the articles without a headline, whose lead sentence stands in for it. Labels are the stories
table's current ones (``articles.story_label`` is the label at ingestion); outlets follow the one
rule of ``transforms/text/outlets.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.run_record import SUMMARY_SUFFIX, RunRecord, read_record, record_paths
from pipeline.summary import RunSummary
from schemas import ARTICLES, FEED_POLLS, REJECTS, STORIES, TableSpec
from schemas.tables import HIVE_NULL_PARTITION
from transforms.output.files import match_paths, read_json
from transforms.output.layout import RUNS_DIR, committed_files
from transforms.text.outlets import LOCAL_FILES, outlet, web_host

UNDATED = "undated"
LEAD_CHARS = 160
"""Longest lead sentence shown for a headline-less article."""
MIN_LEAD_CHARS = 25
SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|[。！？]|[।؟۔](?=\s|$)")
"""Where a sentence ends: Latin, Cyrillic and Greek stops before a space, CJK stops, Devanagari and Arabic stops."""
RECENT_RUNS = 10
ARTICLE_COLUMNS = [
    "article_id",
    "url",
    "source",
    "source_uri",
    "title",
    "published_at",
    "published_precision",
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
    outlets: Counter = field(default_factory=Counter)
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
        return Counter(article_outlet(a) for a in self.articles)


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


def source_host(source_uri: str) -> str:
    """The host of the feed, sitemap or page an item came from; every local file counts as one origin."""
    return web_host(source_uri) or LOCAL_FILES


def article_outlet(article: dict) -> str:
    """The article's outlet by the rule every command shows (``transforms/text/outlets.py``)."""
    return outlet(article["source"], article["url"])


def lead_sentence(text: str, limit: int = LEAD_CHARS) -> str:
    """The text's first sentence (of its first paragraph), at most ``limit`` characters, for a headline-less text."""
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    for end in SENTENCE_END.finditer(paragraph):
        if end.end() >= MIN_LEAD_CHARS or end.group() not in ".…":  # not "Dr." or "U.S." at the start
            paragraph = paragraph[: end.end()]
            break
    if len(paragraph) <= limit:
        return paragraph
    cut = paragraph[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def read_leads(output: str) -> dict[str, str]:
    """{article_id: lead sentence} of the articles without a headline (only their text is read, row groups
    without such articles are skipped)."""
    leads = {}
    for path in committed_files(output, ARTICLES):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            table = pq.read_table(
                handle,
                columns=["article_id", "text"],
                filters=pc.field("title").is_null(),
                schema=ARTICLES.arrow_schema,
            )
        for article_id, text in zip(table.column("article_id").to_pylist(), table.column("text").to_pylist()):
            leads[article_id] = lead_sentence(text or "")
    return leads


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
    if any(row["title"] is None for row in articles):
        leads = read_leads(output)
        for row in articles:
            row["lead"] = leads.get(row["article_id"]) if row["title"] is None else None
    stories = _rows(read_table(output, STORIES, STORY_COLUMNS))
    rejects = _rows(read_table(output, REJECTS, REJECT_COLUMNS))
    polls = _rows(read_table(output, FEED_POLLS, POLL_COLUMNS))
    sources: dict[str, SourceQuality] = {}
    totals = Counter()
    for row in articles:
        quality = sources.setdefault(source_host(row["source_uri"]), SourceQuality(source_host(row["source_uri"])))
        quality.articles += 1
        quality.outlets[article_outlet(row)] += 1
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
