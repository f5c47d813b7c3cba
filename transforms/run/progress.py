"""The progress of a local run while it runs: read, extracted, staged, rate, ETA, and fetches per host.

The DoFns of every stage call ``note`` as items pass (``documents read``, ``articles extracted``,
``rows staged in articles``, …) and the polite fetcher calls ``fetching``/``fetched`` per host.
Beam's own counters are only read when the run ends, so this is what a user watching a long
run sees meanwhile.

The run's own process calls ``start`` (with the totals its plan knows: seed files, feeds,
sitemaps, WARC files) and ``finish``; between them a ticker thread shows the progress:

- on a terminal, one line redrawn in place twice a second, cut to the terminal's width, e.g.
  ``[1m 20s] read 1786 · extracted 398 + 14 rejected (23%) · staged 380 · 5.2/s · ETA 4m 30s ·
  seed files 120/201 · fetching news.example 3/10``; ``finish`` leaves its last state on screen;
- otherwise (a log file, a pipe) a log line at most every ``NEWSBEAM_PROGRESS_SECONDS`` (default
  10 s) while something moved, e.g. ``progress after 20s: 412 pages fetched, 398 articles
  extracted; 398 of 1786 documents read so far handled (22%), 19.9/s, ETA 1m 10s; fetching
  news.example 3/10``.

A worker process of its own (``--direct_running_mode=multi_processing``, a remote worker) has no
ticker: there ``note`` logs such a line itself, at most once per interval. ``start`` begins every
run afresh, so the counts of one ``watch`` run never add to the next one's.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

PROGRESS_EVERY_SECONDS = float(os.environ.get("NEWSBEAM_PROGRESS_SECONDS", "10"))
TERMINAL_REDRAW_SECONDS = 0.5
ORDER = (
    "seed files read",
    "documents read",
    "pages fetched",
    "articles extracted",
    "extraction rejects",
    "rows staged in articles",
    "rows staged in rejects",
)
"""The pipeline's order, so the line reads like the run."""
HOSTS_SHOWN = 3
"""Hosts being fetched that the line names; the others are counted."""
log = logging.getLogger("newsbeam.progress")


@dataclass(frozen=True)
class Snapshot:
    """The counts at one moment: per kind of item, the plan's totals, each host's fetches (done, queued)."""

    elapsed: float
    counts: Mapping[str, int]
    totals: Mapping[str, int] = field(default_factory=dict)
    hosts: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def read(self) -> int:
        """Documents read from files and archives, and pages fetched: what extraction has to do so far."""
        return self.counts.get("documents read", 0) + self.counts.get("pages fetched", 0)

    @property
    def handled(self) -> int:
        """Documents through extraction, as an article or a reject."""
        return self.counts.get("articles extracted", 0) + self.counts.get("extraction rejects", 0)

    @property
    def share_known(self) -> bool:
        """Whether handled is a share of read (feed entries with their own text are extracted unread)."""
        return 0 < self.handled <= self.read

    @property
    def rate(self) -> float:
        return self.handled / self.elapsed if self.elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds until the documents read so far are handled, at the rate so far (None: no rate or no share)."""
        if not (self.share_known and self.rate) or self.handled >= self.read:
            return None
        return (self.read - self.handled) / self.rate


class Progress:
    """Counts per kind of item, the plan's totals and fetches per host; ``add`` returns a message when due."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self._interval, self._clock = interval, clock
        self._counts: Counter[str] = Counter()
        self._totals: dict[str, int] = {}
        self._hosts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._started: float | None = None
        self._last = 0.0
        self.changes = 0
        """Bumped by every update: the ticker logs only when something moved."""

    def begin(self, totals: Mapping[str, int] | None = None) -> None:
        """The clock starts now (not at the first item), with the plan's totals."""
        with self._lock:
            self._started = self._last = self._clock()
            self._totals = {k: v for k, v in (totals or {}).items() if v}

    def add(self, what: str, n: int = 1) -> str | None:
        with self._lock:
            self._counts[what] += n
            return self._due()

    def fetching(self, host: str, n: int) -> None:
        """``n`` more items of ``host`` are being fetched (a host's items are fetched one after another)."""
        with self._lock:
            done_queued = self._hosts.setdefault(host, [0, 0])
            done_queued[1] += n
            self.changes += 1

    def fetched(self, host: str, n: int = 1) -> str | None:
        with self._lock:
            done_queued = self._hosts.setdefault(host, [0, 0])
            done_queued[0] += n
            return self._due()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot(self._clock())

    def _snapshot(self, now: float) -> Snapshot:
        started = self._started if self._started is not None else now
        return Snapshot(
            elapsed=now - started,
            counts=dict(self._counts),
            totals=dict(self._totals),
            hosts={host: (done, queued) for host, (done, queued) in self._hosts.items()},
        )

    def _due(self) -> str | None:
        """Under the lock: a message when the interval has passed since the last one."""
        self.changes += 1
        now = self._clock()
        if self._started is None:
            self._started = self._last = now
        if now - self._last < self._interval:
            return None
        self._last = now
        return progress_message(self._snapshot(now))


def progress_message(snapshot: Snapshot | Counter[str], elapsed: float | None = None) -> str:
    """The log line: 'progress after 20s: 412 pages fetched, 398 articles extracted' (kinds in pipeline order,
    zeros left out), then '; 398 of 1786 documents read so far handled (22%), 19.9/s, ETA 1m 10s' once there is
    a rate, '; seed files 120/201' for the plan's totals and '; fetching a.example 3/10' while hosts are fetched."""
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot(elapsed=elapsed or 0.0, counts=dict(snapshot))
    counts = snapshot.counts
    shown_as_total = {kind for name, kind in TOTALS.items() if snapshot.totals.get(name)}
    kinds = [k for k in ORDER if counts.get(k)] + sorted(k for k in counts if k not in ORDER and counts[k])
    kinds = [k for k in kinds if k not in shown_as_total]
    line = f"progress after {snapshot.elapsed:.0f}s: " + (", ".join(f"{counts[k]} {k}" for k in kinds) or "starting")
    read, handled = snapshot.read, snapshot.handled
    if snapshot.share_known and snapshot.elapsed > 0:
        line += f"; {handled} of {read} documents read so far handled ({100 * handled // read}%), {snapshot.rate:.1f}/s"
        eta = snapshot.eta()
        if eta is not None:
            line += f", ETA {_span(eta)}"
    parts = [*_of_totals(snapshot), *([_fetching(snapshot)] if _fetching(snapshot) else [])]
    return line + "".join(f"; {part}" for part in parts)


def terminal_line(snapshot: Snapshot, width: int = 10_000) -> str:
    """The terminal's one line: '[1m 20s] read 1786 · extracted 398 + 14 rejected (23%) · staged 380 · 5.2/s ·
    ETA 4m 30s · seed files 120/201 · fetching a.example 3/10', cut to ``width``."""
    counts = snapshot.counts
    parts = [f"[{_span(snapshot.elapsed)}]"]
    fields = [f"read {snapshot.read}"] if snapshot.read else []
    extracted, rejected = counts.get("articles extracted", 0), counts.get("extraction rejects", 0)
    if extracted or rejected:
        share = f" ({100 * snapshot.handled // snapshot.read}%)" if snapshot.share_known else ""
        fields.append(f"extracted {extracted}" + (f" + {rejected} rejected" if rejected else "") + share)
    staged = counts.get("rows staged in articles", 0) + counts.get("rows staged in rejects", 0)
    if staged:
        fields.append(f"staged {staged}")
    if snapshot.handled and snapshot.elapsed > 0:
        fields.append(f"{snapshot.rate:.1f}/s")
    eta = snapshot.eta()
    if eta is not None:
        fields.append(f"ETA {_span(eta)}")
    fields += [*_of_totals(snapshot), *([_fetching(snapshot)] if _fetching(snapshot) else [])]
    line = parts[0] + " " + (" · ".join(fields) or "starting")
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


TOTALS = {"seed files": "seed files read"}
"""Plan totals shown as done/total: the plan's name → the kind of item ``note`` counts."""


def _of_totals(snapshot: Snapshot) -> list[str]:
    return [
        f"{name} {snapshot.counts.get(kind, 0)}/{snapshot.totals[name]}"
        for name, kind in TOTALS.items()
        if snapshot.totals.get(name)
    ]


def _fetching(snapshot: Snapshot) -> str:
    """'fetching a.example 3/10, b.example 1/4 (+2 hosts)': the hosts with fetches still to do, busiest first."""
    busy = sorted(
        ((host, done, queued) for host, (done, queued) in snapshot.hosts.items() if done < queued),
        key=lambda h: (h[1] - h[2], h[0]),
    )
    if not busy:
        return ""
    shown = ", ".join(f"{host} {done}/{queued}" for host, done, queued in busy[:HOSTS_SHOWN])
    more = len(busy) - HOSTS_SHOWN
    return f"fetching {shown}" + (f" (+{more} host{'s' if more != 1 else ''})" if more > 0 else "")


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class _Ticker:
    """Shows the progress of the run in this process until stopped: redrawn on a terminal, logged otherwise."""

    def __init__(self, progress: Progress, on_terminal: bool):
        self._progress, self._on_terminal = progress, on_terminal
        self._stop = threading.Event()
        self._drawn = False
        self._logged = 0
        self._thread = threading.Thread(target=self._run, name="newsbeam-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        every = TERMINAL_REDRAW_SECONDS if self._on_terminal else max(PROGRESS_EVERY_SECONDS, 0.05)
        while not self._stop.wait(every):
            if self._on_terminal:
                self.draw()
            else:
                self.log_if_moved()

    def log_if_moved(self) -> None:
        if self._progress.changes != self._logged:
            self._logged = self._progress.changes
            log.info(progress_message(self._progress.snapshot()))

    def draw(self) -> None:
        width = shutil.get_terminal_size((120, 24)).columns - 1
        sys.stderr.write("\r\x1b[K" + terminal_line(self._progress.snapshot(), width))
        sys.stderr.flush()
        self._drawn = True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if not self._on_terminal:
            self.log_if_moved()  # the last counts, when they moved since the last line
        elif self._drawn or self._progress.changes:
            self.draw()  # the last state stays on screen
            sys.stderr.write("\n")
            sys.stderr.flush()


_WORKER = Progress(PROGRESS_EVERY_SECONDS)
_TICKER: dict[str, _Ticker | None] = {"current": None}


def start(totals: Mapping[str, int] | None = None, show: bool = True) -> None:
    """A run starts in this process: counts afresh, the plan's ``totals``, and (``show``) the ticker."""
    global _WORKER
    finish()
    _WORKER = Progress(PROGRESS_EVERY_SECONDS)
    _WORKER.begin(totals)
    on_terminal = sys.stderr.isatty()
    if show and log.isEnabledFor(logging.INFO):
        _TICKER["current"] = _Ticker(_WORKER, on_terminal)


def reset() -> None:
    """Counts start afresh, without a ticker (a worker's new run)."""
    global _WORKER
    finish()
    _WORKER = Progress(PROGRESS_EVERY_SECONDS)


def note(what: str, n: int = 1) -> None:
    """Counts ``n`` items of a kind in this process; without a ticker here, logs the line when it is due."""
    if n:
        _show(_WORKER.add(what, n))


def fetching(host: str, n: int) -> None:
    """``n`` items of ``host`` queued for fetching in this process."""
    if n:
        _WORKER.fetching(host, n)


def fetched(host: str, n: int = 1) -> None:
    """``n`` items of ``host`` fetched (or given up) in this process."""
    _show(_WORKER.fetched(host, n))


def _show(message: str | None) -> None:
    if message and _TICKER["current"] is None:
        log.info(message)


def finish() -> None:
    """The run in this process ended: the ticker stops (a terminal keeps the last line, then a newline)."""
    ticker, _TICKER["current"] = _TICKER["current"], None
    if ticker is not None:
        ticker.stop()
