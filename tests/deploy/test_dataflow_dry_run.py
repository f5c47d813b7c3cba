"""Both graphs through ``--runner=DataflowRunner --dry_run=True``, offline, via the CLI.

A dry run builds and validates the job Dataflow would be sent (overrides, coders, Runner v2
environments) and stops before any API call. Each CLI subprocess runs under a network guard
(a ``sitecustomize`` audit hook) that blocks and logs every DNS lookup or connection beyond
loopback, so a dry run that tried to reach Google (credentials, metadata server, a default
bucket, staging) fails here; ``test_network_guard_blocks_google`` proves the guard itself works.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip(
    "apache_beam.runners.dataflow.internal.apiclient",
    reason="needs the gcp extra: pip install -e '.[gcp]'",
    exc_type=ImportError,
)

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.runner import PipelineResult, PipelineState

from pipeline.graph import build_graph
from pipeline.options import NewsbeamOptions
from pipeline.plan import plan_run
from pipeline.remote_job import report_job_not_run_here, runs_here
from pipeline.streaming import streaming_labels
from tests.conftest import REPO, SEEDS
from tests.http_server import LoopbackServer, Reply
from transforms.run.context import RunContext

PROJECT = "newsbeam-dry-run"
DATAFLOW = [
    "--runner=DataflowRunner",
    f"--project={PROJECT}",
    "--region=europe-west1",
    f"--temp_location=gs://{PROJECT}/tmp",
    "--dry_run=True",
]
WORKER_IMAGE = f"europe-west1-docker.pkg.dev/{PROJECT}/newsbeam/newsbeam:0.1.0"
BATCH_STAGES = {"ReadSeedFiles", "ExtractArticles", "MarkDuplicates", "AssignStories", "WriteTables"}  # seeds only
STREAMING_STAGES = {
    "ReadFeeds",
    "ExtractArticles",
    "WindowArticles",
    "DedupArticles",
    "AssignStories",
    "WriteArticles",
    "WriteRejects",
    "WriteStoryUpdates",
    "FeedHealth",
    "WriteFeedPolls",
    "SnapshotFeedStates",
}

NETWORK_GUARD = textwrap.dedent('''
    """Test-only: block and log DNS lookups and connections beyond loopback (loaded as sitecustomize)."""
    import ipaddress, os, socket, sys

    _LOG = os.environ["NEWSBEAM_NETWORK_LOG"]
    _LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr")

    def _is_loopback(host):
        if isinstance(host, bytes):
            host = host.decode()
        if host in (None, "", "localhost"):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _guard(event, args):
        if event in _LOOKUPS:
            host = args[0]
        elif event in ("socket.connect", "socket.sendto"):
            sock, address = args[0], args[-1]
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return
            host = address[0]
        else:
            return
        if not _is_loopback(host):
            with open(_LOG, "a") as log:
                log.write(f"{os.getpid()} {event} {host!r}\\n")
            raise OSError(f"test network guard: {event} to {host!r} is beyond loopback")

    sys.addaudithook(_guard)
''')


@pytest.fixture
def offline(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for an offline CLI run (no Google credentials or config, guard loaded) and its guard log."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(NETWORK_GUARD)
    log = tmp_path / "network.log"
    log.touch()
    gcloud_config = tmp_path / "gcloud"
    gcloud_config.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "GCE_"))}
    env.update(
        PYTHONPATH=f"{guard_dir}{os.pathsep}{REPO}",
        OPENBLAS_NUM_THREADS="1",
        NEWSBEAM_NETWORK_LOG=str(log),
        CLOUDSDK_CONFIG=str(gcloud_config),  # an empty gcloud config: no user credentials, no default project
        NO_GCE_CHECK="true",  # google-auth: don't probe the GCE metadata server for credentials
    )
    return env, log


def run_offline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def top_level_stages(job_file: Path) -> tuple[str, list[str], list[str]]:
    """(job type, top-level transform labels, worker images) of the job a dry run wrote."""
    document = json.loads(job_file.read_text())
    components = document["pipeline"]["components"]
    transforms = components["transforms"]
    stages = [
        transforms[child]["uniqueName"]
        for root in document["pipeline"]["rootTransformIds"]
        for child in transforms[root].get("subtransforms", [])
    ]
    images = sorted(
        beam_runner_api_pb2.DockerPayload.FromString(base64.b64decode(env["payload"])).container_image
        for env in components["environments"].values()
    )
    return document["job"]["type"], stages, images


def local_top_level(pipeline: beam.Pipeline) -> list[str]:
    class TopLevel(PipelineVisitor):
        def __init__(self) -> None:
            self.labels: list[str] = []

        def _add(self, node) -> None:
            if node.full_label and "/" not in node.full_label:
                self.labels.append(node.full_label)

        enter_composite_transform = visit_transform = _add

    visitor = TopLevel()
    pipeline.visit(visitor)
    return visitor.labels


def test_network_guard_blocks_google(offline) -> None:
    env, log = offline
    probe = (
        "import socket\n"
        "for attempt in (lambda: socket.getaddrinfo('dataflow.googleapis.com', 443),"
        " lambda: socket.create_connection(('169.254.169.254', 80), timeout=0.2)):\n"
        "    try: attempt()\n"
        "    except OSError as err: print(err)\n"
        "socket.getaddrinfo('localhost', 80)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test network guard") == 2
    logged = log.read_text()
    assert "'dataflow.googleapis.com'" in logged and "'169.254.169.254'" in logged and "localhost" not in logged


def test_batch_dry_run_validates_the_job_offline(offline, tmp_path: Path) -> None:
    env, log = offline
    output, job_file = tmp_path / "out", tmp_path / "job.json"
    (output / "_staging-interrupted").mkdir(parents=True)
    (output / "_staging-interrupted" / "part.parquet").write_bytes(b"left by a killed run")
    before = files_under(output)

    result = run_offline(
        env, "run", "--input", str(SEEDS), "--output", str(output), *DATAFLOW, f"--dataflow_job_file={job_file}"
    )

    assert result.returncode == 0, result.stderr
    assert log.read_text() == ""
    assert "Dataflow dry run" in result.stdout and "batch job" in result.stdout
    assert "lacks newsbeam" in result.stdout  # no --sdk_container_image: the stock image would fail on import
    assert files_under(output) == before  # nothing written, and a dry run deletes no staging folder
    job_type, stages, images = top_level_stages(job_file)
    assert job_type == "JOB_TYPE_BATCH"
    assert images == [f"gcr.io/cloud-dataflow/v1beta3/beam_python3.11_sdk:{beam.__version__}"]  # the stock image
    assert BATCH_STAGES <= set(stages)
    options = PipelineOptions(["--runner=FnApiRunner", "--input", str(SEEDS), "--output", str(output)])
    local = beam.Pipeline(options=options)
    build_graph(local, plan_run(options.view_as(NewsbeamOptions), RunContext.start()))
    assert stages == local_top_level(local)  # Dataflow's graph is ours, stage for stage, in order


def test_streaming_dry_run_validates_the_job_offline(offline, tmp_path: Path) -> None:
    env, log = offline
    output, job_file = tmp_path / "out", tmp_path / "job.json"
    with LoopbackServer() as server:
        server.route("/feed.xml", Reply(200, b"<rss version='2.0'><channel><title>t</title></channel></rss>"))
        result = run_offline(
            env,
            "run",
            "--streaming",
            "--feed",
            server.url("/feed.xml"),
            "--output",
            str(output),
            "--catalog",
            "",
            "--state",
            str(tmp_path / "state"),
            "--snapshot-interval",
            "900",
            *DATAFLOW,
            f"--sdk_container_image={WORKER_IMAGE}",
            f"--dataflow_job_file={job_file}",
        )
        polled = server.requests_to("/feed.xml")

    assert result.returncode == 0, result.stderr
    assert log.read_text() == ""
    assert polled == []  # planning doesn't poll; the job would
    assert "streaming job" in result.stdout and f"worker image  {WORKER_IMAGE}" in result.stdout
    assert "lacks newsbeam" not in result.stdout
    assert not output.exists() and not (tmp_path / "state").exists()  # nothing written: no snapshot, no table
    job_type, stages, images = top_level_stages(job_file)
    assert job_type == "JOB_TYPE_STREAMING"
    assert images == [WORKER_IMAGE]
    assert STREAMING_STAGES <= set(stages)
    assert stages == [label for label in streaming_labels() if "/" not in label]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temp_location=gs://x/tmp"], "needs --temp_location=gs://"),  # 'x' is no valid bucket: Beam would go online
        (["--runner=FnApiRunner"], "only applies to --runner=DataflowRunner"),
    ],
)
def test_dry_runs_that_would_go_online_or_run_are_refused(
    offline, tmp_path: Path, flags: list[str], message: str
) -> None:
    env, log = offline
    result = run_offline(env, "run", "--input", str(SEEDS), "--output", str(tmp_path / "out"), *DATAFLOW, *flags)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert log.read_text() == ""
    assert not (tmp_path / "out").exists()


def test_flex_template_entry_point_dry_runs_the_streaming_job(offline, tmp_path: Path) -> None:
    """deploy/dataflow/launch.py as the template launcher calls it: --name=value parameters, no --runner."""
    env, log = offline
    launcher = REPO / "deploy" / "dataflow" / "launch.py"
    parameters = [
        "--streaming=true",
        "--feed=http://127.0.0.1:9/feed.xml",
        f"--output={tmp_path / 'out'}",
        "--poll_interval=60",
    ]
    cloud = [option for option in DATAFLOW if not option.startswith("--runner")]
    result = subprocess.run(
        [sys.executable, str(launcher), *parameters, *cloud, f"--sdk_container_image={WORKER_IMAGE}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,  # cwd like the image's: no seeds/
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text() == ""
    assert "Dataflow dry run" in result.stdout and "streaming job" in result.stdout
    assert "1 feeds every 60s" in result.stderr


@pytest.mark.parametrize(
    ("state", "code", "message"),
    [
        (
            PipelineState.RUNNING,
            0,
            "job submitted to FlinkRunner, state RUNNING; it runs there; its run record will be",
        ),
        (PipelineState.DONE, 1, "finished (state DONE) but wrote no run record at"),
    ],
)
def test_a_job_that_did_not_finish_here_is_reported(capsys, state: str, code: int, message: str) -> None:
    options = PipelineOptions(["--runner=FlinkRunner"])
    assert runs_here(options)
    assert report_job_not_run_here(PipelineResult(state), options, "RUN", "gs://b/news/_runs/RUN.json") == code
    assert message in capsys.readouterr().out
