"""A progress line on long local runs: what this worker has fetched, extracted and staged so far.

The DoFns of every stage call ``note`` as items pass; each worker process logs one line at most
every ``NEWSBEAM_PROGRESS_SECONDS`` (default 10 s), e.g. ``progress after 20s: 412 pages fetched,
398 articles extracted, 14 extraction rejects, 380 rows staged in articles``. Beam's own counters
are only read when the run ends, so this is what a user watching a long run sees meanwhile.
Once documents are both read and extracted, the line adds how many of those read so far are
handled, the rate and an ETA for them. On a terminal the line updates in place; otherwise
(a log file, a pipe) each is a log line. ``reset`` starts the counts afresh (each ``watch`` run).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

PROGRESS_EVERY_SECONDS = float(os.environ.get("NEWSBEAM_PROGRESS_SECONDS", "10"))
ORDER = (
    "documents read",
    "pages fetched",
    "articles extracted",
    "extraction rejects",
    "rows staged in articles",
    "rows staged in rejects",
)
"""The pipeline's order, so the line reads like the run."""
log = logging.getLogger("newsbeam.progress")


class Progress:
    """Counts per kind of item; ``add`` returns a progress message when one is due."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self._interval, self._clock = interval, clock
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._started: float | None = None
        self._last = 0.0

    def add(self, what: str, n: int = 1) -> str | None:
        with self._lock:
            now = self._clock()
            if self._started is None:
                self._started = self._last = now
            self._counts[what] += n
            if now - self._last < self._interval:
                return None
            self._last = now
            return progress_message(self._counts, now - self._started)


def progress_message(counts: Counter[str], elapsed: float) -> str:
    """'progress after 20s: 412 pages fetched, 398 articles extracted' (kinds in pipeline order, zeros left out),
    then '; 398 of 1786 documents read so far handled (22%), 19.9/s, ETA 1m 10s' once there is a rate."""
    kinds = [k for k in ORDER if counts.get(k)] + sorted(k for k in counts if k not in ORDER and counts[k])
    line = f"progress after {elapsed:.0f}s: " + ", ".join(f"{counts[k]} {k}" for k in kinds)
    read, handled = (
        counts.get("documents read", 0),
        counts.get("articles extracted", 0) + counts.get("extraction rejects", 0),
    )
    if read and handled and elapsed > 0:
        handled = min(handled, read)
        rate = handled / elapsed
        line += f"; {handled} of {read} documents read so far handled ({100 * handled // read}%), {rate:.1f}/s"
        if handled < read:
            line += f", ETA {_span((read - handled) / rate)}"
    return line


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


_WORKER = Progress(PROGRESS_EVERY_SECONDS)
_ON_TERMINAL = {"drawn": False}


def reset() -> None:
    """Counts start afresh (a new run in the same process: each ``watch`` run)."""
    global _WORKER
    finish()
    _WORKER = Progress(PROGRESS_EVERY_SECONDS)


def note(what: str, n: int = 1) -> None:
    """Counts ``n`` items of a kind in this worker process and shows the progress line when it is due."""
    if n:
        message = _WORKER.add(what, n)
        if message:
            show(message)


def show(message: str) -> None:
    """On a terminal: the one progress line, redrawn in place; otherwise a log line."""
    if sys.stderr.isatty() and log.isEnabledFor(logging.INFO):
        sys.stderr.write("\r\x1b[K" + message)
        sys.stderr.flush()
        _ON_TERMINAL["drawn"] = True
    else:
        log.info(message)


def finish() -> None:
    """Ends the terminal's progress line (so the next output starts on a line of its own)."""
    if _ON_TERMINAL["drawn"]:
        sys.stderr.write("\n")
        sys.stderr.flush()
        _ON_TERMINAL["drawn"] = False
