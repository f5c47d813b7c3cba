"""Write the run's tables as Hive-partitioned, zstd-compressed Parquet, committed by one step after all are staged.

Each bundle writes its rows into files under ``OUTPUT/_staging-RUN_ID/`` (a folder that Spark,
DuckDB globs and pyarrow ignore). When every table is staged, one commit step moves the files
into ``OUTPUT/TABLE/PARTITION=VALUE/``, removes the staging folder and writes the run record
``OUTPUT/_runs/RUN_ID.json``. All paths go through Beam's FileSystems (local, gs://, s3://).

What the commit guarantees. A data file is never visible half-written: it is complete in staging
before it moves, and on S3/GCS an object appears only when its upload completes. The moves
themselves are one rename per file: atomic per file on a local disk, a server-side copy then a
delete on S3 and GCS, and never atomic across files. So the commit is made to roll forward: it
first writes its plan, ``OUTPUT/_staging-RUN_ID/_commit.json`` (every staged file and its
target), then moves the output tables, merges upsert tables, moves the seen-items ledger, writes
the run record ``_runs/RUN_ID.json`` and removes the staging folders. A run killed before its plan
exists left nothing in place, and the next run removes its staging; a run killed after finds its
plan there, and the next run finishes that commit first (each step can be repeated). Either way,
once the next run starts, every input is in the tables exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dataclasses_field
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from schemas import TableSpec
from schemas.tables import HIVE_NULL_PARTITION
from transforms.output.files import (
    ensure_dir,
    match_paths,
    read_json,
    remove_folder,
    sweep_temporary_files,
    write_json_atomically,
)
from transforms.output.layout import COMMIT_PLAN, RUNS_DIR, STAGING_PREFIX, committed_files, staging_dir
from transforms.output.lease import verify_lease
from transforms.output.rules import COMPRESSION, records_to_table
from transforms.run import counters, progress
from transforms.run.context import RunContext
from transforms.run.crash_points import crash_point

BUFFER_BYTES = 8 * 1024 * 1024
"""Rows buffered per bundle, over all its partitions, before the largest partition is written as one row group."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedFile:
    """A finished data file waiting in the staging folder for the commit."""

    table: str
    root: str  # the output folder, or the state store for the ledger
    relative_path: str  # e.g. "articles/published_date=2022-07-26/part-RUN-uuid.parquet"
    rows: int


class WriteTables(beam.PTransform):
    """{table name: PCollection of records} → one run record dict, after all files are committed.

    Tables go under ``output`` unless ``roots`` names another folder for them (the ledger lives
    in the state store); each folder gets its own staging area, so every move is a rename.
    """

    def __init__(
        self, output: str, run: RunContext, tables: Sequence[TableSpec], roots: Mapping[str, str] | None = None
    ):
        super().__init__()
        self._output = output.rstrip("/")
        self._run = run
        self._tables = {spec.name: spec for spec in tables}
        self._roots = {name: root.rstrip("/") for name, root in (roots or {}).items()}

    def expand(self, records_by_table: dict):
        staged = [
            records
            | f"Stage{name.title()}"
            >> beam.ParDo(StageParquetFiles(self._tables[name], self._roots.get(name, self._output), self._run.run_id))
            for name, records in records_by_table.items()
        ]
        return (
            staged
            | "AllStagedFiles" >> beam.Flatten()
            | "CollectStaged" >> beam.combiners.ToList()
            | "CommitRun"
            >> beam.Map(
                commit_run,
                self._output,
                self._run,
                list(self._tables.values()),
                always_present=[spec for name, spec in self._tables.items() if name not in self._roots],
            )
        )


class StageParquetFiles(beam.DoFn):
    """Buffers records per partition and writes them into one staged file per partition per bundle."""

    def __init__(self, table: TableSpec, root: str, run_id: str):
        self._table = table
        self._root = root
        self._staging_dir = staging_dir(root, run_id)
        self._run_id = run_id
        self._rows = counters.ROWS_WRITTEN.of(table.name).metric()

    def setup(self) -> None:
        self._schema = self._table.arrow_schema
        self._names = [f.name for f in fields(self._table.record_type)]

    def start_bundle(self) -> None:
        self._open: dict[str, _PartitionFile] = {}
        self._buffered = 0  # bytes buffered over all open partitions

    def process(self, record: Any) -> None:
        partition = self._table.partition_dir(record)
        target = self._open.get(partition)
        if target is None:
            name = f"part-{self._run_id}-{uuid.uuid4().hex[:12]}.parquet"
            relative = "/".join(p for p in (self._table.name, partition, name) if p)
            target = self._open[partition] = _PartitionFile(relative, self._staging_dir, self._schema)
        self._buffered += target.add({name: getattr(record, name) for name in self._names})
        if self._buffered >= BUFFER_BYTES:  # the bound holds over all partitions, however many dates a bundle has
            largest = max(self._open.values(), key=lambda f: f.buffered_bytes)
            self._buffered -= largest.buffered_bytes
            largest.flush()
        self._rows.inc()
        progress.note(f"rows staged in {self._table.name}")

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for target in self._open.values():
            rows = target.close()
            crash_point("staging")
            staged = StagedFile(self._table.name, self._root, target.relative_path, rows)
            yield WindowedValue(staged, GlobalWindow().max_timestamp(), [GlobalWindow()])
        self._open = {}


class _PartitionFile:
    """One staged Parquet file, written one row group at a time."""

    def __init__(self, relative_path: str, staging_dir: str, schema: pa.Schema):
        self.relative_path = relative_path
        self._path = FileSystems.join(staging_dir, relative_path)
        self._schema = schema
        self._buffer: list[dict] = []
        self.buffered_bytes = 0
        self._rows = 0
        self._handle = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, row: dict) -> int:
        """Buffers a row; returns its estimated size in bytes."""
        self._buffer.append(row)
        size = sum(len(v) for v in row.values() if isinstance(v, str)) + 64
        self.buffered_bytes += size
        return size

    def close(self) -> int:
        self.flush()
        self._writer.close()
        self._handle.close()
        return self._rows

    def flush(self) -> None:
        """Writes the buffered rows as one row group."""
        if not self._buffer:
            return
        batch = records_to_table(self._buffer, self._schema)
        if self._writer is None:
            ensure_dir(self._path.rsplit("/", 1)[0])
            self._handle = FileSystems.create(self._path, compression_type=CompressionTypes.UNCOMPRESSED)
            self._writer = pq.ParquetWriter(self._handle, self._schema, compression=COMPRESSION)
        self._writer.write_table(batch, row_group_size=len(self._buffer))
        self._rows += len(self._buffer)
        self._buffer, self.buffered_bytes = [], 0


def commit_run(
    staged: list[StagedFile],
    output: str,
    run: RunContext,
    tables: Sequence[TableSpec] = (),
    changes: CommitChanges | None = None,
    always_present: Sequence[TableSpec] = (),
) -> dict:
    """Writes the commit plan, then moves every staged file into place, merges upsert tables, writes the run record.

    Output tables move before the ledger, and the run record comes last (see the module docstring).
    ``changes`` (takedowns) adds files to delete, upsert keys to drop and fields of the run record.
    Each table of ``always_present`` that has no file yet and gets no rows from this run gets a
    zero-row file (``stage_empty_tables``), committed like any other.
    """
    output = output.rstrip("/")
    crash_point("staged")
    if run.lease_owner:  # fencing: a run whose lease was taken over must not move anything
        for root in sorted({output, *(f.root for f in staged)}):
            if root == output or not root.startswith(output + "/"):
                verify_lease(root, run.lease_owner)
    changes = changes or CommitChanges()
    staged = [*staged, *stage_empty_tables(staged, output, run, always_present)]
    record = run_record(staged, run)
    plan = {**record, "upsert_tables": [spec.name for spec in tables if spec.upsert_key], **changes.to_plan()}
    write_json_atomically(FileSystems.join(staging_dir(output, run.run_id), COMMIT_PLAN), plan)
    crash_point("commit_planned")
    return finish_commit(staged, output, run, tables, changes=changes)


@dataclass(frozen=True)
class CommitChanges:
    """What a commit does beyond adding files: used by takedowns, which rewrite files without some rows."""

    replaced_files: tuple[str, ...] = ()
    """Committed files the staged files replace: deleted after the moves (a missing one was already deleted)."""
    dropped_keys: Mapping[str, tuple[str, ...]] = dataclasses_field(default_factory=dict)
    """Per upsert table, keys whose rows the merge removes."""
    record: Mapping[str, Any] = dataclasses_field(default_factory=dict)
    """Fields added to the run record (e.g. its kind)."""

    def to_plan(self) -> dict:
        if not (self.replaced_files or self.dropped_keys or self.record):
            return {}
        return {
            "replaced_files": list(self.replaced_files),
            "dropped_keys": {k: list(v) for k, v in self.dropped_keys.items()},
            "record": dict(self.record),
        }

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any]) -> CommitChanges:
        return cls(
            tuple(plan.get("replaced_files", ())),
            {k: tuple(v) for k, v in plan.get("dropped_keys", {}).items()},
            dict(plan.get("record", {})),
        )


def stage_empty_tables(
    staged: Sequence[StagedFile], output: str, run: RunContext, tables: Sequence[TableSpec]
) -> list[StagedFile]:
    """A staged zero-row file (the table's full schema) for every table with no file in ``output`` and none staged.

    So every table exists after every run, and DuckDB, pyarrow, pandas, Polars and Spark read an
    empty table instead of failing on a missing folder. A partitioned table's empty file sits in
    the NULL partition when its partition column is nullable, else in the run's date.
    """
    have = {f.table for f in staged if f.root == output}
    empty = []
    for spec in tables:
        if spec.name in have or committed_files(output, spec):
            continue
        relative = "/".join(
            p for p in (spec.name, empty_partition_dir(spec, run), f"part-{run.run_id}-empty.parquet") if p
        )
        path = FileSystems.join(staging_dir(output, run.run_id), relative)
        ensure_dir(path.rsplit("/", 1)[0])
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            pq.write_table(spec.arrow_schema.empty_table(), handle, compression=COMPRESSION)
        empty.append(StagedFile(spec.name, output, relative, 0))
    return empty


def empty_partition_dir(spec: TableSpec, run: RunContext) -> str:
    """Where a table's zero-row file goes: '' (unpartitioned), the NULL partition, or the run's UTC date."""
    if spec.partition is None:
        return ""
    value = HIVE_NULL_PARTITION if spec.partition.nullable else run.started_at.astimezone(dt.UTC).date().isoformat()
    return f"{spec.partition.name}={value}"


def finish_commit(
    staged: list[StagedFile],
    output: str,
    run: RunContext,
    tables: Sequence[TableSpec],
    resuming: bool = False,
    changes: CommitChanges | None = None,
) -> dict:
    """The commit's steps after its plan is written; ``resuming`` repeats them after a crash (moved files skipped)."""
    changes = changes or CommitChanges()
    move_into_place([f for f in staged if f.root == output], run, resuming)
    crash_point("tables_moved")
    for spec in tables:
        roots = {f.root for f in staged if f.table == spec.name}
        dropped = changes.dropped_keys.get(spec.name, ())
        if spec.upsert_key and (roots or dropped):
            merge_upserts(roots.pop() if roots else output, spec, run, dropped)
    crash_point("stories_merged")
    move_into_place([f for f in staged if f.root != output], run, resuming)
    crash_point("ledger_moved")
    gone = [path for path in changes.replaced_files if FileSystems.exists(path)]
    if gone:
        FileSystems.delete(gone)
    crash_point("replaced_deleted")
    record = {**run_record(staged, run), **changes.record}
    write_json_atomically(FileSystems.join(output, RUNS_DIR, f"{run.run_id}.json"), record)
    crash_point("run_recorded")
    for root in sorted({output, *(f.root for f in staged)}):
        remove_folder(staging_dir(root, run.run_id))
    return record


def move_into_place(staged: list[StagedFile], run: RunContext, resuming: bool = False) -> None:
    """Renames staged files to their committed paths (on S3/GCS: copy, then delete).

    ``resuming``: files already moved by the interrupted commit are skipped; a file in neither place is an error.
    """
    pairs = [
        (FileSystems.join(staging_dir(f.root, run.run_id), f.relative_path), FileSystems.join(f.root, f.relative_path))
        for f in staged
    ]
    if resuming:
        pairs = [(source, target) for source, target in pairs if not _already_moved(source, target)]
    for directory in sorted({target.rsplit("/", 1)[0] for _, target in pairs}):
        ensure_dir(directory)
    if pairs:
        FileSystems.rename([source for source, _ in pairs], [target for _, target in pairs])


def _already_moved(source: str, target: str) -> bool:
    if FileSystems.exists(source):
        return False
    if FileSystems.exists(target):
        return True
    raise OSError(f"cannot finish the commit: {source} is neither staged nor in place at {target}")


def run_record(staged: list[StagedFile], run: RunContext) -> dict:
    """What the run committed: files and row counts per table."""
    rows: dict[str, int] = {}
    for f in staged:
        rows[f.table] = rows.get(f.table, 0) + f.rows
    return {
        "run_id": run.run_id,
        "started_at": run.started_at.isoformat(),
        "rows": rows,
        "files": sorted((asdict(f) for f in staged), key=lambda f: (f["root"], f["relative_path"])),
    }


def merge_upserts(root: str, spec: TableSpec, run: RunContext, dropped_keys: Sequence[str] = ()) -> None:
    """Rewrites an upsert table as one file in which this run's rows replace older rows with the same key.

    Rows whose key is in ``dropped_keys`` are left out. The merged file is written to staging,
    renamed into place, then the older files are deleted: a reader listing the folder in between
    may see both versions of an updated row, never none.
    """
    files = committed_files(root, spec)
    if len(files) < 2 and not dropped_keys:
        return
    ours = [f for f in files if f"part-{run.run_id}-" in f]
    older = [f for f in files if f not in ours]
    tables = []
    for path in older + ours:  # later rows win
        with FileSystems.open(path) as handle:
            tables.append(pq.read_table(handle, schema=spec.arrow_schema))
    merged = pa.concat_tables(tables)
    keys = merged.column(spec.upsert_key).to_pylist()
    last = {key: i for i, key in enumerate(keys)}
    for key in dropped_keys:
        last.pop(key, None)
    if len(files) == 1 and len(last) == len(keys):
        return  # nothing to drop (a resumed commit that already merged)
    merged = merged.take(pa.array(sorted(last.values()), pa.int64()))
    name = f"{spec.name}/part-{run.run_id}-merged.parquet"
    staged = FileSystems.join(staging_dir(root, run.run_id), name)
    ensure_dir(staged.rsplit("/", 1)[0])
    with FileSystems.create(staged, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        pq.write_table(merged, handle, compression=COMPRESSION)
    target = FileSystems.join(root, name)
    FileSystems.rename([staged], [target])
    FileSystems.delete([f for f in files if f != target])


def clear_stale_staging(output: str, *roots: str, tables: Sequence[TableSpec] = ()) -> list[str]:
    """Settles runs that were killed (one run at a time per output); returns the run ids whose commit it finished.

    A staging folder holding a commit plan is a commit that had started: it is finished (roll
    forward). Any other staging folder, under ``output`` or the other ``roots`` (the state
    store), is a run that committed nothing: it is removed, and so are the temporary files of
    atomic writes those runs left (``sweep_temporary_files``). Call it while holding the lease
    (``transforms/output/lease.py``): then no staging or temporary file there belongs to a live run.
    """
    output = output.rstrip("/")
    finished = []
    for plan_path in match_paths(FileSystems.join(output, STAGING_PREFIX + "*", COMMIT_PLAN)):
        plan = read_json(plan_path)
        run = RunContext(run_id=plan["run_id"], started_at=dt.datetime.fromisoformat(plan["started_at"]))
        log.warning("finishing the commit of interrupted run %s", run.run_id)
        upserts = [spec for spec in tables if spec.name in plan.get("upsert_tables", [])]
        changes = CommitChanges.from_plan(plan)
        finish_commit([StagedFile(**f) for f in plan["files"]], output, run, upserts, resuming=True, changes=changes)
        finished.append(run.run_id)
    roots = tuple(r.rstrip("/") for r in roots)
    sweep_temporary_files(output, FileSystems.join(output, RUNS_DIR), *roots)
    for root in (output, *roots):
        folders = _staging_folders(root)
        if folders:
            log.warning("removing staging left by interrupted runs: %s", ", ".join(folders))
            for folder in folders:
                remove_folder(folder)
    return finished


def _staging_folders(root: str) -> list[str]:
    """Staging folders under ``root``, including empty ones on a local disk (Beam's match lists only files)."""
    paths = match_paths(FileSystems.join(root, STAGING_PREFIX + "*", "**"))
    if FileSystems.get_scheme(root) is None and os.path.isdir(root):
        paths += [FileSystems.join(root, name) for name in os.listdir(root) if name.startswith(STAGING_PREFIX)]
    return sorted({FileSystems.join(root, path[len(root) + 1 :].split("/", 1)[0]) for path in paths})
