"""The portable job API (what Flink and Spark job servers expose): Beam's Python job service runs
the pipeline, with SDK workers in separate processes from an external worker pool. This proves
every DoFn pickles and imports in another process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SEEDS, run_cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


@pytest.fixture
def portable_services(tmp_path):
    """A job service and a worker pool; the pool starts SDK workers with this venv's python."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }
    job_port, pool_port = free_port(), free_port()
    services = [
        subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
            env=env,
            stdout=open(tmp_path / "job.log", "w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"],
            env=env,
            stdout=open(tmp_path / "pool.log", "w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        wait_listening(job_port, services[0])
        wait_listening(pool_port, services[1])
        yield job_port, pool_port
    finally:
        for service in services:
            service.terminate()
            service.wait(timeout=30)


def test_portable_runner_with_external_sdk_workers(portable_services, tmp_path):
    job_port, pool_port = portable_services
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--input",
        str(SEEDS),
        "--output",
        str(out),
        "--runner=PortableRunner",
        f"--job_endpoint=localhost:{job_port}",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{pool_port}",
    )
    assert "articles written  5" in result.stdout
    rows = duckdb.sql(
        f"SELECT story_label, count(*) FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) "
        "GROUP BY 1"
    ).fetchall()
    assert rows == [("ISS withdrawal", 5)]
    assert not [p for p in out.rglob("*") if "_staging-" in str(p)]
