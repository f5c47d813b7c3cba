"""Turn command-line options into a RunPlan: which files, which feeds are due, which catalog."""

from __future__ import annotations

import datetime as dt
import logging

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipeline.graph import RunPlan
from pipeline.options import DEFAULT_CATALOG, NewsbeamOptions
from pipeline.startup import LOCAL_RUNNERS
from schemas import SEEN
from transforms.dedup.ledger import check_ledger_files
from transforms.http.addresses import redact_credentials
from transforms.http.client import FetchPolicy, HttpFetcher
from transforms.http.polite import FetchSettings
from transforms.output.layout import committed_files
from transforms.run.context import RunContext
from transforms.sources.archive_filters import (
    ArchiveFilters,
    expand_site_values,
    parse_languages,
    parse_time_bound,
    site_origin,
    site_suffix,
)
from transforms.sources.feeds.lists import read_feed_list
from transforms.sources.feeds.state import FeedState, FeedStateStore, reset
from transforms.sources.seeds import expand_inputs
from transforms.sources.sitemaps.batch import sitemap_roots
from transforms.sources.sitemaps.state import SitemapStateStore
from transforms.sources.warc.cc_news import cc_news_paths
from transforms.sources.warc.records import is_warc_file
from transforms.stories.clusterer import CatalogStory, load_catalog
from transforms.stories.saved import check_story_index
from transforms.text.html_worker import usable_cores

log = logging.getLogger("newsbeam")


class PlanError(ValueError):
    """A user error in the options: missing catalog, bad feed list, bad feed URL."""


def plan_run(options: NewsbeamOptions, run: RunContext) -> RunPlan:
    """Everything decided before the graph is built; raises PlanError or InputNotFound on bad options."""
    connect_filesystems(options)
    known = FeedStateStore(options.state_dir).load(ignore_corrupt=options.reset_feeds)
    check_state_store(options.state_dir)
    due = feeds_due(configured_feeds(options), known, run.started_at, options.reset_feeds)
    files = expand_inputs(options.inputs) if options.inputs else []
    return RunPlan(
        output=options.output,
        state=options.state_dir,
        run=run,
        files=[path for path in files if not is_warc_file(path)],
        feeds=due,
        known_feeds=known,
        catalog=read_catalog(options.catalog),
        min_words=options.min_words,
        extraction_budget=options.extraction_budget,
        extraction_workers=extraction_workers(options),
        fetch=FetchSettings(
            host_delay=options.host_delay,
            threads=options.fetch_threads,
            policy=FetchPolicy(
                connect_timeout=options.http_timeout,
                read_timeout=options.http_timeout,
                total_timeout=options.http_total_timeout,
                max_body_bytes=int(options.max_body_mb * 2**20),
                max_decoded_bytes=int(options.max_body_mb * 2**20 * 5),
                allow_private_network=options.allow_private_network,
            ),
        ),
        fetch_pages=options.fetch_articles,
        warc_files=[path for path in files if is_warc_file(path)] + cc_news_files(options),
        sitemaps=sitemap_roots(options.sitemap or [], discovery_origins(options)),
        known_sitemaps=SitemapStateStore(options.state_dir).load(),
        filters=archive_filters(options),
    )


def extraction_workers(options: PipelineOptions) -> int:
    """``--extraction-workers`` (at least 1), else: one per usable core when the whole run is one local process
    (FnApiRunner, the DirectRunners, not ``multi_processing``), one per worker process on any other runner (which
    already runs a worker process per core, or spreads workers over machines)."""
    value = options.view_as(NewsbeamOptions).extraction_workers
    if value is not None:
        if value < 1:
            raise PlanError(f"--extraction-workers must be at least 1, not {value}")
        return value
    runner = options.view_as(StandardOptions).runner or ""
    one_process = options.view_as(DirectOptions).direct_running_mode != "multi_processing"
    return usable_cores() if runner.rsplit(".", 1)[-1] in LOCAL_RUNNERS and one_process else 1


def check_state_store(state_dir: str) -> None:
    """Raises ``CorruptStateFile`` for a story index or ledger file the run could not read, before anything runs."""
    check_story_index(state_dir)
    check_ledger_files(committed_files(state_dir, SEEN))


def connect_filesystems(options: PipelineOptions) -> None:
    """Hands the S3/GCS options (endpoint, credentials, region, project) to Beam's FileSystems.

    FileSystems read them from a process-wide setting that only ``beam.Pipeline(options)`` sets,
    but the planner reads ``--state`` (feeds.json, the ledger list) before any pipeline exists;
    without this an ``s3://`` state store would be reached with no options at all.
    """
    FileSystems.set_options(options)


def configured_feeds(options: NewsbeamOptions) -> list[str]:
    """--feed URLs and the URLs of every --feeds file, in order, without repeats."""
    connect_filesystems(options)  # --feeds files may be on an object store; the streaming plan reads them first
    urls = list(options.feed or [])
    for path in options.feeds or []:
        if not FileSystems.exists(path):
            raise PlanError(f"--feeds {path!r} does not exist")
        with FileSystems.open(path) as handle:
            text = handle.read().decode("utf-8", "replace")
        try:
            urls.extend(read_feed_list(text, path))
        except ValueError as err:
            raise PlanError(str(err)) from err
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise PlanError(f"feed {url!r} is not an http(s) URL")
    return list(dict.fromkeys(urls))


def feeds_due(urls: list[str], known: dict[str, FeedState], now: dt.datetime, reset_all: bool) -> list[FeedState]:
    """The configured feeds to poll now; gone or backing-off feeds are logged and left out."""
    due = []
    for url in urls:
        state = known.get(url) or FeedState.new(url)
        if reset_all:
            state = reset(state)
        if state.is_due(now):
            due.append(state)
        elif state.gone:
            log.warning("feed %s is gone (HTTP 410); not polled until --reset-feeds", redact_credentials(url))
        else:
            log.info(
                "feed %s backs off until %s after %d failures",
                redact_credentials(url),
                state.next_attempt_at,
                state.failures,
            )
    return due


def read_catalog(path: str | None) -> list[CatalogStory]:
    """The story catalog at ``path``; the default one only when it exists; '' means none."""
    if path == "":
        return []
    chosen = path or DEFAULT_CATALOG
    if not FileSystems.exists(chosen):
        if path:
            raise PlanError(f"--catalog {path!r} does not exist")
        return []
    with FileSystems.open(chosen) as handle:
        text = handle.read().decode("utf-8")
    try:
        return load_catalog(text)
    except ValueError as err:
        raise PlanError(f"{chosen}: {err}") from err


def read_bytes(path: str, allow_private_network: bool = False) -> bytes:
    """A whole (small) file: http(s) through the project's client (non-public addresses refused unless
    allowed), anything else through FileSystems."""
    if path.lower().startswith(("http://", "https://")):
        with HttpFetcher(FetchPolicy(total_timeout=300.0, allow_private_network=allow_private_network)) as fetcher:
            result = fetcher.get(path)
        if result.error:
            raise PlanError(f"{path}: {result.error} {result.detail}".strip())
        return result.body
    if not FileSystems.exists(path):
        raise PlanError(f"{path} does not exist")
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return handle.read()


def cc_news_files(options: NewsbeamOptions) -> list[str]:
    """The WARC files of every --cc-news month, listed from --cc-news-base."""

    def read(path: str) -> bytes:
        return read_bytes(path, options.allow_private_network)

    try:
        return [path for spec in options.cc_news or [] for path in cc_news_paths(spec, options.cc_news_base, read)]
    except ValueError as err:
        raise PlanError(str(err)) from err


def site_values(options: NewsbeamOptions) -> list[str]:
    """--site values, files of them read and expanded."""
    try:
        return expand_site_values(
            options.site or [],
            lambda path: read_bytes(path, options.allow_private_network).decode("utf-8", "replace"),
        )
    except ValueError as err:
        raise PlanError(str(err)) from err


def discovery_origins(options: NewsbeamOptions) -> list[str]:
    """Sites whose sitemaps are found through robots.txt: the --site values, unless the run reads archives."""
    if options.input or options.cc_news:
        return []
    return [site_origin(value) for value in site_values(options)]


def archive_filters(options: NewsbeamOptions) -> ArchiveFilters:
    try:
        since = parse_time_bound(options.since)
        until = parse_time_bound(options.until, end=True)
    except ValueError as err:
        raise PlanError(f"--since/--until: {err}") from err
    if since and until and until <= since:
        raise PlanError(f"--until {options.until} is not after --since {options.since}")
    return ArchiveFilters(
        sites=tuple(dict.fromkeys(site_suffix(value) for value in site_values(options))),
        since=since,
        until=until,
        languages=parse_languages(options.language or []),
    )
