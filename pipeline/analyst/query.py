"""``python -m pipeline query [SQL] --output DIR``: SQL over the output in DuckDB, with the tables as views.

The views ``articles``, ``stories``, ``rejects`` (and ``feed_polls`` when the output has it) are
defined before the SQL runs, so ``SELECT … FROM articles`` just works:

- ``articles`` carries the story's CURRENT label (``story_label``, from the stories table) and
  the label it had when the article was written (``story_label_at_ingestion``);
- ``stories`` has one row per ``story_id`` (the latest, should an upsert be half-way);
- partition columns (``published_date``, ``ingested_date``) come from the folder names; the
  unknown-date partition reads as NULL;
- the macro ``outlet(source, url)`` gives an article's outlet as every command shows it (its site
  name, else its URL's host, else ``local files``; ``transforms/text/outlets.py``).

A table with no files yet is an empty view with its declared columns. Without SQL the command
prints the view definitions; ``examples/views.sql`` is that output for the placeholder OUTPUT
(``views_sql("OUTPUT")``; a test keeps the file in sync). DuckDB is imported here only, so
``run`` never loads it.

The session is read-only over the output unless ``--unsafe``: only SELECT (and EXPLAIN) statements
run; once the views are defined, DuckDB reads files only under the output folder, writes none,
installs and loads no extension, and its configuration is locked.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from pipeline.arguments import Command, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT, QUERY_ERROR_EXIT
from pipeline.options import QueryOptions
from schemas import ARTICLES, STORIES, TABLES, TableSpec
from transforms.output.layout import committed_files
from transforms.text.outlets import OUTLET_MACRO

PLACEHOLDER = "OUTPUT"
FEED_POLLS = "feed_polls"
"""The feed health table (written by runs that poll feeds); a view when the output has it."""
READ_ONLY_STATEMENTS = ("SELECT", "EXPLAIN")
"""What the safe session runs (SHOW, DESCRIBE and SUMMARIZE are SELECTs to DuckDB)."""
COMMAND = Command("query", __doc__.splitlines()[0].split(": ", 1)[1], (QueryOptions,), beam_options=False)


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, query_command)


def query_command(args: argparse.Namespace, _beam: object) -> int:
    if args.sql is None:  # the views as a script (for any folder name: examples/views.sql uses OUTPUT)
        print(views_sql(args.output.rstrip("/")), end="")
        return 0
    if output_missing(args.output):
        return MISSING_OUTPUT_EXIT
    import duckdb

    try:
        columns, rows = run_query(args.output, args.sql, unsafe=args.unsafe)
    except (duckdb.Error, UnsafeQuery) as err:
        print(f"error: {err}", file=sys.stderr)
        return QUERY_ERROR_EXIT
    print_rows(columns, rows, args.format)
    return 0


def table_glob(output: str, spec_or_name: TableSpec | str) -> str:
    """Every data file of a table: ``OUTPUT/articles/*/*.parquet`` (partitioned) or ``OUTPUT/stories/*.parquet``."""
    spec = spec_or_name if isinstance(spec_or_name, TableSpec) else None
    name = spec.name if spec else str(spec_or_name)
    partitioned = spec is None or spec.partition is not None
    return f"{output}/{name}/*/*.parquet" if partitioned else f"{output}/{name}/*.parquet"


def table_source(output: str, spec: TableSpec) -> str:
    """The FROM clause that reads a table's files."""
    options = ", hive_partitioning = true, union_by_name = true" if spec.partition else ", union_by_name = true"
    return f"read_parquet({sql_string(table_glob(output, spec))}{options})"


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled: an output folder may have a ``'`` in its name)."""
    return "'" + text.replace("'", "''") + "'"


class UnsafeQuery(ValueError):
    """A statement the read-only session does not run (without ``--unsafe``)."""


def view_statements(output: str, empty: Sequence[str] = (), feed_polls: bool = True) -> list[str]:
    """CREATE VIEW statements for every table of ``output``; tables named in ``empty`` read ``_empty_<name>``."""

    def source(spec: TableSpec) -> str:
        return f"_empty_{spec.name}" if spec.name in empty else table_source(output, spec)

    statements = []
    for spec in TABLES:
        if spec.name == STORIES.name:
            statements.append(
                f"CREATE OR REPLACE VIEW {spec.name} AS SELECT * FROM {source(spec)}\n"
                "    QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY ingested_at DESC) = 1;"
            )
        elif spec.name == ARTICLES.name:
            statements.append(
                f"CREATE OR REPLACE VIEW {spec.name} AS\n"
                "SELECT a.* REPLACE (coalesce(s.story_label, a.story_label) AS story_label),\n"
                "       a.story_label AS story_label_at_ingestion\n"
                f"FROM {source(spec)} AS a\n"
                f"LEFT JOIN {STORIES.name} AS s USING (story_id);"
            )
        else:
            statements.append(f"CREATE OR REPLACE VIEW {spec.name} AS SELECT * FROM {source(spec)};")
    if feed_polls and FEED_POLLS not in {spec.name for spec in TABLES}:
        statements.append(
            f"CREATE OR REPLACE VIEW {FEED_POLLS} AS SELECT * FROM "
            f"read_parquet({sql_string(table_glob(output, FEED_POLLS))}, "
            "hive_partitioning = true, union_by_name = true);"
        )
    # the outlet rule, then stories first: the articles view joins it
    return [
        OUTLET_MACRO,
        *sorted(statements, key=lambda s: not s.startswith(f"CREATE OR REPLACE VIEW {STORIES.name} ")),
    ]


def views_sql(output: str = PLACEHOLDER) -> str:
    """The views as one SQL script (``examples/views.sql`` is ``views_sql()``)."""
    header = [
        "-- newsbeam: the output's tables as DuckDB views; generated by `python -m pipeline query --output OUTPUT`.",
        f"-- Replace {PLACEHOLDER} with the output folder, e.g. sed 's#{PLACEHOLDER}#out#g' examples/views.sql, then",
        "-- run it in DuckDB before your own SQL. articles.story_label is the story's current label.",
        "-- feed_polls exists only in outputs of runs that polled feeds; drop its line otherwise.",
    ]
    return "\n".join(header + view_statements(output)) + "\n"


def connect(output: str, unsafe: bool = False):
    """A DuckDB connection with every table of ``output`` defined as a view (empty views for tables with no files).

    Unless ``unsafe``, the connection reads files only under ``output``, writes none, installs no extension
    and cannot be reconfigured.
    """
    import duckdb

    output = os.path.abspath(output.rstrip("/") or "/")
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    empty = [spec.name for spec in TABLES if not committed_files(output, spec)]
    for spec in TABLES:
        if spec.name in empty:
            con.register(f"_empty_{spec.name}", _empty_table(spec))
    for statement in view_statements(output, empty, feed_polls=_has_files(output, FEED_POLLS)):
        con.execute(statement)
    if not unsafe:
        con.execute(f"SET allowed_directories = [{sql_string(os.path.join(output, ''))}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def check_read_only(sql: str) -> None:
    """Raises ``UnsafeQuery`` unless every statement of ``sql`` only reads (COPY, ATTACH, INSTALL, CREATE… do not)."""
    import duckdb

    for statement in duckdb.extract_statements(sql):
        kind = statement.type.name
        if kind not in READ_ONLY_STATEMENTS:
            raise UnsafeQuery(f"{kind} statements are not run on the output without --unsafe (read-only session)")


def _empty_table(spec: TableSpec) -> pa.Table:
    schema = spec.arrow_schema
    if spec.partition is not None:
        schema = schema.append(pa.field(spec.partition.name, spec.partition.arrow_type))
    return schema.empty_table()


def _has_files(output: str, name: str) -> bool:
    folder = os.path.join(output, name)
    return os.path.isdir(folder) and any(f.endswith(".parquet") for _, _, files in os.walk(folder) for f in files)


def run_query(output: str, sql: str, unsafe: bool = False) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Runs ``sql`` with the output's views defined (read-only unless ``unsafe``); returns column names and rows."""
    if not unsafe:
        check_read_only(sql)
    relation = connect(output, unsafe).sql(sql)
    if relation is None:  # a statement without a result (e.g. CREATE)
        return [], []
    return list(relation.columns), relation.fetchall()


def print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str = "table") -> None:
    """Rows as an aligned text table, CSV or JSON Lines on stdout."""
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False))
    else:
        print(format_table(columns, [[_cell(v) for v in row] for row in rows]))
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def format_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _cell(value: Any, width: int = 80) -> str:
    text = "NULL" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
