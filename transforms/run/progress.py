"""A progress line on long local runs: what this worker has fetched, extracted and staged so far.

The DoFns of every stage call ``note`` as items pass; each worker process logs one line at most
every ``NEWSBEAM_PROGRESS_SECONDS`` (default 10 s), e.g. ``progress after 20s: 412 pages fetched,
398 articles extracted, 14 extraction rejects, 380 rows staged in articles``. Beam's own counters
are only read when the run ends, so this is what a user watching a long run sees meanwhile.
"""

from __future__ import annotations

import logging
import os
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
    """'progress after 20s: 412 pages fetched, 398 articles extracted' (kinds in pipeline order, zeros left out)."""
    kinds = [k for k in ORDER if counts.get(k)] + sorted(k for k in counts if k not in ORDER and counts[k])
    return f"progress after {elapsed:.0f}s: " + ", ".join(f"{counts[k]} {k}" for k in kinds)


_WORKER = Progress(PROGRESS_EVERY_SECONDS)


def note(what: str, n: int = 1) -> None:
    """Counts ``n`` items of a kind in this worker process and logs the progress line when it is due."""
    if n:
        message = _WORKER.add(what, n)
        if message:
            log.info(message)
