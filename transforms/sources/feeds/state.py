"""What the pipeline remembers about each feed between runs, and when to poll it next.

``FeedState`` holds the conditional-GET validators, the current URL after permanent
redirects, the gone flag and the failure backoff. ``FeedStateStore`` keeps them in
``STATE/feeds.json`` (through Beam's FileSystems, written atomically). ``after_fetch`` is the
polling policy: a pure function from the old state and what the fetch returned to the new state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems

from transforms.http.client import PRIVATE_ADDRESS, UNSUPPORTED_SCHEME, FetchResult
from transforms.output.files import CorruptStateFile, read_json, write_json_atomically
from transforms.output.layout import FEEDS_FILE
from transforms.run.context import stable_hash
from transforms.run.crash_points import crash_point

log = logging.getLogger(__name__)
BACKOFF_BASE = dt.timedelta(minutes=5)
BACKOFF_CAP = dt.timedelta(days=1)
JITTER = 0.2
"""Backoff after n consecutive failures: BACKOFF_BASE * 2**(n-1), capped, ±20% jitter."""
POLICY_HINTS = {
    PRIVATE_ADDRESS: "refused by policy, not a failure: newsbeam fetches only public addresses;"
    " pass --allow-private-network to fetch from loopback, private or link-local addresses",
    UNSUPPORTED_SCHEME: "refused by policy, not a failure: newsbeam fetches only http and https URLs",
}
"""Fetch errors that are our own refusals, not the server's failures: no backoff, and what to do about them."""
ROBOTS_HINT = (
    "the site's robots.txt disallows newsbeam: the page is not fetched and the entry's own text is used when"
    " it has one (a policy, not a failure: nothing backs off)"
)


@dataclass(frozen=True)
class FeedState:
    """One feed's memory. ``feed_url`` is the URL as configured and never changes."""

    feed_url: str
    current_url: str
    etag: str | None = None
    last_modified: str | None = None
    gone: bool = False
    failures: int = 0
    next_attempt_at: dt.datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_bozo: str | None = None  # why feedparser found the last feed body malformed (it was salvaged)
    last_polled_at: dt.datetime | None = None

    @classmethod
    def new(cls, feed_url: str) -> FeedState:
        return cls(feed_url=feed_url, current_url=feed_url)

    def is_due(self, now: dt.datetime) -> bool:
        """Not gone, and not waiting out a backoff or a Retry-After (a policy refusal never waits)."""
        if self.gone:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= now or self.last_error in POLICY_HINTS


def after_fetch(state: FeedState, result: FetchResult, now: dt.datetime) -> FeedState:
    """The feed's state after one poll: validators, permanent moves, gone, backoff."""
    polled = dataclasses.replace(
        state, last_status=result.status, last_error=result.error, last_bozo=None, last_polled_at=now
    )
    if result.status == 410:
        return dataclasses.replace(polled, gone=True, next_attempt_at=None)
    if result.error is None and not unexpected_not_modified(state, result):  # 2xx, or 304 to our validators
        moved = result.permanent_url or state.current_url
        if result.not_modified:
            return dataclasses.replace(polled, current_url=moved, failures=0, next_attempt_at=None)
        return dataclasses.replace(
            polled,
            current_url=moved,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            failures=0,
            next_attempt_at=None,
        )
    if result.error in POLICY_HINTS:  # our own refusal: the options decide, so the next run tries again
        return dataclasses.replace(polled, next_attempt_at=None)
    failures = state.failures + 1
    wait = retry_wait(state.feed_url, failures, result.retry_after)
    return dataclasses.replace(polled, failures=failures, next_attempt_at=now + wait)


def policy_hint(error: str | None) -> str | None:
    """What to do about a fetch refused by policy (``POLICY_HINTS``); None for other errors."""
    return POLICY_HINTS.get(error or "")


def unexpected_not_modified(state: FeedState, result: FetchResult) -> bool:
    """A 304 to a request that sent no validators: the server is broken, not the feed unchanged."""
    return result.not_modified and not (state.etag or state.last_modified)


def retry_wait(feed_url: str, failures: int, retry_after: float | None) -> dt.timedelta:
    """Retry-After when the server gave one, else exponential backoff with per-feed jitter."""
    if retry_after is not None:
        return dt.timedelta(seconds=max(0.0, retry_after))
    backoff = min(BACKOFF_BASE * 2 ** min(failures - 1, 30), BACKOFF_CAP)
    jitter = random.Random(stable_hash(feed_url, str(failures))).uniform(-JITTER, JITTER)
    return backoff * (1 + jitter)


def reset(state: FeedState) -> FeedState:
    """Forget gone and backoff (validators kept)."""
    return dataclasses.replace(state, gone=False, failures=0, next_attempt_at=None)


class FeedStateStore:
    """``STATE/feeds.json``: every feed's state, keyed by its configured URL."""

    def __init__(self, state_dir: str):
        self.path = FileSystems.join(state_dir.rstrip("/"), FEEDS_FILE)

    def load(self, ignore_corrupt: bool = False) -> dict[str, FeedState]:
        """Every feed's state; raises ``CorruptStateFile`` for a file that doesn't parse, unless ``ignore_corrupt``
        (``--reset-feeds``: start afresh; the file is replaced after the run's commit)."""
        if not FileSystems.exists(self.path):
            return {}
        try:
            raw = read_json(self.path)
            return {item["feed_url"]: _from_json(item) for item in raw["feeds"]}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            if ignore_corrupt:
                log.warning("ignoring the unreadable %s (--reset-feeds): %s: %s", self.path, type(err).__name__, err)
                return {}
            raise CorruptStateFile(
                self.path,
                err,
                "Run again with --reset-feeds to start the feed states afresh (each feed is then fetched in full"
                " once, without its ETag/Last-Modified; entries already ingested are still skipped), or restore"
                " the file from a backup.",
            ) from err

    def save(self, states: Iterable[FeedState]) -> None:
        ordered = sorted(states, key=lambda s: s.feed_url)
        write_json_atomically(self.path, {"version": 1, "feeds": [_to_json(s) for s in ordered]})


_TIMES = ("next_attempt_at", "last_polled_at")


def _to_json(state: FeedState) -> dict:
    item = dataclasses.asdict(state)
    for name in _TIMES:
        item[name] = item[name].isoformat() if item[name] else None
    return item


def _from_json(item: dict) -> FeedState:
    known = {f.name for f in dataclasses.fields(FeedState)}
    values = {k: v for k, v in item.items() if k in known}
    for name in _TIMES:
        values[name] = dt.datetime.fromisoformat(values[name]) if values.get(name) else None
    return FeedState(**values)


def save_polled_states(record: dict, polled: list[FeedState], state_dir: str, known: dict[str, FeedState]) -> dict:
    """After the run's commit: the store gets every polled feed's new state; returns ``record``."""
    crash_point("committed")
    if polled:
        FeedStateStore(state_dir).save({**known, **{s.feed_url: s for s in polled}}.values())
    return record
