"""Live local mode: incremental batch runs back to back on the same output and state store.

``python -m pipeline watch --interval SECONDS [--max-runs N] [run options]`` polls feeds (and
reads seed inputs) every interval; conditional GETs, the seen-items ledger and the story index
carry over between runs, so each run only adds what is new. SIGINT or SIGTERM stops it cleanly:
between runs at once; during a run after that run has committed (a second signal aborts at
once — the staging folder of an aborted run is hidden from readers and removed by the next run).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable

from pipeline.summary import progress_line

log = logging.getLogger("newsbeam")
DEFAULT_INTERVAL = 300.0


def add_watch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help="Seconds between the starts of two runs. Default %(default)s",
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="Stop after this many runs (default: until SIGINT/SIGTERM)."
    )


def watch(argv: list[str], run_once: Callable[[list[str]], dict]) -> int:
    """Runs ``run_once`` every interval until --max-runs or a signal; prints a progress line per run."""
    parser = argparse.ArgumentParser(add_help=False)
    add_watch_arguments(parser)
    ours, run_argv = parser.parse_known_args(argv)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runs = 0
        while not stop.is_set() and (ours.max_runs is None or runs < ours.max_runs):
            started = _now()
            summary = run_once(run_argv)
            runs += 1
            print(
                f"[{runs}{'/' + str(ours.max_runs) if ours.max_runs else ''}] {progress_line(summary)} ({_now() - started:.1f}s)",
                flush=True,
            )
            if ours.max_runs is not None and runs >= ours.max_runs:
                break
            stop.wait(max(0.0, ours.interval - (_now() - started)))
        if stop.is_set():
            print(f"stopped after {runs} runs", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopper(stop: threading.Event):
    def handle(signum, _frame) -> None:
        if stop.is_set():
            log.warning("second signal: aborting the current run")
            sys.exit(128 + signum)
        log.warning("signal %d: stopping after the current run", signum)
        stop.set()

    return handle


def _now() -> float:
    import time

    return time.monotonic()
