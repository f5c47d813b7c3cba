"""Every Beam counter of a run, named once: stages count through these and the run summary reads them.

A counter is a (namespace, name) pair; ``key`` is how it appears in the summary's ``counters``
(``namespace.name``). Families (``CounterFamily``) are counters with a variable last part, such as
one per reject reason or per HTTP status. Nothing outside this module calls ``Metrics.counter``
(a test checks), so renaming a counter renames it for the stage and for the accounting at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apache_beam.metrics import Metrics

# Namespaces: one per stage.
READ = "read"
EXTRACT = "extract"
FEEDS = "feeds"
WINDOW = "window"
DEDUP = "dedup"
STORIES = "stories"
WRITE = "write"
WARC = "warc"
SITEMAPS = "sitemaps"
FILTER = "filter"


@dataclass(frozen=True)
class Counter:
    """One Beam counter."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        """The counter as the summary names it: ``namespace.name``."""
        return f"{self.namespace}.{self.name}"

    def metric(self):
        """The Beam counter (create it in a DoFn's ``setup`` or ``__init__`` and ``inc`` it per element)."""
        return Metrics.counter(self.namespace, self.name)

    def inc(self, n: int = 1) -> None:
        Metrics.counter(self.namespace, self.name).inc(n)

    def read(self, totals: Mapping[str, int]) -> int:
        """This counter's value in a run's totals (0 when it never counted)."""
        return totals.get(self.key, 0)


@dataclass(frozen=True)
class CounterFamily:
    """Counters sharing a namespace and a name prefix: ``prefix + part`` (a reason, a status, a table)."""

    namespace: str
    prefix: str
    suffix: str = ""

    def of(self, part: object) -> Counter:
        return Counter(self.namespace, f"{self.prefix}{part}{self.suffix}")

    def total(self, totals: Mapping[str, int]) -> int:
        """The sum of every member of the family in a run's totals."""
        head = f"{self.namespace}.{self.prefix}"
        return sum(v for k, v in totals.items() if k.startswith(head) and k.endswith(self.suffix))


# Seed files and records.
SEED_DOCUMENTS = Counter(READ, "documents")
SEED_FILES_READ = Counter(READ, "files")

# Extraction, per source kind (``seed`` or ``feed``) and in all.
ARTICLES_EXTRACTED = Counter(EXTRACT, "articles")
ARTICLES_EXTRACTED_FROM = CounterFamily(EXTRACT, "", "_articles")
REJECTS_AT_EXTRACTION_FROM = CounterFamily(EXTRACT, "", "_rejects")

# Feeds.
FEED_ENTRIES = Counter(FEEDS, "entries")
FEED_ENTRIES_ALREADY_SEEN = Counter(FEEDS, "entries_already_seen")
FEED_ENTRIES_WITHOUT_TEXT = CounterFamily(FEEDS, "rejected_")
"""Entries with no usable text, one counter per reason the page gave none (http_404, robots_disallowed, …)."""
FEED_STATUS = CounterFamily(FEEDS, "status_")
FEEDS_NOT_MODIFIED = FEED_STATUS.of(304)
FEEDS_FAILED = CounterFamily(FEEDS, "feed_rejected_")
FEEDS_SALVAGED = Counter(FEEDS, "feeds_salvaged_bozo")
FEED_PAGES_FETCHED = Counter(FEEDS, "pages_fetched")
FEED_PAGES = CounterFamily(FEEDS, "pages_")
FEED_ENTRY_TEXT_FROM = CounterFamily(FEEDS, "entries_")
FEEDS_GONE_SKIPPED = Counter(FEEDS, "gone_feeds_skipped")
FEEDS_BACKING_OFF = Counter(FEEDS, "feeds_backing_off")
FEED_POLL_ROWS_INCOMPLETE = Counter(FEEDS, "poll_rows_incomplete")
FEED_STATE_SNAPSHOTS = Counter(FEEDS, "state_snapshots_written")

# WARC records: every record read is a document, a record of another kind, filtered, or a reject.
WARC_RECORDS = Counter(WARC, "records")
WARC_DOCUMENTS = Counter(WARC, "documents")
WARC_SLICES = Counter(WARC, "slices")
WARC_NOT_ARTICLES = CounterFamily(WARC, "skipped_")
"""Per record kind: request, metadata, revisit, warcinfo, not_html, http_404, truncated, …"""
WARC_FILTERED = CounterFamily(WARC, "filtered_")
WARC_SLICES_UNREADABLE = CounterFamily(WARC, "file_rejected_")
"""A file or slice that could not be read on: one rejects row each (its unread records can't be counted)."""

# Sitemaps: every entry listed is already seen, filtered, a failed page (a reject) or a document.
SITEMAP_ENTRIES = Counter(SITEMAPS, "entries")
SITEMAP_ENTRIES_ALREADY_SEEN = Counter(SITEMAPS, "entries_already_seen")
SITEMAP_FILTERED = CounterFamily(SITEMAPS, "filtered_")
SITEMAPS_FETCHED = Counter(SITEMAPS, "sitemaps_fetched")
SITEMAPS_NOT_MODIFIED = Counter(SITEMAPS, "sitemaps_not_modified")
SITEMAPS_UNCHANGED = Counter(SITEMAPS, "sitemaps_unchanged")
"""Children whose <lastmod> in their index did not change: not fetched."""
SITEMAPS_FAILED = CounterFamily(SITEMAPS, "sitemap_rejected_")
SITEMAP_PAGES_FETCHED = Counter(SITEMAPS, "pages_fetched")
SITEMAPS_OVER_LIMIT = Counter(SITEMAPS, "sitemaps_over_limit")
"""Sitemaps an index listed beyond the per-root limit: not read (and logged)."""
SITES_DISCOVERED = CounterFamily(SITEMAPS, "sites_")

# Archive filters after extraction (--language, the publication date of --since/--until).
ARTICLES_FILTERED = CounterFamily(FILTER, "articles_")

# Event-time windows (streaming).
WINDOW_ARTICLES = Counter(WINDOW, "articles")

# Deduplication.
DUPLICATES = Counter(DEDUP, "duplicates")
COPIES_OF_EARLIER_RUNS = Counter(DEDUP, "copies_of_earlier_runs")
COPIES_OF_FORGOTTEN = Counter(DEDUP, "copies_of_forgotten")
"""Articles whose text a ``forget`` took down: dropped (and counted in ``already_ingested`` too)."""
ALREADY_INGESTED = Counter(DEDUP, "already_ingested")
REPEATED_REJECTS = Counter(DEDUP, "repeated_rejects")
STREAM_ORIGINALS = Counter(DEDUP, "originals")
STREAM_DUPLICATES_BY_URL = Counter(DEDUP, "duplicates_url")
STREAM_DUPLICATES_BY_TEXT = Counter(DEDUP, "duplicates_text")
STREAM_ALREADY_SEEN = Counter(DEDUP, "already_seen")
STREAM_URLS_FORGOTTEN = Counter(DEDUP, "urls_forgotten")
STREAM_TEXTS_FORGOTTEN = Counter(DEDUP, "texts_forgotten")

# Stories.
STORIES_TOUCHED = Counter(STORIES, "stories_touched")
NEAR_DUPLICATES = Counter(STORIES, "near_duplicates")
ARTICLES_TAGGED = Counter(STORIES, "articles_tagged")
DUPLICATES_WITHOUT_ORIGINAL = Counter(STORIES, "duplicates_without_original")
STORY_SNAPSHOTS = Counter(STORIES, "snapshots_written")
STREAM_ALREADY_IN_INDEX = Counter(STORIES, "already_ingested")

# Writing, per table.
ROWS_WRITTEN = CounterFamily(WRITE, "", "_rows")
FILES_WRITTEN = CounterFamily(WRITE, "", "_files")
LATE_PANES = CounterFamily(WRITE, "", "_late_panes")

ITEM_REJECT_STAGES = (READ, EXTRACT, FEEDS, WINDOW, WARC, SITEMAPS)
"""Namespaces whose ``rejected_*`` counters count input items (files, records, entries)."""


def rejected(stage: str) -> CounterFamily:
    """Items a stage set aside as rejects, one counter per reason: ``stage.rejected_<reason>``."""
    return CounterFamily(stage, "rejected_")


def item_rejects(totals: Mapping[str, int]) -> int:
    """Input items rejected by any stage, whatever the reason."""
    return sum(rejected(stage).total(totals) for stage in ITEM_REJECT_STAGES)
