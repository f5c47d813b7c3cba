"""``python -m pipeline compact --output DIR [--min-file-mb N]``: merge a partition's small files into one.

Every run adds at least one file per partition it touches; after a few hundred runs a reader
opens thousands of tiny files. Compaction rewrites the small files of each partition (files
under ``--min-file-mb``, default 64) into one zstd Parquet file with row groups of about
128 MiB of Arrow data, at most 1,000,000 rows (what DuckDB and Spark read efficiently); larger
files are left alone. The upserted ``stories`` table keeps one row per ``story_id`` (the row of
the latest run wins). Before the swap, the compacted file's row count (from its footer) must
equal the inputs' (an upsert: one row per key): a mismatch stops with the live files untouched.

Partitioning stays Hive by date: a file holds the rows of one date, so files of different dates
are never merged. One file per date is then the fewest the layout allows; the command says how
many partitions are at that floor with a single small file (e.g. 143 days of 239 rows), once,
after one line per partition it compacted.

Commit order, per partition (all paths through Beam's FileSystems):

1. the plan (table, partition, input files, output name) is written to
   ``OUTPUT/_compact/TABLE/PARTITION/plan.json`` (temporary name, then rename);
2. the compacted file is written under a temporary name in that work folder, then renamed to
   its final name there. ``_compact`` sits beside the tables, so no table glob sees it;
3. swap: on a local disk, a new folder holding the compacted file (plus hard links of the
   files left alone) is exchanged with the live partition folder in one ``renameat2
   (RENAME_EXCHANGE)`` call: a reader listing the partition sees either all old files or the
   compacted one, never both. A query racing the swap can still miss that partition (DuckDB
   reads the folder through a handle opened before the swap, then finds the old names gone) or
   fail with "file not found": rerun it. Elsewhere (``s3://``, ``gs://``, or a local file
   system without the exchange), the compacted file is renamed into the partition, then the
   inputs are deleted: for that short window a glob sees the rows twice, never zero times
   (object stores have no atomic multi-object swap; only a manifest-based table format would);
4. the work folder is removed.

A crash anywhere leaves either the old files or the compacted file visible (plus, on object
stores only, both). The next ``compact`` finishes the job from the plan: if the compacted file
is already in the partition it deletes what is left of the inputs and the work folder, else it
drops the work folder and compacts again. Compaction must not run while a pipeline run writes
the same output: it refuses when a ``_staging-*`` folder exists.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.arguments import STATE_ERRORS, Command, exit_code_of, output_missing, run_command
from pipeline.exit_codes import COMPACTION_FAILED_EXIT, COMPACTION_REFUSED_EXIT, MISSING_OUTPUT_EXIT
from pipeline.options import DEFAULT_MIN_FILE_MB, CompactOptions
from schemas import TABLES, TableSpec
from transforms.output.files import read_json, remove_folder, write_json_atomically
from transforms.output.layout import COMPACT_DIR as WORK_DIR
from transforms.output.layout import STAGING_PREFIX, STATE_DIR
from transforms.output.lease import hold_leases
from transforms.output.rules import COMPRESSION

PLAN_FILE = "plan.json"
ROW_GROUP_BYTES = 128 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 1_000_000
COMPACTED_PREFIX = "part-compacted-"
MANY_SMALL_PARTITIONS = 10
"""From this many single-small-file partitions in a table on, the command says they are at the layout's floor."""
UNPARTITIONED = "_table"
"""Work-folder name for an unpartitioned table (a name no Hive partition can have)."""
log = logging.getLogger(__name__)


class CompactionRefused(RuntimeError):
    """Compaction would race with a pipeline run, or the output is not a newsbeam output."""


class RowsNotKept(RuntimeError):
    """The compacted file does not hold exactly the rows of the files it replaces (it is not swapped in)."""


@dataclass(frozen=True)
class PartitionPlan:
    """The small files of one partition folder and the one file that will replace them."""

    table: str
    directory: str  # the live partition folder, e.g. OUTPUT/articles/published_date=2022-07-26
    inputs: tuple[str, ...]  # file names in the folder to merge
    kept: tuple[str, ...]  # file names in the folder left alone (large enough)

    @property
    def output_name(self) -> str:
        digest = hashlib.sha256("\n".join(sorted(self.inputs)).encode()).hexdigest()[:16]
        return f"{COMPACTED_PREFIX}{digest}.parquet"


@dataclass(frozen=True)
class PartitionResult:
    table: str
    directory: str
    files_before: int
    files_after: int
    rows: int
    method: str  # 'exchange' (atomic folder swap) or 'rename' (new file in, then inputs out)


@dataclass(frozen=True)
class SmallPartitions:
    """Partitions of a table that hold a single file under the size limit: nothing left to merge there."""

    table: str
    partition_column: str | None
    partitions: int
    rows: int
    bytes: int


def compact_output(
    output: str, min_file_mb: float = DEFAULT_MIN_FILE_MB, tables: Sequence[TableSpec] = TABLES
) -> list[PartitionResult]:
    """Finishes any interrupted compaction, then compacts every partition that has small files."""
    output = output.rstrip("/")
    refuse_during_run(output)
    finish_interrupted(output)
    results = []
    for table in tables:
        for plan in plan_table(output, table, int(min_file_mb * 1024 * 1024)):
            results.append(compact_partition(output, table, plan))
    remove_folder(FileSystems.join(output, WORK_DIR))
    return results


def refuse_during_run(output: str) -> None:
    """Raises when a run is staging files into this output or its default state store."""
    busy = []
    for root in (output, FileSystems.join(output, STATE_DIR)):
        matches = FileSystems.match([FileSystems.join(root, STAGING_PREFIX + "*", "**")])[0].metadata_list
        busy += sorted({m.path[len(root) + 1 :].split("/", 1)[0] for m in matches})
    if busy:
        raise CompactionRefused(
            f"{output} has staging folders ({', '.join(busy)}): a pipeline run is writing there, or one was killed. "
            "Wait for the run to finish (or start a run, which clears a killed run's staging) and compact again."
        )


def data_files(output: str, table: TableSpec) -> dict[str, list[tuple[str, int]]]:
    """{partition folder: [(file name, size)]} of a table's committed data files."""
    root = FileSystems.join(output, table.name)
    by_directory: dict[str, list[tuple[str, int]]] = {}
    for meta in FileSystems.match([root + "/**"])[0].metadata_list:
        relative = meta.path[len(root) :].lstrip("/")
        if not meta.path.endswith(".parquet") or any(p.startswith((".", "_")) for p in relative.split("/")):
            continue
        directory, name = meta.path.rsplit("/", 1)
        by_directory.setdefault(directory, []).append((name, meta.size_in_bytes))
    return by_directory


def plan_table(output: str, table: TableSpec, min_file_bytes: int) -> list[PartitionPlan]:
    """Partitions of a table with at least two small files (for an upsert table: at least two files)."""
    plans = []
    for directory, files in sorted(data_files(output, table).items()):
        small = sorted(name for name, size in files if table.upsert_key or size < min_file_bytes)
        if len(small) >= 2:
            kept = sorted(name for name, _ in files if name not in small)
            plans.append(PartitionPlan(table.name, directory, tuple(small), tuple(kept)))
    return plans


def work_dir(output: str, plan: PartitionPlan) -> str:
    partition = (
        plan.directory.rsplit("/", 1)[1] if plan.directory != FileSystems.join(output, plan.table) else UNPARTITIONED
    )
    return FileSystems.join(output, WORK_DIR, plan.table, partition)


def compact_partition(output: str, table: TableSpec, plan: PartitionPlan) -> PartitionResult:
    work = work_dir(output, plan)
    exchange = _can_exchange(plan.directory)
    write_json_atomically(
        FileSystems.join(work, PLAN_FILE),
        {
            "table": plan.table,
            "directory": plan.directory,
            "inputs": list(plan.inputs),
            "kept": list(plan.kept),
            "output": plan.output_name,
        },
    )
    new_dir = FileSystems.join(work, "new")
    FileSystems.mkdirs(new_dir)
    compacted = FileSystems.join(new_dir, plan.output_name)
    inputs = [FileSystems.join(plan.directory, n) for n in plan.inputs]
    rows = write_compacted(inputs, table, compacted)
    check_rows_kept(inputs, compacted, rows, table)
    if exchange:
        try:
            for name in plan.kept:
                os.link(os.path.join(plan.directory, name), os.path.join(new_dir, name))
            exchange_directories(new_dir, plan.directory)
        except OSError as err:  # e.g. a file system without RENAME_EXCHANGE or hard links
            log.warning("atomic folder swap unavailable for %s (%s); renaming the file in instead", plan.directory, err)
            exchange = False
    if not exchange:
        FileSystems.rename([compacted], [FileSystems.join(plan.directory, plan.output_name)])
        FileSystems.delete([FileSystems.join(plan.directory, n) for n in plan.inputs])
    remove_folder(work)
    method = "exchange" if exchange else "rename"
    return PartitionResult(
        plan.table, plan.directory, len(plan.inputs) + len(plan.kept), 1 + len(plan.kept), rows, method
    )


def footer_rows(path: str) -> int:
    """Rows of a Parquet file, from its footer."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def check_rows_kept(inputs: Sequence[str], compacted: str, written: int, table: TableSpec) -> None:
    """Raises ``RowsNotKept`` unless the compacted file's footer counts the inputs' rows (an upsert: one per key)."""
    found = footer_rows(compacted)
    if table.upsert_key:
        expected = len({k for p in inputs for k in _read(p, table.arrow_schema).column(table.upsert_key).to_pylist()})
    else:
        expected = sum(footer_rows(p) for p in inputs)
    if not found == written == expected:
        raise RowsNotKept(
            f"{compacted}: {found} rows in the compacted file, {expected} in the {len(inputs)} files it would replace; "
            "nothing was swapped in (the next compact starts again)"
        )


def small_partitions(output: str, table: TableSpec, min_file_bytes: int) -> SmallPartitions:
    """The partitions of ``table`` that hold one file under ``min_file_bytes``: at the floor of the layout."""
    alone = [
        (FileSystems.join(directory, files[0][0]), files[0][1])
        for directory, files in data_files(output, table).items()
        if len(files) == 1 and files[0][1] < min_file_bytes
    ]
    column = table.partition.name if table.partition else None
    return SmallPartitions(
        table.name, column, len(alone), sum(footer_rows(p) for p, _ in alone), sum(size for _, size in alone)
    )


def finish_interrupted(output: str) -> list[str]:
    """Completes or discards compactions a crash left behind; returns the partitions it completed."""
    root = FileSystems.join(output, WORK_DIR)
    completed = []
    for meta in FileSystems.match([FileSystems.join(root, "**", PLAN_FILE)])[0].metadata_list:
        plan = read_json(meta.path)
        if FileSystems.exists(FileSystems.join(plan["directory"], plan["output"])):
            leftovers = [FileSystems.join(plan["directory"], n) for n in plan["inputs"]]
            leftovers = [p for p in leftovers if FileSystems.exists(p)]
            if leftovers:
                FileSystems.delete(leftovers)
            completed.append(plan["directory"])
            log.warning("finished an interrupted compaction of %s", plan["directory"])
        else:
            log.warning("discarding an interrupted compaction of %s (nothing was swapped in)", plan["directory"])
    remove_folder(root)
    return completed


def write_compacted(paths: Iterable[str], table: TableSpec, target: str) -> int:
    """Writes the rows of ``paths`` (upsert tables: the latest row per key) to ``target``; returns the row count."""
    schema = table.arrow_schema
    directory, name = target.rsplit("/", 1)
    temporary = f"{directory}/.{name}.tmp"
    rows = 0
    with FileSystems.create(temporary, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        writer = pq.ParquetWriter(handle, schema, compression=COMPRESSION)
        if table.upsert_key:
            merged = latest_per_key(pa.concat_tables([_read(p, schema) for p in paths]), table.upsert_key)
            rows = _write_row_groups(writer, [merged])
        else:
            buffer: list[pa.Table] = []
            for path in paths:
                buffer.append(_read(path, schema))
                written, buffer = _flush_full_row_groups(writer, buffer)
                rows += written
            rows += _write_row_groups(writer, buffer)
        writer.close()
    FileSystems.rename([temporary], [target])
    return rows


def rows_per_row_group(sample: pa.Table) -> int:
    """Rows that make about ROW_GROUP_BYTES of Arrow data, capped at ROW_GROUP_MAX_ROWS."""
    if sample.num_rows == 0:
        return ROW_GROUP_MAX_ROWS
    row_bytes = max(1, sample.nbytes // sample.num_rows)
    return max(1, min(ROW_GROUP_MAX_ROWS, ROW_GROUP_BYTES // row_bytes))


def _flush_full_row_groups(writer: pq.ParquetWriter, buffer: list[pa.Table]) -> tuple[int, list[pa.Table]]:
    combined = pa.concat_tables(buffer)
    size = rows_per_row_group(combined)
    full = combined.num_rows // size * size
    if not full:
        return 0, buffer
    writer.write_table(combined.slice(0, full), row_group_size=size)
    return full, [combined.slice(full)]


def _write_row_groups(writer: pq.ParquetWriter, buffer: list[pa.Table]) -> int:
    if not buffer:
        return 0
    combined = pa.concat_tables(buffer)
    if combined.num_rows:
        writer.write_table(combined, row_group_size=rows_per_row_group(combined))
    return combined.num_rows


def latest_per_key(table: pa.Table, key: str) -> pa.Table:
    """One row per key: the one with the latest (ingested_at, run_id); ties go to the later file."""
    order = sorted(
        range(table.num_rows),
        key=lambda i: (table.column("ingested_at")[i].as_py(), table.column("run_id")[i].as_py(), i),
    )
    keys = table.column(key).to_pylist()
    latest = {keys[i]: i for i in order}
    return table.take(sorted(latest.values(), key=lambda i: keys[i]))


def _read(path: str, schema: pa.Schema) -> pa.Table:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return pq.read_table(handle, schema=schema)


def _can_exchange(directory: str) -> bool:
    return isinstance(FileSystems.get_filesystem(directory), LocalFileSystem) and _renameat2() is not None


def _renameat2():
    try:
        return ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_directories(a: str, b: str) -> None:
    """Atomically swaps two local folders (Linux renameat2 with RENAME_EXCHANGE)."""
    if _renameat2()(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot exchange {a} and {b}: {os.strerror(errno)}")


COMMAND = Command("compact", __doc__.splitlines()[0], (CompactOptions,))


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, compact_command)


def compact_command(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    if output_missing(args.output, filesystem_options):
        return MISSING_OUTPUT_EXIT
    errors = {CompactionRefused: COMPACTION_REFUSED_EXIT, RowsNotKept: COMPACTION_FAILED_EXIT, **STATE_ERRORS}
    return exit_code_of(lambda: _compact(args, filesystem_options), errors)


def _compact(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    output = args.output.rstrip("/")
    min_file_bytes = int(args.min_file_mb * 1024 * 1024)
    with hold_leases([args.output], filesystem_options, command="python -m pipeline compact"):  # no run meanwhile
        results = compact_output(output, args.min_file_mb)
        floor = [small_partitions(output, table, min_file_bytes) for table in TABLES]
    print("\n".join(report_lines(output, results, floor, args.min_file_mb)))
    return 0


def report_lines(
    output: str, results: Sequence[PartitionResult], floor: Sequence[SmallPartitions], min_file_mb: float
) -> list[str]:
    """What compaction did, said once: a line per compacted partition, the totals, and what is at the floor."""
    lines = [
        f"{r.directory[len(output) + 1 :]}: {r.files_before} files → {r.files_after} ({r.rows} rows)" for r in results
    ]
    before, after = sum(r.files_before for r in results), sum(r.files_after for r in results)
    rows = sum(r.rows for r in results)
    merged = f": {before} files → {after}, {rows} rows, each kept once" if results else ": nothing to merge"
    lines.append(f"compacted {len(results)} partition(s) of {output}{merged}")
    for small in floor:
        if small.partitions >= MANY_SMALL_PARTITIONS and small.partition_column:
            lines.append(
                f"{small.table}: {small.partitions} partitions hold one file under {min_file_mb:g} MB each "
                f"({small.rows} rows, {_size(small.bytes)} in all): nothing left to merge there, as a file holds "
                f"the rows of one {small.partition_column} (Hive partitioning); one file per value is the fewest "
                "this layout allows"
            )
    return lines


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    return f"{count / 1024:.1f} KB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f} MB"
