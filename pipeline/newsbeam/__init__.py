"""newsbeam from Python (a notebook, a script): ``newsbeam.run`` and ``newsbeam.open``.

    import newsbeam

    summary = newsbeam.run(inputs=["seeds/"], output="out/", min_words=20)
    print(summary.articles, summary.rejects, summary.reconciled)

    tables = newsbeam.open("out/")
    tables.pandas("articles")           # a pandas DataFrame, story_label the story's current label
    tables.polars("stories")            # a Polars DataFrame
    tables.articles.filter("language = 'en'").df()   # a DuckDB relation

``run`` is ``newsbeam run`` (the same options, the same checks, the same lease and run record) and
returns the run's ``RunSummary`` instead of printing it; ``open`` reads the tables through the views
``newsbeam query`` defines (``pipeline/analyst/query.py``). This package is ``pipeline/newsbeam/``,
installed under the name ``newsbeam`` (``pyproject.toml``, ``[tool.setuptools.packages.find]``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pipeline.summary import AccountingError, RunSummary, SourceFigures

__all__ = ["run", "open", "Tables", "RunSummary", "SourceFigures", "AccountingError"]


def run(
    inputs: str | Sequence[str] | None = None,
    output: str | None = None,
    *,
    config: str | None = None,
    **options: Any,
) -> RunSummary:
    """One batch run, as ``newsbeam run`` with these options; returns its summary (counts reconciled).

    ``inputs`` are ``--input`` values (seed files, folders, globs, WARC files; default ``seeds/`` when no
    other source is given); ``options`` are any other option of ``newsbeam run`` by its long name with
    underscores (``min_words=20``, ``feeds=["feeds.txt"]``, ``allow_private_network=True``) or one of
    Apache Beam's (``runner="FnApiRunner"``). ``config`` is a TOML file of options, as ``--config``
    (default ``./newsbeam.toml`` when it exists; ``""`` for none); the call's own options win over it.

    Raises ``ValueError`` (``ArgumentError``, ``ConfigError``) for an unknown option or a value of the
    wrong type, and the run's own errors as the command would exit with them: ``PlanError``,
    ``InputNotFound``, ``PreflightError``, ``LeaseHeld``, ``AccountingError``. A job that runs
    elsewhere (a Dataflow job) has no summary here: ``RuntimeError``.
    """
    from pipeline.arguments import (
        beam_actions,
        command_line_with_config,
        parse_command,
        pipeline_argv,
    )
    from pipeline.cli import RUN, run_batch
    from pipeline.config import option_tokens

    values: dict[str, Any] = dict(options)
    if inputs is not None:
        values["input"] = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
        values["input"] = [os.fspath(path) for path in values["input"]]
    if output is not None:
        values["output"] = os.fspath(output)
    words, _ = option_tokens(values, RUN.declared_options(), (), beam_actions, source="newsbeam.run()")  # run's only
    argv, _, _ = command_line_with_config(RUN, [*(["--config", config] if config is not None else []), *words])
    if parse_command(RUN, argv).streaming:
        raise ValueError("newsbeam.run runs batch runs; submit the streaming graph with `newsbeam run --streaming`")
    try:
        return run_batch(pipeline_argv(argv))
    except SystemExit as stop:
        raise RuntimeError(f"the job does not run in this process (exit code {stop.code}); see the log") from None


class Tables:
    """The tables of one output folder, in a DuckDB session: each as a relation, a pandas or a Polars frame.

    ``articles`` carries the story's current label (``story_label``; ``story_label_at_ingestion`` is the
    label when it was written), ``stories`` one row per story; partition columns come from the folder
    names. ``tables.articles`` and ``tables["articles"]`` are relations; ``sql`` runs any DuckDB SQL over
    the views. The session is a full one (your notebook's frames can be joined), not ``query``'s read-only one.
    """

    def __init__(self, output: str | os.PathLike[str]):
        from pipeline.analyst.query import connect
        from schemas import TABLES

        self.output = os.fspath(output)
        if not os.path.isdir(self.output):
            raise FileNotFoundError(f"{self.output}: no such output folder (a newsbeam run writes it)")
        self.names: tuple[str, ...] = tuple(spec.name for spec in TABLES)
        self.connection = connect(self.output, unsafe=True)

    def relation(self, table: str):
        """The table as a DuckDB relation (lazy: nothing is read until it is fetched)."""
        if table not in self.names:
            raise KeyError(f"no table {table!r}; the tables are {', '.join(self.names)}")
        return self.connection.sql(f"SELECT * FROM {table}")

    def pandas(self, table: str):
        """The table as a pandas DataFrame."""
        return self.relation(table).df()

    def polars(self, table: str):
        """The table as a Polars DataFrame (needs ``polars`` installed)."""
        return self.relation(table).pl()

    def arrow(self, table: str):
        """The table as a pyarrow Table."""
        return self.relation(table).to_arrow_table()

    def sql(self, query: str):
        """Any DuckDB SQL over the tables' views, as a relation."""
        return self.connection.sql(query)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: self.connection.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in self.names}

    def close(self) -> None:
        self.connection.close()

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.__dict__.get("names", ()):
            raise AttributeError(name)
        return self.relation(name)

    def __getitem__(self, table: str):
        return self.relation(table)

    def __enter__(self) -> Tables:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"newsbeam.Tables({self.output!r}: {', '.join(self.names)})"


def open(output: str | os.PathLike[str] = "out/") -> Tables:  # noqa: A001 - newsbeam.open, as the API names it
    """The tables of ``output`` (a local folder a run wrote)."""
    return Tables(output)
