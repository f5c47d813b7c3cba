"""``query`` is read-only over the output by default: no file written, none read outside it, no extension.

An output folder's name may have a ``'`` in it: every query still works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SEEDS, run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("query") / "output"
    run_cli("run", "--input", str(SEEDS), "--output", str(out))
    return out


def query(output: Path, sql: str, *extra: str):
    return run_cli("query", sql, "--output", str(output), "--format", "csv", *extra, check=False)


def test_an_output_path_with_a_quote_is_queried(output):
    quoted = output.parent / "o'brien's output"
    quoted.symlink_to(output, target_is_directory=True)
    result = query(quoted, "SELECT count(*) AS n FROM articles")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.splitlines()[1]) > 0


@pytest.mark.parametrize(
    "attack",
    [
        "COPY (SELECT * FROM articles) TO '{inside}/articles/published_date=2024-01-01/stolen.parquet'",
        "COPY (SELECT 1) TO '{outside}/written.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('{inside}/../../../../etc/passwd')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '{outside}/attached.duckdb' AS other",
        "EXPORT DATABASE '{outside}/exported'",
        "SET enable_external_access = true",
        "SELECT 1; COPY (SELECT 1) TO '{outside}/second.csv'",
    ],
)
def test_query_refuses_every_escape_from_the_read_only_session(output, tmp_path, attack):
    before = sorted(p for p in output.rglob("*"))
    result = query(output, attack.format(inside=output, outside=tmp_path))
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert "root:" not in result.stdout
    assert list(tmp_path.iterdir()) == []
    assert sorted(p for p in output.rglob("*")) == before


def test_query_reads_outside_the_output_with_unsafe(output, tmp_path):
    (tmp_path / "other.csv").write_text("a\n1\n")
    result = query(output, f"SELECT a FROM read_csv('{tmp_path}/other.csv')", "--unsafe")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["a", "1"]


@pytest.mark.parametrize("wildcard", ["%", "_", "%%"])
def test_stories_search_takes_like_wildcards_as_text(output, wildcard):
    result = run_cli("stories", "--output", str(output), "--search", wildcard)
    assert "(0 of " in result.stdout.splitlines()[-1], result.stdout
