"""Shared test helpers: the seed folder, a FnApiRunner test pipeline, the CLI as a subprocess; the test tiers.

Tiers (``make test-fast`` runs neither marker; ``make test`` runs everything):
- ``e2e``: runs the CLI as a subprocess or a whole deployment path. Every test under ``tests/e2e/`` and
  ``tests/deploy/`` has it; elsewhere a test that calls ``run_cli`` must be marked, or ``run_cli`` fails.
- ``slow``: a unit test that takes seconds (shared data sets, several processes).
- ``engines``: needs an engine ``make engines`` installs (every test under ``tests/engines/``, also
  ``e2e``). Without the engine it skips, naming ``make engines`` — except where ``CI`` is set, where
  a missing engine fails the test (``engine_or_skip``).
"""

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


E2E_FOLDERS = ("e2e", "deploy", "engines")
_E2E_TESTS: set[str] = set()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e/ and tests/deploy/ is end to end; remember which tests are."""
    for item in items:
        folder = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        if folder in E2E_FOLDERS:
            item.add_marker(pytest.mark.e2e)
        if folder == "engines":
            item.add_marker(pytest.mark.engines)
        if item.get_closest_marker("e2e"):
            _E2E_TESTS.add(item.nodeid)


def _current_test_is_e2e() -> bool:
    current = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    return not current or current in _E2E_TESTS  # outside pytest (a script importing this): no check


def engine_or_skip(locate) -> str:
    """``locate()`` (e.g. ``pipeline.engines.prism_location``); its absence skips the test, or fails it in CI."""
    from pipeline.engines import EngineMissing

    try:
        return locate()
    except EngineMissing as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the engines tier, and: {missing}")
        pytest.skip(f"engine not installed ({missing})")


def run_cli(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` in a subprocess, as a user would run it (only from tests marked ``e2e``)."""
    if not _current_test_is_e2e():
        raise AssertionError("a test that runs the CLI must be marked e2e (pytestmark = pytest.mark.e2e)")
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
    """The seeds plus a wire copy of seed 002 (a text duplicate, same story) and a blank file (a reject);
    returns the output."""
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
