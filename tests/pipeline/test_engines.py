"""Where the engines ``make engines`` installs are found, and the error when they are not."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, PrismRunnerOptions, StandardOptions

from pipeline import engines
from pipeline.engines import EngineMissing, prism_location
from pipeline.exit_codes import ENGINE_MISSING_EXIT
from pipeline.streaming import check_streaming_runner

REPO = Path(__file__).resolve().parents[2]


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_prism_is_found_in_the_cache_then_on_path_else_the_error_names_make_engines(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(EngineMissing, match="make engines"):
        prism_location(tmp_path / "engines")
    on_path = _executable(tmp_path / "bin" / "prism")
    assert prism_location(tmp_path / "engines") == str(on_path)
    cached = _executable(tmp_path / "engines" / "prism")
    assert prism_location(tmp_path / "engines") == str(cached)


def test_streaming_without_a_runner_runs_on_the_installed_prism(tmp_path, monkeypatch):
    monkeypatch.setattr(engines, "ENGINES_DIR", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(EngineMissing):
        check_streaming_runner(PipelineOptions(["--streaming"]))
    binary = _executable(tmp_path / "prism")
    options = PipelineOptions(["--streaming"])
    check_streaming_runner(options)
    assert options.view_as(StandardOptions).runner == "PrismRunner"
    assert options.view_as(PrismRunnerOptions).prism_location == str(binary)
    given = PipelineOptions(["--streaming", "--prism_location=/opt/prism"])
    check_streaming_runner(given)  # a location given on the command line is kept
    assert given.view_as(PrismRunnerOptions).prism_location == "/opt/prism"


@pytest.mark.e2e
def test_streaming_cli_without_prism_exits_with_one_line_naming_make_engines(tmp_path):
    error = _run_without_engines(tmp_path, "--streaming", "--feed", "http://127.0.0.1:9/feed")
    assert "make engines" in error


def _run_without_engines(tmp_path, *args: str) -> str:
    """Runs the CLI with no engine installed; asserts the engine-missing exit and returns its one error line."""
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "NEWSBEAM_ENGINES_DIR": str(tmp_path / "none")}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", *args, "--output", str(tmp_path / "out")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ENGINE_MISSING_EXIT, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_flink_runner_gets_the_installed_job_server_jar_never_beams_download(tmp_path, monkeypatch):
    from apache_beam.options.pipeline_options import FlinkRunnerOptions

    from pipeline.engines import FLINK_JOB_SERVER_JAR, use_installed_flink_job_server

    monkeypatch.setattr(engines, "ENGINES_DIR", tmp_path)
    flink = ["--runner=FlinkRunner", "--flink_master=127.0.0.1:8081"]
    with pytest.raises(EngineMissing, match="make engines-flink-jobserver"):
        use_installed_flink_job_server(PipelineOptions(flink))
    with pytest.raises(EngineMissing, match="does not exist"):
        use_installed_flink_job_server(PipelineOptions([*flink, f"--flink_job_server_jar={tmp_path / 'gone.jar'}"]))
    (tmp_path / FLINK_JOB_SERVER_JAR).write_bytes(b"PK")
    options = PipelineOptions(flink)
    use_installed_flink_job_server(options)
    assert options.view_as(FlinkRunnerOptions).flink_job_server_jar == str(tmp_path / FLINK_JOB_SERVER_JAR)
    fn_api = PipelineOptions(["--runner=FnApiRunner"])
    use_installed_flink_job_server(fn_api)  # other runners are left alone
    assert fn_api.view_as(FlinkRunnerOptions).flink_job_server_jar is None


@pytest.mark.e2e
@pytest.mark.parametrize("mode", [[], ["--streaming", "--feed", "http://127.0.0.1:9/feed"]])
def test_flink_runner_without_the_job_server_jar_exits_with_one_line_naming_the_install_step(tmp_path, mode):
    inputs = [] if mode else ["--input", str(REPO / "seeds")]
    error = _run_without_engines(tmp_path, *mode, "--runner=FlinkRunner", "--flink_master=127.0.0.1:9", *inputs)
    assert "make engines-flink-jobserver" in error
