"""Per-host pacing: one request in flight per host and a minimum delay between the starts of two."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _HostTurn:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_start: float | None = None


class HostPacer:
    """At most one request in flight per host (netloc) and at least `delay` seconds between the start
    of two requests to it; thread-safe; hosts independent."""

    def __init__(
        self, delay: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self.delay = delay
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _HostTurn] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, netloc: str) -> Iterator[None]:
        """Hold the host's turn for the body of the ``with``: ``with pacer.slot(host_of(url)): ...``."""
        with self._lock:
            turn = self._hosts.setdefault(netloc.lower(), _HostTurn())
        with turn.lock:
            if turn.last_start is not None:
                wait = turn.last_start + self.delay - self._clock()
                if wait > 0:
                    self._sleep(wait)
            turn.last_start = self._clock()
            yield
