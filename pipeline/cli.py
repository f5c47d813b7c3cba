"""Command line: ``python -m pipeline [run] [--input PATH ...] [--output DIR] [Beam options]``."""
from __future__ import annotations

import json
import logging
import sys
from typing import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.options import DEFAULT_CATALOG, NewsbeamOptions, with_default_runner
from pipeline.graph import RunPlan, build_graph
from pipeline.summary import counters, format_summary, summarise
from transforms.read_seeds import InputNotFound, expand_inputs
from transforms.run_context import RunContext
from transforms.story_clustering import CatalogStory, load_catalog
from transforms.write_tables import RUNS_DIR

log = logging.getLogger("newsbeam")
COMMANDS = ("run",)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    if argv and not argv[0].startswith("-"):
        command = argv.pop(0)
        if command not in COMMANDS:
            print(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
    if "-h" in argv or "--help" in argv:
        print_help()
        return 0
    try:
        return run(argv)
    except (InputNotFound, CatalogError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


class CatalogError(ValueError):
    """The story catalog is missing or malformed."""


def run(argv: list[str]) -> int:
    """Runs the batch pipeline and prints the run summary."""
    options = with_default_runner(PipelineOptions(argv))
    ours = options.view_as(NewsbeamOptions)
    files = expand_inputs(ours.inputs)
    catalog = read_catalog(ours.catalog)
    run_context = RunContext.start()
    log.info("run %s: %d input files → %s", run_context.run_id, len(files), ours.output)
    plan = RunPlan(files, ours.output, ours.state_dir, catalog, run_context, ours.min_words)
    pipeline = beam.Pipeline(options=options)
    build_graph(pipeline, plan)
    result = pipeline.run()
    result.wait_until_finish()
    record = read_run_record(ours.output, run_context.run_id)
    totals = counters(result)
    summary = summarise(record, totals, ours.output)
    print(format_summary(summary, totals))
    return 0


def print_help() -> None:
    """Our options beside every Beam option, as Beam's own parser would list them."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    parser = _BeamArgumentParser(
        prog="python -m pipeline run", allow_abbrev=False,
        description="Read seed files, extract clean text, tag stories, write Hive-partitioned Parquet.",
    )
    option_classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in option_classes.values():
        cls._add_argparse_args(parser)
    parser.print_help()


def read_catalog(path: str | None) -> list[CatalogStory]:
    """The story catalog at ``path``; the default one only when it exists; '' means none."""
    if path == "":
        return []
    chosen = path or DEFAULT_CATALOG
    if not FileSystems.exists(chosen):
        if path:
            raise CatalogError(f"--catalog {path!r} does not exist")
        return []
    with FileSystems.open(chosen) as handle:
        text = handle.read().decode("utf-8")
    try:
        return load_catalog(text)
    except ValueError as err:
        raise CatalogError(f"{chosen}: {err}") from err


def read_run_record(output: str, run_id: str) -> dict:
    with FileSystems.open(FileSystems.join(output.rstrip("/"), RUNS_DIR, f"{run_id}.json")) as handle:
        return json.loads(handle.read())
