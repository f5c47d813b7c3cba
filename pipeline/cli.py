"""Command line: ``python -m pipeline [run] [--input PATH ...] [--output DIR] [Beam options]``."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.graph import build_graph
from pipeline.options import NewsbeamOptions, with_default_runner
from pipeline.plan import PlanError, connect_filesystems, plan_run
from pipeline.remote_job import check_dry_run, is_dry_run, report_job_not_run_here, runs_here
from pipeline.summary import AccountingError, counters, format_summary, record_summary
from pipeline.watch import add_watch_arguments, watch
from schemas import SEEN, TABLES
from transforms.output.tables import RUNS_DIR, clear_stale_staging, read_json
from transforms.run.context import RunContext
from transforms.sources.seeds import InputNotFound

log = logging.getLogger("newsbeam")
COMMANDS = ("run", "watch", "schema", "compact", "report")
TOOL_COMMANDS = {"schema": "schema_docs", "compact": "compact", "report": "report"}
"""Commands that read or tidy an output instead of running the pipeline (modules of ``pipeline.analyst``,
imported only when asked for); each parses its own arguments."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    command = "run"
    if argv and not argv[0].startswith("-"):
        command = argv.pop(0)
        if command not in COMMANDS:
            print(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
    if command in TOOL_COMMANDS:
        return importlib.import_module(f"pipeline.analyst.{TOOL_COMMANDS[command]}").main(argv)
    if "-h" in argv or "--help" in argv:
        print_help(command)
        return 0
    try:
        streaming = PipelineOptions(argv).view_as(StandardOptions).streaming
        if command == "watch":
            if streaming:
                raise PlanError("watch runs batch runs back to back; `run --streaming` submits the streaming graph")
            return watch(argv, run_once)
        if streaming:
            from pipeline.streaming import run_streaming

            return run_streaming(argv)
        print(format_summary(run_once(argv)))
        return 0
    except (InputNotFound, PlanError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except AccountingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3


def run_once(argv: list[str]) -> dict:
    """Runs the batch pipeline once; returns the run summary.

    A job that does not finish here (a Dataflow dry run or template launch, a job still running
    on a remote runner) has no run record to summarise: its state is printed instead and the
    process exits (SystemExit; see ``pipeline/remote_job.py``). A dry run deletes nothing.
    """
    options = with_default_runner(PipelineOptions(argv))
    ours = options.view_as(NewsbeamOptions)
    check_dry_run(options)
    if not is_dry_run(options):  # before planning: a finished commit adds to the ledger the plan reads
        connect_filesystems(options)
        clear_stale_staging(ours.output, ours.state_dir, tables=(*TABLES, SEEN))
    run_context = RunContext.start()
    plan = plan_run(ours, run_context)
    log.info(
        "run %s: %d input files, %d feeds due → %s", run_context.run_id, len(plan.files), len(plan.feeds), ours.output
    )
    pipeline = beam.Pipeline(options=options)
    build_graph(pipeline, plan)
    result = pipeline.run()
    record_path = FileSystems.join(ours.output.rstrip("/"), RUNS_DIR, f"{run_context.run_id}.json")
    if not runs_here(options):
        raise SystemExit(report_job_not_run_here(result, options, run_context.run_id, record_path))
    result.wait_until_finish()
    if not FileSystems.exists(record_path):
        raise SystemExit(report_job_not_run_here(result, options, run_context.run_id, record_path))
    return record_summary(read_json(record_path), counters(result), ours.output)


def print_help(command: str = "run") -> None:
    """Our options beside every Beam option, as Beam's own parser would list them."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    import pipeline.streaming  # noqa: F401  registers --poll-interval, --window-size, … for the listing

    parser = _BeamArgumentParser(
        prog=f"python -m pipeline {command}",
        allow_abbrev=False,
        description="Read seed files, extract clean text, tag stories, write Hive-partitioned Parquet.",
    )
    option_classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in option_classes.values():
        cls._add_argparse_args(parser)
    if command == "watch":
        add_watch_arguments(parser)
    parser.print_help()
