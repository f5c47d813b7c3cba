"""Command line: ``python -m pipeline [COMMAND] [options]``; ``python -m pipeline --help`` lists the commands.

Every command parses its arguments strictly through its option classes (``pipeline/options.py``,
``pipeline/arguments.py``): an option neither we nor Beam define stops it with exit code 2 and
a "did you mean" hint before anything is read or written.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.arguments import (
    LOG_LEVEL_FLAGS,
    STATE_ERRORS,
    Command,
    exit_code_of,
    run_command,
    version_line,
)
from pipeline.engines import EngineMissing, use_installed_flink_job_server
from pipeline.exit_codes import (
    ACCOUNTING_ERROR_EXIT,
    ARGUMENT_ERROR_EXIT,
    ENGINE_MISSING_EXIT,
    PLAN_ERROR_EXIT,
    PREFLIGHT_EXIT,
)
from pipeline.graph import build_graph
from pipeline.interrupt import exit_on_interrupt
from pipeline.options import NewsbeamOptions, StreamingOptions, WatchOptions, with_default_runner
from pipeline.plan import PlanError, connect_filesystems, plan_run
from pipeline.preflight import PreflightError, check_runner, check_writable, first_line
from pipeline.remote_job import check_dry_run, is_dry_run, report_job_not_run_here, runs_here
from pipeline.run_record import read_record, record_path
from pipeline.startup import LOCAL_RUNNERS
from pipeline.summary import (
    AccountingError,
    RunSummary,
    counter_totals,
    format_summary,
    record_summary,
    start_line,
)
from pipeline.watch import watch
from schemas import SEEN, TABLES
from transforms.http.addresses import redact_credentials
from transforms.output.lease import hold_leases
from transforms.output.tables import clear_stale_staging
from transforms.run import progress
from transforms.run.context import RunContext
from transforms.run.crash_points import crash_point
from transforms.sources.seeds import InputNotFound

log = logging.getLogger("newsbeam")
RUN_ERRORS: Mapping[type[Exception], int] = {
    InputNotFound: PLAN_ERROR_EXIT,
    PlanError: PLAN_ERROR_EXIT,
    PreflightError: PREFLIGHT_EXIT,
    AccountingError: ACCOUNTING_ERROR_EXIT,
    **STATE_ERRORS,
    EngineMissing: ENGINE_MISSING_EXIT,
}
"""How a run or watch fails: a bad plan or input, an unknown runner, an output or state store that can't be
written or reached 2; a run that doesn't reconcile 3; an output another run holds 4; an unreadable state
file 5; an engine not installed (Prism for --streaming, Flink's job server) 6."""
RUN = Command(
    "run",
    "Read seed files and feeds, extract clean text, tag stories, write Hive-partitioned Parquet (the default command).",
    (NewsbeamOptions, StreamingOptions),
)
WATCH = Command(
    "watch",
    "Incremental batch runs back to back on one output, every --interval seconds, until stopped.",
    (WatchOptions, NewsbeamOptions),
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(overview())
        return 0
    if argv and argv[0] == "--version":
        print(version_line())
        return 0
    command = "run"
    leading = []
    while argv and argv[0] in LOG_LEVEL_FLAGS:  # `python -m pipeline -v stories …`
        leading.append(argv.pop(0))
    if argv and not argv[0].startswith("-"):
        command = argv.pop(0)
    argv = leading + argv
    if command not in COMMANDS:
        close = [name for name in COMMANDS if name.startswith(command[:2])]
        hint = f" (did you mean {close[0]}?)" if close else ""
        print(f"error: unknown command {command!r}{hint}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return ARGUMENT_ERROR_EXIT
    return COMMANDS[command][1](argv)


def overview() -> str:
    """``python -m pipeline --help``: the commands, one line each."""
    width = max(map(len, COMMANDS))
    lines = [
        "usage: python -m pipeline [COMMAND] [options]   (COMMAND defaults to run)",
        "",
        "commands:",
        *(f"  {name:<{width}}  {spec.summary}" for name, (spec, _) in COMMANDS.items()),
        "",
        "`python -m pipeline COMMAND --help` shows a command's options; -v/-q set the log level; --version.",
    ]
    return "\n".join(lines)


def run_main(argv: list[str]) -> int:
    return run_command(RUN, argv, run_pipeline, beam_sees_ours=True)


def watch_main(argv: list[str]) -> int:
    return run_command(WATCH, argv, watch_pipeline, beam_sees_ours=True)


def run_pipeline(args: argparse.Namespace, argv: list[str]) -> int:
    """``run``: one batch run (summary printed), or the streaming graph submitted with --streaming.

    SIGINT/SIGTERM end it with one line and exit 130/143 (``pipeline/interrupt.py``).
    """
    records: list[str] = []
    return exit_on_interrupt(
        lambda: exit_code_of(lambda: _run(args, argv, records), RUN_ERRORS),
        verbose=args.verbose > 0,
        committed=lambda: any(FileSystems.exists(path) for path in records),
    )


def _run(args: argparse.Namespace, argv: list[str], records: list[str]) -> int:
    if args.streaming:
        check_runner(PipelineOptions(argv).view_as(StandardOptions).runner)
        from pipeline.streaming import run_streaming  # the streaming graph only when asked for

        return run_streaming(argv)
    print(format_summary(run_batch(argv, records), verbose=args.verbose > 0))
    return 0


def run_batch(argv: list[str], records: list[str] | None = None) -> RunSummary:
    """One batch run holding the output's lease (``run`` and ``newsbeam.run``): its summary."""
    check_runner(PipelineOptions(argv).view_as(StandardOptions).runner)
    with hold_output_lease(argv, "run") as owner:
        return run_once(argv, lease_owner=owner, records=records)


def watch_pipeline(args: argparse.Namespace, argv: list[str]) -> int:
    """``watch``: batch runs back to back (``pipeline/watch.py``)."""
    if args.streaming:
        print(
            "error: watch runs batch runs back to back; `run --streaming` submits the streaming graph", file=sys.stderr
        )
        return PLAN_ERROR_EXIT
    settings = PipelineOptions(argv).view_as(WatchOptions)

    def watch_holding_the_lease() -> int:
        check_runner(PipelineOptions(argv).view_as(StandardOptions).runner)
        with hold_output_lease(argv, "watch") as owner:  # held across all the watch's runs
            return watch(settings.interval, settings.max_runs, argv, functools.partial(run_once, lease_owner=owner))

    return exit_code_of(watch_holding_the_lease, RUN_ERRORS)


@contextlib.contextmanager
def hold_output_lease(argv: list[str], command: str) -> Iterator[str | None]:
    """The lease of the output and state store (see ``transforms/output/lease.py``) for a run that writes here.

    A dry run or a template launch writes nothing from this process: no lease (yields None). A
    local folder that can't be written, or a store that can't be reached, is a PreflightError
    naming it, raised before anything is read.
    """
    options = PipelineOptions(argv)
    if not runs_here(options):
        yield None
        return
    connect_filesystems(options)
    ours = options.view_as(NewsbeamOptions)
    check_writable(ours.output, "--output")
    check_writable(ours.state_dir, "--state" if ours.state else "the state store (OUTPUT/_state)")
    with contextlib.ExitStack() as stack:
        try:
            owner = stack.enter_context(
                hold_leases([ours.output, ours.state_dir], options, command=f"python -m pipeline {command}")
            )
        except tuple(STATE_ERRORS):  # another run holds them (4), a lease file that can't be read (5)
            raise
        except Exception as err:  # an object store that refuses or can't be reached: Beam's I/O errors, boto, auth
            folders = ours.output if ours.state_dir.startswith(ours.output) else f"{ours.output} or {ours.state_dir}"
            raise PreflightError(f"cannot write to {folders}: {first_line(err)}") from err
        yield owner


def run_once(argv: list[str], lease_owner: str | None = None, records: list[str] | None = None) -> RunSummary:
    """Runs the batch pipeline once; returns the run summary.

    A job that does not finish here (a Dataflow dry run or template launch, a job still running
    on a remote runner) has no run record to summarise: its state is printed instead and the
    process exits (SystemExit; see ``pipeline/remote_job.py``). A dry run deletes nothing.
    ``records`` gets the run record's path once the run is planned, so an interrupted run can
    tell whether it committed.
    """
    options = with_default_runner(PipelineOptions(argv))
    use_installed_flink_job_server(options)
    ours = options.view_as(NewsbeamOptions)
    check_dry_run(options)
    if not is_dry_run(options):  # before planning: a finished commit adds to the ledger the plan reads
        connect_filesystems(options)
        clear_stale_staging(ours.output, ours.state_dir, tables=(*TABLES, SEEN))
    run_context = RunContext.start(lease_owner=lease_owner)
    plan = plan_run(ours, run_context)
    crash_point("planned")
    log.info("%s", start_line(run_context.run_id, plan, ours.output))
    log.debug("input files: %s; feeds due: %s", plan.files, [redact_credentials(f.feed_url) for f in plan.feeds])
    path = record_path(ours.output, run_context.run_id)
    if records is not None:
        records.append(path)
    pipeline = beam.Pipeline(options=options)
    build_graph(pipeline, plan)
    progress.start({"seed files": len(plan.files)}, show=shows_progress(options))  # afresh for each watch run
    try:
        result = pipeline.run()
        if not runs_here(options):
            raise SystemExit(report_job_not_run_here(result, options, run_context.run_id, path))
        result.wait_until_finish()
    finally:
        progress.finish()
    if not FileSystems.exists(path):
        raise SystemExit(report_job_not_run_here(result, options, run_context.run_id, path))
    return record_summary(read_record(path), counter_totals(result), ours.output, files_listed=len(plan.files))


def shows_progress(options: PipelineOptions) -> bool:
    """A run on a local runner shows its progress here; a remote job's workers count where they run."""
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


class _Commands(Mapping[str, tuple[Command, Callable[[list[str]], int]]]):
    """Every command: its options and entry point, in the order ``--help`` lists them.

    The analyst commands' modules are imported only when that command runs (or ``--help`` lists
    them), so a pipeline run never imports DuckDB, the report or the compactor.
    """

    _MODULES = {
        "query": "pipeline.analyst.query",
        "stories": "pipeline.analyst.story_explorer",
        "feeds": "pipeline.analyst.feed_health",
        "forget": "pipeline.takedown",
        "report": "pipeline.analyst.report",
        "compact": "pipeline.analyst.compact",
        "schema": "pipeline.analyst.schema_docs",
    }

    def __getitem__(self, name: str) -> tuple[Command, Callable[[list[str]], int]]:
        if name == "run":
            return RUN, run_main
        if name == "watch":
            return WATCH, watch_main
        module = importlib.import_module(self._MODULES[name])
        return module.COMMAND, module.main

    def __iter__(self) -> Iterator[str]:
        return iter(("run", "watch", *self._MODULES))

    def __len__(self) -> int:
        return 2 + len(self._MODULES)

    def __contains__(self, name: object) -> bool:
        return name in ("run", "watch") or name in self._MODULES


COMMANDS = _Commands()
