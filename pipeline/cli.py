"""Command line: ``python -m pipeline [run] [--input PATH ...] [--output DIR] [Beam options]``."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.analyst import compact, report, schema_docs
from pipeline.graph import build_graph
from pipeline.options import NewsbeamOptions, with_default_runner
from pipeline.plan import PlanError, connect_filesystems, plan_run
from pipeline.remote_job import check_dry_run, is_dry_run, report_job_not_run_here, runs_here
from pipeline.streaming import run_streaming  # also registers --poll-interval, --window-size, … for --help
from pipeline.summary import AccountingError, counter_totals, format_summary, record_summary
from pipeline.watch import add_watch_arguments, watch
from schemas import SEEN, TABLES
from transforms.output.files import CORRUPT_STATE_EXIT, CorruptStateFile, read_json
from transforms.output.lease import LEASE_HELD_EXIT, LeaseHeld, hold_leases
from transforms.output.tables import RUNS_DIR, clear_stale_staging
from transforms.run.context import RunContext
from transforms.run.crash_points import crash_point
from transforms.sources.seeds import InputNotFound

log = logging.getLogger("newsbeam")
COMMANDS = ("run", "watch", "schema", "compact", "report")
TOOL_COMMANDS = {"schema": schema_docs.main, "compact": compact.main, "report": report.main}
"""Commands that read or tidy an output instead of running the pipeline; each parses its own arguments."""


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
        return TOOL_COMMANDS[command](argv)
    if "-h" in argv or "--help" in argv:
        print_help(command)
        return 0
    try:
        streaming = PipelineOptions(argv).view_as(StandardOptions).streaming
        if command == "watch":
            if streaming:
                raise PlanError("watch runs batch runs back to back; `run --streaming` submits the streaming graph")
            with hold_output_lease(argv, command) as owner:  # held across all the watch's runs
                return watch(argv, functools.partial(run_once, lease_owner=owner))
        if streaming:
            return run_streaming(argv)
        with hold_output_lease(argv, command) as owner:
            print(format_summary(run_once(argv, lease_owner=owner)))
        return 0
    except (InputNotFound, PlanError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except LeaseHeld as err:
        print(f"error: {err}", file=sys.stderr)
        return LEASE_HELD_EXIT
    except CorruptStateFile as err:
        print(f"error: {err}", file=sys.stderr)
        return CORRUPT_STATE_EXIT
    except AccountingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3


def hold_output_lease(argv: list[str], command: str) -> contextlib.AbstractContextManager[str | None]:
    """The lease of the output and state store (see ``transforms/output/lease.py``) for a run that writes here.

    A dry run or a template launch writes nothing from this process: no lease (yields None).
    """
    options = PipelineOptions(argv)
    if not runs_here(options):
        return contextlib.nullcontext(None)
    connect_filesystems(options)
    ours = options.view_as(NewsbeamOptions)
    return hold_leases([ours.output, ours.state_dir], options, command=f"python -m pipeline {command}")


def run_once(argv: list[str], lease_owner: str | None = None) -> dict:
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
    run_context = RunContext.start(lease_owner=lease_owner)
    plan = plan_run(ours, run_context)
    crash_point("planned")
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
    return record_summary(read_json(record_path), counter_totals(result), ours.output, files_listed=len(plan.files))


def print_help(command: str = "run") -> None:
    """Our options beside every Beam option, as Beam's own parser would list them."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

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
