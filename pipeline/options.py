"""Every option of every ``python -m pipeline`` command, one class per group.

Pipeline options (``NewsbeamOptions``, ``StreamingOptions``, ``WatchOptions``) are Beam
``PipelineOptions`` subclasses: defining them here registers them with Beam, and
``options.view_as(WatchOptions)`` reads them. The commands that read or tidy an output
(``compact``, ``report``, ``schema``, ``query``, ``stories``, ``feeds``, ``forget``) have
plain option classes with the same ``_add_argparse_args`` hook; ``pipeline/arguments.py``
parses every command's arguments strictly through these classes.
"""

from __future__ import annotations

import argparse

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from transforms.event_time.windows import (
    DEFAULT_ALLOWED_LATENESS_SECONDS,
    DEFAULT_DEDUP_HORIZON_SECONDS,
    DEFAULT_WINDOW_SECONDS,
)
from transforms.http.client import FetchPolicy
from transforms.http.polite import DEFAULT_FETCH_THREADS, DEFAULT_HOST_DELAY
from transforms.sources.feeds.streaming import DEFAULT_POLL_INTERVAL
from transforms.sources.warc.cc_news import DEFAULT_BASE as CC_NEWS_BASE
from transforms.stories.streaming import DEFAULT_SNAPSHOT_SECONDS
from transforms.text.extract import DEFAULT_EXTRACTION_BUDGET_S, DEFAULT_MIN_WORDS

DEFAULT_INPUT = "seeds/"
DEFAULT_OUTPUT = "out/"
DEFAULT_CATALOG = "seeds/stories.toml"
STATE_DIR = "_state"
DEFAULT_RUNNER = "FnApiRunner"
"""The stock DirectRunner first tries to download Prism; FnApiRunner runs batch locally at once."""
DEFAULT_INTERVAL = 300.0
"""Seconds between the starts of two ``watch`` runs."""
DEFAULT_MIN_FILE_MB = 64.0
"""``compact`` merges files smaller than this."""


class NewsbeamOptions(PipelineOptions):
    """Where to read, where to write, and how to judge articles.

    Each hyphenated option also takes Beam's underscore spelling (``--min_words``), the form in
    which a Dataflow Flex Template passes its parameters (``deploy/dataflow/metadata.json``).
    """

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--input",
            dest="input",
            action="append",
            default=None,
            help="Seed file, directory or glob (.txt, .html, .htm, .jsonl, optionally .gz) or WARC files"
            f" (.warc, .warc.gz); repeatable. Default {DEFAULT_INPUT}",
        )
        parser.add_argument(
            "--output",
            dest="output",
            default=DEFAULT_OUTPUT,
            help="Output directory or URI for the Parquet tables. Default %(default)s",
        )
        parser.add_argument(
            "--state",
            dest="state",
            default=None,
            help="State store (feed validators, seen-items ledger) that outlives the run. Default OUTPUT/_state/",
        )
        parser.add_argument(
            "--catalog",
            dest="catalog",
            default=None,
            help=f"Story catalog (TOML) naming known stories. Default {DEFAULT_CATALOG} when it exists; '' for none.",
        )
        parser.add_argument(
            "--feed", dest="feed", action="append", default=None, help="RSS/Atom/RDF feed URL; repeatable."
        )
        parser.add_argument(
            "--feeds",
            dest="feeds",
            action="append",
            default=None,
            help="File of feed URLs (one per line, '#' comments) or an OPML subscription list; repeatable.",
        )
        parser.add_argument(
            "--host-delay",
            "--host_delay",
            dest="host_delay",
            type=float,
            default=DEFAULT_HOST_DELAY,
            help="Minimum seconds between two requests to the same host (one request in flight per host)."
            " Default %(default)s",
        )
        parser.add_argument(
            "--fetch-threads",
            "--fetch_threads",
            dest="fetch_threads",
            type=int,
            default=DEFAULT_FETCH_THREADS,
            help="Hosts fetched at once per worker. Default %(default)s",
        )
        parser.add_argument(
            "--http-timeout",
            "--http_timeout",
            dest="http_timeout",
            type=float,
            default=FetchPolicy.read_timeout,
            help="Seconds to wait for a connection or the next bytes of a response. Default %(default)s",
        )
        parser.add_argument(
            "--http-total-timeout",
            "--http_total_timeout",
            dest="http_total_timeout",
            type=float,
            default=FetchPolicy.total_timeout,
            help="Seconds one request may take in all, redirects included (cuts off slow drips). Default %(default)s",
        )
        parser.add_argument(
            "--max-body-mb",
            "--max_body_mb",
            dest="max_body_mb",
            type=float,
            default=FetchPolicy.max_body_bytes / 2**20,
            help="Largest response body in MiB, on the wire; decoded bodies may be 5x that. Default %(default)s",
        )
        parser.add_argument(
            "--no-fetch-articles",
            "--no_fetch_articles",
            dest="fetch_articles",
            action="store_false",
            help="Use the feed entries' own content/summary; don't fetch article pages.",
        )
        parser.add_argument(
            "--allow-private-network",
            "--allow_private_network",
            dest="allow_private_network",
            action="store_true",
            help="Allow URLs that resolve to loopback, private or link-local addresses (refused by default: SSRF).",
        )
        parser.add_argument(
            "--reset-feeds",
            "--reset_feeds",
            dest="reset_feeds",
            action="store_true",
            help="Poll the given feeds even if marked gone (410) or backing off after errors.",
        )
        parser.add_argument(
            "--min-words",
            "--min_words",
            dest="min_words",
            type=int,
            default=DEFAULT_MIN_WORDS,
            help="Articles with fewer words after cleaning are rejected. Default %(default)s",
        )
        parser.add_argument(
            "--extraction-budget",
            "--extraction_budget",
            dest="extraction_budget",
            type=float,
            default=DEFAULT_EXTRACTION_BUDGET_S,
            help="Seconds one HTML page may take to extract; a page over it becomes a 'too_slow' reject. "
            "Default %(default)s",
        )
        parser.add_argument(
            "--extraction-workers",
            "--extraction_workers",
            dest="extraction_workers",
            type=int,
            default=None,
            help="HTML extraction processes per worker process, working while the pipeline does the rest. "
            "Default: one per usable core on a local runner in one process, else 1",
        )
        parser.add_argument(
            "--cc-news",
            "--cc_news",
            dest="cc_news",
            action="append",
            default=None,
            help="Common Crawl CC-NEWS month(s) to read: YYYY/MM or YYYY/MM-YYYY/MM; repeatable.",
        )
        parser.add_argument(
            "--cc-news-base",
            "--cc_news_base",
            dest="cc_news_base",
            default=CC_NEWS_BASE,
            help="Where CC-NEWS lives: https://data.commoncrawl.org/, s3://commoncrawl/ "
            "or a copy with the same layout. Default %(default)s",
        )
        parser.add_argument(
            "--sitemap",
            dest="sitemap",
            action="append",
            default=None,
            help="Sitemap, sitemap index or Google News sitemap URL (optionally .gz); repeatable.",
        )
        parser.add_argument(
            "--site",
            dest="site",
            action="append",
            default=None,
            help="Keep only pages of these hosts and their subdomains (comma-separated, an http(s) URL, or a file "
            "of them: a value with '/' or ending in .txt); with no --input/--cc-news their sitemaps are found "
            "through robots.txt. Repeatable.",
        )
        parser.add_argument(
            "--since",
            dest="since",
            default=None,
            help="Keep records fetched and articles published at or after this date (YYYY-MM-DD) "
            "or ISO-8601 time, UTC.",
        )
        parser.add_argument(
            "--until",
            dest="until",
            default=None,
            help="Keep records fetched and articles published before the end of this date, "
            "or before this ISO-8601 time.",
        )
        parser.add_argument(
            "--language",
            dest="language",
            action="append",
            default=None,
            help="Keep only articles in these languages (ISO 639-1, comma-separated or repeated), "
            "as identified after extraction.",
        )

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

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--poll-interval",
            "--poll_interval",
            dest="poll_interval",
            type=float,
            default=DEFAULT_POLL_INTERVAL,
            help="Streaming: seconds between two polls of every feed. Default %(default)s",
        )
        parser.add_argument(
            "--window-size",
            "--window_size",
            dest="window_size",
            type=float,
            default=DEFAULT_WINDOW_SECONDS,
            help="Streaming: seconds of publication time per output window (one file per window, partition"
            " and pane). Default %(default)s",
        )
        parser.add_argument(
            "--allowed-lateness",
            "--allowed_lateness",
            dest="allowed_lateness",
            type=float,
            default=DEFAULT_ALLOWED_LATENESS_SECONDS,
            help="Streaming: seconds after its window's end an article is still written (in a late pane);"
            " later ones become 'late' rejects. Default %(default)s",
        )
        parser.add_argument(
            "--dedup-horizon",
            "--dedup_horizon",
            dest="dedup_horizon",
            type=float,
            default=DEFAULT_DEDUP_HORIZON_SECONDS,
            help="Streaming: seconds of event time a URL, text or feed entry is remembered (and the near-duplicate"
            " window); must exceed window + lateness. Default %(default)s",
        )
        parser.add_argument(
            "--snapshot-interval",
            "--snapshot_interval",
            dest="snapshot_interval",
            type=float,
            default=DEFAULT_SNAPSHOT_SECONDS,
            help="Streaming: seconds of watermark progress between two snapshots of the story index and feed states"
            " to the state store (also written when the job is drained). Default %(default)s",
        )


class WatchOptions(PipelineOptions):
    """``watch``: how often to run and when to stop."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--interval",
            dest="interval",
            type=float,
            default=DEFAULT_INTERVAL,
            help="watch: seconds between the starts of two runs. Default %(default)s",
        )
        parser.add_argument(
            "--max-runs",
            "--max_runs",
            dest="max_runs",
            type=int,
            default=None,
            help="watch: stop after this many runs (default: until SIGINT/SIGTERM).",
        )


class OutputOptions:
    """``--output`` of the commands that read an output folder (plus Beam's file system options)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--output",
            default=DEFAULT_OUTPUT,
            help="The pipeline's output folder (local, gs://, s3://). Default %(default)s",
        )


class CompactOptions(OutputOptions):
    """``compact``: merge small files."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        super()._add_argparse_args(parser)
        parser.add_argument(
            "--min-file-mb",
            "--min_file_mb",
            dest="min_file_mb",
            type=float,
            default=DEFAULT_MIN_FILE_MB,
            help="Files smaller than this are merged. Default %(default)s",
        )


class ReportOptions(OutputOptions):
    """``report``: writes OUTPUT/report.html."""


class SchemaOptions:
    """``schema``: the tables' columns as documentation."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--format", choices=("markdown", "json"), default="markdown", help="Default %(default)s")


class QueryOptions(OutputOptions):
    """``query``: SQL over the output's tables in DuckDB."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        super()._add_argparse_args(parser)
        parser.add_argument(
            "sql",
            nargs="?",
            default=None,
            help="The SQL to run; views articles, stories, rejects (and feed_polls) are defined. "
            "Without SQL, prints the view definitions.",
        )
        parser.add_argument(
            "--format", choices=("table", "csv", "json"), default="table", help="Output format. Default %(default)s"
        )
        parser.add_argument(
            "--unsafe",
            action="store_true",
            help="A full DuckDB session: any statement, any file (the default reads only the output's files).",
        )


class StoriesOptions(OutputOptions):
    """``stories``: list stories, or one story's articles."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        super()._add_argparse_args(parser)
        parser.add_argument("story_id", nargs="?", default=None, help="Show this story's articles.")
        parser.add_argument("--search", default=None, help="Only stories whose label or headlines contain TEXT.")
        parser.add_argument("--limit", type=int, default=50, help="At most this many stories. Default %(default)s")


class FeedsOptions(OutputOptions):
    """``feeds``: the feeds' health, and resetting one."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        super()._add_argparse_args(parser)
        parser.add_argument("--state", default=None, help="State store holding feeds.json. Default OUTPUT/_state/")
        parser.add_argument(
            "--reset",
            metavar="URL",
            default=None,
            help="Forget URL's backoff, gone mark and validators: the next run polls it afresh.",
        )


class ForgetOptions(OutputOptions):
    """``forget``: a takedown of one article."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        super()._add_argparse_args(parser)
        parser.add_argument("target", help="The article's URL or article_id.")
        parser.add_argument("--state", default=None, help="State store holding the seen ledger. Default OUTPUT/_state/")
        parser.add_argument(
            "--with-copies",
            "--with_copies",
            dest="with_copies",
            action="store_true",
            help="Also remove the rows marked as duplicates of the article.",
        )


def state_dir_of(output: str, state: str | None) -> str:
    """The state store: ``--state``, else OUTPUT/_state."""
    return state or output.rstrip("/") + "/" + STATE_DIR


def with_default_runner(options: PipelineOptions) -> PipelineOptions:
    """Sets FnApiRunner unless the user chose a runner."""
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = DEFAULT_RUNNER
    return options
