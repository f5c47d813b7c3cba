"""feed_poll_row: one feed_polls row per poll, from real polls of a loopback server; FeedPollRows counts per feed."""

import datetime as dt

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas import FEED_POLLS
from tests.builders import RUN, article
from tests.conftest import fn_api_pipeline
from tests.http_server import Reply
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchSession, FetchSettings
from transforms.output.rules import records_to_table
from transforms.sources.feeds.health import FeedPollRows, feed_of, feed_poll_row
from transforms.sources.feeds.parsing import FeedEntry
from transforms.sources.feeds.rules import FeedPoll, poll_feed
from transforms.sources.feeds.state import FeedState

SETTINGS = FetchSettings(host_delay=0.0, threads=2, policy=FetchPolicy(allow_private_network=True, total_timeout=5))
NOW = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Жизнь</title>'
    "<item><title>Новости дня</title><link>http://127.0.0.1/a/0</link><guid>urn:a:0</guid></item>"
    "<item><title>ข่าววันนี้</title><link>http://127.0.0.1/a/1</link><guid>urn:a:1</guid></item>"
    "</channel></rss>"
).encode()


def test_a_parsed_poll_gives_status_bytes_latency_and_entries(loopback_server):
    loopback_server.route("/feed.xml", Reply(200, FEED, {"Content-Type": "application/rss+xml", "ETag": '"1"'}))
    poll = poll_feed(FetchSession(SETTINGS), FeedState.new(loopback_server.url("/feed.xml")), RUN, NOW)
    row = feed_poll_row(poll, RUN, new_entries=2, articles=1, rejects=1)
    assert (row.feed_url, row.current_url, row.run_id, row.polled_at) == (
        loopback_server.url("/feed.xml"),
        loopback_server.url("/feed.xml"),
        RUN.run_id,
        NOW,
    )
    assert (row.http_status, row.not_modified, row.bytes, row.entries_seen) == (200, False, len(FEED), 2)
    assert (row.new_entries, row.articles, row.rejects, row.error, row.consecutive_failures) == (2, 1, 1, None, 0)
    assert 0 < row.latency_seconds < 5
    assert records_to_table([row.__dict__], FEED_POLLS.arrow_schema).num_rows == 1  # fits the declared schema


def test_not_modified_and_failed_polls(loopback_server):
    loopback_server.route("/304.xml", Reply(304))
    loopback_server.route("/500.xml", Reply(500, b"boom"))
    session = FetchSession(SETTINGS)
    known = FeedState(feed_url=loopback_server.url("/304.xml"), current_url=loopback_server.url("/304.xml"), etag='"1"')
    not_modified = feed_poll_row(poll_feed(session, known, RUN, NOW), RUN)
    assert (not_modified.http_status, not_modified.not_modified, not_modified.bytes, not_modified.error) == (
        304,
        True,
        0,
        None,
    )
    assert not_modified.articles is None  # not counted by this caller
    failed = feed_poll_row(poll_feed(session, FeedState.new(loopback_server.url("/500.xml")), RUN, NOW), RUN)
    assert (failed.http_status, failed.not_modified, failed.error, failed.consecutive_failures) == (
        500,
        False,
        "http_500",
        1,
    )
    assert "HTTP 500" in failed.error_detail and failed.next_attempt_at > NOW


def test_credentials_never_reach_the_row():
    state = FeedState.new("https://user:secret@feeds.example.org/rss")
    row = feed_poll_row(FeedPoll(state), RUN)
    assert "secret" not in row.feed_url + row.current_url and row.polled_at == RUN.started_at


def test_feed_of_strips_the_entry():
    assert feed_of("https://x.example/rss#entry=abc") == "https://x.example/rss"
    assert feed_of("/data/seeds/a.txt") == "/data/seeds/a.txt"


def entry(feed_url: str, entry_id: str) -> FeedEntry:
    return FeedEntry(feed_url, entry_id, None, None, None, None, None, None, (), None)


def test_feed_poll_rows_count_articles_and_rejects_per_feed():
    feed_a, feed_b = "https://a.example/rss", "https://b.example/rss"
    polls = [FeedPoll(FeedState.new(feed_a)), FeedPoll(FeedState.new(feed_b))]
    articles = [
        article("one", source_uri=feed_a, entry_id="e1"),
        article("two", source_uri=feed_a, entry_id="e2"),
        article("seed", source_uri="/in/seed.txt"),
    ]
    rejects = [
        RUN.reject(f"{feed_b}#entry=e3", "fetch", "http_404", "HTTP 404"),
        RUN.reject("/in/empty.txt", "read", "empty_file", "0 bytes"),
    ]

    with fn_api_pipeline() as p:
        rows = (
            p | "Polls" >> beam.Create(polls),
            p | "Entries" >> beam.Create([entry(feed_a, "e1"), entry(feed_a, "e2"), entry(feed_b, "e3")]),
            p | "Articles" >> beam.Create(articles),
            p | "Rejects" >> beam.Create(rejects),
        ) | FeedPollRows(RUN)
        counts = rows | beam.Map(lambda r: (r.feed_url, r.new_entries, r.articles, r.rejects))
        assert_that(counts, equal_to([(feed_a, 2, 2, 0), (feed_b, 1, 0, 1)]))
