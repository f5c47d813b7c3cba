"""Shared test helpers: the seed folder, a FnApiRunner test pipeline, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import re
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


def seed_002_text() -> str:
    """Seed 002's text without its 'date 2022-07-26' header: the same article text, hence the same content hash."""
    return re.sub(r"^\s*date \d{4}-\d{2}-\d{2}\s*", "", (SEEDS / "002_c32dd63ed62bcf65.txt").read_text())


def run_seeds_with_a_wire_copy(tmp_path_factory) -> Path:
    """The seeds plus a wire copy of seed 002 (a text duplicate, same story) and a blank file (a reject); returns the output."""
    extra = tmp_path_factory.mktemp("extra")
    (extra / "blank.txt").write_text("")
    record = {
        "url": "https://wire.example.org/2022/07/26/iss",
        "text": seed_002_text(),
        "published": "2022-07-26T09:00:00Z",
        "source": "Example Wire",
    }
    (extra / "wire.jsonl").write_text(json.dumps(record) + "\n")
    out = tmp_path_factory.mktemp("out")
    run_cli("run", "--input", str(SEEDS), "--input", str(extra), "--output", str(out))
    return out


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


pytest_plugins = ["tests.http_server"]
