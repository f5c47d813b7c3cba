"""Every option of every ``newsbeam`` command, declared once: name, type, default, help, group.

An ``Option`` is one declaration; the option classes below list which options each command
takes. ``pipeline/arguments.py`` builds each command's parser from them, with the options in
named groups (``GROUPS``: input, sources, extraction, stories, output, fetching, …), the
generated reference page (``python -m pipeline.docs_reference``) shows the same groups, and a
config file (``pipeline/config.py``) and the Python API (``newsbeam.run``) take the same names.

Pipeline options (``NewsbeamOptions``, ``StreamingOptions``, ``WatchOptions``) are Beam
``PipelineOptions`` subclasses: defining them here registers them with Beam, and
``options.view_as(WatchOptions)`` reads them. The commands that read or tidy an output have
plain option classes with the same ``_add_argparse_args`` hook. Every hyphenated option also
takes Beam's underscore spelling (``--min_words``), the form in which a Dataflow Flex Template
passes its parameters (``deploy/dataflow/metadata.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from transforms.event_time.windows import (
    DEFAULT_ALLOWED_LATENESS_SECONDS,
    DEFAULT_DEDUP_HORIZON_SECONDS,
    DEFAULT_WINDOW_SECONDS,
)
from transforms.http.client import FetchPolicy
from transforms.http.polite import DEFAULT_FETCH_THREADS, DEFAULT_HOST_DELAY
from transforms.output.layout import STATE_DIR
from transforms.sources.feeds.streaming import DEFAULT_POLL_INTERVAL
from transforms.sources.warc.cc_news import DEFAULT_BASE as CC_NEWS_BASE
from transforms.stories.streaming import DEFAULT_SNAPSHOT_SECONDS
from transforms.text.extract import DEFAULT_EXTRACTION_BUDGET_S, DEFAULT_MIN_WORDS

DEFAULT_INPUT = "seeds/"
DEFAULT_OUTPUT = "out/"
DEFAULT_CATALOG = "seeds/stories.toml"
DEFAULT_RUNNER = "FnApiRunner"
"""The stock DirectRunner first tries to download Prism; FnApiRunner runs batch locally at once."""
DEFAULT_INTERVAL = 300.0
"""Seconds between the starts of two ``watch`` runs."""
DEFAULT_MIN_FILE_MB = 64.0
"""``compact`` merges files smaller than this."""

GROUPS = {
    "input": "input: seed files and WARC files",
    "sources": "sources: feeds, sitemaps, sites, CC-NEWS",
    "extraction": "extraction: what makes an article, and which to keep",
    "stories": "stories: the catalog naming known stories",
    "output": "output: the tables and the state store",
    "fetching": "fetching: politeness, timeouts and limits of every HTTP request",
    "streaming": "streaming (run --streaming): polling, event time, windows, snapshots",
    "watch": "watch: how often to run and when to stop",
    "command": "{command}",
    "runner": "runner",
    "general": "general",
}
"""Every group ``--help`` shows, in this order, with its title; "command" holds an analyst command's own
options (its SQL, story id, …) and is titled with the command's name."""


@dataclass(frozen=True)
class Option:
    """One option of one or more commands, declared once.

    ``name`` is the long name without dashes (``host-delay``): the command line takes
    ``--host-delay`` and ``--host_delay``; a config file and ``newsbeam.run`` take either
    spelling as a key. ``kind`` is "value" (of ``type``), "many" (a repeatable value), "on"
    or "off" (a flag that sets ``dest`` True or False), or "positional".
    """

    name: str
    help: str
    group: str
    type: Callable[[str], Any] = str
    default: Any = None
    kind: str = "value"
    dest: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    nargs: str | None = None

    def __post_init__(self) -> None:
        assert self.group in GROUPS, f"--{self.name}: unknown group {self.group!r}"
        assert self.kind in ("value", "many", "on", "off", "positional"), self.kind

    @property
    def flags(self) -> tuple[str, ...]:
        """``("--host-delay", "--host_delay")``; a positional's name alone."""
        if self.kind == "positional":
            return (self.name,)
        underscored = f"--{self.name.replace('-', '_')}"
        return (f"--{self.name}",) + ((underscored,) if "-" in self.name else ())

    @property
    def key(self) -> str:
        """Where argparse stores it (``host_delay``, ``fetch_articles`` for ``--no-fetch-articles``)."""
        return self.dest or self.name.replace("-", "_")

    @property
    def is_flag(self) -> bool:
        return self.kind in ("on", "off")

    def argparse_kwargs(self) -> dict[str, Any]:
        if self.kind == "positional":
            return {"nargs": self.nargs, "default": self.default, "help": self.help, "metavar": self.metavar}
        kwargs: dict[str, Any] = {"dest": self.key, "help": self.help}
        if self.is_flag:
            kwargs["action"] = "store_true" if self.kind == "on" else "store_false"
            return kwargs
        kwargs["default"] = self.default
        if self.metavar or not self.choices:
            kwargs["metavar"] = self.metavar or self.name.split("-")[-1].upper()
        if self.kind == "many":
            kwargs["action"] = "append"
        if self.type is not str:
            kwargs["type"] = self.type
        if self.choices:
            kwargs["choices"] = self.choices
        return kwargs


def add_options(parser: Any, options: Sequence[Option]) -> None:
    """Adds ``options`` to ``parser``: into their named groups when it is ours (``OptionParser.section``),
    else straight onto it (Beam's own parser, which ``PipelineOptions`` builds)."""
    for option in options:
        target = parser.section(option.group) if hasattr(parser, "section") else parser
        target.add_argument(*option.flags, **option.argparse_kwargs())


class OptionSet:
    """A command's options: ``OPTIONS``, added to a parser by ``_add_argparse_args`` (Beam's hook)."""

    OPTIONS: tuple[Option, ...] = ()

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        add_options(parser, cls.OPTIONS)


# --- input, output, stories ----------------------------------------------------------------------------------

INPUT = Option(
    "input",
    "Seed file, directory or glob (.txt, .html, .htm, .jsonl, optionally .gz) or WARC files"
    f" (.warc, .warc.gz); repeatable. Default {DEFAULT_INPUT} when no other source is given",
    "input",
    kind="many",
    metavar="PATH",
)
OUTPUT = Option(
    "output",
    "The output folder for the Parquet tables (local, gs://, s3://). Default %(default)s",
    "output",
    default=DEFAULT_OUTPUT,
    metavar="DIR",
)
STATE = Option(
    "state",
    "State store (feed validators, seen-items ledger) that outlives the run. Default OUTPUT/_state/",
    "output",
    metavar="DIR",
)
CATALOG = Option(
    "catalog",
    f"Story catalog (TOML) naming known stories. Default {DEFAULT_CATALOG} when it exists; '' for none.",
    "stories",
    metavar="PATH",
)

# --- sources ----------------------------------------------------------------------------------------------------

FEED = Option("feed", "RSS/Atom/RDF/JSON feed URL; repeatable.", "sources", kind="many", metavar="URL")
FEEDS = Option(
    "feeds",
    "File of feed URLs (one per line, '#' comments) or an OPML subscription list; repeatable.",
    "sources",
    kind="many",
    metavar="PATH",
)
SITEMAP = Option(
    "sitemap",
    "Sitemap, sitemap index or Google News sitemap URL (optionally .gz); repeatable.",
    "sources",
    kind="many",
    metavar="URL",
)
SITE = Option(
    "site",
    "Keep only pages of these hosts and their subdomains (comma-separated, an http(s) URL, or a file "
    "of them: a value with '/' or ending in .txt); with no --input/--cc-news their sitemaps are found "
    "through robots.txt. Repeatable.",
    "sources",
    kind="many",
    metavar="HOSTS",
)
CC_NEWS = Option(
    "cc-news",
    "Common Crawl CC-NEWS month(s) to read: YYYY/MM or YYYY/MM-YYYY/MM; repeatable.",
    "sources",
    kind="many",
    metavar="MONTHS",
)
CC_NEWS_BASE_OPTION = Option(
    "cc-news-base",
    "Where CC-NEWS lives: https://data.commoncrawl.org/, s3://commoncrawl/ "
    "or a copy with the same layout. Default %(default)s",
    "sources",
    default=CC_NEWS_BASE,
    metavar="URI",
)
NO_FETCH_ARTICLES = Option(
    "no-fetch-articles",
    "Use the feed entries' own content/summary; don't fetch article pages.",
    "sources",
    kind="off",
    dest="fetch_articles",
)
RESET_FEEDS = Option(
    "reset-feeds", "Poll the given feeds even if marked gone (410) or backing off after errors.", "sources", kind="on"
)

# --- extraction --------------------------------------------------------------------------------------------------

MIN_WORDS = Option(
    "min-words",
    "Articles with fewer words after cleaning are rejected. Default %(default)s",
    "extraction",
    type=int,
    default=DEFAULT_MIN_WORDS,
    metavar="N",
)
EXTRACTION_BUDGET = Option(
    "extraction-budget",
    "Seconds one HTML page may take to extract; a page over it becomes a 'too_slow' reject. Default %(default)s",
    "extraction",
    type=float,
    default=DEFAULT_EXTRACTION_BUDGET_S,
    metavar="SECONDS",
)
EXTRACTION_WORKERS = Option(
    "extraction-workers",
    "HTML extraction processes per worker process, working while the pipeline does the rest. "
    "Default: one per usable core on a local runner in one process, else 1",
    "extraction",
    type=int,
    metavar="N",
)
SINCE = Option(
    "since",
    "Keep records fetched and articles published at or after this date (YYYY-MM-DD) or ISO-8601 time, UTC.",
    "extraction",
    metavar="DATE",
)
UNTIL = Option(
    "until",
    "Keep records fetched and articles published before the end of this date, or before this ISO-8601 time.",
    "extraction",
    metavar="DATE",
)
LANGUAGE = Option(
    "language",
    "Keep only articles in these languages (ISO 639-1, comma-separated or repeated), as identified after extraction.",
    "extraction",
    kind="many",
    metavar="CODES",
)

# --- fetching ----------------------------------------------------------------------------------------------------

HOST_DELAY = Option(
    "host-delay",
    "Minimum seconds between two requests to the same host (one request in flight per host). Default %(default)s",
    "fetching",
    type=float,
    default=DEFAULT_HOST_DELAY,
    metavar="SECONDS",
)
FETCH_THREADS = Option(
    "fetch-threads",
    "Hosts fetched at once per worker. Default %(default)s",
    "fetching",
    type=int,
    default=DEFAULT_FETCH_THREADS,
    metavar="N",
)
HTTP_TIMEOUT = Option(
    "http-timeout",
    "Seconds to wait for a connection or the next bytes of a response. Default %(default)s",
    "fetching",
    type=float,
    default=FetchPolicy.read_timeout,
    metavar="SECONDS",
)
HTTP_TOTAL_TIMEOUT = Option(
    "http-total-timeout",
    "Seconds one request may take in all, redirects included (cuts off slow drips). Default %(default)s",
    "fetching",
    type=float,
    default=FetchPolicy.total_timeout,
    metavar="SECONDS",
)
MAX_BODY_MB = Option(
    "max-body-mb",
    "Largest response body in MiB, on the wire; decoded bodies may be 5x that. Default %(default)s",
    "fetching",
    type=float,
    default=FetchPolicy.max_body_bytes / 2**20,
    metavar="MB",
)
ALLOW_PRIVATE_NETWORK = Option(
    "allow-private-network",
    "Allow URLs that resolve to loopback, private or link-local addresses (refused by default: SSRF).",
    "fetching",
    kind="on",
)

# --- streaming ---------------------------------------------------------------------------------------------------

POLL_INTERVAL = Option(
    "poll-interval",
    "Seconds between two polls of every feed. Default %(default)s",
    "streaming",
    type=float,
    default=DEFAULT_POLL_INTERVAL,
    metavar="SECONDS",
)
WINDOW_SIZE = Option(
    "window-size",
    "Seconds of publication time per output window (one file per window, partition and pane). Default %(default)s",
    "streaming",
    type=float,
    default=DEFAULT_WINDOW_SECONDS,
    metavar="SECONDS",
)
ALLOWED_LATENESS = Option(
    "allowed-lateness",
    "Seconds after its window's end an article is still written (in a late pane); later ones become 'late'"
    " rejects. Default %(default)s",
    "streaming",
    type=float,
    default=DEFAULT_ALLOWED_LATENESS_SECONDS,
    metavar="SECONDS",
)
DEDUP_HORIZON = Option(
    "dedup-horizon",
    "Seconds of event time a URL, text or feed entry is remembered (and the near-duplicate window); must exceed"
    " window + lateness. Default %(default)s",
    "streaming",
    type=float,
    default=DEFAULT_DEDUP_HORIZON_SECONDS,
    metavar="SECONDS",
)
SNAPSHOT_INTERVAL = Option(
    "snapshot-interval",
    "Seconds of watermark progress between two snapshots of the story index and feed states to the state store"
    " (also written when the job is drained). Default %(default)s",
    "streaming",
    type=float,
    default=DEFAULT_SNAPSHOT_SECONDS,
    metavar="SECONDS",
)
STREAMING = Option(
    "streaming", "Submit the streaming graph (Prism, DataflowRunner, FlinkRunner).", "streaming", kind="on"
)
"""Beam's own ``--streaming`` (StandardOptions), shown with ours."""

# --- watch -------------------------------------------------------------------------------------------------------

INTERVAL = Option(
    "interval",
    "Seconds between the starts of two runs. Default %(default)s",
    "watch",
    type=float,
    default=DEFAULT_INTERVAL,
    metavar="SECONDS",
)
MAX_RUNS = Option(
    "max-runs", "Stop after this many runs (default: until SIGINT/SIGTERM).", "watch", type=int, metavar="N"
)

# --- runner and general ------------------------------------------------------------------------------------------

RUNNER = Option(
    "runner",
    "Pipeline runner, e.g. DataflowRunner, FlinkRunner, PrismRunner, or the fully qualified name of a"
    f" PipelineRunner subclass. Default {DEFAULT_RUNNER} (batch, local).",
    "runner",
    metavar="NAME",
)
"""Beam's own ``--runner`` (StandardOptions), shown with ours and its real default."""
CONFIG = Option(
    "config",
    "Read options from this TOML file (keys: the long option names). Default ./newsbeam.toml when it"
    " exists; '' for none. The command line wins over the file.",
    "general",
    metavar="PATH",
)

# --- the analyst commands' own options ---------------------------------------------------------------------------

MIN_FILE_MB = Option(
    "min-file-mb",
    "Files smaller than this are merged. Default %(default)s",
    "command",
    type=float,
    default=DEFAULT_MIN_FILE_MB,
    metavar="MB",
)
SCHEMA_FORMAT = Option("format", "Default %(default)s", "command", default="markdown", choices=("markdown", "json"))
SQL = Option(
    "sql",
    "The SQL to run; views articles, stories, rejects (and feed_polls) are defined. "
    "Without SQL, prints the view definitions.",
    "command",
    kind="positional",
    nargs="?",
)
QUERY_FORMAT = Option(
    "format", "Output format. Default %(default)s", "command", default="table", choices=("table", "csv", "json")
)
UNSAFE = Option(
    "unsafe",
    "A full DuckDB session: any statement, any file (the default reads only the output's files).",
    "command",
    kind="on",
)
STORY_ID = Option("story_id", "Show this story's articles.", "command", kind="positional", nargs="?")
SEARCH = Option("search", "Only stories whose label or headlines contain TEXT.", "command", metavar="TEXT")
LIMIT = Option("limit", "At most this many stories. Default %(default)s", "command", type=int, default=50)
RESET = Option(
    "reset",
    "Forget URL's backoff, gone mark and validators: the next run polls it afresh.",
    "command",
    metavar="URL",
)
TARGET = Option("target", "The article's URL or article_id.", "command", kind="positional")
WITH_COPIES = Option("with-copies", "Also remove the rows marked as duplicates of the article.", "command", kind="on")


class NewsbeamOptions(PipelineOptions):
    """Where to read, where to write, and how to judge articles: every batch run's options."""

    OPTIONS = (
        INPUT,
        FEED,
        FEEDS,
        SITEMAP,
        SITE,
        CC_NEWS,
        CC_NEWS_BASE_OPTION,
        NO_FETCH_ARTICLES,
        RESET_FEEDS,
        MIN_WORDS,
        EXTRACTION_BUDGET,
        EXTRACTION_WORKERS,
        SINCE,
        UNTIL,
        LANGUAGE,
        CATALOG,
        OUTPUT,
        STATE,
        HOST_DELAY,
        FETCH_THREADS,
        HTTP_TIMEOUT,
        HTTP_TOTAL_TIMEOUT,
        MAX_BODY_MB,
        ALLOW_PRIVATE_NETWORK,
    )

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:  # Beam calls the hook only where a class defines it
        add_options(parser, cls.OPTIONS)

    @property
    def inputs(self) -> list[str]:
        """--input paths; seeds/ when no other source (files, feeds, CC-NEWS, sitemaps, sites) was given."""
        other_sources = self.feed or self.feeds or self.cc_news or self.sitemap or self.site
        return self.input or ([] if other_sources else [DEFAULT_INPUT])

    @property
    def state_dir(self) -> str:
        return state_dir_of(self.output, self.state)


class StreamingOptions(PipelineOptions):
    """Event time and polling of ``run --streaming`` (Beam's own ``--streaming`` flag selects it)."""

    OPTIONS = (POLL_INTERVAL, WINDOW_SIZE, ALLOWED_LATENESS, DEDUP_HORIZON, SNAPSHOT_INTERVAL)

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:  # Beam calls the hook only where a class defines it
        add_options(parser, cls.OPTIONS)


class WatchOptions(PipelineOptions):
    """``watch``: how often to run and when to stop."""

    OPTIONS = (INTERVAL, MAX_RUNS)

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:  # Beam calls the hook only where a class defines it
        add_options(parser, cls.OPTIONS)


class RunnerOptions(OptionSet):
    """Beam's ``--runner`` (and ``--streaming`` for ``run``), shown with our options; Beam defines and reads them."""

    OPTIONS = (RUNNER,)


class StreamingFlag(OptionSet):
    """Beam's ``--streaming``, for the commands that take ``StreamingOptions``."""

    OPTIONS = (STREAMING,)


class OutputOptions(OptionSet):
    """``--output`` of the commands that read an output folder (plus Beam's file system options)."""

    OPTIONS: tuple[Option, ...] = (OUTPUT,)


class CompactOptions(OptionSet):
    """``compact``: merge small files."""

    OPTIONS = (OUTPUT, MIN_FILE_MB)


class ReportOptions(OutputOptions):
    """``report``: writes OUTPUT/report.html."""


class SchemaOptions(OptionSet):
    """``schema``: the tables' columns as documentation."""

    OPTIONS = (SCHEMA_FORMAT,)


class QueryOptions(OptionSet):
    """``query``: SQL over the output's tables in DuckDB."""

    OPTIONS = (OUTPUT, SQL, QUERY_FORMAT, UNSAFE)


class StoriesOptions(OptionSet):
    """``stories``: list stories, or one story's articles."""

    OPTIONS = (OUTPUT, STORY_ID, SEARCH, LIMIT)


class FeedsOptions(OptionSet):
    """``feeds``: the feeds' health, and resetting one."""

    OPTIONS = (OUTPUT, STATE, RESET)


class ForgetOptions(OptionSet):
    """``forget``: a takedown of one article."""

    OPTIONS = (OUTPUT, TARGET, STATE, WITH_COPIES)


def options_of(classes: Sequence[type]) -> Iterator[Option]:
    """The options declared by these option classes (ours; Beam's have none), in order."""
    for cls in classes:
        yield from getattr(cls, "OPTIONS", ())


def every_option() -> list[Option]:
    """Every option any command takes (``CONFIG`` and Beam's ``--runner``/``--streaming`` included)."""
    classes = (NewsbeamOptions, StreamingOptions, WatchOptions, *_all_subclasses(OptionSet))
    seen: dict[int, Option] = {}
    for option in (*options_of(classes), CONFIG):
        seen.setdefault(id(option), option)
    return list(seen.values())


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def state_dir_of(output: str, state: str | None) -> str:
    """The state store: ``--state``, else OUTPUT/_state."""
    return state or output.rstrip("/") + "/" + STATE_DIR


def with_default_runner(options: PipelineOptions) -> PipelineOptions:
    """Sets FnApiRunner unless the user chose a runner."""
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = DEFAULT_RUNNER
    return options
