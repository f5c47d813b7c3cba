"""``deploy/flink/cluster.py`` as a user runs it: a loopback Flink cluster of one JobManager and two TaskManagers.

The cluster script runs as a subprocess on ports of its own (not Flink's defaults), with its state in a
temporary folder; every process it starts is checked gone after ``stop``. The faults it must report
with a one-line message and a documented exit code, never a hang, are tried against the real cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.engines import EngineMissing
from tests.conftest import REPO, engine_or_skip

SCRIPT = REPO / "deploy" / "flink" / "cluster.py"
sys.path.insert(0, str(SCRIPT.parent))
import cluster  # noqa: E402  (deploy/flink/cluster.py: its constants, not its processes)

REST_PORT, RPC_PORT = 18081, 16123


def flink_installed() -> str:
    if not (cluster.FLINK_HOME / "lib" / f"flink-dist-{cluster.FLINK_VERSION}.jar").is_file():
        raise EngineMissing(f"Flink {cluster.FLINK_VERSION} is not installed: run `make engines-flink`")
    return str(cluster.FLINK_HOME)


def cluster_cli(state: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), "--state", str(state), "--rest-port", str(REST_PORT)]
    command += ["--rpc-port", str(RPC_PORT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (killed, not yet reaped) is gone too
        return stat.read().split()[2] != "Z"


@pytest.fixture()
def state(tmp_path: Path):
    engine_or_skip(flink_installed)
    folder = tmp_path / "cluster"
    yield folder
    pids_file = folder / "pids.json"
    if pids_file.exists():  # a failed test leaves nothing running
        for pid in json.loads(pids_file.read_text()).values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_two_taskmanagers_register_and_a_killed_one_comes_back(state: Path) -> None:
    started = cluster_cli(state, "start", "--taskmanagers", "2", "--no-job-server")
    assert started.returncode == 0, started.stderr
    assert "2 TaskManagers registered" in started.stdout
    status = json.loads(cluster_cli(state, "status").stdout)
    assert sorted(status["taskmanagers"]) == ["taskmanager-1", "taskmanager-2"]
    pids = status["pids"]
    assert set(pids) == {"jobmanager", "taskmanager-1", "taskmanager-2"} and all(map(alive, pids.values()))

    assert cluster_cli(state, "kill-taskmanager", "1").returncode == 0
    time.sleep(0.5)
    assert not alive(pids["taskmanager-1"]) and alive(pids["taskmanager-2"])
    assert cluster_cli(state, "start-taskmanager", "2").returncode == cluster.EXIT_USAGE  # still running
    restarted = cluster_cli(state, "start-taskmanager", "1")
    assert restarted.returncode == 0, restarted.stderr
    status = json.loads(cluster_cli(state, "status").stdout)
    assert sorted(status["taskmanagers"]) == ["taskmanager-1", "taskmanager-2"]
    assert status["pids"]["taskmanager-1"] != pids["taskmanager-1"]

    everything = status["pids"].values()
    assert cluster_cli(state, "stop").returncode == 0
    time.sleep(0.5)
    assert not any(map(alive, everything))
    unreachable = cluster_cli(state, "status")
    assert unreachable.returncode == cluster.EXIT_JOBMANAGER
    assert "JobManager unreachable" in unreachable.stderr
    no_jobmanager = cluster_cli(state, "start-taskmanager", "1", timeout=30)
    assert no_jobmanager.returncode == cluster.EXIT_JOBMANAGER
    assert "run `cluster.py start` first" in no_jobmanager.stderr


def test_job_server_jar_missing_or_for_another_flink_is_refused_before_anything_starts(state: Path) -> None:
    missing = cluster_cli(state, "start", "--job-server-jar", str(state / "nowhere.jar"), timeout=30)
    assert missing.returncode == cluster.EXIT_JOB_SERVER
    assert missing.stderr.count("\n") == 1 and "make engines-flink" in missing.stderr
    state.mkdir(parents=True)
    other = state / "beam-runners-flink-1.19-job-server-2.77.0.jar"
    other.write_bytes(b"PK")
    wrong = cluster_cli(state, "start", "--job-server-jar", str(other), timeout=30)
    assert wrong.returncode == cluster.EXIT_JOB_SERVER
    assert "is for Flink 1.19" in wrong.stderr and "beam-runners-flink-1.20-job-server" in wrong.stderr
    assert not (state / "pids.json").exists()


def test_a_taskmanager_that_never_registers_fails_with_its_log_named(state: Path) -> None:
    """A TaskManager pointed at a JobManager RPC port where none listens is reported, and nothing is left running."""
    started = cluster_cli(state, "start", "--taskmanagers", "0", "--no-job-server")
    assert started.returncode == 0, started.stderr
    config = state / "conf" / "config.yaml"
    config.write_text(config.read_text().replace(f"port: {RPC_PORT}", "port: 1"))
    began = time.monotonic()
    never = cluster_cli(state, "start-taskmanager", "1", "--timeout", "20", timeout=120)
    assert never.returncode == cluster.EXIT_TASKMANAGER, never.stderr
    assert "taskmanager-1 never registered with the JobManager within 20 s" in never.stderr
    assert time.monotonic() - began < 90
    assert "taskmanager-1" not in json.loads((state / "pids.json").read_text())
    assert cluster_cli(state, "stop").returncode == 0
