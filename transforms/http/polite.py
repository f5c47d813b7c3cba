"""Polite fetching in Beam: one request at a time per host, a minimum delay, hosts in parallel.

Items are keyed by host and grouped, so each host's items meet in one DoFn call and are fetched
one after another through a ``HostPacer``. Inside a worker, a thread pool works on several
hosts at once. The HTTP client, robots.txt cache and pacer are created in ``setup()``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from transforms.http.addresses import host_of, redact_credentials
from transforms.http.client import FetchPolicy, FetchResult, HttpFetcher
from transforms.http.pacing import HostPacer
from transforms.http.robots import RobotsCache, RobotsDecision
from transforms.run import counters, progress

DEFAULT_HOST_DELAY = 1.0
DEFAULT_FETCH_THREADS = 16
SLOW_REQUEST_WARNING_SECONDS = 5.0
"""A request still running after this long is logged as a warning (once), so a stalled host is never silent."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how widely to fetch."""

    host_delay: float = DEFAULT_HOST_DELAY
    threads: int = DEFAULT_FETCH_THREADS
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    slow_warning_seconds: float = SLOW_REQUEST_WARNING_SECONDS


class FetchSession:
    """What a fetch function gets: paced GETs and robots.txt answers, shared by a worker's threads."""

    def __init__(self, settings: FetchSettings):
        self.policy = settings.policy
        self._fetcher = HttpFetcher(settings.policy)
        self._pacer = shared_pacer(settings.host_delay)
        self._robots = RobotsCache(self)
        self._counts: Counter[counters.Counter] = Counter()
        self._counts_lock = threading.Lock()
        self._slow = SlowRequestWatch(settings.policy.total_timeout, settings.slow_warning_seconds)

    def count(self, counter: counters.Counter, n: int = 1) -> None:
        """Beam counters only work on the DoFn's own thread: fetch threads tally here instead."""
        with self._counts_lock:
            self._counts[counter] += n

    def take_counts(self) -> Counter[counters.Counter]:
        with self._counts_lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def get(self, url: str, **conditional: Any) -> FetchResult:
        """A GET that waits its turn for the URL's host."""
        with self._pacer.slot(host_of(url)), self._slow.watching(url):
            return self._fetcher.get(url, **conditional)

    def robots(self, url: str) -> RobotsDecision:
        """May ``url`` be fetched under its site's robots.txt (fetched once per site, paced like any GET)?"""
        return self._robots.decide(url)

    def close(self) -> None:
        self._slow.stop()
        self._fetcher.close()


class SlowRequestWatch:
    """Warns once about each request still running after ``after`` seconds (one daemon thread per session)."""

    def __init__(self, total_timeout: float, after: float = SLOW_REQUEST_WARNING_SECONDS):
        self._total_timeout, self._after = total_timeout, after
        self._running: dict[int, tuple[str, float]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def watching(self, url: str) -> _Watched:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="slow-requests", daemon=True)
                self._thread.start()
            key = next(self._ids)
            self._running[key] = (url, time.monotonic())
        return _Watched(self, key)

    def done(self, key: int) -> None:
        with self._lock:
            self._running.pop(key, None)

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(min(1.0, self._after / 2)):
            now = time.monotonic()
            with self._lock:
                slow = [(k, u, now - t) for k, (u, t) in self._running.items() if now - t >= self._after]
                for key, _, _ in slow:
                    self._running.pop(key)  # once per request
            for _, url, waited in slow:
                log.warning(slow_request_message(url, waited, self._total_timeout))


def slow_request_message(url: str, waited: float, total_timeout: float) -> str:
    return (
        f"{host_of(url)} has held the run for {waited:.0f}s: still waiting for {redact_credentials(url)}"
        f" (gives up after {total_timeout:g}s, --http-total-timeout)"
    )


@dataclass
class _Watched:
    watch: SlowRequestWatch
    key: int

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        self.watch.done(self.key)


_PACERS: dict[float, HostPacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(delay: float) -> HostPacer:
    """One pacer per process, so feed polls and page fetches to a host wait for each other too.

    Workers in other processes pace on their own; items are grouped by host, so a host's
    items of one stage run in one place, but two stages may hit a host from two processes.
    """
    with _PACERS_LOCK:
        return _PACERS.setdefault(delay, HostPacer(delay))


class FetchByHost(beam.PTransform):
    """Items → whatever ``fetch_one(session, item)`` yields, fetched politely per host."""

    def __init__(
        self,
        fetch_one: Callable[[FetchSession, Any], Iterable],
        url_of: Callable[[Any], str],
        settings: FetchSettings,
    ):
        super().__init__()
        self._fetch_one, self._url_of, self._settings = fetch_one, url_of, settings

    def expand(self, items):
        return (
            items
            | "KeyByHost" >> beam.Map(lambda item: (host_of(self._url_of(item)), item))
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchHosts" >> beam.ParDo(_FetchHostGroups(self._fetch_one, self._settings))
        )


class _FetchHostGroups(beam.DoFn):
    """Runs each host's items in sequence, several hosts at once on a thread pool."""

    def __init__(self, fetch_one: Callable, settings: FetchSettings):
        self._fetch_one, self._settings = fetch_one, settings

    def setup(self) -> None:
        self._session = FetchSession(self._settings)
        self._pool = ThreadPoolExecutor(max_workers=self._settings.threads, thread_name_prefix="fetch")

    def start_bundle(self) -> None:
        self._pending: list[Future] = []

    def process(self, element) -> Iterator:
        host, items = element
        items = list(items)
        progress.fetching(host, len(items))
        self._pending.append(self._pool.submit(self._fetch_host, host, items))
        yield from self._drain(wait=False)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for result in self._drain(wait=True):
            yield WindowedValue(result, GlobalWindow().max_timestamp(), [GlobalWindow()])

    def teardown(self) -> None:
        self._pool.shutdown(wait=True)
        self._session.close()

    def _fetch_host(self, host: str, items: list) -> list:
        outputs = []
        for item in items:
            outputs += self._fetch_one(self._session, item)
            progress.fetched(host)  # the progress line's "fetching HOST done/queued"
        return outputs

    def _drain(self, wait: bool) -> Iterator:
        still_running = []
        for future in self._pending:
            if wait or future.done():
                yield from future.result()  # an exception here is a bug: it fails the bundle loudly
            else:
                still_running.append(future)
        self._pending = still_running
        for counter, n in self._session.take_counts().items():
            counter.inc(n)
            if counter == counters.FEED_PAGES_FETCHED:
                progress.note("pages fetched", n)
