"""Event time for the streaming graph: each article's time, its 10-minute window, and late data.

An article's event time is its ``published_at``, but never later than the moment it arrived
(the element timestamp the poll gave it): a date in the future is a wrong clock or time zone.
Undated articles take their arrival time. Windows are fixed, aligned to the epoch.

Late data. Beam drops elements whose window closed more than the allowed lateness before the
watermark without telling the pipeline, and user code cannot read the watermark. So the
decision is made here, by ``RouteLate``: one stateful step that learns the watermark from its
own event-time timers (a timer set for T fires only once the watermark has passed T; the
largest T fired is the step's *floor*). An article whose window ended more than the allowed
lateness before the floor is a rejects row (reason ``late``), counted as ``window.rejected_late``.
Everything it lets through stays in the global window, where no runner drops anything: the
steps after it keep their windows in keyed state (``transforms/output/panes.py``).

The floor lags the true watermark: timers are set at the ends (and expiries) of windows that
received data, so it is exact for those windows and, for others, lags by at most the gap to the
last window with data. An article judged by a lagging floor is written in a late pane instead
of being rejected — never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import KV
from apache_beam.utils.timestamp import Timestamp

from schemas import Article, Reject
from transforms.run import counters
from transforms.run.context import RunContext

STAGE = "window"
LATE = "late"
GATE_KEY = "all"
MICROS = 1_000_000
DEFAULT_WINDOW_SECONDS = 600.0
DEFAULT_ALLOWED_LATENESS_SECONDS = 86_400.0
"""A day: feeds list items hours after their publication time, and a first poll returns a backlog."""
DEFAULT_DEDUP_HORIZON_SECONDS = 3 * 86_400.0


@dataclass(frozen=True)
class EventTime:
    """The event-time policy of the streaming graph: window size, allowed lateness, dedup horizon (seconds)."""

    window_seconds: float = DEFAULT_WINDOW_SECONDS
    allowed_lateness_seconds: float = DEFAULT_ALLOWED_LATENESS_SECONDS
    dedup_horizon_seconds: float = DEFAULT_DEDUP_HORIZON_SECONDS

    def __post_init__(self) -> None:
        if self.window_seconds <= 0 or self.allowed_lateness_seconds < 0:
            raise ValueError("the window size must be positive and the allowed lateness not negative")
        if self.dedup_horizon_seconds <= self.window_seconds + self.allowed_lateness_seconds:
            raise ValueError(
                f"the dedup horizon ({self.dedup_horizon_seconds:g}s) must be longer than a window plus the allowed "
                f"lateness ({self.window_seconds + self.allowed_lateness_seconds:g}s), or an accepted late article "
                "could find its key already forgotten"
            )

    @property
    def window_micros(self) -> int:
        return round(self.window_seconds * MICROS)

    @property
    def lateness_micros(self) -> int:
        return round(self.allowed_lateness_seconds * MICROS)

    @property
    def horizon_micros(self) -> int:
        return round(self.dedup_horizon_seconds * MICROS)

    def window_start(self, micros: int) -> int:
        return micros // self.window_micros * self.window_micros

    def window_end(self, micros: int) -> int:
        """Exclusive end of the window holding ``micros``."""
        return self.window_start(micros) + self.window_micros

    def expiry(self, micros: int) -> int:
        """When the window holding ``micros`` closes for good: its end plus the allowed lateness."""
        return self.window_end(micros) + self.lateness_micros


def event_time(article: Article, arrived: Timestamp) -> Timestamp:
    """``published_at``, but not after the arrival; the arrival when undated."""
    if article.published_at is None:
        return arrived
    return min(Timestamp.from_utc_datetime(article.published_at.astimezone(dt.UTC)), arrived)


def utc_label(micros: int) -> str:
    """20240301T100000Z: a timestamp for file names."""
    return Timestamp(micros=micros).to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")


class WindowOutputs(NamedTuple):
    articles: beam.PCollection  # timestamped with their event time, in the global window
    late: beam.PCollection  # rejects (reason 'late'), timestamped with the floor at which they were judged


class WindowArticles(beam.PTransform):
    """Articles → articles at their event time, and rejects for the ones beyond the allowed lateness."""

    def __init__(self, times: EventTime, run: RunContext):
        super().__init__()
        self._times, self._run = times, run

    def expand(self, articles):
        routed = (
            articles
            | "StampEventTime" >> beam.ParDo(StampEventTime())
            | "OneGateKey" >> beam.Map(lambda article: (GATE_KEY, article)).with_output_types(KV[str, Any])
            | "RouteLate" >> beam.ParDo(RouteLate(self._times, self._run)).with_outputs(LATE, main="articles")
        )
        return WindowOutputs(routed.articles, routed[LATE])


class StampEventTime(beam.DoFn):
    def process(self, article: Article, arrived=beam.DoFn.TimestampParam) -> Iterator[TimestampedValue]:
        yield TimestampedValue(article, event_time(article, arrived))


class RouteLate(beam.DoFn):
    """One key: passes articles whose window is still open, rejects the others (see the module docstring)."""

    FLOOR = ReadModifyWriteStateSpec("floor", VarIntCoder())
    PENDING = ReadModifyWriteStateSpec("pending", PickleCoder())
    ADVANCE = TimerSpec("advance", TimeDomain.WATERMARK)

    def __init__(self, times: EventTime, run: RunContext):
        self._times, self._run = times, run
        self._late = counters.rejected(STAGE).of(LATE).metric()
        self._accepted = counters.WINDOW_ARTICLES.metric()

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        floor_state=beam.DoFn.StateParam(FLOOR),
        pending_state=beam.DoFn.StateParam(PENDING),
        advance=beam.DoFn.TimerParam(ADVANCE),
    ) -> Iterator:
        _, article = element
        floor = floor_state.read()
        if is_late(self._times, timestamp.micros, floor):
            self._late.inc()
            reject = late_reject(article, self._times, timestamp.micros, floor, self._run)
            yield beam.pvalue.TaggedOutput(LATE, TimestampedValue(reject, Timestamp(micros=floor)))
            return
        pending = set(pending_state.read() or ())
        previous_first = min(pending) if pending else None
        pending |= {self._times.window_end(timestamp.micros), self._times.expiry(timestamp.micros)}
        pending_state.write(tuple(sorted(pending)))
        if min(pending) != previous_first:
            advance.set(Timestamp(micros=min(pending)))
        self._accepted.inc()
        yield article

    @on_timer(ADVANCE)
    def on_advance(
        self,
        fired=beam.DoFn.TimestampParam,
        floor_state=beam.DoFn.StateParam(FLOOR),
        pending_state=beam.DoFn.StateParam(PENDING),
        advance=beam.DoFn.TimerParam(ADVANCE),
    ) -> None:
        floor = max(floor_state.read() or fired.micros, fired.micros)
        floor_state.write(floor)
        pending = tuple(t for t in pending_state.read() or () if t > floor)
        if pending:
            pending_state.write(pending)
            advance.set(Timestamp(micros=pending[0]))
        else:
            pending_state.clear()


def is_late(times: EventTime, event_micros: int, floor: int | None) -> bool:
    """Beyond the allowed lateness: the window closed for good at or before the known watermark floor."""
    return floor is not None and times.expiry(event_micros) <= floor


def late_reject(article: Article, times: EventTime, event_micros: int, floor: int, run: RunContext) -> Reject:
    """The rejects row of an article that came after its window closed for good."""
    item = f"{article.source_uri}#entry={article.entry_id}" if article.entry_id else article.source_uri
    start = times.window_start(event_micros)
    detail = (
        f"{article.url or article.title or article.article_id}: event time {utc_label(event_micros)} "
        f"(published_at {article.published_at.isoformat() if article.published_at else 'unknown'}); its window "
        f"{utc_label(start)}–{utc_label(start + times.window_micros)} closed for good at "
        f"{utc_label(times.expiry(event_micros))} "
        f"(allowed lateness {times.allowed_lateness_seconds:g}s), the watermark had reached {utc_label(floor)}"
    )
    return run.reject(item, STAGE, LATE, detail, f"{article.article_id}\x1f{article.content_hash}")
