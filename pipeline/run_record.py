"""The run record: what one run (or one takedown) committed, as written to ``OUTPUT/_runs/RUN_ID.json``.

The commit (``transforms/output/tables.py``) writes it as its last step; the run summary, the
report and ``watch`` read it back through ``RunRecord.from_json``. A ``forget`` (takedown)
writes a record of its own kind, so the report's runs list shows it beside the runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from apache_beam.io.filesystems import FileSystems

from transforms.output.files import match_paths, read_json
from transforms.output.layout import RUNS_DIR
from transforms.output.tables import StagedFile

RUN, FORGET = "run", "forget"
"""Kinds of record: a pipeline run, and a takedown (``python -m pipeline forget``)."""
SUMMARY_SUFFIX = ".summary.json"
"""A run's summary lies beside its record: ``_runs/RUN_ID.summary.json``."""


@dataclass(frozen=True)
class RunRecord:
    """One committed run: its id and start, rows and files per table, and (for a takedown) what it removed."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    rows: Mapping[str, int] = field(default_factory=dict)
    files: tuple[StagedFile, ...] = ()
    kind: str = RUN
    removed: Mapping[str, int] = field(default_factory=dict)
    """Takedowns: rows removed per table."""
    target: str | None = None
    """Takedowns: the URL or article id asked to be forgotten."""

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (the layout of ``_runs/RUN_ID.json``)."""
        data = asdict(self)
        data["rows"], data["removed"] = dict(self.rows), dict(self.removed)
        if self.kind == RUN:
            for key in ("removed", "target"):
                data.pop(key)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        """A record read back; records written before ``kind`` existed are runs. Unknown keys are ignored."""
        return cls(
            run_id=data["run_id"],
            started_at=data.get("started_at", ""),
            rows={k: int(v) for k, v in data.get("rows", {}).items()},
            files=tuple(StagedFile(**f) for f in data.get("files", ()) if f),
            kind=data.get("kind", RUN),
            removed={k: int(v) for k, v in data.get("removed", {}).items()},
            target=data.get("target"),
        )


def record_path(output: str, run_id: str, suffix: str = ".json") -> str:
    return FileSystems.join(output.rstrip("/"), RUNS_DIR, f"{run_id}{suffix}")


def read_record(path: str) -> RunRecord:
    return RunRecord.from_json(read_json(path))


def record_paths(output: str) -> list[str]:
    """Paths of every run record under OUTPUT/_runs (summaries excluded), oldest first."""
    paths = match_paths(FileSystems.join(output.rstrip("/"), RUNS_DIR, "*.json"))
    return sorted(p for p in paths if not p.endswith(SUMMARY_SUFFIX) and not p.rsplit("/", 1)[-1].startswith("."))
