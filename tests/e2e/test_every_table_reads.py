"""Every table exists after every run, with its schema, and DuckDB, pyarrow, pandas and Polars all read it.

Two outputs: the seeds alone (articles and stories, no rejects, no feeds: rejects and feed_polls
are zero-row files) and a run whose only input is a feed with no items (articles, stories and
rejects are zero-row files; feed_polls has the poll). Each table is read the way the docs
tells analysts to; Spark is documented there but not run (no Spark here).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from schemas import TABLES, TableSpec
from tests.conftest import SEEDS, run_cli
from tests.e2e.test_feeds import feed_reply, rss, run_feeds
from tests.http_server import LoopbackServer

EXPECTED_ROWS = {
    "seeds": {"articles": 5, "stories": 1, "rejects": 0, "feed_polls": 0},
    "empty_feed": {"articles": 0, "stories": 0, "rejects": 0, "feed_polls": 1},
}


@pytest.fixture(scope="module", params=sorted(EXPECTED_ROWS))
def output(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param) / "out"
    if request.param == "seeds":
        run_cli("run", "--input", str(SEEDS), "--output", str(out))
    else:
        with LoopbackServer() as server:
            server.route("/empty.xml", feed_reply(rss([], title="Пустая лента")))
            run_feeds(out, "--feed", server.url("/empty.xml"))
    return request.param, out


def glob_of(out: Path, spec: TableSpec) -> str:
    return f"{out}/{spec.name}/*/*.parquet" if spec.partition else f"{out}/{spec.name}/*.parquet"


def partitioning(spec: TableSpec):
    return ds.partitioning(pa.schema([(spec.partition.name, spec.partition.arrow_type)]), flavor="hive")


def file_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns] + ([spec.partition.name] if spec.partition else [])


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_duckdb_reads_every_table(output, spec):
    name, out = output
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{glob_of(out, spec)}', hive_partitioning=true)")
    assert relation.columns == file_columns(spec)
    rows = relation.fetchall()
    assert len(rows) == EXPECTED_ROWS[name][spec.name]
    if rows and spec.name == "feed_polls":  # the empty feed's poll
        row = dict(zip(relation.columns, rows[0]))
        assert (row["http_status"], row["entries_seen"], row["articles"], row["error"]) == (200, 0, 0, None)


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_pyarrow_reads_every_table_with_its_declared_schema(output, spec):
    name, out = output
    dataset = ds.dataset(out / spec.name, format="parquet", partitioning=partitioning(spec) if spec.partition else None)
    table = dataset.to_table()
    assert table.num_rows == EXPECTED_ROWS[name][spec.name]
    for column in spec.columns:
        assert table.schema.field(column.name).type == column.arrow_type, column.name


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_pandas_reads_every_table(output, spec):
    name, out = output
    frame = pd.read_parquet(out / spec.name, partitioning=partitioning(spec) if spec.partition else None)
    assert len(frame) == EXPECTED_ROWS[name][spec.name] and list(frame.columns) == file_columns(spec)


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_polars_reads_every_table(output, spec):
    name, out = output
    # As the docs say: give the partition's type (an all-NULL partition would otherwise read as String).
    hive_schema = {spec.partition.name: pl.Date} if spec.partition else None
    frame = pl.read_parquet(glob_of(out, spec), hive_partitioning=bool(spec.partition), hive_schema=hive_schema)
    assert frame.height == EXPECTED_ROWS[name][spec.name] and frame.columns == file_columns(spec)
    if spec.partition:
        assert frame.schema[spec.partition.name] == pl.Date
    assert frame.schema[spec.columns[0].name] == pl.String
