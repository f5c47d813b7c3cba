"""Jobs that don't run in this process: a Dataflow dry run, a template launch, a job on a remote runner.

A local runner has finished the job when ``wait_until_finish`` returns, so the CLI reads the run
record (``OUTPUT/_runs/<run_id>.json``) and prints the summary. These don't:

- ``--runner=DataflowRunner --dry_run=True`` translates and validates the job graph Dataflow would
  be sent, and stops there: no job, no staging, no credentials, no network (given a valid
  ``--temp_location=gs://BUCKET/…``; see ``check_dry_run``). The planner still reads the state
  store at ``--output``/``--state``; point it at a local folder for an offline dry run.
- ``--template_location`` (what a Flex Template launcher passes): the job description is written
  there and Dataflow starts the job itself.
- A remote job that is not finished when ``wait_until_finish`` returns (e.g. a detached runner).

For each, ``report_job_not_run_here`` prints what happened, the job state and where the run
record will appear, instead of failing to read a record that isn't there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DebugOptions,
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
    WorkerOptions,
)
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
from apache_beam.runners.runner import PipelineResult, PipelineState

from pipeline.exit_codes import JOB_WITHOUT_RECORD_EXIT
from pipeline.plan import PlanError

STOCK_WORKER_IMAGE = "gcr.io/cloud-dataflow/"
"""Prefix of the default Dataflow worker images, which don't have newsbeam installed."""


@dataclass(frozen=True)
class JobGraph:
    """What a Dataflow dry run would have submitted."""

    name: str
    kind: str  # 'batch' or 'streaming'
    stages: Sequence[str]  # top-level transform labels, in graph order
    transforms: int  # every transform, composites included
    worker_images: Sequence[str]


def is_dry_run(options: PipelineOptions) -> bool:
    return bool(options.view_as(TestOptions).dry_run)


def runner_name(options: PipelineOptions) -> str:
    runner = options.view_as(StandardOptions).runner
    name = runner if isinstance(runner, str) or runner is None else type(runner).__name__
    return (name or "").rsplit(".", 1)[-1]


def check_dry_run(options: PipelineOptions) -> None:
    """PlanError when ``--dry_run`` would run the job anyway or go online.

    Only DataflowRunner honours ``--dry_run``: any other runner would run the job for real. And
    when neither ``--temp_location`` nor ``--staging_location`` is a valid ``gs://`` path, Beam's
    option validation looks up (or creates) a default bucket in the project, online, even on a
    dry run; a valid one is only checked for its form.
    """
    if not is_dry_run(options):
        return
    runner = runner_name(options)
    if runner not in ("DataflowRunner", "TestDataflowRunner"):
        raise PlanError(
            f"--dry_run only applies to --runner=DataflowRunner; {runner or 'the default runner'} would run the job"
        )
    cloud = options.view_as(GoogleCloudOptions)
    validator = PipelineOptionsValidator(options, None)
    if validator.validate_gcs_path(cloud, "temp_location") and validator.validate_gcs_path(cloud, "staging_location"):
        raise PlanError(
            "a Dataflow dry run needs --temp_location=gs://BUCKET/PATH with a valid bucket name (nothing is written "
            "there); without one Beam goes online to find or create a default bucket"
        )


def runs_here(options: PipelineOptions) -> bool:
    """False when ``pipeline.run()`` only validates the job (dry run) or writes it out (template)."""
    return not (is_dry_run(options) or options.view_as(GoogleCloudOptions).template_location)


def job_graph(result: PipelineResult) -> JobGraph:
    """The graph a DataflowRunner dry run built (``result.job``: the job it would have submitted)."""
    from apache_beam.portability.api import beam_runner_api_pb2

    job = result.job
    proto = job.proto_pipeline
    transforms = proto.components.transforms
    stages = [
        transforms[child].unique_name for root in proto.root_transform_ids for child in transforms[root].subtransforms
    ]
    images = sorted(
        beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
        for env in proto.components.environments.values()
        if env.urn == "beam:env:docker:v1"
    )
    streaming = job.options.view_as(StandardOptions).streaming
    return JobGraph(job.proto.name, "streaming" if streaming else "batch", stages, len(transforms), images)


def write_job_file(result: PipelineResult, path: str) -> None:
    """The dry run's job (name, type) and its Beam pipeline proto as JSON, for ``--dataflow_job_file``.

    Beam writes that file only on a real submission (after staging); a dry run returns before.
    """
    from google.protobuf import json_format

    document = {"job": json.loads(result.job.json()), "pipeline": json_format.MessageToDict(result.job.proto_pipeline)}
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))


def report_job_not_run_here(
    result: PipelineResult, options: PipelineOptions, run_id: str, record_path: str | None
) -> int:
    """Prints what became of a job this process did not run to completion; returns the exit code.

    ``record_path`` is where the batch run record appears once the job has finished (None for
    streaming, which writes none). Exit code 1 only for a job seen to finish without its record.
    """
    if is_dry_run(options):
        print(format_dry_run(job_graph(result), run_id, options))
        job_file = options.view_as(DebugOptions).dataflow_job_file
        if job_file:
            write_job_file(result, job_file)
            print(f"  job file      {job_file}")
        return 0
    template = options.view_as(GoogleCloudOptions).template_location
    if template:
        print(
            f"newsbeam run {run_id}: job description written to {template}; Dataflow starts the job (template launch)."
        )
        return 0
    state = result.state
    where = f"; its run record will be {record_path}" if record_path else ""
    if state == PipelineState.DONE and record_path:
        print(
            f"newsbeam run {run_id}: the job on {runner_name(options)} finished (state {state}) "
            f"but wrote no run record at {record_path}."
        )
        return JOB_WITHOUT_RECORD_EXIT
    print(f"newsbeam run {run_id}: job submitted to {runner_name(options)}, state {state}; it runs there{where}.")
    return 0


def format_dry_run(graph: JobGraph, run_id: str, options: PipelineOptions) -> str:
    lines = [
        f"Dataflow dry run {run_id}: {graph.kind} job {graph.name} translated and validated; "
        "not submitted, nothing staged or written.",
        f"  stages        {', '.join(graph.stages)}",
        f"  transforms    {graph.transforms}",
        f"  worker image  {', '.join(graph.worker_images) or '(none)'}",
    ]
    setup = options.view_as(SetupOptions)
    if all(image.startswith(STOCK_WORKER_IMAGE) for image in graph.worker_images) and not (
        setup.setup_file or setup.extra_packages or options.view_as(WorkerOptions).sdk_container_image
    ):
        lines.append(
            "  warning       the stock worker image lacks newsbeam: a real job needs --sdk_container_image "
            "(deploy/dataflow/Dockerfile) or --extra_package dist/newsbeam-*.tar.gz"
        )
    return "\n".join(lines)
