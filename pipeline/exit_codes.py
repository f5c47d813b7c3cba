"""Every exit code of every command, named once, with what it means.

Commands return these; tests compare a process's return code with them; the docs' table of
exit codes (``docs/reference/exit-codes.md``) is generated from them by
``python -m pipeline.docs_reference``. Several names share a number: the number is what a script
sees, the name says which failure a line of code reports.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from itertools import groupby


class ExitCode(int):
    """An exit status (an ``int`` wherever one is expected) that says what it means."""

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitCode:
        self = super().__new__(cls, code)
        self.meaning = meaning
        return self

    def __reduce__(self) -> tuple[type[ExitCode], tuple[int, str]]:
        return ExitCode, (int(self), self.meaning)


OK_EXIT = ExitCode(0, "done")
FAILED_EXIT = ExitCode(
    1,
    "anything else: an unexpected error, a run whose lease was taken over while it stalled (it commits nothing), "
    "a failed write",
)
STREAM_NOT_DRAINED_EXIT = ExitCode(
    1, "for `run --streaming`, a job cancelled by a second signal, or that ended in a state other than done"
)
JOB_WITHOUT_RECORD_EXIT = ExitCode(1, "a job on another runner that finished without writing its run record")
QUERY_ERROR_EXIT = ExitCode(1, "for `query`, a SQL error or a statement it refuses")
UNKNOWN_STORY_EXIT = ExitCode(1, "for `stories`, no story has the id")
UNKNOWN_FEED_EXIT = ExitCode(1, "for `feeds --reset`, no feed has the URL (the closest are named)")
NOT_FOUND_EXIT = ExitCode(1, "for `forget`, nothing matched")
COMPACTION_FAILED_EXIT = ExitCode(1, "for `compact`, a compacted file would not keep every row (nothing is swapped in)")
ARGUMENT_ERROR_EXIT = ExitCode(
    2,
    "bad arguments: an unknown option (with the closest name) or a bad value, also in a config file (the file and"
    " the key named)",
)
PLAN_ERROR_EXIT = ExitCode(2, "input that matches nothing, or options that make no plan")
PREFLIGHT_EXIT = ExitCode(
    2,
    "an unknown `--runner` (with the closest name), "
    "an `--output` or `--state` that can't be written or reached (named)",
)
MISSING_OUTPUT_EXIT = ExitCode(
    2, "an `--output` that does not exist (`report`, `compact`, `query`, `stories`, `feeds`, `forget`)"
)
COMPACTION_REFUSED_EXIT = ExitCode(
    2, "`compact` refused: a run's staging is still there, or the folder is not a newsbeam output"
)
ACCOUNTING_ERROR_EXIT = ExitCode(3, "the run's figures don't reconcile")
LEASE_HELD_EXIT = ExitCode(4, "another run holds the output's (or state store's) lease (the holder is named)")
CORRUPT_STATE_EXIT = ExitCode(5, "a state file can't be read (the file is named)")
ENGINE_MISSING_EXIT = ExitCode(
    6,
    "an engine is not installed: Prism for `run --streaming`, Beam's Flink job server for `--runner=FlinkRunner` "
    "(the line names the `make` target)",
)
INTERRUPTED_EXIT = ExitCode(
    128 + signal.SIGINT,
    "a `run` stopped by SIGINT (Ctrl-C) before its commit: one line, "
    "`interrupted: nothing committed; rerun to continue`, a traceback only with `-v`",
)
TERMINATED_EXIT = ExitCode(128 + signal.SIGTERM, "the same for SIGTERM")


def interrupted_exit_code(signum: int) -> int:
    """128 + the signal number, as a shell reports a process the signal ended: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


def exit_codes() -> list[tuple[str, ExitCode]]:
    """Every named exit code of this module, in the order declared."""
    return [(name, value) for name, value in globals().items() if isinstance(value, ExitCode)]


def by_number() -> Iterator[tuple[int, list[ExitCode]]]:
    """Each number in use with its exit codes, in ascending order (declaration order within a number)."""
    codes = sorted((value for _, value in exit_codes()), key=int)
    for number, same in groupby(codes, key=int):
        yield number, list(same)


def exit_codes_markdown() -> str:
    """The docs' table: a row per number, its meanings joined."""
    rows = [f"| {number} | {'; '.join(code.meaning for code in codes)} |" for number, codes in by_number()]
    return "\n".join(["| code | meaning |", "|---|---|", *rows])
