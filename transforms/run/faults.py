"""Named points where a test can kill the process, to prove a commit rolls forward from anywhere.

``kill_point("commit.moved")`` does nothing unless the environment variable ``NEWSBEAM_KILL_AT``
names that point: then the process SIGKILLs itself there (no cleanup, no flush), as a power
cut or an OOM kill would. The crash tests run the CLI once per point, so every point is
exercised every time; ``COMMIT_POINTS`` lists the commit's points in order.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "NEWSBEAM_KILL_AT"
COMMIT_POINTS = (
    "commit.planned",  # the commit plan is written; nothing moved yet
    "commit.moved",  # output files moved into place
    "commit.merged",  # upsert tables merged
    "commit.ledger",  # ledger files moved into the state store
    "commit.replaced",  # files replaced by the commit (takedowns) deleted
    "commit.recorded",  # run record written; staging not yet removed
)


def kill_point(name: str) -> None:
    """SIGKILLs this process when ``NEWSBEAM_KILL_AT`` is ``name``."""
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
