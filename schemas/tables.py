"""The output tables: articles, stories, rejects and feed_polls; and the streaming story updates.

Every column is declared here with its Arrow type, nullability and description. A table's
Hive partition column (e.g. ``published_date``) lives in the directory name, not in the files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from schemas.columns import UTC_MICROS, ColumnSpec, column, column_from, column_specs

HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

FETCHED_AT = ColumnSpec(
    "fetched_at",
    UTC_MICROS,
    True,
    "When the input's bytes were fetched (UTC): for a WARC record its WARC-Date (when the crawler fetched the "
    "page); for a page fetched by this run (feed or sitemap entry), when its GET answered; for a whole seed "
    "file (.txt, .html), its modification time. Null when not known (feed-entry text, JSON Lines records).",
)
WARC_RECORD_ID = ColumnSpec(
    "warc_record_id",
    pa.string(),
    True,
    "The WARC-Record-ID of the record the item came from (joins a crawl index); null when not from a WARC.",
)
WARC_TARGET_URI = ColumnSpec(
    "warc_target_uri",
    pa.string(),
    True,
    "The WARC-Target-URI of that record, as the crawler recorded it (credentials redacted); null when not from a WARC.",
)
PROVENANCE = (FETCHED_AT, WARC_RECORD_ID, WARC_TARGET_URI)
"""Where and when an item was fetched: the same columns, declared once here, in articles and in rejects."""


@dataclass(frozen=True, kw_only=True)
class Article:
    """One article row. Fields filled by later stages start empty and are set with replace()."""

    article_id: str = column(
        pa.string(),
        "Stable article id: hash of the canonical URL when there is one, else of the normalised text; "
        "duplicates get an id of their own.",
        nullable=False,
    )
    url: str | None = column(pa.string(), "Canonical article URL (courlan-normalised), when known.")
    source_uri: str = column(
        pa.string(),
        "The file, feed or sitemap the article came from; '#line=N' locates a record in a JSON Lines file, "
        "'#offset=N' a record in a WARC file.",
        nullable=False,
    )
    entry_id: str | None = column(
        pa.string(),
        "Stable id of the feed entry (guid, else canonical link, else a hash of title and content); "
        "null for seed files.",
    )
    source: str | None = column(pa.string(), "Outlet or site name, when known.")
    title: str | None = column(pa.string(), "Headline, when the input has one.")
    description: str | None = column(
        pa.string(),
        "The lead or summary the page declares (meta description, og:description, JSON-LD description) or a JSON "
        "Lines record's 'description'; null when none is declared.",
    )
    text: str = column(
        pa.string(),
        "Clean article text: paragraphs separated by a blank line, captions, credits and repeats removed.",
        nullable=False,
    )
    text_markdown: str | None = column(
        pa.string(),
        "The article as trafilatura renders it in Markdown (headings, lists, quotes, tables) from the same "
        "extracted page as text, before text's cleaning rules (captions and credits stay); null when the text did "
        "not come from HTML (plain text, a feed entry's own text).",
    )
    authors: tuple[str, ...] = column(
        pa.list_(pa.string()), "Author names, in byline order; empty when unknown.", nullable=False, default=()
    )
    image_url: str | None = column(
        pa.string(),
        "The article's top image as the page declares it (og:image, twitter:image, JSON-LD image), made absolute "
        "against the page URL, or a JSON Lines record's 'image_url'; null when none is declared.",
    )
    section: str | None = column(
        pa.string(),
        "The section the page files the article under (article:section, JSON-LD articleSection, the page's "
        "category links), or a JSON Lines record's 'section'; null when none is declared.",
    )
    keywords: tuple[str, ...] = column(
        pa.list_(pa.string()),
        "Keywords or tags the page declares (meta keywords, article:tag, JSON-LD keywords, the page's tag links), "
        "or a JSON Lines record's 'keywords' (Fundus: 'topics'), in the page's order; empty when none.",
        nullable=False,
        default=(),
    )
    published_at: dt.datetime | None = column(
        UTC_MICROS, "Publication time in UTC; midnight UTC when only a date is known."
    )
    date_source: str | None = column(
        pa.string(),
        "Which date published_at uses: 'feed' (the feed entry's), 'record' (a JSON Lines record's), "
        "'sitemap' (a Google News sitemap's publication date), 'page_metadata' (found in the page by htmldate) "
        "or 'text_header' (a text file's date line); null when unknown.",
    )
    published_precision: str | None = column(
        pa.string(),
        "What the source of published_at gave: 'day' (a date only: the midnight UTC of published_at means "
        "'time unknown'), 'minute' or 'second'; null when published_at is null.",
    )
    date_problem: str | None = column(
        pa.string(),
        'Why a date the input or page gave was not used, e.g. "feed: published out_of_range: '
        "'9999-12-31T23:00:00-05:00' …\" or \"record: impossible: '2024-02-30' …\"; dates are used only "
        "between 1990-01-01 and two days after extraction; null when no date was refused.",
    )
    feed_published_at: dt.datetime | None = column(
        UTC_MICROS, "Publication time the feed entry or JSON Lines record gave, in UTC."
    )
    page_published_at: dt.datetime | None = column(
        UTC_MICROS, "Publication time found in the page or text itself, in UTC."
    )
    language: str | None = column(pa.string(), "ISO 639-1 language code identified from the text (py3langid).")
    language_confidence: float | None = column(
        pa.float32(),
        "py3langid's probability (0-1, normalised over its 97 languages) that the text is in language; low values "
        "mean short or mixed-language text; null when language is null.",
    )
    word_count: int = column(pa.int32(), "Number of words in text.", nullable=False)
    content_hash: str = column(
        pa.string(), "SHA-256 (first 32 hex digits) of the normalised text; equal for exact duplicates.", nullable=False
    )
    text_source: str = column(
        pa.string(),
        "How the text was obtained: 'plain_text' (a text file or record), 'html' (a seed HTML file), "
        "'page' (the fetched article page), 'feed_content' or 'feed_summary' (the feed entry's own text, "
        "when the page could not be fetched or yielded too little).",
        nullable=False,
    )
    duplicate_of: str | None = column(
        pa.string(), "article_id of the original when this row is a duplicate, else null."
    )
    duplicate_kind: str | None = column(
        pa.string(),
        "Why it is a duplicate: 'url' (same canonical URL), 'text' (same normalised text) "
        "or 'near' (a copy with small edits, MinHash); null for originals.",
    )
    story_id: str | None = column(
        pa.string(),
        "Story cluster id, stable for the story's founding article; duplicates share their original's story.",
    )
    story_label: str | None = column(
        pa.string(),
        "Human-readable story label: the catalog label, else the most representative headline or top terms.",
    )
    ingested_at: dt.datetime = column(UTC_MICROS, "Start time (UTC) of the run that wrote the row.", nullable=False)
    run_id: str = column(pa.string(), "Id of the run that wrote the row.", nullable=False)
    fetched_at: dt.datetime | None = column_from(FETCHED_AT)
    warc_record_id: str | None = column_from(WARC_RECORD_ID)
    warc_target_uri: str | None = column_from(WARC_TARGET_URI)


@dataclass(frozen=True, kw_only=True)
class Story:
    """One story cluster row."""

    story_id: str = column(pa.string(), "Story cluster id.", nullable=False)
    story_label: str = column(
        pa.string(),
        "Current human-readable story label (articles.story_label keeps the label the story had when the article "
        "was written; join on story_id for this one).",
        nullable=False,
    )
    label_source: str = column(
        pa.string(), "Where the label came from: 'catalog', 'headline' or 'terms'.", nullable=False
    )
    first_published: dt.datetime | None = column(UTC_MICROS, "Earliest published_at among the story's dated articles.")
    last_published: dt.datetime | None = column(UTC_MICROS, "Latest published_at among the story's dated articles.")
    article_count: int = column(
        pa.int64(), "Number of articles (duplicates included) tagged with the story, over all runs.", nullable=False
    )
    top_terms: tuple[str, ...] = column(
        pa.list_(pa.string()), "Highest-weighted terms of the story centroid.", nullable=False
    )
    ingested_at: dt.datetime = column(
        UTC_MICROS, "Start time (UTC) of the run that last updated the story.", nullable=False
    )
    run_id: str = column(pa.string(), "Id of the run that last updated the story.", nullable=False)
    merged_into: str | None = column(
        pa.string(),
        "story_id of the story this one was merged into (its articles now belong there, and story_label is that "
        "story's label); null for a story in its own right. Always a story in its own right: follow it one step, "
        "coalesce(merged_into, story_id).",
    )


@dataclass(frozen=True, kw_only=True)
class StoryUpdate:
    """A story's state after one event-time window of a streaming job (the streaming stories table)."""

    story_id: str = column(pa.string(), "Story cluster id (the batch stories table's id).", nullable=False)
    story_label: str = column(pa.string(), "The story's label after this update.", nullable=False)
    label_source: str = column(
        pa.string(), "Where the label came from: 'catalog', 'headline' or 'terms'.", nullable=False
    )
    first_published: dt.datetime | None = column(UTC_MICROS, "Earliest published_at among the story's dated articles.")
    last_published: dt.datetime | None = column(UTC_MICROS, "Latest published_at among the story's dated articles.")
    article_count: int = column(
        pa.int64(),
        "Articles (duplicates included) tagged with the story so far, over every job and batch run "
        "sharing the state store.",
        nullable=False,
    )
    top_terms: tuple[str, ...] = column(
        pa.list_(pa.string()), "Highest-weighted terms of the story centroid.", nullable=False
    )
    window_start: dt.datetime = column(
        UTC_MICROS, "Start (UTC) of the event-time window whose articles made this update.", nullable=False
    )
    window_end: dt.datetime = column(UTC_MICROS, "Exclusive end (UTC) of that window.", nullable=False)
    pane: int = column(
        pa.int32(),
        "0 for the window's on-time update; 1, 2, … for updates made by its late articles.",
        nullable=False,
    )
    updated_at: dt.datetime = column(
        UTC_MICROS,
        "When the update was computed (UTC; strictly increasing within a job): "
        "the latest row per story_id is its current state.",
        nullable=False,
    )
    run_id: str = column(pa.string(), "Id of the streaming job that wrote the row.", nullable=False)
    merged_into: str | None = column(
        pa.string(),
        "story_id of the story this one was merged into (as in the stories table); null for a story in its own "
        "right. Read stories through coalesce(merged_into, story_id).",
    )


@dataclass(frozen=True, kw_only=True)
class Reject:
    """An input item that could not become an article, and why."""

    reject_id: str = column(
        pa.string(),
        "Stable id of the rejected item (source, stage, reason, input digest); a rerun does not repeat it.",
        nullable=False,
    )
    source_uri: str = column(pa.string(), "The file, record or feed that was rejected.", nullable=False)
    stage: str = column(
        pa.string(),
        "Pipeline stage that rejected it: 'read' (seed files), 'fetch' (HTTP), 'parse' (feeds), 'extract', "
        "or 'window' (streaming: later than the allowed lateness).",
        nullable=False,
    )
    reason: str = column(
        pa.string(),
        "Short machine-readable reason, e.g. 'empty_file', 'invalid_json', 'too_little_text'.",
        nullable=False,
    )
    detail: str = column(pa.string(), "Human-readable explanation (error message, offending value).", nullable=False)
    ingested_at: dt.datetime = column(UTC_MICROS, "Start time (UTC) of the run that wrote the row.", nullable=False)
    run_id: str = column(pa.string(), "Id of the run that wrote the row.", nullable=False)
    entry_id: str | None = column(
        pa.string(), "Stable id of the feed entry when the item was one (as in articles.entry_id); null otherwise."
    )
    entry_link: str | None = column(
        pa.string(), "The feed entry's article link (canonical), when the item was a feed entry with a link."
    )
    entry_title: str | None = column(pa.string(), "The feed entry's title, when the item was a feed entry with one.")
    page_url: str | None = column(
        pa.string(),
        "The URL last requested for the item (after redirects) when a page or feed was fetched; null when none was.",
    )
    attempt: int | None = column(
        pa.int32(),
        "Which try of this item the row records (1 = first). Feed entries are tried again by later runs until "
        "they succeed or give_up is true; null for items that are not retried (seed files, whole feeds).",
    )
    gave_up: bool | None = column(
        pa.bool_(),
        "True on the last try of a feed entry: later runs skip it (counted as already seen); false when a later "
        "run will try it again; null for items that are not retried.",
    )
    fetched_at: dt.datetime | None = column_from(FETCHED_AT)
    warc_record_id: str | None = column_from(WARC_RECORD_ID)
    warc_target_uri: str | None = column_from(WARC_TARGET_URI)


@dataclass(frozen=True, kw_only=True)
class FeedPollRow:
    """One poll of one feed: what the server answered and what the feed's entries became."""

    poll_id: str = column(
        pa.string(), "Stable id of the poll: hash of the configured feed URL and the poll time.", nullable=False
    )
    feed_url: str = column(
        pa.string(), "The feed as configured (credentials shown as ***); the stable key of the feed.", nullable=False
    )
    current_url: str = column(
        pa.string(), "Where the feed is polled after permanent redirects (301/308), after this poll.", nullable=False
    )
    run_id: str = column(pa.string(), "Id of the run that polled the feed.", nullable=False)
    polled_at: dt.datetime = column(UTC_MICROS, "When the poll was made (UTC).", nullable=False)
    http_status: int | None = column(
        pa.int32(),
        "HTTP status of the last response (after redirects); null when no response came (timeout, DNS, refused).",
    )
    not_modified: bool = column(
        pa.bool_(),
        "True when the server answered 304 Not Modified to our validators: nothing new, nothing parsed.",
        nullable=False,
    )
    bytes: int = column(
        pa.int64(), "Size of the feed body received, after decompression (0 on 304 and on errors).", nullable=False
    )
    latency_seconds: float | None = column(
        pa.float64(), "Seconds from sending the request to the end of the body (redirects included)."
    )
    entries_seen: int = column(pa.int32(), "Entries in the feed body (0 when not modified or failed).", nullable=False)
    new_entries: int | None = column(
        pa.int32(),
        "Entries not handled by an earlier run, hence fetched and extracted in this run; null when not counted.",
    )
    articles: int | None = column(
        pa.int32(),
        "Article rows this run wrote from the feed's entries (duplicates included); counted per source_uri before the "
        "tables are written; null when not counted (streaming).",
    )
    rejects: int | None = column(
        pa.int32(),
        "Rejects rows this run wrote for the feed: its entries (fetch and extraction) and the feed itself; null when "
        "not counted (streaming).",
    )
    error: str | None = column(
        pa.string(),
        "Why the poll failed, as in rejects.reason ('timeout', 'http_500', 'not_a_feed', 'feed_gone', ...); "
        "null when it worked.",
    )
    error_detail: str | None = column(pa.string(), "Human-readable detail of the failure (status, message, URL).")
    bozo: str | None = column(
        pa.string(), "Why feedparser found the body malformed ('Class: message') when its entries were still used."
    )
    consecutive_failures: int = column(
        pa.int32(),
        "Failed polls in a row up to and including this one (0 after a success); drives the backoff.",
        nullable=False,
    )
    gone: bool = column(
        pa.bool_(), "True once the feed answered 410 Gone: not polled again until reset.", nullable=False
    )
    next_attempt_at: dt.datetime | None = column(
        UTC_MICROS, "Earliest time the feed will be polled again (backoff or Retry-After); null: the next run."
    )


@dataclass(frozen=True, kw_only=True)
class SeenKey:
    """One key of the seen-items ledger in the state store: what earlier runs already handled."""

    kind: str = column(
        pa.string(),
        "What the key identifies: 'article' (article_id), 'content' (content_hash), 'entry' (feed entry_id), "
        "'reject' (reject_id), 'attempt' (entry_id of a feed entry that failed and will be tried again; one row "
        "per failed try), or a takedown's 'forgotten' (article_id) and 'forgotten_content' (content_hash).",
        nullable=False,
    )
    key: str = column(pa.string(), "The id or hash.", nullable=False)
    run_id: str = column(pa.string(), "Id of the run that recorded it.", nullable=False)
    article_id: str | None = column(
        pa.string(),
        "For 'content' keys: the article that text belongs to (the original a later copy is marked against);"
        " null for other kinds and in ledger files written before it was recorded.",
    )


def _utc_date(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).date().isoformat() if value else HIVE_NULL_PARTITION


@dataclass(frozen=True)
class TableSpec:
    """A table: its record type, its Hive partition column and where each row belongs."""

    name: str
    record_type: type
    partition: ColumnSpec | None = None
    partition_value: Callable[[Any], str] | None = None
    upsert_key: str | None = None
    """When set, a run replaces earlier rows with the same key instead of adding rows (unpartitioned tables)."""
    description: str = ""
    """What one row is, for generated docs."""

    @property
    def columns(self) -> list[ColumnSpec]:
        return column_specs(self.record_type)

    @property
    def arrow_schema(self) -> pa.Schema:
        """Schema of the data files (the partition column is in the path, not the file)."""
        return pa.schema([c.arrow_field() for c in self.columns])

    def partition_dir(self, record: Any) -> str:
        """Relative Hive directory of a record, e.g. 'published_date=2022-07-26' ('' if unpartitioned)."""
        if self.partition is None or self.partition_value is None:
            return ""
        return f"{self.partition.name}={self.partition_value(record)}"


ARTICLES = TableSpec(
    "articles",
    Article,
    ColumnSpec("published_date", pa.date32(), True, "UTC date of published_at (Hive partition; NULL when unknown)."),
    lambda article: _utc_date(article.published_at),
    description="One row per article written, duplicates included (marked by duplicate_of).",
)
STORIES = TableSpec(
    "stories",
    Story,
    upsert_key="story_id",
    description=(
        "One row per story cluster, upserted by story_id: a run that adds articles to a story replaces its row."
    ),
)
REJECTS = TableSpec(
    "rejects",
    Reject,
    ColumnSpec("ingested_date", pa.date32(), False, "UTC date of ingested_at (Hive partition)."),
    lambda reject: _utc_date(reject.ingested_at),
    description="One row per input item that did not become an article, with the stage and reason.",
)
FEED_POLLS = TableSpec(
    "feed_polls",
    FeedPollRow,
    ColumnSpec("polled_date", pa.date32(), False, "UTC date of polled_at (Hive partition)."),
    lambda poll: _utc_date(poll.polled_at),
    description="One row per feed per poll: the HTTP outcome, entries seen and new, articles and rejects it gave.",
)
TABLES = (ARTICLES, STORIES, REJECTS, FEED_POLLS)
SEEN = TableSpec(
    "seen", SeenKey, description="The seen-items ledger in the state store (STATE/seen/): keys earlier runs handled."
)
"""The ledger of handled keys; lives in the state store, committed with the run's tables."""
STORY_UPDATES = TableSpec(
    "story_updates",
    StoryUpdate,
    ColumnSpec("window_date", pa.date32(), False, "UTC date of window_start (Hive partition)."),
    lambda update: _utc_date(update.window_start),
    description="Streaming: one row per story per window (and pane) in which it changed; "
    "the latest row per story is its current state.",
)
