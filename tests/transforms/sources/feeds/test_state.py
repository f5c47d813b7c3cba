"""The polling policy and the feed state store."""

import datetime as dt

import pytest

from transforms.http.client import FetchResult
from transforms.sources.feeds.state import (
    BACKOFF_CAP,
    FeedState,
    FeedStateStore,
    after_fetch,
    reset,
    retry_wait,
    save_polled_states,
)

NOW = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
FEED = "https://news.test/feed.xml"


def result(status=200, error=None, headers=None, permanent_url=None, retry_after=None):
    return FetchResult(FEED, FEED, status, headers or {}, b"", permanent_url, error, retry_after=retry_after)


def test_success_stores_validators_and_a_permanent_move():
    state = after_fetch(
        FeedState.new(FEED),
        result(
            headers={"etag": '"v2"', "last-modified": "Wed, 01 May 2024 10:00:00 GMT"},
            permanent_url="https://news.test/new.xml",
        ),
        NOW,
    )
    assert (state.etag, state.last_modified) == ('"v2"', "Wed, 01 May 2024 10:00:00 GMT")
    assert state.current_url == "https://news.test/new.xml" and state.feed_url == FEED
    assert (state.failures, state.next_attempt_at, state.last_polled_at) == (0, None, NOW)


def test_not_modified_keeps_validators():
    old = FeedState(FEED, FEED, etag='"v1"', last_modified="x", failures=2)
    state = after_fetch(old, result(status=304), NOW)
    assert (state.etag, state.last_modified, state.failures, state.last_status) == ('"v1"', "x", 0, 304)


def test_gone_is_remembered_and_not_due_until_reset():
    state = after_fetch(FeedState.new(FEED), result(status=410, error="http_status"), NOW)
    assert state.gone and not state.is_due(NOW + dt.timedelta(days=365))
    assert reset(state).is_due(NOW)


def test_retry_after_sets_the_next_attempt():
    state = after_fetch(FeedState.new(FEED), result(status=429, error="http_status", retry_after=120), NOW)
    assert state.next_attempt_at == NOW + dt.timedelta(seconds=120)
    assert not state.is_due(NOW + dt.timedelta(seconds=119)) and state.is_due(NOW + dt.timedelta(seconds=120))


def test_errors_back_off_exponentially_with_bounded_jitter_and_a_cap():
    waits = [retry_wait(FEED, n, None) for n in range(1, 6)]
    assert all(later > earlier for earlier, later in zip(waits, waits[1:]))
    assert dt.timedelta(minutes=4) <= waits[0] <= dt.timedelta(minutes=6)
    assert retry_wait(FEED, 40, None) <= BACKOFF_CAP * 1.2
    assert retry_wait(FEED, 3, None) == retry_wait(FEED, 3, None)
    assert retry_wait(FEED, 3, None) != retry_wait("https://other.test/feed", 3, None)
    state = after_fetch(after_fetch(FeedState.new(FEED), result(500, "http_status"), NOW), result(None, "timeout"), NOW)
    assert state.failures == 2 and state.next_attempt_at > NOW


def test_store_round_trip_and_merge(tmp_path):
    store = FeedStateStore(str(tmp_path))
    assert store.load() == {}
    first = after_fetch(FeedState.new(FEED), result(429, "http_status", retry_after=60), NOW)
    other = FeedState.new("https://other.test/rss")
    store.save([first, other])
    assert store.load() == {FEED: first, other.feed_url: other}
    polled = after_fetch(first, result(), NOW)
    record = {"run_id": "r"}
    assert save_polled_states(record, [polled], str(tmp_path), store.load()) is record
    assert store.load() == {FEED: polled, other.feed_url: other}
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.json"]


@pytest.mark.parametrize("polled", [[]])
def test_nothing_polled_writes_nothing(tmp_path, polled):
    save_polled_states({}, polled, str(tmp_path), {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", ["private_address", "unsupported_scheme"])
def test_a_policy_refusal_is_not_a_failure_and_never_backs_off(error):
    failing = after_fetch(FeedState.new(FEED), result(status=None, error="timeout"), NOW)
    refused = after_fetch(failing, result(status=None, error=error), NOW)
    assert (refused.failures, refused.next_attempt_at, refused.last_error) == (1, None, error)
    assert refused.is_due(NOW)


def test_a_feed_backing_off_after_an_old_policy_refusal_is_due():
    """States saved by earlier versions put refused feeds in a backoff: the options decide now."""
    old = FeedState(FEED, FEED, failures=1, next_attempt_at=NOW + dt.timedelta(minutes=5), last_error="private_address")
    assert old.is_due(NOW)
