"""Every local command README.md (and docs/*.md) shows runs as printed after ``make run``.

The commands are read from the fenced shell blocks of the documents, so a page that changes
is checked as it reads. Each runs in a fresh folder that looks like a clone after ``make run``
(the venv, seeds/ and examples/ linked in, out/ written by a run over seeds/), through bash,
exactly as printed. What needs the network, a cloud account, a cluster or much time is skipped
by name in ``SKIPPED`` (with the reason), and usage lines with placeholders are not commands.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("**/*.md"))]
SHELL_FENCE = re.compile(r"^```(?:sh|bash|shell|console)?\s*$")
SKIPPED = {
    "make ": "make targets set up the venv or run the whole suite; the venv here is the one under test",
    "DataflowRunner": "a Dataflow job (its --dry_run=True form runs here, offline)",
    "FlinkRunner": "needs a Flink cluster",
    "PortableRunner": "needs a job server",
    "PrismRunner": "needs a Prism binary",
    "gs://": "Google Cloud Storage",
    "s3://": "an object store",
    "--cc-news": "Common Crawl over the network",
    "--feed": "feeds over the network",
    "--sitemap": "sitemaps over the network",
    "--site ": "sites over the network",
    " watch": "runs until stopped",
    "../shared/": "development data sets, not part of a clone",
    "gcloud ": "a cloud account",
    "docker": "no container engine",
    "deploy/flink/cluster.py": "a Flink cluster of its own (tests/engines/test_flink_cluster.py runs these commands)",
    "benchmarks.": "a benchmark (minutes of CPU)",
    "crawl/": "a crawl of the reader's own",
    "https://example.com/": "names an example feed or article, not one of seeds/",
    " sf851dd2": "a story id of the README's example output",
    " 3997f765": "an article id of the README's example output",
}
"""Substrings of commands not run here, and why."""
DRY_RUN = "--dry_run=True"
PLACEHOLDER = re.compile(r"\b(?:PATH|URL|FILE|DIR|OUTPUT|ID|SQL|TEXT|N|S|HOST)\b|…|\[--|\|")
"""Usage lines (``run [--input PATH ...]``, ``query | stories``) are a syntax, not a command."""


def documented_commands() -> list[tuple[str, str]]:
    """(document:line, command) for each command line of a fenced shell block that calls the venv or make."""
    found = []
    for document in DOCUMENTS:
        if not document.exists():
            continue
        lines = document.read_text(encoding="utf-8").splitlines()
        in_fence, inside, pending, start = False, False, "", 0
        for number, line in enumerate(lines, 1):
            if line.startswith("```"):
                in_fence = not in_fence
                inside = in_fence and bool(SHELL_FENCE.match(line))
                pending = ""
                continue
            if not inside:
                continue
            if not pending:
                start = number
            pending += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
            if line.rstrip().endswith("\\"):
                continue
            command, pending = pending.strip(), ""
            if command.startswith((".venv/bin/", "make ")):
                found.append((f"{document.relative_to(REPO)}:{start}", command))
    return found


def skip_reason(command: str) -> str | None:
    if PLACEHOLDER.search(_without_comment(command)):
        return "a usage line with placeholders"
    for marker, reason in SKIPPED.items():
        if marker in command and not (marker in ("DataflowRunner", "gs://", "--feed") and DRY_RUN in command):
            return reason
    return None


def _without_comment(command: str) -> str:
    """The command without a trailing ``# comment`` (a '#' inside quotes stays)."""
    quote = None
    for i, char in enumerate(command):
        if char in "'\"" and quote in (None, char):
            quote = None if quote == char else char
        elif char == "#" and quote is None and (i == 0 or command[i - 1] == " "):
            return command[:i].rstrip()
    return command


COMMANDS = documented_commands()


@pytest.fixture(scope="module")
def clone_after_make_run(tmp_path_factory) -> Path:
    """A folder as a clone is after ``make run``: the venv, seeds/ and examples/, and out/ from seeds/."""
    folder = tmp_path_factory.mktemp("clone")
    for name in (".venv", "seeds", "examples", "schemas", "pipeline", "transforms", "pyproject.toml"):
        os.symlink(REPO / name, folder / name)
    (folder / "feeds.txt").write_text(
        "# the feeds.txt of README's Feeds section (a dry run polls nothing)\n"
        "https://feeds.bbci.co.uk/news/world/rss.xml\n"
    )
    subprocess.run(
        [".venv/bin/python", "-m", "pipeline", "run", "--input", "seeds/", "--output", "out/"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return folder


def test_the_documents_show_commands_and_most_run_here():
    runnable = [c for _, c in COMMANDS if not skip_reason(c)]
    assert len(COMMANDS) >= 10 and len(runnable) >= 5, COMMANDS


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_a_documented_command_runs_as_printed(clone_after_make_run, where, command):
    reason = skip_reason(command)
    if reason:
        pytest.skip(f"{where}: {reason}")
    result = subprocess.run(
        ["bash", "-c", command], cwd=clone_after_make_run, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{where}: {command}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{where}: {command}\n{result.stderr}"
