"""Feeds on the unbounded graph: polls on ticks, feed health rows, feed-state snapshots (TestStream)."""

from __future__ import annotations

import apache_beam as beam
import duckdb
import pytest
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to

from pipeline.streaming import streaming_stages
from tests.http_server import Reply
from tests.stream_builders import RUN, TIMES, TOPICS, arriving, at, streaming_pipeline, streaming_plan
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchSettings
from transforms.sources.feeds.state import FeedState, FeedStateStore
from transforms.sources.feeds.streaming import PollFeeds, SnapshotFeedStates

GONE = FeedState("https://gone.test/feed", "https://gone.test/feed", gone=True, last_status=410)

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


@pytest.mark.slow
def test_feeds_are_polled_each_tick_with_their_validators_and_each_entry_is_fetched_once(loopback_server, tmp_path):
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
    plan = streaming_plan(tmp_path)
    with streaming_pipeline() as p:
        out = (
            p
            | stream
            | PollFeeds(feeds, RUN, FETCH, fetch_pages=False, entry_horizon_seconds=TIMES.dedup_horizon_seconds)
        )
        health = streaming_stages(out.documents, plan, out).feed_polls
        _ = out.polls | SnapshotFeedStates(plan.settings.state, {"https://gone.test/feed": GONE}, 600)
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
        assert_that(
            health
            | beam.Map(
                lambda r: (
                    r.http_status,
                    r.not_modified,
                    r.entries_seen,
                    r.new_entries,
                    r.articles,
                    r.rejects,
                    r.error,
                    r.bytes > 0,
                )
            ),
            equal_to(
                [
                    (200, False, 2, 2, 2, 0, None, True),
                    (304, True, 0, 0, 0, 0, None, False),
                    (200, False, 3, 1, 1, 0, None, True),  # items 0 and 1 were already seen
                ]
            ),
            label="feed_polls",
        )
    assert validators == [None, '"v1"', '"v1"']
    assert loopback_server.requests_to("/a/0") == []  # --no-fetch-articles: the entry's own text

    # Feed health rows are a table; feeds.json holds the latest validators for a relaunched job.
    polls = duckdb.sql(
        f"SELECT feed_url, http_status, new_entries, articles FROM read_parquet('{tmp_path}/feed_polls/*/*.parquet', "
        "hive_partitioning=true) ORDER BY polled_at"
    ).fetchall()
    assert polls == [(feeds[0].feed_url, 200, 2, 2), (feeds[0].feed_url, 304, 0, 0), (feeds[0].feed_url, 200, 1, 1)]
    saved = FeedStateStore(plan.settings.state).load()
    assert saved[feeds[0].feed_url].etag == '"v2"' and saved["https://gone.test/feed"] == GONE  # others kept


@pytest.mark.slow
def test_a_failing_feed_has_a_health_row_with_its_error_and_next_attempt(loopback_server, tmp_path):
    loopback_server.route("/broken.xml", lambda request: Reply(503, b"busy", {"Retry-After": "120"}))
    feeds = [FeedState.new(loopback_server.url("/broken.xml"))]
    stream = test_stream.TestStream().advance_watermark_to(at(0)).add_elements(arriving(0, "tick"))
    with streaming_pipeline() as p:
        out = (
            p
            | stream.advance_watermark_to_infinity()
            | PollFeeds(feeds, RUN, FETCH, False, TIMES.dedup_horizon_seconds)
        )
        health = streaming_stages(out.documents, streaming_plan(tmp_path), out).feed_polls
        assert_that(
            health | beam.Map(lambda r: (r.http_status, r.error, r.rejects, r.next_attempt_at is not None)),
            equal_to([(503, "http_503", 1, True)]),
        )


def test_poll_ticks_come_every_interval_and_end_when_the_drain_file_appears(tmp_path):
    """The tick source of a local job: ticks at start + k × interval until its drain file exists, then the
    (unbounded) source is done and the pipeline finishes — what lets SIGINT/SIGTERM drain a job on Prism."""
    import threading

    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.sources.feeds.streaming import PollTicks

    drain = tmp_path / "drain"
    threading.Timer(2.0, drain.write_text, args=("stop",)).start()
    out = tmp_path / "ticks"
    out.mkdir()

    def run() -> None:
        with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
            ticks = p | PollTicks(0.25, str(drain))
            _ = ticks | beam.Map(lambda t, ts=beam.DoFn.TimestampParam: (out / f"{float(t)}_{float(ts)}").touch())

    job = threading.Thread(target=run, daemon=True)
    job.start()
    job.join(timeout=60)
    assert not job.is_alive(), "the tick source did not end after its drain file appeared"
    seen = [tuple(map(float, f.name.split("_"))) for f in out.iterdir()]
    stamps = sorted(t for t, _ in seen)
    assert len(stamps) >= 4 and all(t == ts for t, ts in seen)  # each tick at its own time
    gaps = {round(b - a, 6) for a, b in zip(stamps, stamps[1:], strict=False)}
    assert gaps == {0.25}, gaps
