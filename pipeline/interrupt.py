"""SIGINT and SIGTERM during a run: one line, exit 130 or 143, no traceback unless -v.

A run commits in one step at its end (``transforms/output/tables.py``): a run stopped before
that step leaves only a staging folder, hidden from readers and removed by the next run, and
the next run reads again what this one did not commit. So an interrupt needs no cleanup, only
a clear word. A second signal while the first is being handled ends the process at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable

from pipeline.exit_codes import interrupted_exit_code

INTERRUPTED = "interrupted: nothing committed; rerun to continue"
INTERRUPTED_AFTER_COMMIT = "interrupted after the run committed; a rerun adds only what is new"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_on_interrupt(body: Callable[[], int], *, verbose: bool, committed: Callable[[], bool]) -> int:
    """Runs ``body``; SIGINT/SIGTERM stop it with one line on stderr and ``interrupted_exit_code``.

    The signal raises KeyboardInterrupt in the main thread (for SIGTERM too), which is how Beam's
    local runners expect to be stopped; whatever Beam raises or logs while unwinding is kept
    off the terminal unless ``verbose``. ``committed`` says whether the run's commit happened
    before the signal (the line says so then).
    """
    if threading.current_thread() is not threading.main_thread():
        return body()  # signal handlers can only be set from the main thread (a notebook's worker thread)
    received: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        if received:
            os._exit(interrupted_exit_code(received[0]))
        received.append(signum)
        if not verbose:
            logging.disable(logging.CRITICAL)  # Beam's workers log each cancelled bundle
            threading.excepthook = lambda _args: None
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        try:
            code = body()
        except BaseException:
            if not received:
                raise
            if verbose:
                traceback.print_exc()
        else:
            if not received:
                return code  # (a signal Beam swallowed still ends as an interrupted run, below)
        print(INTERRUPTED_AFTER_COMMIT if committed() else INTERRUPTED, file=sys.stderr, flush=True)
        return interrupted_exit_code(received[0])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
