"""Feeds on an unbounded graph: poll every feed on an interval, fetch each new entry's page once.

The fetch logic is the batch graph's (``poll_feed``, ``entry_document``, ``FetchSession`` with
its conditional GETs, robots.txt and per-host pacer); only the Beam wrapping differs:

- ``PollTicks``: one ``PeriodicImpulse`` fans out to every configured feed each interval.
- ``PollFeedsByHost``: a stateful step keyed by the feed's host. A key's elements are processed
  one at a time (one request in flight per host) and its state holds each feed's ``FeedState``
  (validators, permanent moves, gone, backoff), so the next poll is a conditional GET and a
  failing feed waits out its backoff. Nothing is written to the state store's ``feeds.json``.
- ``SkipSeenEntries``: an entry passes once; it stays known while the feed keeps listing it
  (and a dedup horizon after), counted as ``feeds.entries_already_seen``.
- ``FetchPagesByHost``: stateful, keyed by the page's host, for the same politeness.

The batch ``FetchByHost`` is not used: its GroupByKey needs a window that closes and its
``finish_bundle`` emits into the global window at the end of time, which an unbounded graph
would never flush. Every output here keeps the poll tick's timestamp (its arrival time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.typehints import KV
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

from schemas import Reject
from transforms.dedup.streaming import DropRepeats
from transforms.http.addresses import host_of
from transforms.http.polite import FetchSession, FetchSettings
from transforms.run import counters
from transforms.run.context import REJECTED, RunContext
from transforms.sources.feeds.batch import entry_document, poll_feed
from transforms.sources.feeds.state import FeedState

DEFAULT_POLL_INTERVAL = 300.0


class StreamingFeedOutputs(NamedTuple):
    documents: beam.PCollection
    rejects: beam.PCollection


class ReadFeedsPeriodically(beam.PTransform):
    """Every ``poll_interval`` seconds from now on → documents and rejects."""

    def __init__(
        self,
        feeds: Sequence[FeedState],
        run: RunContext,
        settings: FetchSettings,
        fetch_pages: bool,
        poll_interval: float,
        entry_horizon_seconds: float,
    ):
        super().__init__()
        self._poll = PollFeeds(feeds, run, settings, fetch_pages, entry_horizon_seconds)
        self._interval = poll_interval

    def expand(self, pbegin):
        ticks = pbegin | "PollTicks" >> PeriodicImpulse(
            start_timestamp=Timestamp.now(), stop_timestamp=MAX_TIMESTAMP, fire_interval=self._interval
        )
        return ticks | "PollFeeds" >> self._poll


class PollFeeds(beam.PTransform):
    """Poll ticks (any elements; their timestamps are the arrival times) → documents and rejects."""

    def __init__(
        self,
        feeds: Sequence[FeedState],
        run: RunContext,
        settings: FetchSettings,
        fetch_pages: bool,
        entry_horizon_seconds: float,
    ):
        super().__init__()
        self._feeds, self._run, self._settings, self._fetch_pages = tuple(feeds), run, settings, fetch_pages
        self._horizon = entry_horizon_seconds

    def expand(self, ticks):
        feeds = self._feeds
        polls = (
            ticks
            | "EveryFeed"
            >> beam.FlatMap(lambda _: [(host_of(f.current_url), f) for f in feeds]).with_output_types(KV[str, Any])
            | "PollFeedsByHost" >> beam.ParDo(PollHostFeeds(self._run, self._settings))
        )
        pages = (
            polls
            | "Entries" >> beam.FlatMap(lambda poll: poll.entries)
            | "SkipSeenEntries"
            >> DropRepeats(lambda entry: entry.entry_id, self._horizon, counters.FEED_ENTRIES_ALREADY_SEEN)
            | "KeyByPageHost"
            >> beam.Map(lambda entry: (host_of(entry.page_url), entry)).with_output_types(KV[str, Any])
            | "FetchPagesByHost"
            >> beam.ParDo(FetchHostPages(self._run, self._settings, self._fetch_pages)).with_outputs(
                REJECTED, main="documents"
            )
        )
        feed_rejects = polls | "FeedRejects" >> beam.FlatMap(lambda poll: [poll.reject] if poll.reject else [])
        return StreamingFeedOutputs(
            documents=pages.documents,
            rejects=(feed_rejects, pages[REJECTED]) | "AllFeedRejects" >> beam.Flatten(),
        )


class _HostFetcher(beam.DoFn):
    """A FetchSession per worker; its tallies become Beam counters after each element."""

    def __init__(self, run: RunContext, settings: FetchSettings):
        self._run, self._settings = run, settings

    def setup(self) -> None:
        self._session = FetchSession(self._settings)

    def teardown(self) -> None:
        self._session.close()

    def _count(self) -> None:
        for counter, n in self._session.take_counts().items():
            counter.inc(n)


class PollHostFeeds(_HostFetcher):
    """(host, configured FeedState) per tick → FeedPoll when the feed is due; the feed's state lives in keyed state."""

    FEEDS = ReadModifyWriteStateSpec("feeds", PickleCoder())  # {feed_url: FeedState} of this host

    def process(self, element, feeds_state=beam.DoFn.StateParam(FEEDS)) -> Iterator:
        _, configured = element
        states = feeds_state.read() or {}
        state = states.get(configured.feed_url, configured)
        now = dt.datetime.now(dt.UTC)
        if not state.is_due(now):
            (counters.FEEDS_GONE_SKIPPED if state.gone else counters.FEEDS_BACKING_OFF).inc()
            return
        poll = poll_feed(self._session, state, self._run, now)
        states[configured.feed_url] = poll.state
        feeds_state.write(states)
        self._count()
        yield poll


class FetchHostPages(_HostFetcher):
    """(host, FeedEntry) → a SourceDocument (page or entry text), or a Reject to the ``rejects`` output."""

    PAGES = ReadModifyWriteStateSpec(
        "pages", VarIntCoder()
    )  # requests made to this host: keyed state serialises the host

    def __init__(self, run: RunContext, settings: FetchSettings, fetch_pages: bool):
        super().__init__(run, settings)
        self._fetch_pages = fetch_pages

    def process(self, element, pages=beam.DoFn.StateParam(PAGES)) -> Iterator:
        _, entry = element
        document = entry_document(self._session, entry, self._run, self._fetch_pages)
        pages.write((pages.read() or 0) + 1)
        self._count()
        yield (
            beam.pvalue.TaggedOutput(REJECTED, document) if isinstance(document, Reject) else document
        )  # counted by the session
