"""Feed polling and page fetching against a real loopback server, without and with Beam."""

import datetime as dt

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas import Reject
from tests.builders import RUN
from tests.conftest import fn_api_pipeline
from tests.http_server import Reply
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchByHost, FetchSession, FetchSettings
from transforms.run import counters
from transforms.run.counters import Counter
from transforms.sources.document import ENTRY_TEXT, PAGE
from transforms.sources.feeds.parsing import FeedEntry
from transforms.sources.feeds.rules import entry_document, poll_feed
from transforms.sources.feeds.state import FeedState

SETTINGS = FetchSettings(
    host_delay=0.0, threads=4, policy=FetchPolicy(allow_private_network=True, read_timeout=2, total_timeout=5)
)
NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def rss(server, items=2):
    body = "".join(
        f"<item><title>Item {i}</title><link>{server.url(f'/a/{i}')}</link><guid>{server.url(f'/a/{i}')}</guid>"
        f"<description>Summary {i}.</description></item>"
        for i in range(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def entry(server, link="/a/0", summary="A summary long enough to stand in for the article when needed."):
    return FeedEntry(
        feed_url=server.url("/feed.xml"),
        entry_id="e0",
        link=server.url(link) if link else None,
        title="Item 0",
        content_text=None,
        summary_text=summary,
        published=NOW,
        updated=None,
        authors=(),
        source="T",
    )


def test_poll_parses_a_changed_feed_and_sends_validators_next_time(loopback_server):
    seen_headers = []

    def feed(request):
        seen_headers.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, rss(loopback_server), {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    loopback_server.route("/feed.xml", feed)
    session = FetchSession(SETTINGS)
    first = poll_feed(session, FeedState.new(loopback_server.url("/feed.xml")), RUN, NOW)
    assert [e.title for e in first.entries] == ["Item 0", "Item 1"] and first.reject is None
    assert first.state.etag == '"v1"'
    second = poll_feed(session, first.state, RUN, NOW)
    assert second.entries == () and second.reject is None and second.state.last_status == 304
    assert seen_headers == [None, '"v1"']
    assert {c.name: n for c, n in session.take_counts().items()} == {"status_200": 1, "status_304": 1, "entries": 2}


def test_a_feed_that_is_not_a_feed_is_rejected_and_its_validators_forgotten(loopback_server):
    loopback_server.route(
        "/feed.xml", Reply(200, b"<html><body>Not a feed</body></html>", {"Content-Type": "text/html", "ETag": '"x"'})
    )
    poll = poll_feed(FetchSession(SETTINGS), FeedState.new(loopback_server.url("/feed.xml")), RUN, NOW)
    assert isinstance(poll.reject, Reject) and (poll.reject.stage, poll.reject.reason) == ("parse", "not_a_feed")
    assert poll.state.etag is None


def test_http_errors_become_fetch_rejects_with_the_status(loopback_server):
    loopback_server.route("/feed.xml", Reply(503, b"busy", {"Retry-After": "30"}))
    poll = poll_feed(FetchSession(SETTINGS), FeedState.new(loopback_server.url("/feed.xml")), RUN, NOW)
    assert (poll.reject.stage, poll.reject.reason) == ("fetch", "http_503")
    assert "retry after 30s" in poll.reject.detail
    assert poll.state.next_attempt_at == NOW + dt.timedelta(seconds=30)


def test_entry_page_becomes_a_page_document(loopback_server):
    loopback_server.route(
        "/a/0", Reply(200, b"<html><body><p>Page</p></body></html>", {"Content-Type": "text/html; charset=utf-8"})
    )
    document = entry_document(FetchSession(SETTINGS), entry(loopback_server), RUN)
    assert (document.kind, document.body, document.entry_id, document.published_by) == (
        PAGE,
        b"<html><body><p>Page</p></body></html>",
        "e0",
        "feed",
    )
    assert document.fallback_source == "feed_summary" and document.fallback_text.startswith("A summary")


def test_a_missing_page_falls_back_to_the_entry_text(loopback_server):
    session = FetchSession(SETTINGS)
    document = entry_document(session, entry(loopback_server, "/gone"), RUN)
    assert (document.kind, document.body) == (
        ENTRY_TEXT,
        "A summary long enough to stand in for the article when needed.",
    )
    assert session.take_counts()[counters.FEED_PAGES.of("http_404")] == 1


def test_robots_disallow_is_honoured(loopback_server):
    loopback_server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /a/\n", {"Content-Type": "text/plain"}))
    document = entry_document(FetchSession(SETTINGS), entry(loopback_server), RUN)
    assert document.kind == ENTRY_TEXT
    assert loopback_server.requests_to("/a/0") == []


def test_no_page_and_no_entry_text_is_a_reject(loopback_server):
    session = FetchSession(SETTINGS)
    reject = entry_document(session, entry(loopback_server, "/gone", summary=None), RUN)
    assert (reject.stage, reject.reason) == ("fetch", "http_404")  # the specific cause, not just "no text"
    assert reject.source_uri.endswith("/feed.xml#entry=e0") and "404" in reject.detail
    assert (reject.entry_id, reject.entry_link, reject.entry_title, reject.page_url) == (
        "e0",
        loopback_server.url("/gone"),
        "Item 0",
        loopback_server.url("/gone"),
    )
    assert reject.attempt is None  # numbered later, against the ledger
    assert session.take_counts()[counters.FEED_ENTRIES_WITHOUT_TEXT.of("http_404")] == 1


def test_robots_disallowed_entry_without_text_says_so(loopback_server):
    loopback_server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /a/\n", {"Content-Type": "text/plain"}))
    reject = entry_document(FetchSession(SETTINGS), entry(loopback_server, summary=None), RUN)
    assert reject.reason == "robots_disallowed" and "robots.txt" in reject.detail
    assert reject.page_url is None and reject.entry_link == loopback_server.url("/a/0")


def test_no_fetch_articles_uses_the_entry_text_without_requests(loopback_server):
    document = entry_document(FetchSession(SETTINGS), entry(loopback_server), RUN, fetch_pages=False)
    assert document.kind == ENTRY_TEXT and loopback_server.requests == []


def test_fetch_by_host_runs_every_item_and_counts_on_the_beam_thread(loopback_server):
    for i in range(5):
        loopback_server.route(f"/p/{i}", Reply(200, f"page {i}".encode()))

    base = loopback_server.base_url  # the DoFn is pickled: capture the URL, not the server

    def fetch(session, path):
        result = session.get(base + path)
        session.count(Counter("test", "fetched"))
        return [(path, result.body)]

    with fn_api_pipeline() as p:
        got = p | beam.Create([f"/p/{i}" for i in range(5)]) | FetchByHost(fetch, lambda path: base + path, SETTINGS)
        assert_that(got, equal_to([(f"/p/{i}", f"page {i}".encode()) for i in range(5)]))
    counters = p.result.metrics().query()["counters"]
    assert sum(c.committed for c in counters if c.key.metric.name == "fetched") == 5
