"""``deploy/engines/flink.sh``: idempotent once installed, and a missing tool is one line and exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, engine_or_skip
from tests.engines.test_flink_cluster import flink_installed

SCRIPT = REPO / "deploy" / "engines" / "flink.sh"


def run_install(*args: str, path: str | None = None, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    if cache is not None:
        env["NEWSBEAM_ENGINES_DIR"] = str(cache)
    return subprocess.run(["/bin/bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_an_installed_flink_is_left_as_it_is() -> None:
    home = Path(engine_or_skip(flink_installed))
    before = (home / ".installed").stat().st_mtime_ns
    again = run_install("flink")
    assert again.returncode == 0, again.stderr
    assert "already installed" in again.stdout
    assert (home / ".installed").stat().st_mtime_ns == before


@pytest.mark.parametrize("tool", ["java", "mvn"])
def test_a_missing_tool_is_named_with_exit_code_2(tmp_path: Path, tool: str) -> None:
    """A PATH with the shell's basic tools and java but not ``tool``: the job server step names what to install."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("dirname", "mkdir", "cut", "sha256sum", "rm", "cat", "java", "mvn"):
        found = shutil.which(name)
        if found and name != tool:
            (bin_dir / name).symlink_to(found)
    if tool == "mvn" and not (bin_dir / "java").exists():
        pytest.skip("no java on PATH to keep")
    result = run_install("jobserver", path=str(bin_dir), cache=tmp_path / "cache")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"flink.sh: {tool} not found: install ") and result.stderr.count("\n") == 1
