"""The streaming graph: TestStream on the BundleBasedDirectRunner, Parquet read back with DuckDB and pyarrow.

Articles (or source documents) arrive over processing and event time; watermarks are advanced
explicitly. Times are minutes after 2024-03-01 10:00 UTC; windows are 10 minutes, the allowed
lateness 30 minutes and the dedup horizon 2 hours, unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.testing import test_pipeline, test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from pipeline.plan import PlanError
from pipeline.streaming import (
    StreamingPlan,
    build_streaming_graph,
    check_streaming_runner,
    example_plan,
    plan_streaming,
    streaming_labels,
    streaming_stages,
)
from schemas import ARTICLES
from tests.builders import article
from tests.http_server import Reply
from transforms.dedup.streaming import DedupWithinHorizon
from transforms.event_time.windows import EventTime, event_time, is_late
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchSettings
from transforms.output.panes import WriteWindowedParquet
from transforms.run.context import RunContext
from transforms.sources.document import TEXT, SourceDocument
from transforms.sources.feeds.state import FeedState
from transforms.sources.feeds.streaming import PollFeeds
from transforms.stories.batch import story_input
from transforms.stories.clusterer import CatalogStory, StoryClusterer
from transforms.stories.streaming import (
    ClusteringAdapter,
    OnlineStories,
    TagStoriesInOrder,
)

T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
RUN = RunContext("20240301T100000Z-stream", T0)
TIMES = EventTime(window_seconds=600, allowed_lateness_seconds=1800, dedup_horizon_seconds=7200)
FILE_NAME = re.compile(r"part-(\d{8}T\d{6}Z)-(\d{8}T\d{6}Z)-(\d+)-([0-9a-f]{16})\.parquet")
TOPICS = {
    "harbour": "The harbour authority closed the northern quay after storm waves cracked the old sea wall. "
    "Fishing boats were moved to the southern basin while engineers inspect the breakwater and the cranes.",
    "vaccine": "Scientists at the university laboratory reported that the malaria vaccine trial protected most children. "
    "The clinic enrolled patients in three villages and the research team will publish the data next spring.",
    "rocket": "The private rocket carrying a weather satellite reached orbit after a delayed launch from the coastal spaceport. "
    "Mission controllers confirmed the solar panels unfolded and the telescope camera sent its first images.",
    "budget": "The county council approved a budget that raises teacher wages and repairs the railway bridge over the river. "
    "Opposition members argued the tax increase would hurt farmers and small shops in the market towns.",
    "court": "The appeal court overturned the verdict against the factory owner after the jury heard new evidence. "
    "Lawyers for the workers union said they would take the pollution case to the supreme court next year.",
    "festival": "Thousands of visitors filled the old town for the lantern festival as musicians played in the squares. "
    "Hotels reported record bookings and the museum stayed open until midnight for the parade.",
}


def at(minutes: float) -> Timestamp:
    return Timestamp.from_utc_datetime(T0 + dt.timedelta(minutes=minutes))


def when(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def streaming_pipeline() -> test_pipeline.TestPipeline:
    """TestStream needs the BundleBasedDirectRunner (FnApiRunner cannot run it; DirectRunner tries Prism)."""
    return test_pipeline.TestPipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))


def document(
    topic: str, url: str | None, published: float | None, feed: str = "https://one.test/feed"
) -> SourceDocument:
    """A feed entry's own text, as the feed stage hands it to extraction."""
    return SourceDocument(
        source_uri=feed,
        kind=TEXT,
        body=TOPICS[topic],
        url=url,
        title=f"{topic.title()} news",
        published=when(published).isoformat() if published is not None else None,
        published_by="feed",
        entry_id=f"{feed}#{topic}-{url}-{published}",
    )


def arriving(minutes: float, *items) -> list[TimestampedValue]:
    return [TimestampedValue(item, at(minutes)) for item in items]


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_no_temporary_files(root: Path) -> None:
    names = all_files(root)
    assert names, "nothing was written"
    assert not [n for n in names if any(part.startswith((".", "_")) for part in n.split("/")) or ".tmp" in n]
    assert all(FILE_NAME.fullmatch(n.rsplit("/", 1)[-1]) for n in names), names


def read_rows(root: Path, table: str, columns: str) -> list[tuple]:
    """(partition, window start, pane, *columns) for every row, via DuckDB with Hive partitioning."""
    partition = "published_date" if table == "articles" else "ingested_date"
    rows = duckdb.sql(
        f"SELECT CAST({partition} AS VARCHAR), filename, {columns} "
        f"FROM read_parquet('{root}/{table}/*/*.parquet', hive_partitioning=true, filename=true)"
    ).fetchall()
    result = []
    for date, filename, *values in rows:
        start, _, pane, _ = FILE_NAME.fullmatch(filename.rsplit("/", 1)[-1]).groups()
        result.append((date, start[9:13], int(pane), *values))
    return sorted(result, key=repr)


# --- the composed graph ----------------------------------------------------------------------


def test_the_streaming_graph_windows_dedups_tags_and_writes_late_data_in_late_panes(tmp_path):
    plan = StreamingPlan(output=str(tmp_path), run=RUN, times=TIMES)
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
        outputs.already_seen | beam.Map(lambda a: (a.source_uri, a.url)),
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


# --- the dedup step alone ----------------------------------------------------------------------


def test_dedup_marks_within_the_horizon_and_forgets_when_the_watermark_passes_it():
    first = article("first", url="https://x.test/a", text=TOPICS["harbour"], published=when(1), source_uri="/feed/one")
    copy = article("copy", url="https://x.test/a", text=TOPICS["harbour"], published=when(50), source_uri="/feed/two")
    twin = article("twin", url="https://y.test/b", text=TOPICS["harbour"], published=when(60), source_uri="/feed/three")
    again = dataclasses.replace(first)  # the same item delivered again
    after = article(
        "after", url="https://x.test/a", text=TOPICS["harbour"], published=when(200), source_uri="/feed/four"
    )
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(1, first))
        .advance_watermark_to(at(40))
        .add_elements(arriving(50, copy))  # another window, same URL: marked
        .add_elements(arriving(60, twin, again))  # same text: marked; the same item: set aside
        .advance_watermark_to(at(190))  # 10:01 + 2 h passed: URL and text forgotten
        .add_elements(arriving(200, after))
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        out = p | stream | DedupWithinHorizon(TIMES.dedup_horizon_seconds)
        assert_that(
            out.articles | beam.Map(lambda a: (a.source_uri, a.duplicate_of, a.duplicate_kind)),
            equal_to(
                [
                    ("/feed/one", None, None),
                    ("/feed/two", first.article_id, "url"),
                    ("/feed/three", first.article_id, "text"),
                    ("/feed/four", None, None),  # after the horizon: a new original (documented)
                ]
            ),
            label="marked",
        )
        assert_that(out.already_seen | beam.Map(lambda a: a.source_uri), equal_to(["/feed/one"]), label="already_seen")


# --- the windowed writer alone -----------------------------------------------------------------


def test_windowed_writes_one_file_per_window_partition_and_pane_and_never_overwrite(tmp_path):
    def row(name, minutes_published):
        return dataclasses.replace(
            article(name, url=f"https://x.test/{name}", published=when(minutes_published)),
            story_id="s",
            story_label="S",
        )

    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements([TimestampedValue(row("a", 1), at(1)), TimestampedValue(row("b", 2), at(2))])
        .add_elements(
            [TimestampedValue(row("yesterday", -11 * 60), at(3))]
        )  # window 10:00, the partition of its publication
        .add_elements([TimestampedValue(row("c", 14), at(14))])
        .advance_watermark_to(at(12))  # window 10:00 → pane 0
        .add_elements([TimestampedValue(row("late", 5), at(5))])
        .advance_watermark_to(at(15))  # the late row waits: a late pane comes a window size after pane 0
        .advance_watermark_to(at(45))  # late pane 1 at 10:20; window 10:00 closed for good at 10:40: state cleared
        .add_elements([TimestampedValue(row("after-close", 6), at(6))])  # nothing upstream stopped it
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        written = p | stream | WriteWindowedParquet(ARTICLES, str(tmp_path), TIMES)
        assert_that(
            written | beam.Map(lambda f: (f.window_start[9:13], f.pane, f.rows)),
            equal_to([("1000", 0, 2), ("1000", 0, 1), ("1000", 1, 1), ("1000", 0, 1), ("1010", 0, 1)]),
        )

    assert_no_temporary_files(tmp_path)
    rows = read_rows(tmp_path, "articles", "source_uri")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("2024-02-29", "1000", 0, "/in/yesterday.txt"),
        ("2024-03-01", "1000", 0, "/in/a.txt"),
        ("2024-03-01", "1000", 0, "/in/after-close.txt"),  # pane numbering restarted, in a file of its own
        ("2024-03-01", "1000", 0, "/in/b.txt"),
        ("2024-03-01", "1000", 1, "/in/late.txt"),
        ("2024-03-01", "1010", 0, "/in/c.txt"),
    ]
    pane_files = sorted(
        tmp_path.glob("articles/published_date=2024-03-01/part-20240301T100000Z-20240301T101000Z-0-*.parquet")
    )
    assert [pq.read_table(f).num_rows for f in pane_files] in ([2, 1], [1, 2])
    parquet = pq.ParquetFile(pane_files[0])
    assert parquet.schema_arrow.equals(ARTICLES.arrow_schema) and "published_date" not in parquet.schema_arrow.names
    assert parquet.schema_arrow.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


# --- feeds polled on ticks ---------------------------------------------------------------------

FETCH = FetchSettings(
    host_delay=0.0, threads=2, policy=FetchPolicy(allow_private_network=True, read_timeout=2, total_timeout=5)
)


def rss(server, numbers) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>{server.url(f'/a/{i}')}</link><guid>{server.url(f'/a/{i}')}</guid>"
        f"<description>{TOPICS[list(TOPICS)[i]]}</description></item>"
        for i in numbers
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_feeds_are_polled_each_tick_with_their_validators_and_each_entry_is_fetched_once(loopback_server):
    validators = []

    def feed(request):
        validators.append(request.headers.get("if-none-match"))
        if len(validators) == 2:
            return Reply(304)
        version, numbers = ('"v1"', [0, 1]) if len(validators) == 1 else ('"v2"', [0, 1, 2])
        return Reply(200, rss(loopback_server, numbers), {"Content-Type": "application/rss+xml", "ETag": version})

    loopback_server.route("/feed.xml", feed)
    feeds = [FeedState.new(loopback_server.url("/feed.xml"))]
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(0, "tick"))
        .advance_watermark_to(at(5))
        .add_elements(arriving(5, "tick"))  # 304: nothing new
        .advance_watermark_to(at(10))
        .add_elements(arriving(10, "tick"))  # items 0 and 1 again, and item 2
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        out = (
            p
            | stream
            | PollFeeds(feeds, RUN, FETCH, fetch_pages=False, entry_horizon_seconds=TIMES.dedup_horizon_seconds)
        )
        assert_that(
            out.documents | beam.Map(lambda d, ts=beam.DoFn.TimestampParam: (d.title, d.fallback_source, ts)),
            equal_to(
                [
                    ("Item 0", "feed_summary", at(0)),
                    ("Item 1", "feed_summary", at(0)),
                    ("Item 2", "feed_summary", at(10)),
                ]
            ),
            label="documents",
        )
        assert_that(out.rejects, equal_to([]), label="rejects")
    assert validators == [None, '"v1"', '"v1"']
    assert loopback_server.requests_to("/a/0") == []  # --no-fetch-articles: the entry's own text


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
        "AssignStories/TagInArrivalOrder",
        "WriteArticles/WritePanes",
        "WriteRejects/WritePanes",
    ]:
        assert label in labels
    stages = [label for label in labels if "/" not in label]
    assert stages == [
        "ReadFeeds",
        "ExtractArticles",
        "WindowArticles",
        "DedupArticles",
        "AssignStories",
        "AllRejects",
        "SkipRepeatedRejects",
        "WriteArticles",
        "WriteRejects",
        "AllFiles",
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
    ]
    plan = plan_streaming(PipelineOptions(argv), RUN)
    assert [f.feed_url for f in plan.feeds] == ["https://news.test/rss"] and plan.poll_interval == 60
    assert plan.times == EventTime(300, 3600, 7200)
    refused = {
        "needs --feed": ["--output", str(tmp_path)],
        "--input files are read by batch runs": [*argv, "--input", "seeds/"],
        "are for batch runs": [*argv, "--sitemap", "https://news.test/sitemap.xml"],
        "dedup horizon": [*argv, "--dedup-horizon", "3000"],
    }
    for message, bad_argv in refused.items():
        with pytest.raises(PlanError, match=message):
            plan_streaming(PipelineOptions(bad_argv), RUN)
    for runner in ([], ["--runner=FnApiRunner"], ["--runner=BundleBasedDirectRunner"]):
        with pytest.raises(PlanError, match="needs a runner"):
            check_streaming_runner(PipelineOptions([*runner, "--streaming"]))
    check_streaming_runner(PipelineOptions(["--runner=DataflowRunner", "--streaming"]))


def test_event_time_is_the_publication_time_but_never_after_the_arrival():
    arrived = at(30)
    assert event_time(article("a", published=when(5)), arrived) == at(5)
    assert event_time(article("b", published=when(90)), arrived) == arrived  # a date in the future: a wrong clock
    assert event_time(article("c"), arrived) == arrived
    assert not is_late(TIMES, at(5).micros, None)
    assert not is_late(TIMES, at(5).micros, at(39).micros) and is_late(TIMES, at(5).micros, at(40).micros)
    with pytest.raises(ValueError, match="dedup horizon"):
        EventTime(window_seconds=600, allowed_lateness_seconds=3600, dedup_horizon_seconds=4000)


class CountingClusterer:
    """A stand-in for the reworked clusterer: one story per title word."""

    def __init__(self, catalog):
        self.calls = []

    def add(self, article_id, vector, published_at, title):
        self.calls.append(article_id)
        return "s-" + title.split()[0].lower()


def test_duplicates_follow_their_root_original_even_when_they_arrive_first():
    original = article("original", url="https://x.test/a", text=TOPICS["court"], title="Court ruling")
    copy = dataclasses.replace(
        article("copy", url="https://x.test/a", text=TOPICS["court"]),
        article_id="copy-id",
        duplicate_of=original.article_id,
    )
    copy_of_copy = dataclasses.replace(
        article("copy2", text=TOPICS["court"]), article_id="copy2-id", duplicate_of="copy-id"
    )
    orphan = dataclasses.replace(
        article("orphan", text=TOPICS["rocket"]), article_id="orphan-id", duplicate_of="never-seen"
    )
    stories = OnlineStories(ClusteringAdapter((), CountingClusterer))

    assert stories.tag(copy_of_copy, story_input(copy_of_copy), 3, 0) == []  # waits for "copy-id"
    assert stories.tag(copy, story_input(copy), 2, 0) == []  # waits for the original
    assert stories.tag(orphan, story_input(orphan), 4, 0) == []
    ready = stories.tag(original, story_input(original), 1, 0)
    assert [(t, a.article_id, a.duplicate_of, a.story_id, a.story_label) for t, a in ready] == [
        (1, original.article_id, None, "s-court", "Court ruling"),
        (2, "copy-id", original.article_id, "s-court", "Court ruling"),
        (3, "copy2-id", original.article_id, "s-court", "Court ruling"),  # re-pointed at the root
    ]
    assert stories.adapter._clusterer.calls == [original.article_id]  # duplicates never reach the clusterer
    assert stories.give_up_waiting(0) == []  # waited less than a checkpoint
    assert [(t, a.article_id, a.story_id) for t, a in stories.give_up_waiting(1)] == [(4, "orphan-id", None)]


def test_a_story_is_labelled_when_it_is_founded_catalog_first():
    catalog = [
        CatalogStory(
            "Harbour storm", "Storm waves damaged the harbour sea wall and the quay was closed to fishing boats"
        )
    ]
    adapter = ClusteringAdapter(catalog)
    harbour = article("h", url="https://x.test/h", text=TOPICS["harbour"], title="Quay closed")
    festival = article("f", url="https://x.test/f", text=TOPICS["festival"], title="Lanterns")
    assert adapter.assign(story_input(harbour))[1] == "Harbour storm"
    assert adapter.assign(story_input(festival))[1] == "Lanterns"


class _Value:
    """In-memory stand-ins for Beam's state and timer objects, to call the story DoFn directly."""

    def __init__(self):
        self.value = None

    def read(self):
        return self.value

    def write(self, value):
        self.value = value

    def clear(self):
        self.value = None

    def set(self, timestamp):
        self.value = timestamp


class _Bag(_Value):
    def add(self, value):
        self.value = [*(self.value or []), value]

    def read(self):
        return list(self.value or [])


def test_a_worker_without_the_cache_rebuilds_the_story_state_from_snapshot_and_log():
    state = {
        "snapshot": _Value(),
        "cursor_state": _Value(),
        "log": _Bag(),
        "checkpoint_at": _Value(),
        "last_checkpoint": _Value(),
        "checkpoint": _Value(),
    }

    def fresh_worker():
        worker = TagStoriesInOrder((), TIMES, StoryClusterer)
        worker.setup()
        return worker

    def tag(worker, item, minutes):
        return [
            (tv.value.article_id, tv.value.duplicate_of, tv.value.story_id)
            for tv in worker.process(("all", (item, story_input(item))), timestamp=at(minutes), **state)
        ]

    harbour = article("harbour", url="https://x.test/h", text=TOPICS["harbour"], title="Quay closed")
    court = article("court", url="https://x.test/c", text=TOPICS["court"], title="Verdict overturned")
    harbour_copy = dataclasses.replace(harbour, article_id="harbour-copy", duplicate_of=harbour.article_id)
    court_copy = dataclasses.replace(court, article_id="court-copy", duplicate_of=court.article_id)

    worker = fresh_worker()
    [(_, _, harbour_story)] = tag(worker, harbour, 1)
    assert state["checkpoint"].value == at(10)  # the end of the article's window
    list(worker.write_checkpoint(fired=at(10), **state))  # snapshot written, log cleared
    [(_, _, court_story)] = tag(worker, court, 12)  # in the log only
    assert state["log"].read() and court_story != harbour_story

    assert tag(fresh_worker(), harbour_copy, 13) == [
        ("harbour-copy", harbour.article_id, harbour_story)
    ]  # from the snapshot
    assert tag(fresh_worker(), court_copy, 14) == [
        ("court-copy", court.article_id, court_story)
    ]  # snapshot + replayed log
