"""Corrupt state files stop a run with an error naming the file, what is wrong and the way out (exit 5).

Each case spoils one file of a state store written by a real run, runs the CLI again and checks
the exit code, the message and that no table, run record or ledger file was touched; the way out
the message names then works.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pipeline.exit_codes import CORRUPT_STATE_EXIT
from tests.conftest import SEEDS, run_cli


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("first") / "out"
    run_cli("run", "--input", str(SEEDS), "--output", str(out))
    return out


def _snapshot(out: Path) -> dict[str, tuple[int, int]]:
    """Every file but the lease: (size, mtime)."""
    return {
        str(p.relative_to(out)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in out.rglob("*")
        if p.is_file() and not p.name.startswith("_lease.json")
    }


def _copy(first_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    return out


def _spoiled_run(out: Path, *extra: str):
    before = _snapshot(out)
    result = run_cli("run", "--input", str(SEEDS), "--output", str(out), *extra, check=False)
    assert result.returncode == CORRUPT_STATE_EXIT, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(out) == before  # tables, run records and state untouched
    return result.stderr


def test_a_truncated_feeds_json_names_the_file_and_reset_feeds_is_the_way_out(first_run, tmp_path):
    out = _copy(first_run, tmp_path)
    feeds = out / "_state" / "feeds.json"
    feeds.write_text('{"version": 1, "feeds": [{"feed_url": "https://example.org/rss", "current')
    message = _spoiled_run(out)
    assert str(feeds) in message and "JSONDecodeError" in message and "--reset-feeds" in message
    rerun = run_cli("run", "--input", str(SEEDS), "--output", str(out), "--reset-feeds")
    assert "reconciled        yes" in rerun.stdout


def test_a_garbage_story_index_names_the_file_and_what_moving_it_aside_costs(first_run, tmp_path):
    out = _copy(first_run, tmp_path)
    index = out / "_state" / "story_index.json.gz"
    assert index.exists()
    index.write_bytes(gzip.compress(b"\x00garbage")[:-3])
    message = _spoiled_run(out)
    assert str(index) in message and f"mv {index}" in message and "new stories" in message
    index.rename(index.with_name("story_index.json.gz.unreadable"))  # the way out
    assert "reconciled        yes" in run_cli("run", "--input", str(SEEDS), "--output", str(out)).stdout


def test_a_garbage_ledger_file_names_the_file_and_the_way_out(first_run, tmp_path):
    out = _copy(first_run, tmp_path)
    (ledger,) = (out / "_state" / "seen").rglob("*.parquet")
    ledger.write_bytes(b"PAR1 this is not parquet")
    message = _spoiled_run(out)
    assert str(ledger) in message and f"mv {ledger}" in message and "no longer known" in message


@pytest.mark.parametrize(
    "sitemaps",
    [
        '{"sitemaps": {"https://example.org/sitemap.xml": {"etag": "x", "pa',
        '{"sitemaps": [1, 2]}',
        '{"sitemaps": {"u": 3}}',
    ],
)
def test_a_corrupt_sitemaps_json_names_the_file_even_for_a_seeds_only_run(first_run, tmp_path, sitemaps):
    out = _copy(first_run, tmp_path)
    path = out / "_state" / "sitemaps.json"
    path.write_text(sitemaps)
    message = _spoiled_run(out)
    assert str(path) in message and f"mv {path}" in message
    path.rename(path.with_name("sitemaps.json.unreadable"))  # the way out
    assert "reconciled        yes" in run_cli("run", "--input", str(SEEDS), "--output", str(out)).stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [("expires_at", "soon"), ("expires_at", "2999-01-01T00:00:00"), ("pid", "1234"), ("heartbeat_at", 5)],
)
@pytest.mark.parametrize("command", ["run", "compact"])
def test_a_lease_of_valid_json_with_wrong_field_types_names_the_file(first_run, tmp_path, field, value, command):
    out = _copy(first_run, tmp_path)
    lease = out / "_lease.json"
    now = "2999-01-01T00:00:00+00:00"
    fields = {"owner": "o", "host": "h", "pid": 1, "command": "c", "started_at": now, "heartbeat_at": now}
    lease.write_text(json.dumps({**fields, "expires_at": now, field: value}))
    before = _snapshot(out)
    args = ("--input", str(SEEDS)) if command == "run" else ()
    result = run_cli(command, *args, "--output", str(out), check=False)
    assert result.returncode == CORRUPT_STATE_EXIT, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert str(lease) in result.stderr and field in result.stderr and f"rm {lease}" in result.stderr
    assert _snapshot(out) == before
