"""Feed health: one ``feed_polls`` row per feed per poll, and the streaming step that completes it.

``feed_poll_row`` builds the row from a poll (``feeds.batch.FeedPoll``) and the fate of its
entries; the batch graph and the streaming graph both call it. In streaming, the fate of the
entries is known only downstream, so ``CompletePollRows`` gathers, per poll (the configured
feed URL and the poll tick's timestamp, which every entry, document and article of the poll
keeps until windowing), the poll itself and one outcome per entry (already seen, article,
reject). A row goes out when every entry the feed listed is accounted for, or at the latest
when the allowed lateness has passed (then counted as ``feeds.poll_rows_incomplete``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import KV, Tuple
from apache_beam.utils.timestamp import Timestamp

from schemas import FeedPoll
from transforms.event_time.windows import EventTime
from transforms.http.client import redact_credentials
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.feeds import batch

POLL, SEEN_BEFORE, ARTICLE, REJECT = "poll", "seen_before", "article", "reject"
"""What a feed-health event is: the poll itself, or the fate of one of its entries."""


def feed_poll_row(
    poll: batch.FeedPoll,
    run: RunContext,
    polled_at: dt.datetime,
    *,
    new_entries: int,
    articles: int,
    rejects: int,
) -> FeedPoll:
    """The ``feed_polls`` row of one poll, given what became of its entries (``rejects``: the feed's own included)."""
    state, fetched = poll.state, poll.fetched
    return FeedPoll(
        feed_url=redact_credentials(state.feed_url),
        current_url=redact_credentials(state.current_url),
        polled_at=polled_at,
        run_id=run.run_id,
        http_status=fetched.status if fetched else state.last_status,
        not_modified=bool(fetched and fetched.not_modified),
        bytes=len(fetched.body) if fetched else 0,
        latency_seconds=fetched.elapsed if fetched else 0.0,
        entries_seen=len(poll.entries),
        new_entries=new_entries,
        articles=articles,
        rejects=rejects,
        error=poll_error(poll),
        bozo_reason=state.last_bozo,
        next_attempt_at=state.next_attempt_at,
    )


def poll_error(poll: batch.FeedPoll) -> str | None:
    """The reason of the feed's own reject (``timeout``, ``http_404``, ``not_a_feed``, …), else None."""
    return poll.reject.reason if poll.reject else None


def feed_of(source_uri: str) -> str:
    """The feed an article or reject came from: its source, without the ``#entry=`` part."""
    return source_uri.split("#entry=", 1)[0]


class CompletePollRows(beam.PTransform):
    """Polls, entries already seen, feed articles and rejects (all at their poll's timestamp) → FeedPoll rows."""

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
            | "EntryRejects" >> beam.Filter(lambda r: "#entry=" in r.source_uri)
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

    def _row(self, poll: batch.FeedPoll, counts: dict[str, int], polled_micros: int) -> TimestampedValue:
        polled_at = Timestamp(micros=polled_micros).to_utc_datetime().replace(tzinfo=dt.UTC)
        row = feed_poll_row(
            poll,
            self._run,
            polled_at,
            new_entries=len(poll.entries) - counts.get(SEEN_BEFORE, 0),
            articles=counts.get(ARTICLE, 0),
            rejects=counts.get(REJECT, 0) + (1 if poll.reject else 0),
        )
        return TimestampedValue(row, Timestamp(micros=polled_micros))
