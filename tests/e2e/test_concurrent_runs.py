"""Two runs on one output at once: exactly one writes, the other is refused naming the holder.

Two real CLI processes start together with a random offset, 20 times on a tiny input: each time
exactly one exits 0 and commits, the other exits with the lease's exit code (4), the tables
equal a single run's, and nothing is left that wedges the next run. A ``watch`` holds the lease
between its runs.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.exit_codes import LEASE_HELD_EXIT
from tests.conftest import REPO, run_cli
from transforms.output.lease import hold_leases

ROUNDS = 20
TEXTS = {
    "a.txt": "Harbour cranes idle as dock workers strike\n\n"
    + "Dock workers at the northern harbour walked out on Monday over pay and shift rules. " * 4,
    "b.jsonl": json.dumps(
        {
            "url": "https://example.org/ferry",
            "title": "Ferry timetable cut for winter",
            "text": "The island ferry will run twice a day from November, the operator said on Tuesday. " * 4,
            "published": "2026-11-03T08:00:00Z",
        }
    )
    + "\n",
}


def _popen(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _article_rows(out: Path) -> list[tuple]:
    articles = f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
    return duckdb.sql(f"SELECT article_id, url, title FROM {articles} ORDER BY 1").fetchall()


def _run_records(out: Path) -> list[Path]:
    return [p for p in (out / "_runs").glob("*.json") if not p.name.endswith(".summary.json")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    for name, text in TEXTS.items():
        (folder / name).write_text(text)
    return folder


def test_two_runs_started_together_commit_once(inputs, tmp_path):
    reference = tmp_path / "reference"
    run_cli("run", "--input", str(inputs), "--output", str(reference), "--catalog", "")
    expected = _article_rows(reference)
    assert len(expected) == 2
    seed = random.randrange(10**6)
    offsets = random.Random(seed)
    for round_ in range(ROUNDS):
        out = tmp_path / f"out{round_}"
        args = ("run", "--input", str(inputs), "--output", str(out), "--catalog", "")
        first = _popen(*args)
        time.sleep(offsets.uniform(0, 0.5))
        second = _popen(*args)
        outputs = [p.communicate(timeout=180) for p in (first, second)]
        results = [(p.returncode, stdout, stderr) for p, (stdout, stderr) in zip((first, second), outputs)]
        codes = sorted(code for code, _, _ in results)
        context = f"round {round_} (seed {seed}): " + "\n".join(f"exit {c}\n{o}\n{e[-2000:]}" for c, o, e in results)
        assert codes == [0, LEASE_HELD_EXIT], context
        refused = next(err for code, _, err in results if code == LEASE_HELD_EXIT)
        assert "is in use by run" in refused and "pid" in refused, context
        assert len(_run_records(out)) == 1, context
        assert _article_rows(out) == expected, context
        assert not list(out.glob("_staging-*")), context
    # nothing wedged: the next run on the last output goes through and adds nothing
    rerun = run_cli("run", "--input", str(inputs), "--output", str(out), "--catalog", "")
    assert "reconciled        yes" in rerun.stdout
    assert _article_rows(out) == expected


def test_watch_holds_the_lease_between_its_runs(inputs, tmp_path):
    out = tmp_path / "out"
    watcher = _popen("watch", "--interval", "30", "--max-runs", "2", "--input", str(inputs), "--output", str(out))
    try:
        line = watcher.stdout.readline()  # "[1/2] run …": the first run is done, the watch waits for the second
        assert line.startswith("[1/2]"), line + watcher.stderr.read()
        refused = run_cli("run", "--input", str(inputs), "--output", str(out), check=False)
        assert refused.returncode == LEASE_HELD_EXIT, refused.stderr
        assert "python -m pipeline watch" in refused.stderr
    finally:
        watcher.terminate()
        watcher.communicate(timeout=120)
    assert json.loads((out / "_lease.json").read_text())["released_at"]  # a stopped watch gives it back


def test_commands_that_write_an_output_wait_for_no_one_while_a_run_holds_it(inputs, tmp_path):
    out = tmp_path / "out"
    run_cli("run", "--input", str(inputs), "--output", str(out), "--catalog", "")
    with hold_leases([str(out)], command="python -m pipeline watch") as owner:
        for argv in (
            ["compact", "--output", str(out)],
            ["forget", "--output", str(out), "https://example.org/ferry"],
            ["feeds", "--output", str(out), "--reset", "https://example.org/rss"],
        ):
            before = sorted(p.name for p in out.rglob("*") if not p.name.startswith("_lease"))
            refused = run_cli(*argv, check=False)
            assert refused.returncode == LEASE_HELD_EXIT, (argv, refused.stdout, refused.stderr)
            assert owner in refused.stderr and "python -m pipeline watch" in refused.stderr
            assert sorted(p.name for p in out.rglob("*") if not p.name.startswith("_lease")) == before


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_a_state_store_inside_an_output_another_process_holds_is_refused(inputs, tmp_path):
    held, other = tmp_path / "o1", tmp_path / "o2"
    run_cli("run", "--input", str(inputs), "--output", str(held), "--catalog", "")
    with hold_leases([str(held), str(held / "_state")], command="python -m pipeline watch") as owner:
        before = _files(held)
        refused = run_cli(
            "run", "--input", str(inputs), "--output", str(other), "--state", str(held / "_state"), check=False
        )
        assert refused.returncode == LEASE_HELD_EXIT, refused.stdout + refused.stderr
        assert owner in refused.stderr and str(held) in refused.stderr
        assert _files(held) == before  # nothing of the holder's output or state store touched
    assert not (other / "articles").exists()


def test_an_output_enclosing_a_state_store_another_process_holds_is_refused(inputs, tmp_path):
    outer, elsewhere = tmp_path / "o1", tmp_path / "o2"
    run_cli("run", "--input", str(inputs), "--output", str(outer), "--catalog", "")
    with hold_leases([str(elsewhere), str(outer / "_state")], command="python -m pipeline watch") as owner:
        before = _files(outer)
        refused = run_cli("run", "--input", str(inputs), "--output", str(outer), check=False)
        assert refused.returncode == LEASE_HELD_EXIT, refused.stdout + refused.stderr
        assert owner in refused.stderr and str(outer / "_state") in refused.stderr
        assert _files(outer) == before
    rerun = run_cli("run", "--input", str(inputs), "--output", str(outer), "--catalog", "")  # free again: it runs
    assert "reconciled        yes" in rerun.stdout
