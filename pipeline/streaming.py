"""The streaming graph: the batch stages on an unbounded input, for Dataflow or Flink.

    python -m pipeline run --streaming --feeds feeds.txt --output gs://BUCKET/news \\
        --runner=DataflowRunner --project=PROJECT --region=REGION --temp_location=gs://BUCKET/tmp \\
        [--poll-interval 300] [--window-size 600] [--allowed-lateness 86400] [--dedup-horizon 259200]
    python -m pipeline run --streaming --feeds feeds.txt --output /data/news \\
        --runner=FlinkRunner --flink_master=HOST:8081
    python -m pipeline run --streaming --feed URL --output /tmp/news --runner=DataflowRunner --dry_run=True \\
        --project=PROJECT --region=REGION --temp_location=gs://BUCKET/tmp   # validate the Dataflow job offline
    python -c "from pipeline.streaming import streaming_labels; print(*streaming_labels(), sep='\\n')"  # the graph

Top to bottom, as the product reads: poll feeds every interval → extract (the batch stage) →
event time and late data → dedup within a horizon (keyed state) → stories (one ordered,
stateful step) → one Parquet file per event-time window, partition and pane, in the batch
layout (``OUTPUT/articles/published_date=…/``, ``OUTPUT/rejects/ingested_date=…/``). The
semantics of each step are in its module: ``transforms/sources/feeds/streaming.py``,
``event_time/windows.py``, ``dedup/streaming.py``, ``stories/streaming.py``, ``output/panes.py``.

Not here: the stories table, the seen-items ledger and ``feeds.json`` (the job's keyed state
holds feed validators and what it has seen while it runs). No local runner runs this
faithfully (FnApiRunner fires event-time timers early; the BundleBasedDirectRunner cannot run
PeriodicImpulse), so ``run_streaming`` insists on a real streaming runner; the semantics are
tested with TestStream in ``tests/pipeline/test_streaming.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.pipeline import PipelineVisitor

from pipeline.options import NewsbeamOptions, StreamingOptions
from pipeline.plan import PlanError, configured_feeds, plan_run
from pipeline.remote_job import check_dry_run, report_job_not_run_here, runner_name, runs_here
from schemas import ARTICLES, REJECTS
from transforms.dedup.streaming import DedupWithinHorizon, DropRepeats
from transforms.event_time.windows import EventTime, WindowArticles
from transforms.http.polite import FetchSettings
from transforms.output.panes import WriteWindowedParquet
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.feeds.state import FeedState, reset
from transforms.sources.feeds.streaming import DEFAULT_POLL_INTERVAL, ReadFeedsPeriodically
from transforms.stories.clusterer import CatalogStory, StoryClusterer
from transforms.stories.streaming import AssignStoriesOnline
from transforms.text.extract import DEFAULT_EXTRACTION_BUDGET_S, DEFAULT_MIN_WORDS, ExtractArticles

log = logging.getLogger("newsbeam")
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner")
"""Runners that cannot run this graph faithfully (see the module docstring)."""


@dataclass(frozen=True)
class StreamingPlan:
    """Everything the streaming graph needs, decided before it is built."""

    output: str
    run: RunContext
    feeds: Sequence[FeedState] = ()  # every configured feed, with its stored state
    catalog: Sequence[CatalogStory] = ()
    min_words: int = DEFAULT_MIN_WORDS
    extraction_budget: float = DEFAULT_EXTRACTION_BUDGET_S
    fetch: FetchSettings = field(default_factory=FetchSettings)
    fetch_pages: bool = True
    poll_interval: float = DEFAULT_POLL_INTERVAL
    times: EventTime = field(default_factory=EventTime)
    make_clusterer: Callable = StoryClusterer  # the clusterer behind stories.streaming.ClusteringAdapter


class StreamingOutputs(NamedTuple):
    articles: beam.PCollection  # tagged articles as written
    rejects: beam.PCollection  # rejects as written
    already_seen: beam.PCollection  # re-deliveries within the dedup horizon: counted, not written
    files: beam.PCollection  # WrittenFile per pane file, both tables


def build_streaming_graph(p: beam.Pipeline, plan: StreamingPlan) -> StreamingOutputs:
    """Adds the whole streaming pipeline to ``p``."""
    feeds = p | "ReadFeeds" >> ReadFeedsPeriodically(
        plan.feeds, plan.run, plan.fetch, plan.fetch_pages, plan.poll_interval, plan.times.dedup_horizon_seconds
    )
    return streaming_stages(feeds.documents, plan, feeds.rejects)


def streaming_stages(
    documents: beam.PCollection, plan: StreamingPlan, source_rejects: beam.PCollection | None = None
) -> StreamingOutputs:
    """Everything after reading: documents (timestamped with their arrival) → tables."""
    times, run = plan.times, plan.run
    extracted = documents | "ExtractArticles" >> ExtractArticles(run, plan.min_words, plan.extraction_budget)
    windowed = extracted.articles | "WindowArticles" >> WindowArticles(times, run)
    deduped = windowed.articles | "DedupArticles" >> DedupWithinHorizon(times.dedup_horizon_seconds)
    articles = deduped.articles | "AssignStories" >> AssignStoriesOnline(plan.catalog, times, plan.make_clusterer)
    all_rejects = (
        (extracted.rejects, windowed.late)
        if source_rejects is None
        else (source_rejects, extracted.rejects, windowed.late)
    )
    rejects = (
        all_rejects
        | "AllRejects" >> beam.Flatten()
        | "SkipRepeatedRejects"
        >> DropRepeats(lambda r: r.reject_id, times.dedup_horizon_seconds, counters.REPEATED_REJECTS)
    )
    files = (
        articles | "WriteArticles" >> WriteWindowedParquet(ARTICLES, plan.output, times),
        rejects | "WriteRejects" >> WriteWindowedParquet(REJECTS, plan.output, times),
    ) | "AllFiles" >> beam.Flatten()
    return StreamingOutputs(articles, rejects, deduped.already_seen, files)


def plan_streaming(options: PipelineOptions, run: RunContext) -> StreamingPlan:
    """The streaming plan from the command line; raises PlanError on bad options."""
    ours = options.view_as(NewsbeamOptions)
    streaming = options.view_as(StreamingOptions)
    if ours.input:
        raise PlanError("--input files are read by batch runs; a streaming run polls --feed/--feeds")
    if ours.cc_news or ours.sitemap or ours.site or ours.since or ours.until or ours.language:
        raise PlanError("--cc-news, --sitemap, --site, --since, --until and --language are for batch runs")
    urls = configured_feeds(ours)
    if not urls:
        raise PlanError("a streaming run needs --feed or --feeds")
    try:
        times = EventTime(streaming.window_size, streaming.allowed_lateness, streaming.dedup_horizon)
    except ValueError as err:
        raise PlanError(str(err)) from err
    if streaming.poll_interval <= 0:
        raise PlanError("--poll-interval must be positive")
    batch = plan_run(ours, run)  # catalog, fetch settings, min words: the same rules as batch
    feeds = [batch.known_feeds.get(url) or FeedState.new(url) for url in urls]
    return StreamingPlan(
        output=ours.output,
        run=run,
        feeds=[reset(f) for f in feeds] if ours.reset_feeds else feeds,
        catalog=batch.catalog,
        min_words=batch.min_words,
        extraction_budget=batch.extraction_budget,
        fetch=batch.fetch,
        fetch_pages=batch.fetch_pages,
        poll_interval=streaming.poll_interval,
        times=times,
    )


def check_streaming_runner(options: PipelineOptions) -> None:
    """PlanError unless a runner that runs unbounded graphs was chosen."""
    name = runner_name(options)
    if not name or name in LOCAL_RUNNERS:
        raise PlanError(
            f"--streaming needs a runner for unbounded pipelines (e.g. --runner=DataflowRunner or FlinkRunner), "
            f"not {name or 'the default'}: local runners fire event-time timers early or cannot run PeriodicImpulse. "
            "For a live local mode, use `python -m pipeline watch`."
        )


def run_streaming(argv: list[str]) -> int:
    """``python -m pipeline run --streaming …``: submits the streaming job and waits for it (until cancelled)."""
    options = PipelineOptions(argv)
    options.view_as(StandardOptions).streaming = True
    check_streaming_runner(options)
    check_dry_run(options)
    run = RunContext.start()
    plan = plan_streaming(options, run)
    log.info("streaming run %s: %d feeds every %gs → %s", run.run_id, len(plan.feeds), plan.poll_interval, plan.output)
    pipeline = beam.Pipeline(options=options)
    build_streaming_graph(pipeline, plan)
    result = pipeline.run()
    if not runs_here(options):  # a Dataflow dry run or a template launch: no job to wait for here
        return report_job_not_run_here(result, options, run.run_id, record_path=None)
    log.info("streaming run %s submitted; it runs until cancelled or drained", run.run_id)
    result.wait_until_finish()
    return 0


def example_plan(output: str = "out/") -> StreamingPlan:
    """A one-feed plan, for looking at the graph."""
    return StreamingPlan(output=output, run=RunContext.start(), feeds=[FeedState.new("https://example.com/feed.xml")])


def streaming_labels(plan: StreamingPlan | None = None) -> list[str]:
    """Full labels of every transform of the streaming graph, in the order they are applied; nothing runs."""
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))
    build_streaming_graph(pipeline, plan or example_plan())
    labels = _Labels()
    pipeline.visit(labels)
    return labels.labels


class _Labels(PipelineVisitor):
    def __init__(self) -> None:
        self.labels: list[str] = []

    def enter_composite_transform(self, transform_node) -> None:
        if transform_node.full_label:
            self.labels.append(transform_node.full_label)

    def visit_transform(self, transform_node) -> None:
        self.labels.append(transform_node.full_label)
