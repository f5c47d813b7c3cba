"""Failures a user can cause end in one or two lines on stderr and a documented exit code, through the CLI.

An interrupt (SIGINT, SIGTERM) while a run is under way exits 130 or 143 with "interrupted:
nothing committed; rerun to continue" and no traceback; an output or state store that can't
be written or reached, and an unknown runner, exit 2 naming the path or value. Nothing is
committed by any of them, and the rerun recovers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pipeline.interrupt import INTERRUPTED
from tests.conftest import REPO, SEEDS, run_cli
from tests.fault_server import stall
from tests.http_server import LoopbackServer

pytestmark = pytest.mark.e2e


def assert_short_error(result: subprocess.CompletedProcess, code: int, *names: str) -> None:
    """Exit ``code``, at most two lines on stderr naming each of ``names``, no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert 1 <= len(lines) <= 2, result.stderr
    for name in names:
        assert name in result.stderr, result.stderr


def start_run(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_request(server: LoopbackServer, path: str, run: subprocess.Popen, timeout: float = 120) -> None:
    """Until the run has sent its first request to ``path``: the run is planned and its graph is running."""
    deadline = time.monotonic() + timeout
    while not server.requests_to(path):
        if run.poll() is not None or time.monotonic() > deadline:
            out, err = run.communicate(timeout=5) if run.poll() is not None else ("", "")
            run.kill()
            raise AssertionError(f"the run never fetched {path}: exit {run.returncode}\n{out}\n{err}")
        time.sleep(0.1)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_says_nothing_was_committed_and_exits_128_plus_the_signal(tmp_path, signum, code):
    out = tmp_path / "out"
    with LoopbackServer() as server:
        server.raw("/feed", stall)  # the run stays under way until it is stopped
        run = start_run("--feed", server.url("/feed"), "--allow-private-network", "--output", str(out))
        try:
            wait_for_request(server, "/feed", run)
            time.sleep(0.5)
            run.send_signal(signum)
            _, stderr = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
    result = subprocess.CompletedProcess(run.args, run.returncode, "", stderr)
    assert_short_error(result, code, INTERRUPTED)
    assert not list(out.glob("_runs/*")) and not list(out.glob("articles/**/*.parquet"))
    rerun = run_cli("run", "--input", str(SEEDS), "--output", str(out))
    assert "reconciled        yes" in rerun.stdout


def test_an_interrupted_run_shows_the_traceback_with_verbose(tmp_path):
    with LoopbackServer() as server:
        server.raw("/feed", stall)
        run = start_run("-v", "--feed", server.url("/feed"), "--allow-private-network", "--output", str(tmp_path))
        try:
            wait_for_request(server, "/feed", run)
            time.sleep(0.5)
            run.send_signal(signal.SIGINT)
            _, stderr = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
    assert run.returncode == 130
    assert "Traceback" in stderr and stderr.rstrip().endswith(INTERRUPTED)


def test_an_output_below_a_file_exits_2_naming_it(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = run_cli("run", "--input", str(SEEDS), "--output", str(tmp_path / "afile" / "out"), check=False)
    assert_short_error(result, 2, str(tmp_path / "afile"), "not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_exits_2_naming_it(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli("run", "--input", str(SEEDS), "--output", str(locked / "out"), check=False)
    finally:
        locked.chmod(0o700)
    assert_short_error(result, 2, str(locked / "out"), "cannot be written")


def test_an_output_on_a_file_system_that_takes_no_files_exits_2_naming_it():
    result = run_cli("run", "--input", str(SEEDS), "--output", "/proc/newsbeam-out", check=False)
    assert_short_error(result, 2, "/proc/newsbeam-out", "cannot be written")


def test_a_state_store_that_is_a_file_exits_2_naming_it(tmp_path):
    (tmp_path / "state").write_text("x")
    result = run_cli(
        "run", "--input", str(SEEDS), "--output", str(tmp_path / "out"), "--state", str(tmp_path / "state"), check=False
    )
    assert_short_error(result, 2, "--state", str(tmp_path / "state"))
    assert not (tmp_path / "out").exists()


def test_an_unreachable_state_store_exits_2_naming_it(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli(
        "run",
        "--input",
        str(SEEDS),
        "--output",
        str(tmp_path / "out"),
        "--state",
        "s3://newsbeam-state/prod",
        f"--s3_endpoint_url=http://127.0.0.1:{port}",
        "--s3_access_key_id=test",
        "--s3_secret_access_key=test",
        check=False,
    )
    assert_short_error(result, 2, "s3://newsbeam-state/prod")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["run", "watch"])
def test_an_unknown_runner_exits_2_with_the_name_meant(tmp_path, command):
    result = run_cli(command, "--input", str(SEEDS), "--output", str(tmp_path), "--runner=DirectRuner", check=False)
    assert_short_error(result, 2, "'DirectRuner'", "did you mean DirectRunner?")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "runner", ["fnapirunner", "FnApi", "apache_beam.runners.portability.fn_api_runner.FnApiRunner"]
)
def test_every_spelling_beam_accepts_is_accepted(tmp_path, runner):
    result = run_cli(
        "run", "--input", str(SEEDS / "002_c32dd63ed62bcf65.txt"), "--output", str(tmp_path), f"--runner={runner}"
    )
    assert "reconciled        yes" in result.stdout


def test_the_summary_names_each_failing_and_refused_feed(tmp_path):
    from tests.http_server import Reply

    with LoopbackServer() as server:
        server.route("/missing.xml", Reply(404, b"not here", {"Content-Type": "text/plain"}))
        feed = server.url("/missing.xml")
        failed = run_cli("run", "--feed", feed, "--allow-private-network", "--output", str(tmp_path / "a")).stdout
        refused = run_cli("run", "--feed", feed, "--output", str(tmp_path / "b")).stdout
    assert "failed: 1, refused: 0" in failed
    assert f"- failed {feed}: http_404" in failed and "next attempt" in failed
    assert "failed: 0, refused: 1" in refused
    assert f"- refused {feed}: private_address" in refused
