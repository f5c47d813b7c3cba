"""Hive-partitioned Parquet: staged per bundle, committed at once, read back with pyarrow and DuckDB."""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystem import BeamIOError

from schemas import ARTICLES, REJECTS, STORIES, TABLES
from tests.builders import RUN, article, day
from tests.conftest import fn_api_pipeline
from transforms.output.files import write_json_atomically
from transforms.output.layout import committed_files, staging_dir
from transforms.output.rules import records_to_table
from transforms.output.tables import (
    StagedFile,
    WriteTables,
    clear_stale_staging,
    commit_run,
    merge_upserts,
    run_record,
)
from transforms.run.context import RunContext


def _write(output, articles=(), rejects=()):
    with fn_api_pipeline() as p:
        tables = {
            "articles": p | "A" >> beam.Create(list(articles)),
            "stories": p | "S" >> beam.Create([]),
            "rejects": p | "R" >> beam.Create(list(rejects)),
        }
        tables | WriteTables(str(output), RUN, TABLES)


def _all_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_rows_land_in_their_partitions_with_nothing_left_in_staging(tmp_path):
    rows = [article("a", published=day(1)), article("b", published=day(2)), article("c")]
    rows = [dataclasses.replace(r, story_id="s1", story_label="Story") for r in rows]
    reject = RUN.reject("/in/bad.txt", "read", "empty_file", "0 bytes")
    _write(tmp_path, rows, [reject])

    files = _all_files(tmp_path)
    assert [f.split("/")[1] for f in files if f.startswith("articles/")] == [
        "published_date=2024-03-01",
        "published_date=2024-03-02",
        "published_date=__HIVE_DEFAULT_PARTITION__",
    ]
    assert [f for f in files if not f.startswith(("articles/", "rejects/"))] == [
        f"_runs/{RUN.run_id}.json",
        f"feed_polls/polled_date=2024-01-01/part-{RUN.run_id}-empty.parquet",  # tables without rows: zero-row files
        f"stories/part-{RUN.run_id}-empty.parquet",
    ]
    assert not [f for f in files if "staging" in f or ".tmp" in f]
    record = json.loads((tmp_path / "_runs" / f"{RUN.run_id}.json").read_text())
    assert record["rows"] == {"articles": 3, "rejects": 1, "stories": 0, "feed_polls": 0}

    table = ds.dataset(tmp_path / "articles", format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("article_id").to_pylist()) == sorted(r.article_id for r in rows)
    by_date = duckdb.sql(
        f"SELECT published_date, count(*) FROM read_parquet('{tmp_path}/articles/*/*.parquet', hive_partitioning=true)"
        " GROUP BY 1 ORDER BY 1 NULLS LAST"
    ).fetchall()
    assert [(str(d) if d else None, n) for d, n in by_date] == [("2024-03-01", 1), ("2024-03-02", 1), (None, 1)]


def test_files_are_zstd_with_the_declared_schema_and_no_partition_column(tmp_path):
    _write(tmp_path, [dataclasses.replace(article("a", published=day(1)), story_id="s", story_label="S")])
    path = committed_files(str(tmp_path), ARTICLES)[0]
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert parquet.schema_arrow.equals(ARTICLES.arrow_schema)
    assert parquet.schema_arrow.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert parquet.schema_arrow.field("text").metadata[b"description"].startswith(b"Clean article text")


def test_committed_files_ignores_hidden_and_staging_folders(tmp_path):
    for relative in [
        "rejects/ingested_date=2024-01-01/part-1.parquet",
        "rejects/_tmp/part-2.parquet",
        "rejects/.hidden/part-3.parquet",
        "rejects/ingested_date=2024-01-01/notes.txt",
    ]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    assert [p.rsplit("/", 2)[-2:] for p in committed_files(str(tmp_path), REJECTS)] == [
        ["ingested_date=2024-01-01", "part-1.parquet"]
    ]


def test_a_null_in_a_non_null_column_is_a_bug_that_raises():
    row = {f.name: None for f in STORIES.arrow_schema}
    with pytest.raises(ValueError, match="non-null"):
        records_to_table([row], STORIES.arrow_schema)


def _story(story_id, count, run):
    from schemas import Story

    return Story(
        story_id=story_id,
        story_label=f"Story {story_id}",
        label_source="headline",
        article_count=count,
        top_terms=("a",),
        ingested_at=run.started_at,
        run_id=run.run_id,
    )


def test_stories_are_upserted_by_story_id_across_runs(tmp_path):
    import datetime as dt

    from transforms.run.context import RunContext

    runs = [RunContext(f"2024010{i}T000000Z-r{i}", dt.datetime(2024, 1, i, tzinfo=dt.UTC)) for i in (1, 2)]
    for run, stories in zip(
        runs,
        ([_story("s1", 2, runs[0]), _story("s2", 1, runs[0])], [_story("s1", 5, runs[1]), _story("s3", 1, runs[1])]),
    ):
        with fn_api_pipeline() as p:
            {"stories": p | beam.Create(stories)} | WriteTables(str(tmp_path), run, TABLES)
    files = committed_files(str(tmp_path), STORIES)
    assert len(files) == 1 and "merged" in files[0]
    rows = duckdb.sql(
        f"SELECT story_id, article_count, run_id FROM read_parquet('{tmp_path}/stories/*.parquet') ORDER BY 1"
    ).fetchall()
    assert rows == [("s1", 5, runs[1].run_id), ("s2", 1, runs[0].run_id), ("s3", 1, runs[1].run_id)]
    assert not [p for p in tmp_path.rglob("*") if "staging" in str(p)]


def test_clear_stale_staging_removes_left_over_folders_and_nothing_else(tmp_path):
    for relative in [
        "_staging-old-1/articles/part.parquet",
        "_staging-old-2/seen/part.parquet",
        "articles/keep.parquet",
    ]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    (tmp_path / "_staging_notes.txt").write_text("not a staging folder")
    clear_stale_staging(str(tmp_path) + "/")
    (tmp_path / "_staging-old-3").mkdir()  # emptied by a kill during its commit's clean-up
    assert clear_stale_staging(str(tmp_path) + "/") == []
    assert _all_files(tmp_path) == ["_staging_notes.txt", "articles/keep.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_staging_notes.txt", "articles"]


def _stage(root: Path, table: str, relative: str, data: bytes = b"rows") -> StagedFile:
    path = Path(staging_dir(str(root), RUN.run_id)) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StagedFile(table, str(root), relative, 1)


@pytest.mark.parametrize("moved_before_the_kill", [0, 1, 2, 3])
def test_a_commit_killed_after_its_plan_is_finished_by_the_next_run(tmp_path, moved_before_the_kill):
    output, state = tmp_path / "out", tmp_path / "state"
    staged = [
        _stage(output, "articles", "articles/published_date=2024-03-01/part-a.parquet", b"a"),
        _stage(output, "rejects", "rejects/ingested_date=2024-03-01/part-r.parquet", b"r"),
        _stage(state, "seen", "seen/part-s.parquet", b"s"),
    ]
    write_json_atomically(
        f"{staging_dir(str(output), RUN.run_id)}/_commit.json", {**run_record(staged, RUN), "upsert_tables": []}
    )
    for f in staged[:moved_before_the_kill]:  # what the killed commit had already moved
        target = Path(f.root) / f.relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        (Path(staging_dir(f.root, RUN.run_id)) / f.relative_path).rename(target)

    assert clear_stale_staging(str(output), str(state), tables=TABLES) == [RUN.run_id]
    assert _all_files(output) == [
        f"_runs/{RUN.run_id}.json",
        "articles/published_date=2024-03-01/part-a.parquet",
        "rejects/ingested_date=2024-03-01/part-r.parquet",
    ]
    assert _all_files(state) == ["seen/part-s.parquet"]
    assert (state / "seen" / "part-s.parquet").read_bytes() == b"s"
    assert json.loads((output / "_runs" / f"{RUN.run_id}.json").read_text())["rows"] == {
        "articles": 1,
        "rejects": 1,
        "seen": 1,
    }
    assert clear_stale_staging(str(output), str(state), tables=TABLES) == []  # settled once


def test_a_commit_plan_naming_a_file_that_is_nowhere_is_an_error(tmp_path):
    output = tmp_path / "out"
    staged = [StagedFile("articles", str(output), "articles/part-gone.parquet", 1)]
    write_json_atomically(
        f"{staging_dir(str(output), RUN.run_id)}/_commit.json", {**run_record(staged, RUN), "upsert_tables": []}
    )
    with pytest.raises(OSError, match="neither staged nor in place"):
        clear_stale_staging(str(output))


def test_an_interrupted_stories_merge_is_redone_without_losing_the_merged_file(tmp_path):
    runs = [RunContext(f"2024010{i}T000000Z-m{i}", day(i)) for i in (1, 2)]
    for run, stories in zip(runs, ([_story("s1", 2, runs[0])], [_story("s1", 5, runs[1]), _story("s2", 1, runs[1])])):
        with fn_api_pipeline() as p:
            {"stories": p | beam.Create(stories)} | WriteTables(str(tmp_path), run, TABLES)
    merged = committed_files(str(tmp_path), STORIES)
    merge_upserts(str(tmp_path), STORIES, runs[1])  # a resumed commit merges again
    assert committed_files(str(tmp_path), STORIES) == merged
    rows = duckdb.sql(
        f"SELECT story_id, article_count FROM read_parquet('{tmp_path}/stories/*.parquet') ORDER BY 1"
    ).fetchall()
    assert rows == [("s1", 5), ("s2", 1)]


def test_a_commit_that_fails_moves_output_tables_before_the_ledger_and_writes_no_record(tmp_path):
    """Killed mid-commit, a run leaves its inputs out of the ledger (ingested again), never rows without a source."""
    output, state = tmp_path / "out", tmp_path / "state"
    staged_article = Path(staging_dir(str(output), RUN.run_id)) / "articles" / "part-a.parquet"
    staged_article.parent.mkdir(parents=True)
    staged_article.write_bytes(b"rows")
    staged = [
        StagedFile("seen", str(state), "seen/part-missing.parquet", 2),  # its staged file is gone: the move fails
        StagedFile("articles", str(output), "articles/part-a.parquet", 1),
    ]
    with pytest.raises(BeamIOError):
        commit_run(staged, str(output), RUN)
    assert (output / "articles" / "part-a.parquet").read_bytes() == b"rows"
    assert not (output / "_runs").exists()


def test_json_is_replaced_whole_with_no_temporary_file_left(tmp_path):
    path = tmp_path / "state" / "feeds.json"
    write_json_atomically(str(path), {"v": 1})
    write_json_atomically(str(path), {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert _all_files(tmp_path) == ["state/feeds.json"]


def test_a_run_without_rows_leaves_every_table_readable_with_its_schema(tmp_path):
    _write(tmp_path)
    for spec in TABLES:
        (path,) = committed_files(str(tmp_path), spec)
        assert path.endswith(f"part-{RUN.run_id}-empty.parquet")
        assert pq.read_table(path).schema.equals(spec.arrow_schema, check_metadata=False)
    assert sorted(p.rsplit("/", 2)[-2] for p in (committed_files(str(tmp_path), ARTICLES))) == [
        "published_date=__HIVE_DEFAULT_PARTITION__"  # nullable partition: the NULL one
    ]
    assert committed_files(str(tmp_path), REJECTS)[0].rsplit("/", 2)[-2] == "ingested_date=2024-01-01"  # run date
    # A later run with rows adds its files and no second empty one; the empty file stays harmless.
    later = RunContext("20240102T000000Z-later", dt.datetime(2024, 1, 2, tzinfo=dt.UTC))
    with fn_api_pipeline() as p:
        {"rejects": p | beam.Create([later.reject("/in/x.txt", "read", "empty_file", "0 bytes")])} | WriteTables(
            str(tmp_path), later, TABLES
        )
    assert len(committed_files(str(tmp_path), REJECTS)) == 2
    assert [len(committed_files(str(tmp_path), spec)) for spec in (ARTICLES, STORIES)] == [1, 1]
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/rejects/*/*.parquet')").fetchall() == [(1,)]


def test_rows_buffered_over_all_partitions_stay_under_the_bound(tmp_path, monkeypatch):
    import transforms.output.tables as tables

    monkeypatch.setattr(tables, "BUFFER_BYTES", 20_000)
    text = "Ein langer Absatz über die Hafenstadt und ihre Werften. " * 40  # ~2.2 kB a row
    rows = [article(f"a{i}", text=f"{i} {text}", published=day(1 + i % 7)) for i in range(60)]
    stage = tables.StageParquetFiles(ARTICLES, str(tmp_path), RUN.run_id)
    stage.setup()
    stage.start_bundle()
    peak = 0
    for row in rows:
        stage.process(row)
        peak = max(peak, sum(f.buffered_bytes for f in stage._open.values()))
    staged = [w.value for w in stage.finish_bundle()]
    assert peak < 20_000
    assert len(staged) == 7 and sum(f.rows for f in staged) == 60
    files = [pq.ParquetFile(tmp_path / f"_staging-{RUN.run_id}" / f.relative_path) for f in staged]
    assert sum(f.metadata.num_row_groups for f in files) > 7  # partitions were written before the bundle ended
    assert sorted(t for f in files for t in f.read(columns=["text"]).column("text").to_pylist()) == sorted(
        r.text for r in rows
    )
