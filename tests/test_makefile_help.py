"""`make help` lists every Makefile target with its one-line description."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TARGET = re.compile(r"^([a-zA-Z][a-zA-Z_-]*):(?!=)(.*)$")


def makefile_targets() -> dict[str, str]:
    """Each target's name and the text after `## ` on its line ('' when it has none)."""
    targets = {}
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        match = TARGET.match(line)
        if match and not line.startswith(".PHONY"):
            targets[match.group(1)] = match.group(2).split("## ", 1)[1].strip() if "## " in line else ""
    return targets


def test_every_target_has_a_one_line_description():
    targets = makefile_targets()
    assert {"help", "install", "run", "lint", "test", "docs"} <= targets.keys()
    assert [name for name, text in targets.items() if not text] == []


def test_every_target_is_phony():
    phony = next(line for line in (REPO / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    assert set(makefile_targets()) <= set(phony.split(":", 1)[1].split())


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_help_prints_each_target_and_its_description():
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name, text in makefile_targets().items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(text)}$", out, re.M), name
