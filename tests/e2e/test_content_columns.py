"""End to end: the content and provenance columns through ``python -m pipeline run`` (CLI subprocess), read back
with DuckDB and pyarrow: pages in five scripts, JSON Lines as news-please and Fundus write them, and a file
whose date key newsbeam does not read (one warning in the run's log)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from schemas import ARTICLES, REJECTS
from tests.conftest import run_cli
from tests.world_pages import WORLD, declared, fundus_record, jsonl, news_please_record, world_page

CODES = sorted(WORLD)
UTC = dt.UTC


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path, str, str]:
    folder = tmp_path_factory.mktemp("content")
    inputs = folder / "in"
    inputs.mkdir()
    for code in CODES:
        (inputs / f"{code}.html").write_bytes(world_page(code))
    (inputs / "news_please.jsonl").write_text(jsonl([news_please_record(c) for c in CODES]), encoding="utf-8")
    (inputs / "fundus.jsonl").write_text(jsonl([fundus_record(c) for c in CODES]), encoding="utf-8")
    undated = [
        {"url": f"https://feed.example.org/{c}", "text": "\n\n".join(WORLD[c][1][::-1]), "pubDate": "2024-03-05"}
        for c in CODES
    ]
    (inputs / "undated.jsonl").write_text(jsonl(undated), encoding="utf-8")
    (inputs / "broken.jsonl").write_text('{"text": 3}\n', encoding="utf-8")
    result = run_cli("run", "--input", str(inputs), "--output", str(folder / "out"), "--catalog", "")
    return inputs, folder / "out", result.stderr, result.stdout


def articles(output: Path) -> dict[str, dict]:
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{output}/articles/*/*.parquet', hive_partitioning=true)")
    return {row["url"]: row for row in (dict(zip(relation.columns, values)) for values in relation.fetchall())}


@pytest.mark.parametrize("code", CODES)
def test_page_metadata_markdown_and_language_confidence_reach_the_table(run, code):
    _, output, _, _ = run
    row = articles(output)[declared(code)["url"]]
    meta = declared(code)
    assert (row["description"], row["image_url"], row["section"]) == (
        meta["description"],
        meta["image_url"],
        meta["section"],
    )
    assert tuple(row["keywords"]) == meta["keywords"]
    assert f"## {meta['subheading']}" in row["text_markdown"]
    assert row["language"] == code and 0.5 < row["language_confidence"] <= 1


@pytest.mark.parametrize("code", CODES)
def test_news_please_and_fundus_records_are_dated_and_described(run, code):
    _, output, _, _ = run
    rows = articles(output)
    news_please, fundus = rows[f"https://news.example.org/{code}/np"], rows[f"https://fundus.example.org/{code}"]
    assert news_please["published_at"] == dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert news_please["date_source"] == "record"
    assert news_please["description"] == news_please_record(code)["description"]
    assert news_please["image_url"] == f"https://img.example.org/{code}.jpg"
    assert news_please["text_markdown"] is None  # plain text: no Markdown
    assert fundus["published_at"] == dt.datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    assert list(fundus["keywords"]) == [f"{code} topic", "World"]
    assert list(fundus["authors"]) == ["Bo Example", "Cy Example"]


def test_an_unread_date_key_leaves_the_rows_undated_and_is_warned_about_once(run):
    inputs, output, stderr, _ = run
    rows = articles(output)
    assert all(rows[f"https://feed.example.org/{code}"]["published_at"] is None for code in CODES)
    undated = str(inputs / "undated.jsonl")
    warnings = [line for line in stderr.splitlines() if "date-like key not read" in line]
    assert len(warnings) == 1, stderr
    assert "WARNING" in warnings[0] and undated in warnings[0] and "'pubDate' (5 records)" in warnings[0]


def test_every_column_of_the_schema_is_in_the_files_read_with_pyarrow(run):
    _, output, _, _ = run
    for spec, table in ((ARTICLES, "articles"), (REJECTS, "rejects")):
        dataset = ds.dataset(output / table, format="parquet", partitioning="hive")
        for column in spec.columns:
            field = dataset.schema.field(column.name)
            assert field.type == column.arrow_type, column.name
            assert field.metadata[b"description"].decode() == column.description
    articles_table = ds.dataset(output / "articles", format="parquet", partitioning="hive").to_table()
    assert articles_table.num_rows == 3 * len(CODES) + len(CODES)  # pages, both record files, the undated file
    rejects = duckdb.sql(f"SELECT reason, fetched_at FROM read_parquet('{output}/rejects/*/*.parquet')").fetchall()
    assert rejects == [("invalid_record", None)]


def test_the_summary_accounts_for_every_item(run):
    _, _, _, stdout = run
    assert "reconciled        yes" in stdout
    assert f"{4 * len(CODES) + 1} from 9 files = {4 * len(CODES)} articles + 1 rejected" in stdout
