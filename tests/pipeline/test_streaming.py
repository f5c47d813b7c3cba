"""The whole streaming graph: TestStream on the BundleBasedDirectRunner, Parquet read back with DuckDB.

Each stage has its own test file beside its module's tests (``tests/transforms/…/test_streaming.py``,
``test_windows.py``, ``test_panes.py``); this file covers the composed graph, its labels, its
portable form and its options. Times: see ``tests/stream_builders.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import apache_beam as beam
import duckdb
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to

from pipeline.options import NewsbeamOptions
from pipeline.plan import PlanError, plan_run
from pipeline.streaming import (
    build_streaming_graph,
    check_streaming_runner,
    example_plan,
    plan_streaming,
    streaming_labels,
    streaming_stages,
)
from tests.stream_builders import (
    CURRENT_STORIES,
    RUN,
    arriving,
    assert_no_temporary_files,
    at,
    document,
    read_rows,
    streaming_pipeline,
    streaming_plan,
)
from transforms.event_time.windows import EventTime
from transforms.sources.feeds.state import FeedState, FeedStateStore

# --- the composed graph ----------------------------------------------------------------------


def test_the_streaming_graph_windows_dedups_tags_and_writes_late_data_in_late_panes(tmp_path):
    plan = streaming_plan(tmp_path)
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(2, document("harbour", "https://x.test/harbour", 1)))
        .add_elements(arriving(4, document("vaccine", "https://x.test/vaccine", 3)))
        .add_elements(
            arriving(5, document("harbour", "https://x.test/harbour", 5, feed="https://two.test/feed"))
        )  # same URL
        .add_elements(arriving(6, document("vaccine", "https://mirror.test/vaccine", 6)))  # same text
        .add_elements(
            arriving(7, dataclasses.replace(document("rocket", "https://x.test/rocket", 7), body="Too short."))
        )
        .advance_processing_time(300)
        .advance_watermark_to(at(12))  # window 10:00 fires: pane 0
        .add_elements(arriving(21, document("rocket", "https://x.test/rocket", 8)))  # late, within the lateness
        .add_elements(arriving(22, document("harbour", "https://x.test/harbour", 1)))  # the very same item again
        .add_elements(
            arriving(23, document("harbour", "https://x.test/harbour", 22, feed="https://three.test/feed"))
        )  # next window
        .add_elements(arriving(24, document("budget", "https://x.test/budget", 23)))
        .advance_processing_time(1200)
        .advance_watermark_to(at(45))  # window 10:00 closed for good at 10:40
        .add_elements(arriving(46, document("court", "https://x.test/court", 9)))  # beyond the lateness
        .add_elements(arriving(47, document("festival", None, None)))  # undated: its arrival is its event time
        .advance_watermark_to_infinity()
    )
    p = streaming_pipeline()
    outputs = streaming_stages(p | stream, plan)
    assert_that(
        outputs.already_ingested | beam.Map(lambda a: (a.source_uri, a.url)),
        equal_to([("https://one.test/feed", "https://x.test/harbour")]),
    )
    p.run().wait_until_finish()

    assert_no_temporary_files(tmp_path)
    rows = read_rows(
        tmp_path, "articles", "url, source_uri, article_id, duplicate_of, duplicate_kind, story_id, story_label"
    )
    by_url_source = {(r[3], r[4]): r for r in rows}
    original = {r[3]: r for r in rows if r[6] is None}
    assert [(r[0], r[1], r[2], r[3], r[4][8:11], r[7]) for r in rows] == [
        ("2024-03-01", "1000", 0, "https://mirror.test/vaccine", "one", "text"),
        ("2024-03-01", "1000", 0, "https://x.test/harbour", "one", None),
        ("2024-03-01", "1000", 0, "https://x.test/harbour", "two", "url"),
        ("2024-03-01", "1000", 0, "https://x.test/vaccine", "one", None),
        ("2024-03-01", "1000", 1, "https://x.test/rocket", "one", None),  # late pane of the same window
        ("2024-03-01", "1020", 0, "https://x.test/budget", "one", None),
        ("2024-03-01", "1020", 0, "https://x.test/harbour", "thr", "url"),  # a duplicate across windows
        (None, "1040", 0, None, "one", None),  # published_date=__HIVE_DEFAULT_PARTITION__ reads as NULL
    ]
    harbour, vaccine = original["https://x.test/harbour"], original["https://x.test/vaccine"]
    for url, source in [
        ("https://x.test/harbour", "https://two.test/feed"),
        ("https://x.test/harbour", "https://three.test/feed"),
    ]:
        copy = by_url_source[(url, source)]
        assert (copy[6], copy[8], copy[9]) == (harbour[5], harbour[8], harbour[9]) and copy[5] != harbour[5]
    mirror = by_url_source[("https://mirror.test/vaccine", "https://one.test/feed")]
    assert (mirror[6], mirror[8]) == (vaccine[5], vaccine[8])
    assert len({r[8] for r in rows}) == 5 and harbour[9] == "Harbour news"  # five stories; labels fixed at founding
    assert len({r[5] for r in rows}) == len(rows)  # every row its own id

    rejects = read_rows(tmp_path, "rejects", "stage, reason, source_uri")
    assert [(r[0], r[1], r[3], r[4]) for r in rejects] == [
        ("2024-03-01", "1000", "extract", "too_little_text"),  # rejects are windowed by arrival
        ("2024-03-01", "1040", "window", "late"),  # at the watermark that judged it late
    ]
    # Nothing vanishes: 11 documents = 8 rows + 1 re-delivery (checked above) + 2 rejects.
    assert len(rows) + 1 + len(rejects) == 11

    # Story updates: one row per story per window it changed in; the latest row per story is its current state.
    updates = read_rows(tmp_path, "story_updates", "story_id, story_label, article_count, pane")
    assert [(u[1], u[2], u[4], u[5]) for u in updates if u[3] == harbour[8]] == [
        ("1000", 0, "Harbour news", 2),
        ("1020", 0, "Harbour news", 3),  # the copy across windows counts
    ]
    assert [(u[1], u[2], u[5]) for u in updates if u[4] == "Rocket news"] == [("1000", 1, 1)]  # a late pane
    current = duckdb.sql(CURRENT_STORIES.format(root=tmp_path)).fetchall()
    assert len(current) == 5 and sum(row[5] for row in current) == len(rows)


# --- the graph, options and pure rules ---------------------------------------------------------


def test_the_streaming_graph_has_the_stages_of_the_product():
    labels = streaming_labels()
    for label in [
        "ReadFeeds/PollTicks",
        "ReadFeeds/PollFeeds/PollFeedsByHost",
        "ReadFeeds/PollFeeds/SkipSeenEntries",
        "ReadFeeds/PollFeeds/FetchPagesByHost",
        "ExtractArticles",
        "WindowArticles/StampEventTime",
        "WindowArticles/RouteLate",
        "DedupArticles/MarkSameUrl",
        "DedupArticles/MarkSameText",
        "AssignStories/Features",
        "AssignStories/TagInWindowOrder",
        "AssignStories/JoinStories",
        "WriteArticles/WritePanes",
        "WriteRejects/WritePanes",
        "WriteStoryUpdates/WritePanes",
        "FeedHealth/CompleteRows",
        "WriteFeedPolls/WritePanes",
        "SnapshotFeedStates/WriteFeedStates",
    ]:
        assert label in labels
    stages = [label for label in labels if "/" not in label]
    assert stages == [
        "ReadFeeds",
        "SnapshotFeedStates",
        "ExtractArticles",
        "WindowArticles",
        "DedupArticles",
        "AssignStories",
        "AllRejects",
        "SkipRepeatedRejects",
        "WriteArticles",
        "WriteRejects",
        "WriteStoryUpdates",
        "FeedAndExtractRejects",
        "FeedHealth",
        "WriteFeedPolls",
        "AllFiles",
        "AllAlreadyIngested",
    ]


def test_the_streaming_graph_translates_to_the_portable_form_dataflow_and_flink_receive():
    p = beam.Pipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))
    build_streaming_graph(p, example_plan())
    proto = p.to_runner_api()
    stateful = set()
    for transform in proto.components.transforms.values():
        if transform.spec.urn == common_urns.primitives.PAR_DO.urn:
            payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
            if payload.state_specs:
                stateful.add(transform.unique_name.split("/")[0])
    assert stateful == {
        "ReadFeeds",
        "SnapshotFeedStates",
        "FeedHealth",
        "WriteStoryUpdates",
        "WriteFeedPolls",
        "WindowArticles",
        "DedupArticles",
        "AssignStories",
        "SkipRepeatedRejects",
        "WriteArticles",
        "WriteRejects",
    }


def test_streaming_options_become_a_plan_and_local_runners_are_refused(tmp_path):
    argv = [
        "--feed",
        "https://news.test/rss",
        "--output",
        str(tmp_path),
        "--catalog",
        "",
        "--poll-interval",
        "60",
        "--window-size",
        "300",
        "--allowed-lateness",
        "3600",
        "--dedup-horizon",
        "7200",
        "--snapshot-interval",
        "900",
    ]
    plan = plan_streaming(PipelineOptions(argv), RUN)
    assert [f.feed_url for f in plan.feeds] == ["https://news.test/rss"] and plan.poll_interval == 60
    assert plan.times == EventTime(300, 3600, 7200) and plan.snapshot_seconds == 900
    assert plan.settings == plan_run(PipelineOptions(argv).view_as(NewsbeamOptions), RUN)  # the batch plan
    assert plan.settings.state == f"{tmp_path}/_state" and plan.feeds[0].etag is None
    # A relaunched job starts from the feed states a batch run or an earlier job saved: conditional GETs.
    FeedStateStore(plan.settings.state).save([replace(FeedState.new("https://news.test/rss"), etag='"v7"')])
    assert plan_streaming(PipelineOptions(argv), RUN).feeds[0].etag == '"v7"'
    refused = {
        "needs --feed": ["--output", str(tmp_path)],
        "--input files are read by batch runs": [*argv, "--input", "seeds/"],
        "are for batch runs": [*argv, "--sitemap", "https://news.test/sitemap.xml"],
        "dedup horizon": [*argv, "--dedup-horizon", "3000"],
        "snapshot-interval": [*argv, "--snapshot-interval", "0"],
    }
    for message, bad_argv in refused.items():
        with pytest.raises(PlanError, match=message):
            plan_streaming(PipelineOptions(bad_argv), RUN)
    for runner in (["--runner=FnApiRunner"], ["--runner=BundleBasedDirectRunner"], ["--runner=DirectRunner"]):
        with pytest.raises(PlanError, match="needs a runner"):
            check_streaming_runner(PipelineOptions([*runner, "--streaming"]))
    check_streaming_runner(PipelineOptions(["--runner=DataflowRunner", "--streaming"]))
