"""``deploy/engines/prism.sh`` (``make engines-prism``): its exit codes when Go or the pinned module is not right.

Run on a copy of the script in an empty tree, so the checkout's own ``.cache/engines/`` is not touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script_in(tree: Path) -> Path:
    script = tree / "deploy" / "engines" / "prism.sh"
    script.parent.mkdir(parents=True)
    shutil.copy2(REPO / "deploy" / "engines" / "prism.sh", script)
    return script


def test_without_go_it_says_so_in_one_line_and_exits_3(tmp_path):
    script = _script_in(tmp_path)
    done = subprocess.run([str(script)], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Go is not installed" in done.stderr
    assert not (tmp_path / ".cache").exists()


@pytest.mark.skipif(shutil.which("go") is None and not os.environ.get("CI"), reason="needs Go (make engines)")
def test_a_module_hash_other_than_the_pinned_one_is_refused_with_exit_4(tmp_path):
    script = _script_in(tmp_path)
    env = {**os.environ, "PRISM_MODULE_H1": "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 4, done.stderr
    assert "checksum mismatch" in done.stderr and not (tmp_path / ".cache" / "engines" / "prism").exists()
