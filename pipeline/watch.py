"""Live local mode: incremental batch runs back to back on the same output and state store.

``python -m pipeline watch --interval SECONDS [--max-runs N] [run options]`` polls feeds (and
reads seed inputs) every interval; conditional GETs, the seen-items ledger and the story index
carry over between runs, so each run only adds what is new. SIGINT or SIGTERM stops it cleanly:
between runs at once; during a run after that run has committed (a second signal aborts at
once — the staging folder of an aborted run is hidden from readers and removed by the next run).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

from pipeline.exit_codes import interrupted_exit_code
from pipeline.summary import RunSummary, progress_line

log = logging.getLogger("newsbeam")


def watch(
    interval: float, max_runs: int | None, run_argv: list[str], run_once: Callable[[list[str]], RunSummary]
) -> int:
    """Runs ``run_once`` every ``interval`` seconds until ``max_runs`` or a signal; prints a line per run.

    Between runs it says when the next one starts, so a quiet terminal is never a mystery.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runs = 0
        while not stop.is_set() and (max_runs is None or runs < max_runs):
            started = time.monotonic()
            summary = run_once(run_argv)
            runs += 1
            took = time.monotonic() - started
            print(
                f"[{runs}{'/' + str(max_runs) if max_runs else ''}] {progress_line(summary)} ({took:.1f}s)", flush=True
            )
            if max_runs is not None and runs >= max_runs:
                break
            wait = max(0.0, interval - took)
            print(next_run_line(wait), flush=True)
            stop.wait(wait)
        if stop.is_set():
            print(f"stopped after {runs} runs", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def next_run_line(wait: float, now: dt.datetime | None = None) -> str:
    """ "next run at 12:05:00 UTC (in 4m 58s); Ctrl-C stops" """
    now = now or dt.datetime.now(dt.UTC)
    at = now + dt.timedelta(seconds=wait)
    minutes, seconds = divmod(round(wait), 60)
    span = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
    return f"next run at {at:%H:%M:%S} UTC (in {span}); Ctrl-C stops"


def _stopper(stop: threading.Event):
    def handle(signum, _frame) -> None:
        if stop.is_set():
            log.warning("second signal: aborting the current run")
            sys.exit(interrupted_exit_code(signum))
        log.warning("signal %d: stopping after the current run", signum)
        stop.set()

    return handle
