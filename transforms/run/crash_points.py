"""Named points where a run can be killed on purpose, to prove it is crash safe.

Setting ``NEWSBEAM_CRASH_AT=POINT`` makes the process SIGKILL itself when the run reaches that
point (no clean-up, no flushing: exactly a power cut or an OOM kill). Unset, a point costs one
environment lookup. The crash test (``tests/e2e/test_crash_safety.py``) kills a run at every
point, in order of ``POINTS``, and checks what readers see and what the next run makes of it.
"""

from __future__ import annotations

import os
import signal
import sys

ENVIRONMENT_VARIABLE = "NEWSBEAM_CRASH_AT"
POINTS = (
    "planned",  # the run is planned; nothing is staged
    "staging",  # one staged file is complete, the others are not written yet
    "staged",  # every table is staged; the commit has not started (no plan)
    "commit_planned",  # the commit's plan is written; nothing moved
    "tables_moved",  # the output tables are in place; upserts not merged, ledger not moved, no run record
    "stories_merged",  # the upsert tables are merged; the ledger is still staged
    "ledger_moved",  # the ledger is in place; files a takedown replaces are not deleted yet
    "replaced_deleted",  # files a takedown replaces are deleted; no run record yet
    "run_recorded",  # the run record is written; the staging folders are still there
    "committed",  # the commit is finished; feed states and the story index are not saved yet
    "feeds_saved",  # the feed states are saved; the story index is not
)

COMMIT_POINTS = ("commit_planned", "tables_moved", "stories_merged", "ledger_moved", "replaced_deleted", "run_recorded")
"""The points inside a commit (``transforms/output/tables.py``), in order: a run's and a takedown's."""


def crash_point(name: str) -> None:
    """SIGKILLs this process when ``NEWSBEAM_CRASH_AT`` names this point."""
    if os.environ.get(ENVIRONMENT_VARIABLE) == name:
        print(f"{ENVIRONMENT_VARIABLE}={name}: killing the run here", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
