"""Shared test helpers: the seed folder, a FnApiRunner test pipeline, the CLI as a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED_DATA = REPO.parent / "shared" / "data"


def fn_api_pipeline() -> TestPipeline:
    """A TestPipeline on FnApiRunner (the stock DirectRunner tries to download Prism first)."""
    return TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def run_cli(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` in a subprocess, as a user would run it."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


pytest_plugins = ["tests.http_server"]
