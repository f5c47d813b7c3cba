"""End to end: the CLI as a subprocess on the seeds, output read back with DuckDB and pyarrow."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests.conftest import SEEDS, run_cli

UNRELATED = """Central bank holds interest rates as inflation cools

The Bank of Lowland kept its benchmark interest rate unchanged at 4.5 percent on Thursday, \
saying inflation had cooled for a third month in a row.

Governor Maria Eklund told reporters that the committee wanted more evidence that wage growth was slowing \
before it would consider cutting borrowing costs.

Mortgage lenders said the decision would keep monthly repayments high for households that refinance this year, \
while exporters welcomed the stable currency.

Economists polled before the meeting had expected no change, and markets barely moved after the announcement.
"""


def articles_sql(out: Path) -> str:
    return f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"


def files_under(out: Path) -> dict[str, int]:
    """Every file and its mtime, but the output's lease (``_lease.json``), which every run takes and gives back."""
    return {
        str(p.relative_to(out)): p.stat().st_mtime_ns
        for p in out.rglob("*")
        if p.is_file() and not p.name.startswith("_lease.json")
    }


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("seeds") / "out"
    first = run_cli("run", "--input", str(SEEDS), "--output", str(out))
    return out, first


def test_five_seed_articles_form_one_iss_withdrawal_story(seeds_run):
    out, result = seeds_run
    rows = duckdb.sql(f"SELECT story_id, story_label, duplicate_of FROM {articles_sql(out)}").fetchall()
    assert len(rows) == 5
    assert {r[0] for r in rows} == {rows[0][0]}
    assert {r[1] for r in rows} == {"ISS withdrawal"}
    assert {r[2] for r in rows} == {None}
    stories = duckdb.sql(
        f"SELECT story_id, story_label, article_count, label_source FROM read_parquet('{out}/stories/*.parquet')"
    ).fetchall()
    assert stories == [(rows[0][0], "ISS withdrawal", 5, "catalog")]
    assert re.search(r"inputs\s+5\b", result.stdout) and re.search(r"stories\s+1\b", result.stdout)
    assert "Try:\n  .venv/bin/newsbeam query --output" in result.stdout  # the venv's entry point, runnable as printed


def test_text_is_clean(seeds_run):
    out, _ = seeds_run
    texts = dict(duckdb.sql(f"SELECT source_uri, text FROM {articles_sql(out)}").fetchall())
    seed_002 = next(t for uri, t in texts.items() if "002_" in uri)
    assert len(re.findall(r"decision to withdraw from the ISS comes amid", seed_002)) == 1
    for text in texts.values():
        for paragraph in text.split("\n\n"):
            assert not re.search(r"(\.|”|\")\s+(AP|via REUTERS)$", paragraph), paragraph
            assert not re.search(
                r"With Post wires|contributed to this report|Originally published as|CHINA IS MOSTLY|seen above",
                paragraph,
            )
    assert sum(len(t.split("\n\n")) for t in texts.values()) == 12 + 10 + 19 + 13 + 21


def test_dated_seed_is_in_its_partition_and_the_rest_in_the_null_partition(seeds_run):
    out, _ = seeds_run
    dated = list((out / "articles" / "published_date=2022-07-26").glob("*.parquet"))
    assert len(dated) == 1
    rows = duckdb.sql(
        f"SELECT published_date, source_uri, published_at FROM {articles_sql(out)} ORDER BY 1 NULLS LAST"
    ).fetchall()
    assert str(rows[0][0]) == "2022-07-26" and "002_" in rows[0][1]
    assert rows[0][2].isoformat().startswith("2022-07-26T00:00:00")
    assert [r[0] for r in rows[1:]] == [None] * 4


def test_types_as_declared_in_duckdb_and_pyarrow(seeds_run):
    out, _ = seeds_run
    types = dict(
        duckdb.sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {articles_sql(out)})").fetchall()
    )
    assert types["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ingested_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["published_date"] == "DATE"
    assert types["authors"] == "VARCHAR[]" and types["word_count"] == "INTEGER"
    partitioning = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    table = ds.dataset(out / "articles", format="parquet", partitioning=partitioning).to_table()
    assert table.num_rows == 5
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("published_date").null_count == 4


def test_no_temporary_files_remain(seeds_run):
    out, _ = seeds_run
    names = files_under(out)
    assert all(name.endswith(".parquet") or name.startswith(("_runs/", "_state/")) for name in names), names
    assert not [n for n in names if "staging" in n or ".tmp" in n]


def test_second_run_is_idempotent(seeds_run):
    out, _ = seeds_run
    before = files_under(out)
    ids_before = duckdb.sql(f"SELECT list(article_id ORDER BY article_id) FROM {articles_sql(out)}").fetchall()[0]
    again = run_cli("run", "--input", str(SEEDS), "--output", str(out))
    assert re.search(r"already ingested\s+5\b", again.stdout)
    after = files_under(out)
    assert {k: v for k, v in after.items() if not k.startswith("_runs/")} == {
        k: v for k, v in before.items() if not k.startswith("_runs/")
    }
    assert (
        duckdb.sql(f"SELECT list(article_id ORDER BY article_id) FROM {articles_sql(out)}").fetchall()[0] == ids_before
    )
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/stories/*.parquet')").fetchall()[0] == (1,)


def test_unrelated_article_gets_its_own_story_with_a_readable_label(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(SEEDS, inputs)
    (inputs / "bank.txt").write_text(UNRELATED)
    run_cli("run", "--input", str(inputs), "--output", str(tmp_path / "out"))
    stories = duckdb.sql(
        f"SELECT story_label, count(*) FROM {articles_sql(tmp_path / 'out')} GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    assert stories == [("ISS withdrawal", 5), ("Central bank holds interest rates as inflation cools", 1)]


def test_bad_input_becomes_rejects_and_nothing_vanishes(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(SEEDS / "003_af398259dd468702.txt", inputs)
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "short.txt").write_text("Too short to be an article.\n")
    good = {
        "url": "https://news.test/bank",
        "title": "Rates on hold",
        "text": UNRELATED,
        "published": "2024-05-02T09:00:00Z",
        "source": "News Test",
    }
    broken = '{"url": "https://news.test/broken", "text": \n["not", "an", "object"]\n'
    (inputs / "records.jsonl").write_text(json.dumps(good) + "\n" + broken)
    result = run_cli("run", "--input", str(inputs), "--output", str(tmp_path / "out"))
    rejects = duckdb.sql(
        f"SELECT reason, source_uri FROM read_parquet('{tmp_path}/out/rejects/*/*.parquet', hive_partitioning=true) "
        "ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rejects] == ["empty_file", "invalid_json", "invalid_record", "too_little_text"]
    assert any(uri.endswith("records.jsonl#line=2") for _, uri in rejects)
    articles = duckdb.sql(
        f"SELECT source, published_date FROM {articles_sql(tmp_path / 'out')} ORDER BY 1 NULLS LAST"
    ).fetchall()
    assert [(a[0], str(a[1])) for a in articles] == [("News Test", "2024-05-02"), (None, "None")]
    assert re.search(r"inputs\s+6\b", result.stdout) and re.search(r"rejected items\s+4\b", result.stdout)


def test_bare_command_runs_seeds_into_out(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    run_cli(cwd=tmp_path)
    assert duckdb.sql(f"SELECT count(*) FROM {articles_sql(tmp_path / 'out')}").fetchall()[0] == (5,)


def test_help_lists_our_options_and_beams_behind_help_beam():
    result = run_cli("run", "--help", check=False)
    assert result.returncode == 0
    for option in ("--input", "--output", "--catalog", "--min-words", "--runner"):
        assert option in result.stdout
    assert "--direct_num_workers" in run_cli("run", "--help-beam").stdout


def test_missing_input_is_a_clear_error(tmp_path):
    result = run_cli("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"), check=False)
    assert result.returncode == 2
    assert "matches no seed file" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_later_run_adds_a_new_iss_article_to_the_existing_story(tmp_path):
    day_one, day_two = tmp_path / "day1", tmp_path / "day2"
    day_one.mkdir(), day_two.mkdir()
    for seed in sorted(SEEDS.glob("*.txt")):
        shutil.copy(seed, day_two if seed.name.startswith("004_") else day_one)
    out = tmp_path / "out"
    run_cli("run", "--input", str(day_one), "--output", str(out))
    story_before = duckdb.sql(f"SELECT DISTINCT story_id FROM {articles_sql(out)}").fetchall()
    run_cli("run", "--input", str(day_two), "--output", str(out))
    rows = duckdb.sql(f"SELECT story_id, story_label, run_id FROM {articles_sql(out)}").fetchall()
    assert len(rows) == 5 and len({r[2] for r in rows}) == 2
    assert {(r[0], r[1]) for r in rows} == {(story_before[0][0], "ISS withdrawal")}
    stories = duckdb.sql(f"SELECT story_id, article_count FROM read_parquet('{out}/stories/*.parquet')").fetchall()
    assert stories == [(story_before[0][0], 5)]
