"""Crash safety: SIGKILL the CLI at every named point of a run and of its commit, then finish and compare.

The run kills itself at the point ``NEWSBEAM_CRASH_AT`` names (``transforms/run/crash_points.py``),
so every point is exercised every time, never by luck of timing. A clean reference run gives the
expected rows. Then, for each point, on a fresh output: a run is killed there (the test fails if
it exits any other way), every visible Parquet file must read, DuckDB's glob sees no partial or
temporary file, the state files parse, and a kill before the commit's plan leaves no table row
visible. The next run settles the killed one (finishes a planned commit, drops other staging)
and completes: its tables must hold exactly the reference rows, none missing, none twice. One
case is killed twice: after its tables moved, and again while the next run rolls that commit
forward.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO
from tests.e2e.test_feeds import RSS_TYPE, long_text, paragraphs, rss
from tests.http_server import LoopbackServer, Reply
from transforms.run.crash_points import ENVIRONMENT_VARIABLE, POINTS

BEFORE_THE_COMMIT_PLAN = ("planned", "staging", "staged")
"""Kills after which nothing may be visible in the tables."""
KILLED_AGAIN_WHILE_SETTLING = {"tables_moved": "ledger_moved"}
"""Point of the first kill → point at which the run that rolls its commit forward is killed too."""


def write_seeds(folder: Path, count: int = 40) -> None:
    folder.mkdir()
    for i in range(count):
        # a date header per file: one partition each, so the commit has many files to move
        (folder / f"story-{i:02d}.txt").write_text(
            f"date 2024-{i % 12 + 1:02d}-{i // 12 + 1:02d} Headline number {i} about the harbour\n\n"
            + "\n\n".join(paragraphs(f"crash{i}", 3, 30))
        )
    (folder / "copy-of-07.txt").write_text((folder / "story-07.txt").read_text())  # an exact duplicate
    (folder / "empty.txt").write_bytes(b"")  # a reject
    (folder / "short.txt").write_text("Too short.\n")  # a reject


def start_cli(out: Path, seeds: Path, feed: str, crash_at: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.pop(ENVIRONMENT_VARIABLE, None)
    if crash_at:
        env[ENVIRONMENT_VARIABLE] = crash_at
    argv = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--input",
        str(seeds),
        "--feed",
        feed,
        "--output",
        str(out),
        "--catalog",
        "",
        "--host-delay",
        "0",
        "--allow-private-network",
        "--no-fetch-articles",
    ]
    return subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the CLI and anything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def committed_parquet(out: Path) -> set[Path]:
    """Parquet files in the tables' folders, listed while a run may be moving and deleting folders."""
    found = set()
    for top, folders, files in os.walk(out):  # os.walk skips folders that vanish while it lists them
        folders[:] = [f for f in folders if not f.startswith(("_", "."))]  # never into staging or hidden folders
        found.update(Path(top) / f for f in files if f.endswith(".parquet") and Path(top) != out)
    return found


def assert_readable(out: Path) -> None:
    """What a reader may see after a crash: only complete Parquet files and parseable state."""
    for path in out.rglob("*.parquet"):
        if not any(part.startswith(("_staging", ".")) for part in path.relative_to(out).parts):
            pq.read_table(path)  # raises on a partial or corrupt file
    for glob in ("articles/*/*.parquet", "rejects/*/*.parquet"):
        if list(out.glob(glob)):
            files = [
                r[0]
                for r in duckdb.sql(
                    f"SELECT DISTINCT filename FROM read_parquet('{out}/{glob}', filename=true)"
                ).fetchall()
            ]
            assert all(Path(f).name.startswith("part-") and ".tmp" not in f for f in files), files
    state = out / "_state"
    if (state / "feeds.json").exists():
        json.loads((state / "feeds.json").read_text())
    if (state / "story_index.json.gz").exists():
        json.loads(gzip.decompress((state / "story_index.json.gz").read_bytes()))
    for path in out.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_text())


def table_rows(out: Path, committed_only: bool = False) -> dict[str, list]:
    """Row keys per table; ``committed_only``: only rows of runs whose run record exists (complete runs)."""
    runs = {p.name.split(".")[0] for p in out.glob("_runs/*.json") if not p.name.endswith(".summary.json")}
    where = f"WHERE run_id IN ({', '.join(repr(r) for r in runs) or 'NULL'})" if committed_only else ""

    def ids(glob: str, column: str) -> list:
        if not list(out.glob(glob)):
            return []
        sql = f"SELECT {column} FROM read_parquet('{out}/{glob}', hive_partitioning=true) {where}"
        return sorted(r[0] for r in duckdb.sql(sql).fetchall())

    return {
        "articles": ids(
            "articles/*/*.parquet", "article_id || '|' || coalesce(duplicate_of, '') || '|' || content_hash"
        ),
        "rejects": ids("rejects/*/*.parquet", "reject_id"),
        "stories": ids("stories/*.parquet", "story_id"),
    }


def run_to_end(out: Path, seeds: Path, feed: str, crash_at: str | None = None) -> tuple[int, str]:
    process = start_cli(out, seeds, feed, crash_at)
    try:
        output = process.communicate(timeout=600)[0].decode()
    finally:
        kill(process)  # anything the run started, if it left something behind
    return process.returncode, output


def killed_at(out: Path, seeds: Path, feed: str, point: str) -> str:
    """Runs the CLI until it kills itself at ``point``; fails when it exits any other way."""
    code, output = run_to_end(out, seeds, feed, crash_at=point)
    assert code == -signal.SIGKILL and f"{ENVIRONMENT_VARIABLE}={point}" in output, (
        f"the run was to be killed at {point!r} but exited {code}:\n{output[-3000:]}"
    )
    return output


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    seeds = root / "seeds"
    write_seeds(seeds)
    server = LoopbackServer()
    items = [
        {
            "title": f"Feed story {i}",
            "link": f"http://127.0.0.1:1/story/{i}",
            "guid": f"crash-feed-{i}",
            "content": long_text(f"feed{i}"),
        }
        for i in range(8)
    ]
    server.route("/feed", Reply(200, rss(items), {"content-type": RSS_TYPE}))
    feed = server.url("/feed")

    reference = root / "reference"
    code, output = run_to_end(reference, seeds, feed)
    assert code == 0, output

    cases = {}
    for point in POINTS:
        out = root / point
        killed_at(out, seeds, feed, point)
        assert_readable(out)
        visible = table_rows(out)
        again = KILLED_AGAIN_WHILE_SETTLING.get(point)
        if again:
            killed_at(out, seeds, feed, again)
            assert_readable(out)
        code, final = run_to_end(out, seeds, feed)
        assert code == 0, final
        assert_readable(out)
        cases[point] = {"out": out, "visible_after_kill": visible, "final": final}
    yield {"reference": reference, "cases": cases}
    server.close()


def test_every_point_was_reached(crash_runs):
    assert list(crash_runs["cases"]) == list(POINTS)


@pytest.mark.parametrize("point", POINTS)
def test_no_row_lost_or_doubled_after_a_kill(crash_runs, point):
    expected, got = table_rows(crash_runs["reference"]), table_rows(crash_runs["cases"][point]["out"])
    assert expected["articles"] and expected["rejects"] and expected["stories"]
    for table in ("articles", "rejects", "stories"):
        assert len(got[table]) == len(set(got[table])), f"{table} rows twice after a kill at {point}"
    assert got == expected  # none missing, none twice


@pytest.mark.parametrize("point", BEFORE_THE_COMMIT_PLAN)
def test_a_kill_before_the_commit_plan_shows_readers_nothing(crash_runs, point):
    assert crash_runs["cases"][point]["visible_after_kill"] == {"articles": [], "rejects": [], "stories": []}


def test_nothing_temporary_is_left_after_the_final_runs(crash_runs):
    for case in crash_runs["cases"].values():
        out = case["out"]
        leftovers = [p for p in out.rglob("*") if p.name.startswith("_staging") or ".tmp" in p.name]
        assert leftovers == []
