"""Streaming writes: one Parquet file per event-time window, partition and pane, in the batch Hive layout.

Rows are keyed by (window start, Hive partition) and buffered in keyed state in the global
window. An event-time timer at the window's end writes the buffered rows as pane 0. Rows that
come later (accepted as late upstream, see ``transforms/event_time/windows.py``) go out as pane
1, 2, …, each one window size of watermark progress after the previous pane, so a window gets
at most one late file per window size however the late rows trickle in. When the window closes
for good (its end plus the allowed lateness) the key's state is cleared.

Files: ``OUTPUT/TABLE/PARTITION=VALUE/part-<window start>-<window end>-<pane>-<digest>.parquet``,
written to a hidden temporary name in the same folder (``.part-….parquet.tmp-<uuid>``: readers
skip dot files and it does not end in ``.parquet``) and renamed into place when complete. The
digest is a hash of the pane's rows (sorted), so the name is unique per window, partition and
pane, and deterministic: a retried timer rewrites the same rows under the same name instead of
adding a second copy, while different rows never overwrite a file — not even rows that reach a
window after its state was cleared, whose pane numbering starts again at 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.typehints import KV, Tuple
from apache_beam.utils.timestamp import Timestamp

from schemas import TableSpec
from transforms.event_time.windows import EventTime, utc_label
from transforms.output.files import write_bytes_atomically
from transforms.output.rules import COMPRESSION, records_to_table
from transforms.run import counters
from transforms.run.context import stable_hash


@dataclass(frozen=True)
class WrittenFile:
    """One pane file in place."""

    table: str
    path: str
    rows: int
    window_start: str  # e.g. 20240301T100000Z
    window_end: str
    pane: int


class WriteWindowedParquet(beam.PTransform):
    """Records of one table, at their event time → WrittenFile per pane file."""

    def __init__(self, table: TableSpec, output: str, times: EventTime):
        super().__init__()
        self._table, self._output, self._times = table, output.rstrip("/"), times

    def expand(self, records):
        return (
            records
            | "KeyByWindow"
            >> beam.ParDo(KeyByWindowAndPartition(self._table, self._times)).with_output_types(KV[Tuple[int, str], Any])
            | "WritePanes" >> beam.ParDo(WritePanes(self._table, self._output, self._times))
        )


class KeyByWindowAndPartition(beam.DoFn):
    def __init__(self, table: TableSpec, times: EventTime):
        self._table, self._times = table, times

    def process(self, record: Any, timestamp=beam.DoFn.TimestampParam) -> Iterator[tuple]:
        yield (self._times.window_start(timestamp.micros), self._table.partition_dir(record)), record


class WritePanes(beam.DoFn):
    """Per (window, partition): buffer rows, write a pane when the watermark passes the window end."""

    ROWS = BagStateSpec("rows", PickleCoder())
    NEXT_PANE = ReadModifyWriteStateSpec("next_pane", VarIntCoder())
    LAST_PANE_AT = ReadModifyWriteStateSpec(
        "last_pane_at", VarIntCoder()
    )  # when the last pane was written (event time)
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, table: TableSpec, output: str, times: EventTime):
        self._table, self._output, self._times = table, output, times
        self._rows = counters.ROWS_WRITTEN.of(table.name).metric()
        self._files = counters.FILES_WRITTEN.of(table.name).metric()
        self._late_panes = counters.LATE_PANES.of(table.name).metric()

    def setup(self) -> None:
        self._schema = self._table.arrow_schema
        self._names = [f.name for f in fields(self._table.record_type)]

    def process(
        self,
        element,
        rows=beam.DoFn.StateParam(ROWS),
        last_pane_at=beam.DoFn.StateParam(LAST_PANE_AT),
        flush=beam.DoFn.TimerParam(FLUSH),
    ) -> None:
        (window_start, _), record = element
        rows.add(record)
        flush.set(Timestamp(micros=next_pane_at(self._times, window_start, last_pane_at.read())))

    @on_timer(FLUSH)
    def write_pane(
        self,
        key=beam.DoFn.KeyParam,
        fired=beam.DoFn.TimestampParam,
        rows=beam.DoFn.StateParam(ROWS),
        next_pane=beam.DoFn.StateParam(NEXT_PANE),
        last_pane_at=beam.DoFn.StateParam(LAST_PANE_AT),
        flush=beam.DoFn.TimerParam(FLUSH),
    ) -> Iterator[WrittenFile]:
        window_start, partition = key
        window_end = window_start + self._times.window_micros
        records = list(rows.read())
        if records:
            pane = next_pane.read() or 0
            written = self._write(window_start, window_end, partition, pane, records)
            next_pane.write(pane + 1)
            last_pane_at.write(fired.micros)
            rows.clear()
            self._rows.inc(written.rows)
            self._files.inc()
            if pane:
                self._late_panes.inc()
            yield written
        closes_at = window_end + self._times.lateness_micros
        if fired.micros >= closes_at:  # the window is closed for good: nothing more will come for it
            next_pane.clear()
            last_pane_at.clear()
        else:
            flush.set(Timestamp(micros=closes_at))

    def _write(self, window_start: int, window_end: int, partition: str, pane: int, records: list) -> WrittenFile:
        start, end = utc_label(window_start), utc_label(window_end)
        rows = sorted(({n: getattr(r, n) for n in self._names} for r in records), key=repr)
        name = pane_file_name(start, end, pane, rows_digest(rows))
        path = "/".join(p for p in (self._output, self._table.name, partition, name) if p)
        write_parquet_atomically(path, records_to_table(rows, self._schema))
        return WrittenFile(self._table.name, path, len(records), start, end, pane)


def next_pane_at(times: EventTime, window_start: int, last_pane_at: int | None) -> int:
    """Pane 0 at the window's end; a late pane one window size after the previous pane (in the past: at once)."""
    window_end = window_start + times.window_micros
    return window_end if last_pane_at is None else max(window_end, last_pane_at + times.window_micros)


def pane_file_name(window_start: str, window_end: str, pane: int, digest: str) -> str:
    return f"part-{window_start}-{window_end}-{pane}-{digest}.parquet"


def rows_digest(rows: list[dict]) -> str:
    """16 hex digits identifying a pane's rows (given in a stable order)."""
    return stable_hash(*(repr(row) for row in rows))[:16]


def write_parquet_atomically(path: str, table: pa.Table) -> None:
    """zstd Parquet written under a hidden temporary name beside ``path``, then renamed over it."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    write_bytes_atomically(path, sink.getvalue().to_pybytes())
