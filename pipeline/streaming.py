"""The streaming graph: the batch stages on an unbounded input, locally on Prism, or on Dataflow or Flink.

    python -m pipeline run --streaming --feeds feeds.txt --output out/ [--poll-interval 300]   # on Prism (make engines)
    python -m pipeline run --streaming --feeds feeds.txt --output gs://BUCKET/news \\
        --runner=DataflowRunner --project=PROJECT --region=REGION --temp_location=gs://BUCKET/tmp \\
        [--state gs://BUCKET/news/_state] [--snapshot-interval 3600] \\
        [--poll-interval 300] [--window-size 600] [--allowed-lateness 86400] [--dedup-horizon 259200]
    python -m pipeline run --streaming --feeds feeds.txt --output /data/news \\
        --runner=FlinkRunner --flink_master=HOST:8081
    python -m pipeline run --streaming --feed URL --output /tmp/news --runner=DataflowRunner --dry_run=True \\
        --project=PROJECT --region=REGION --temp_location=gs://BUCKET/tmp   # validate the Dataflow job offline
    python -c "from pipeline.streaming import streaming_labels; print(*streaming_labels(), sep='\\n')"  # the graph

Top to bottom, as the product reads: poll feeds every interval → extract (the batch stage) →
event time and late data → dedup within a horizon (keyed state) → stories and near-duplicates
(the batch rules, one window at a time) → one Parquet file per event-time window, partition
and pane, in the batch layout (``OUTPUT/articles/published_date=…/``,
``OUTPUT/rejects/ingested_date=…/``, ``OUTPUT/story_updates/window_date=…/``,
``OUTPUT/feed_polls/polled_date=…/``). The semantics of each step are in its module:
``transforms/sources/feeds/streaming.py``, ``event_time/windows.py``,
``dedup/streaming.py``, ``stories/streaming.py``, ``output/panes.py``.

The plan is the batch plan (``pipeline.plan.plan_run``: catalog, fetch settings, state store)
plus event time. The job starts from the state store (``--state``, default
``OUTPUT/_state/``): the story index with its near-duplicate window and the feed validators,
written by batch runs or an earlier job; it writes them back every ``--snapshot-interval``
seconds of watermark progress and when drained. Not here: the seen-items ledger (keyed state
remembers what the job has seen within the dedup horizon).

Without ``--runner`` the job runs here on Prism, Beam's portable local runner (``make engines``
installs it; ``pipeline/engines.py`` finds it). SIGINT or SIGTERM drains it: the poll ticks stop
(a drain file in the temporary folder, see ``PollTicks``), the watermark goes to the end of time,
the last panes and state snapshots are written, and the command exits 0; a second signal cancels.
FnApiRunner and the DirectRunners are refused (FnApiRunner fires event-time timers early; the
BundleBasedDirectRunner cannot run an unbounded source). The semantics are tested with
TestStream, one test file per stage and ``tests/pipeline/test_streaming.py`` for the whole graph;
``tests/engines/test_prism_streaming.py`` runs the command on Prism.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, PrismRunnerOptions, StandardOptions
from apache_beam.pipeline import PipelineVisitor

from pipeline.engines import prism_location, use_installed_flink_job_server
from pipeline.exit_codes import STREAM_NOT_DRAINED_EXIT
from pipeline.graph import RunPlan
from pipeline.options import NewsbeamOptions, StreamingOptions
from pipeline.plan import PlanError, configured_feeds, plan_run
from pipeline.remote_job import check_dry_run, report_job_not_run_here, runner_name, runs_here
from schemas import ARTICLES, FEED_POLLS, REJECTS, STORY_UPDATES
from transforms.dedup.streaming import DedupWithinHorizon, DropRepeats
from transforms.event_time.windows import (
    EventTime,
    WindowArticles,
)
from transforms.output.panes import WriteWindowedParquet
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.feeds.state import FeedState, reset
from transforms.sources.feeds.streaming import (
    DEFAULT_POLL_INTERVAL,
    CompletePollRows,
    ReadFeedsPeriodically,
    SnapshotFeedStates,
    StreamingFeedOutputs,
)
from transforms.stories.streaming import DEFAULT_SNAPSHOT_SECONDS, AssignStoriesOnline
from transforms.text.extract import ExtractArticles

log = logging.getLogger("newsbeam")
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner")
"""Runners that cannot run this graph faithfully (see the module docstring)."""
STREAMING_RUNNER = "PrismRunner"
"""The runner of ``--streaming`` without ``--runner``: here, on Prism."""


@dataclass(frozen=True)
class StreamingPlan:
    """Everything the streaming graph needs, decided before it is built: the batch plan plus event time."""

    settings: RunPlan  # output, state store, run, catalog, fetch settings, min words: the batch plan
    feeds: Sequence[FeedState] = ()  # every configured feed, with its stored state
    poll_interval: float = DEFAULT_POLL_INTERVAL
    times: EventTime = field(default_factory=EventTime)
    snapshot_seconds: float = DEFAULT_SNAPSHOT_SECONDS
    drain_file: str | None = None  # a local job stops polling once this file exists (see PollTicks)


class StreamingOutputs(NamedTuple):
    articles: beam.PCollection  # tagged articles as written
    rejects: beam.PCollection  # rejects as written
    already_ingested: beam.PCollection  # re-deliveries (within the horizon, or held by the index): not written
    story_updates: beam.PCollection  # StoryUpdate rows as written
    feed_polls: beam.PCollection | None  # FeedPoll rows as written
    files: beam.PCollection  # WrittenFile per pane file, every table


def build_streaming_graph(p: beam.Pipeline, plan: StreamingPlan) -> StreamingOutputs:
    """Adds the whole streaming pipeline to ``p``."""
    s, times = plan.settings, plan.times
    feeds = p | "ReadFeeds" >> ReadFeedsPeriodically(
        plan.feeds, s.run, s.fetch, s.fetch_pages, plan.poll_interval, times.dedup_horizon_seconds, plan.drain_file
    )
    _ = feeds.polls | "SnapshotFeedStates" >> SnapshotFeedStates(s.state, s.known_feeds, plan.snapshot_seconds)
    return streaming_stages(feeds.documents, plan, feeds)


def streaming_stages(
    documents: beam.PCollection, plan: StreamingPlan, feeds: StreamingFeedOutputs | None = None
) -> StreamingOutputs:
    """Everything after reading: documents (timestamped with their arrival) → tables."""
    s, times = plan.settings, plan.times
    extracted = documents | "ExtractArticles" >> ExtractArticles(s.run, s.min_words, s.extraction_budget)
    windowed = extracted.articles | "WindowArticles" >> WindowArticles(times, s.run)
    deduped = windowed.articles | "DedupArticles" >> DedupWithinHorizon(times.dedup_horizon_seconds)
    stories = deduped.articles | "AssignStories" >> AssignStoriesOnline(
        s.catalog, times, s.run, s.state, plan.snapshot_seconds
    )
    all_rejects = (
        (extracted.rejects, windowed.late) if feeds is None else (feeds.rejects, extracted.rejects, windowed.late)
    )
    rejects = (
        all_rejects
        | "AllRejects" >> beam.Flatten()
        | "SkipRepeatedRejects"
        >> DropRepeats(lambda r: r.reject_id, times.dedup_horizon_seconds, counters.REPEATED_REJECTS)
    )
    tables = [
        stories.articles | "WriteArticles" >> WriteWindowedParquet(ARTICLES, s.output, times),
        rejects | "WriteRejects" >> WriteWindowedParquet(REJECTS, s.output, times),
        stories.updates | "WriteStoryUpdates" >> WriteWindowedParquet(STORY_UPDATES, s.output, times),
    ]
    polls = None  # without the feed stage (tests that start from documents), no feed health
    if feeds is not None:
        page_rejects = (feeds.rejects, extracted.rejects) | "FeedAndExtractRejects" >> beam.Flatten()
        polls = (feeds.polls, feeds.seen_before, extracted.articles, page_rejects) | "FeedHealth" >> CompletePollRows(
            s.run, times
        )
        tables.append(polls | "WriteFeedPolls" >> WriteWindowedParquet(FEED_POLLS, s.output, times))
    files = tables | "AllFiles" >> beam.Flatten()
    already = (deduped.already_ingested, stories.already_ingested) | "AllAlreadyIngested" >> beam.Flatten()
    return StreamingOutputs(stories.articles, rejects, already, stories.updates, polls, files)


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
    if streaming.snapshot_interval <= 0:
        raise PlanError("--snapshot-interval must be positive")
    batch = plan_run(ours, run)  # catalog, fetch settings, min words, the state store: the batch plan
    feeds = [batch.known_feeds.get(url) or FeedState.new(url) for url in urls]
    return StreamingPlan(
        settings=batch,
        feeds=[reset(f) for f in feeds] if ours.reset_feeds else feeds,
        poll_interval=streaming.poll_interval,
        times=times,
        snapshot_seconds=streaming.snapshot_interval,
    )


def check_streaming_runner(options: PipelineOptions) -> None:
    """PlanError unless a runner that runs unbounded graphs was chosen; Prism (located) when none was."""
    standard = options.view_as(StandardOptions)
    name = runner_name(options)
    if not name:
        standard.runner = STREAMING_RUNNER
        name = STREAMING_RUNNER
    if name in LOCAL_RUNNERS:
        raise PlanError(
            f"--streaming needs a runner for unbounded pipelines (PrismRunner, the default, DataflowRunner or "
            f"FlinkRunner), not {name}: it fires event-time timers early or cannot run an unbounded source. "
            "For batch runs on a schedule, use `python -m pipeline watch`."
        )
    if name == STREAMING_RUNNER:
        prism = options.view_as(PrismRunnerOptions)
        if not prism.prism_location:
            prism.prism_location = prism_location()  # EngineMissing (exit 6) names `make engines`
    use_installed_flink_job_server(options)


def run_streaming(argv: list[str]) -> int:
    """``python -m pipeline run --streaming …``: runs the job and waits for it (until drained or cancelled)."""
    options = PipelineOptions(argv)
    options.view_as(StandardOptions).streaming = True
    check_streaming_runner(options)
    check_dry_run(options)
    run = RunContext.start()
    plan = plan_streaming(options, run)
    local = runner_name(options) == STREAMING_RUNNER
    if local:
        plan = replace(plan, drain_file=drain_file_for(run.run_id))
    log.info(
        "streaming run %s: %d feeds every %gs → %s (state %s)",
        run.run_id,
        len(plan.feeds),
        plan.poll_interval,
        plan.settings.output,
        plan.settings.state,
    )
    pipeline = beam.Pipeline(options=options)
    build_streaming_graph(pipeline, plan)
    result = pipeline.run()
    if not runs_here(options):  # a Dataflow dry run or a template launch: no job to wait for here
        return report_job_not_run_here(result, options, run.run_id, record_path=None)
    if not local:
        log.info("streaming run %s submitted; it runs until cancelled or drained", run.run_id)
        result.wait_until_finish()
        return 0
    return wait_draining_on_signal(result, plan.drain_file, run.run_id)


def drain_file_for(run_id: str) -> str:
    """The file whose existence drains a local job: in the temporary folder (the workers run on this machine,
    whatever the state store is), removed when the job ends."""
    return os.path.join(tempfile.gettempdir(), f"newsbeam-drain-{run_id}-{uuid.uuid4().hex[:8]}")


def wait_draining_on_signal(result, drain_file: str, run_id: str) -> int:
    """Waits for a local job; the first SIGINT/SIGTERM drains it (exit 0 when done), a second one cancels it (1)."""
    signals = {"count": 0}

    def on_signal(signum, _frame) -> None:
        signals["count"] += 1
        if signals["count"] == 1:
            log.warning(
                "streaming run %s: %s, draining (last panes and state being written)",
                run_id,
                signal.Signals(signum).name,
            )
            with open(drain_file, "w") as marker:
                marker.write(run_id)
        else:
            log.warning("streaming run %s: second signal, cancelling", run_id)
            result.cancel()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    log.info("streaming run %s running on Prism; Ctrl-C or SIGTERM drains it", run_id)
    try:
        state = result.wait_until_finish()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if os.path.exists(drain_file):
            os.remove(drain_file)
    if signals["count"] > 1 or state != "DONE":
        log.error("streaming run %s ended in state %s", run_id, state)
        return STREAM_NOT_DRAINED_EXIT
    log.info("streaming run %s drained", run_id)
    return 0


def example_plan(output: str = "out/") -> StreamingPlan:
    """A one-feed plan, for looking at the graph."""
    return StreamingPlan(
        RunPlan(output=output, state=output.rstrip("/") + "/_state", run=RunContext.start()),
        feeds=[FeedState.new("https://example.com/feed.xml")],
    )


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
