"""Feeds on an unbounded graph: poll every feed on an interval, fetch each new entry's page once.

The fetch logic is the one in ``feeds/rules.py`` (``poll_feed``, ``entry_document``, ``FetchSession`` with
its conditional GETs, robots.txt and per-host pacer); only the Beam wrapping differs:

- ``PollTicks``: a tick every interval, fanned out to every configured feed. It is
  ``PeriodicImpulse``'s sequence with one addition: it ends when its drain file appears (a
  local runner has no drain of its own; ``run_streaming`` writes the file on SIGINT/SIGTERM), so
  the watermark reaches the end of time, every pending timer fires (last panes, last state
  snapshot) and the job finishes. On Dataflow, a drain truncates it to nothing.
- ``PollFeedsByHost``: a stateful step keyed by the feed's host. A key's elements are processed
  one at a time (one request in flight per host) and its state holds each feed's ``FeedState``
  (validators, permanent moves, gone, backoff), so the next poll is a conditional GET and a
  failing feed waits out its backoff. It starts from the states in the state store.
- ``CompletePollRows``: feed health, the batch graph's ``feed_polls`` rows (``health.feed_poll_row``),
  each completed once every entry of its poll is accounted for.
- ``SnapshotFeedStates``: writes every feed's state back to ``STATE/feeds.json`` periodically
  (and when the job is drained), so a relaunched job continues with conditional GETs.
- ``SkipSeenEntries``: an entry passes once; it stays known while the feed keeps listing it
  (and a dedup horizon after), counted as ``feeds.entries_already_seen``.
- ``FetchPagesByHost``: stateful, keyed by the page's host, for the same politeness.

The batch ``FetchByHost`` is not used: its GroupByKey needs a window that closes and its
``finish_bundle`` emits into the global window at the end of time, which an unbounded graph
would never flush. Every output here keeps the poll tick's timestamp (its arrival time).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import KV, Tuple
from apache_beam.utils.timestamp import Timestamp

from schemas import Reject
from transforms.dedup.streaming import DropRepeats
from transforms.event_time.windows import MICROS, EventTime
from transforms.http.addresses import host_of, redact_credentials
from transforms.http.polite import FetchSession, FetchSettings
from transforms.run import counters
from transforms.run.context import REJECTED, RunContext
from transforms.sources.feeds.health import ENTRY_MARK, feed_of, feed_poll_row
from transforms.sources.feeds.rules import FeedPoll, entry_document, poll_feed
from transforms.sources.feeds.state import FeedState, FeedStateStore

DEFAULT_POLL_INTERVAL = 300.0
POLL, SEEN_BEFORE, ARTICLE, REJECT = "poll", "seen_before", "article", "reject"
"""What a feed-health event is: the poll itself, or the fate of one of its entries."""


class StreamingFeedOutputs(NamedTuple):
    documents: beam.PCollection
    rejects: beam.PCollection
    polls: beam.PCollection  # FeedPoll per poll made, at the tick's timestamp
    seen_before: beam.PCollection  # entries skipped because they were seen within the horizon


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
        drain_file: str | None = None,
    ):
        super().__init__()
        self._poll = PollFeeds(feeds, run, settings, fetch_pages, entry_horizon_seconds)
        self._interval, self._drain_file = poll_interval, drain_file

    def expand(self, pbegin):
        ticks = pbegin | "PollTicks" >> PollTicks(self._interval, self._drain_file)
        return ticks | "PollFeeds" >> self._poll


class PollTicks(beam.PTransform):
    """A tick (its timestamp) every ``interval`` seconds from now, until ``drain_file`` exists (if given)."""

    def __init__(self, interval: float, drain_file: str | None = None):
        super().__init__()
        self._interval, self._drain_file = interval, drain_file

    def expand(self, pbegin):
        return (
            pbegin
            | "Start" >> beam.Impulse()
            | "Now" >> beam.Map(lambda _: time.time())
            | "Tick" >> beam.ParDo(TickUntilDrained(self._interval, self._drain_file))
        )


DRAIN_CHECK_SECONDS = 1.0
"""How often a waiting tick source looks for its drain file."""


class _Ticks(RestrictionProvider):
    """Tick indexes 0, 1, 2, … (without end)."""

    def initial_restriction(self, element: float) -> OffsetRange:
        return OffsetRange(0, 2**62)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: float, restriction: OffsetRange) -> int:
        return 8

    def truncate(self, element: float, restriction: OffsetRange) -> None:
        return None  # a drained job polls no more


class TickUntilDrained(beam.DoFn):
    """start time → a tick timestamped at each due time, the watermark kept at the next tick's time."""

    def __init__(self, interval: float, drain_file: str | None):
        self._interval, self._drain_file = interval, drain_file

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        start: float,
        tracker=beam.DoFn.RestrictionParam(_Ticks()),
        watermark=beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider()),
    ) -> Iterator[TimestampedValue]:
        index, stop = tracker.current_restriction().start, tracker.current_restriction().stop
        while True:
            if self._drain_file and os.path.exists(self._drain_file):
                tracker.try_claim(stop - 1)  # the rest of the range claimed, nothing emitted: this source is done
                return
            due = start + self._interval * index
            now = time.time()
            if due > now:  # not yet: wait, looking for the drain file now and then
                watermark.set_watermark(Timestamp(due))
                tracker.defer_remainder(Timestamp(min(due, now + DRAIN_CHECK_SECONDS)))
                return
            if not tracker.try_claim(index):
                return
            watermark.set_watermark(Timestamp(due))
            yield TimestampedValue(Timestamp(due), Timestamp(due))
            index += 1


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
        entries = (
            polls
            | "Entries" >> beam.FlatMap(lambda poll: poll.entries)
            | "SkipSeenEntries"
            >> DropRepeats(
                lambda entry: entry.entry_id, self._horizon, counters.FEED_ENTRIES_ALREADY_SEEN, repeats=True
            )
        )
        pages = (
            entries.items
            | "KeyByPageHost"
            >> beam.Map(lambda entry: (host_of(entry.page_url), entry)).with_output_types(KV[str, Any])
            | "FetchPagesByHost"
            >> beam.ParDo(FetchHostPages(self._run, self._settings, self._fetch_pages)).with_outputs(
                REJECTED, main="documents"
            )
        )
        feed_rejects = polls | "FeedRejects" >> beam.FlatMap(lambda poll: poll.rejects)
        return StreamingFeedOutputs(
            documents=pages.documents,
            rejects=(feed_rejects, pages[REJECTED]) | "AllFeedRejects" >> beam.Flatten(),
            polls=polls,
            seen_before=entries.repeats,
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


class CompletePollRows(beam.PTransform):
    """Feed health in streaming: polls, entries seen before, articles and rejects → ``feed_polls`` rows.

    The row is ``health.feed_poll_row``, the batch graph's. Its counts are known only downstream, so
    the events of one poll (the configured feed URL and the tick's timestamp, which every entry,
    document and article of the poll keeps until windowing) meet under one key: the poll, and one
    outcome per entry (seen before, article, reject). The row goes out once every entry the feed
    listed is accounted for, at the latest when the allowed lateness has passed
    (``feeds.poll_rows_incomplete``).
    """

    def __init__(self, run: RunContext, times: EventTime):
        super().__init__()
        self._run, self._times = run, times

    def expand(self, events):
        polls, seen_before, articles, rejects = events
        keyed = (
            polls | "KeyPolls" >> beam.Map(_keyed, POLL, lambda p: redact_credentials(p.state.feed_url)),
            seen_before | "KeySeenBefore" >> beam.Map(_keyed, SEEN_BEFORE, lambda e: redact_credentials(e.feed_url)),
            articles
            | "FeedArticles" >> beam.Filter(lambda a: a.entry_id is not None)
            | "KeyArticles" >> beam.Map(_keyed, ARTICLE, lambda a: feed_of(a.source_uri)),
            rejects
            | "EntryRejects" >> beam.Filter(lambda r: ENTRY_MARK in r.source_uri)
            | "KeyRejects" >> beam.Map(_keyed, REJECT, lambda r: feed_of(r.source_uri)),
        )
        return (
            keyed
            | "AllPollEvents" >> beam.Flatten().with_output_types(KV[Tuple[str, int], Any])
            | "CompleteRows"
            >> beam.ParDo(CompletePollRow(self._run, self._times)).with_input_types(KV[Tuple[str, int], Any])
        )


def _keyed(item: Any, kind: str, feed_url_of, timestamp=beam.DoFn.TimestampParam) -> tuple:
    return (feed_url_of(item), timestamp.micros), (kind, item)


class CompletePollRow(beam.DoFn):
    """Per (feed, poll time): the poll and its entries' outcomes → one row, once all are in."""

    TALLY = ReadModifyWriteStateSpec("tally", PickleCoder())  # (poll or None, {kind: count})
    GIVE_UP = TimerSpec("give_up", TimeDomain.WATERMARK)

    def __init__(self, run: RunContext, times: EventTime):
        self._run, self._times = run, times
        self._incomplete = counters.FEED_POLL_ROWS_INCOMPLETE.metric()

    def process(
        self,
        element,
        tally_state=beam.DoFn.StateParam(TALLY),
        give_up=beam.DoFn.TimerParam(GIVE_UP),
    ) -> Iterator[TimestampedValue]:
        (_, polled_micros), (kind, item) = element
        poll, counts = tally_state.read() or (None, {})
        if poll is None and not counts:
            give_up.set(Timestamp(micros=self._times.expiry(polled_micros)))
        if kind == POLL:
            poll = item
        else:
            counts = {**counts, kind: counts.get(kind, 0) + 1}
        if poll is not None and sum(counts.values()) >= len(poll.entries):
            tally_state.clear()
            yield self._row(poll, counts, polled_micros)
        else:
            tally_state.write((poll, counts))

    @on_timer(GIVE_UP)
    def incomplete(self, key=beam.DoFn.KeyParam, tally_state=beam.DoFn.StateParam(TALLY)) -> Iterator[TimestampedValue]:
        stored = tally_state.read()
        tally_state.clear()
        if stored is not None and stored[0] is not None:
            self._incomplete.inc()
            yield self._row(stored[0], stored[1], key[1])

    def _row(self, poll: FeedPoll, counts: dict[str, int], polled_micros: int) -> TimestampedValue:
        row = feed_poll_row(
            poll,
            self._run,
            new_entries=len(poll.entries) - counts.get(SEEN_BEFORE, 0),
            articles=counts.get(ARTICLE, 0),
            rejects=counts.get(REJECT, 0) + (1 if poll.reject else 0),
        )
        return TimestampedValue(row, Timestamp(micros=polled_micros))


class SnapshotFeedStates(beam.PTransform):
    """Polls → ``STATE/feeds.json`` rewritten at most every ``snapshot_seconds`` of watermark progress, and on drain.

    The states start from the store's (``known``), so feeds this job doesn't poll keep theirs; a
    relaunched job reads the file and sends conditional GETs with the validators it holds.
    """

    def __init__(self, state_dir: str, known: Mapping[str, FeedState], snapshot_seconds: float):
        super().__init__()
        self._state_dir, self._known, self._snapshot_seconds = state_dir, dict(known), snapshot_seconds

    def expand(self, polls):
        return (
            polls
            | "OneStateKey" >> beam.Map(lambda poll: ("feeds", poll.state)).with_output_types(KV[str, Any])
            | "WriteFeedStates" >> beam.ParDo(WriteFeedStates(self._state_dir, self._known, self._snapshot_seconds))
        )


class WriteFeedStates(beam.DoFn):
    """One key: every feed's latest state; a watermark timer writes them all (``FeedStateStore.save``)."""

    STATES = ReadModifyWriteStateSpec("states", PickleCoder())  # {feed_url: FeedState} not yet written, or all
    SAVED_AT = ReadModifyWriteStateSpec("saved_at", VarIntCoder())
    SAVE = TimerSpec("save", TimeDomain.WATERMARK)

    def __init__(self, state_dir: str, known: dict[str, FeedState], snapshot_seconds: float):
        self._state_dir, self._known, self._snapshot_micros = state_dir, known, round(snapshot_seconds * MICROS)
        self._snapshots = counters.FEED_STATE_SNAPSHOTS.metric()

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        states_state=beam.DoFn.StateParam(STATES),
        saved_at=beam.DoFn.StateParam(SAVED_AT),
        save=beam.DoFn.TimerParam(SAVE),
    ) -> None:
        _, state = element
        states = states_state.read() or dict(self._known)
        states[state.feed_url] = state
        states_state.write(states)
        last = saved_at.read()
        save.set(
            Timestamp(micros=timestamp.micros if last is None else max(timestamp.micros, last + self._snapshot_micros))
        )

    @on_timer(SAVE)
    def write_states(
        self,
        fired=beam.DoFn.TimestampParam,
        states_state=beam.DoFn.StateParam(STATES),
        saved_at=beam.DoFn.StateParam(SAVED_AT),
    ) -> None:
        states = states_state.read()
        if states:
            FeedStateStore(self._state_dir).save(states.values())
            saved_at.write(fired.micros)
            self._snapshots.inc()
