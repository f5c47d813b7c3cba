"""The output rules both graphs follow: how records become an Arrow table, and how Parquet is compressed.

The batch graph (``output/tables.py``) stages files per bundle and commits them in one step; the
streaming graph (``output/panes.py``) writes one file per window, partition and pane. Both turn
records into tables here, so a row is redacted and checked the same way on either path.
"""

from __future__ import annotations

import pyarrow as pa

from transforms.http.addresses import redact_row

STAGE = "write"
COMPRESSION = "zstd"
"""The compression of every Parquet file written (tables, panes, compacted files)."""


def records_to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows → Arrow table, credentials redacted from every text (``redact_row``); a null in a non-nullable column
    is a bug and raises."""
    table = pa.Table.from_pylist([redact_row(row) for row in rows], schema=schema)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"column {field.name!r} is declared non-null but has nulls")
    return table
