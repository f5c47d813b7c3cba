"""`python -m pipeline compact`: small files of a partition become one, rows neither lost nor doubled.

The end-to-end part runs the pipeline twice on distinct inputs (CLI subprocesses, once per
module), then compacts; the rest builds small Parquet files directly to check the commit order,
crash recovery and the refusal to run beside a pipeline run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import threading
from dataclasses import asdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.analyst import compact
from pipeline.analyst.compact import (
    PLAN_FILE,
    WORK_DIR,
    CompactionRefused,
    PartitionPlan,
    compact_output,
    latest_per_key,
    plan_table,
    rows_per_row_group,
    work_dir,
    write_compacted,
)
from schemas import ARTICLES, REJECTS, STORIES, TABLES
from tests.builders import article
from tests.conftest import SEEDS, run_cli
from tests.pipeline.analyst.report_outputs import synthetic_output
from transforms.output.layout import committed_files
from transforms.output.lease import hold_leases
from transforms.output.rules import records_to_table
from transforms.run.context import RunContext

pytestmark = pytest.mark.e2e

FRESH_TEXT = (
    "Roscosmos engineers said on Tuesday that the Russian orbital station will be assembled from modules launched "
    "from Vostochny, after the country leaves the International Space Station. Yuri Borisov told Vladimir Putin that "
    "the first module could fly within a few years, and that cosmonauts would keep working on the ISS until then. "
    "NASA officials said they had not been told of a date and that the partnership continues for now."
)


def _seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def _all_files(root: Path) -> list[str]:
    """Every file but the output's lease, which each run and compaction takes and gives back."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("_lease.json")
    )


def _rows(output: Path, table) -> list[tuple]:
    """Every row of a table, partition value included, sorted: a multiset to compare."""
    rows = []
    for path in committed_files(str(output), table):
        data = pq.read_table(path).to_pylist()
        partition = Path(path).parent.name if table.partition else ""
        rows += [(partition, *(json.dumps(v, default=str) for v in row.values())) for row in data]
    return sorted(rows)


def _files_per_partition(output: Path, table) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in committed_files(str(output), table):
        counts[str(Path(path).parent.relative_to(output))] = (
            counts.get(str(Path(path).parent.relative_to(output)), 0) + 1
        )
    return counts


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """An output written by two runs with distinct inputs: two files in each partition."""
    out = tmp_path_factory.mktemp("out")
    inputs = tmp_path_factory.mktemp("inputs")
    batches = {
        "a": [_seed("000"), _seed("001")],
        "b": [_seed("002"), _seed("003"), _seed("004")],
    }
    for name, files in batches.items():
        folder = inputs / name
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        (folder / f"blank-{name}.txt").write_text("")  # a rejects row per run
    record = {
        "url": "https://wire.example.org/2022/07/26/station",
        "text": FRESH_TEXT,
        "published": "2022-07-26T15:00:00Z",
        "source": "Example Wire",
    }
    (inputs / "a" / "wire.jsonl").write_text(json.dumps(record) + "\n")
    for name in batches:
        run_cli("run", "--input", str(inputs / name), "--output", str(out))
    return out


@pytest.fixture(scope="module")
def compacted(two_runs, tmp_path_factory):
    """The compacted copy of the two runs' output, the rows and files before, and compact's stdout."""
    out = tmp_path_factory.mktemp("compacted") / "out"
    shutil.copytree(two_runs, out)
    before = {t.name: _rows(out, t) for t in TABLES}
    files_before = {t.name: _files_per_partition(out, t) for t in TABLES}
    result = run_cli("compact", "-v", "--output", str(out))
    partitions = re.findall(r"(\S+): \d+ files → ", result.stdout + result.stderr)
    assert partitions and len(partitions) == len(set(partitions)), "each partition is reported once, even with -v"
    return out, before, files_before, result.stdout


def test_runs_left_several_small_files_per_partition(compacted):
    _, _, files_before, _ = compacted
    assert files_before["articles"] == {
        "articles/published_date=2022-07-26": 2,
        "articles/published_date=__HIVE_DEFAULT_PARTITION__": 2,
    }
    assert sum(files_before["rejects"].values()) == 2
    assert files_before["stories"] == {"stories": 1}  # the writer upserts stories into one file per run


def test_compaction_keeps_every_row_once_in_one_file_per_partition(compacted):
    out, before, _, stdout = compacted
    for table in TABLES:
        assert _rows(out, table) == before[table.name], table.name
        assert set(_files_per_partition(out, table).values()) == {1}, table.name
    assert "articles/published_date=__HIVE_DEFAULT_PARTITION__: 2 files → 1 (4 rows)\n" in stdout
    assert stdout.count(f"compacted {len(re.findall(' files → ', stdout)) - 1} partition(s) of {out}: ") == 1
    counts = duckdb.sql(
        f"SELECT published_date, count(*) FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) "
        "GROUP BY 1 ORDER BY 1 NULLS LAST"
    ).fetchall()
    assert [(str(d) if d else None, n) for d, n in counts] == [("2022-07-26", 2), (None, 4)]


def test_no_temporary_or_work_files_are_left(compacted):
    out, *_ = compacted
    leftovers = [f for f in _all_files(out) if WORK_DIR in f or "/." in f or f.startswith(".") or ".tmp" in f]
    assert leftovers == []


def test_compacted_files_keep_the_schema_descriptions_and_zstd(compacted):
    out, *_ = compacted
    for table in (ARTICLES, REJECTS):
        for path in committed_files(str(out), table):
            assert Path(path).name.startswith(compact.COMPACTED_PREFIX)
            parquet = pq.ParquetFile(path)
            written = parquet.schema_arrow
            assert written.remove_metadata().equals(table.arrow_schema.remove_metadata())
            assert [f.metadata for f in written] == [f.metadata for f in table.arrow_schema]
            assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


def test_second_compaction_changes_nothing(compacted):
    out, *_ = compacted
    files = {f: (out / f).stat().st_mtime_ns for f in _all_files(out)}
    stdout = run_cli("compact", "--output", str(out)).stdout
    assert "compacted 0 partition(s)" in stdout
    assert {f: (out / f).stat().st_mtime_ns for f in _all_files(out)} == files


def test_a_run_after_compaction_adds_to_the_compacted_partitions(compacted, tmp_path):
    out, before, _, _ = compacted
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "blank-d.txt").write_text("")
    run_cli("run", "--input", str(extra), "--output", str(out))
    assert len(_rows(out, REJECTS)) == len(before["rejects"]) + 1
    assert _rows(out, ARTICLES) == before["articles"]


# --- stories: an upserted table -------------------------------------------------------------


def _story(story_id: str, count: int, run_id: str, day: int) -> dict:
    return {
        "story_id": story_id,
        "story_label": f"Story {story_id}",
        "label_source": "terms",
        "first_published": None,
        "last_published": None,
        "article_count": count,
        "top_terms": ["a"],
        "ingested_at": dt.datetime(2024, 1, day, tzinfo=dt.UTC),
        "run_id": run_id,
    }


def test_stories_keep_the_latest_row_per_story(tmp_path):
    folder = tmp_path / "stories"
    folder.mkdir()
    # A crash of the writer between its merged file and the deletion of older files leaves two files.
    pq.write_table(
        records_to_table(
            [_story("s1", 3, "20240102T000000Z-bbbbbb", 2), _story("s2", 1, "20240102T000000Z-bbbbbb", 2)],
            STORIES.arrow_schema,
        ),
        folder / "part-20240102T000000Z-bbbbbb-merged.parquet",
    )
    pq.write_table(
        records_to_table(
            [_story("s1", 1, "20240101T000000Z-aaaaaa", 1), _story("s3", 2, "20240101T000000Z-aaaaaa", 1)],
            STORIES.arrow_schema,
        ),
        folder / "part-20240101T000000Z-aaaaaa-x.parquet",
    )
    results = compact_output(str(tmp_path), tables=[STORIES])
    assert [(r.files_before, r.files_after, r.rows) for r in results] == [(2, 1, 3)]
    files = committed_files(str(tmp_path), STORIES)
    assert len(files) == 1
    rows = {r["story_id"]: r["article_count"] for r in pq.read_table(files[0]).to_pylist()}
    assert rows == {"s1": 3, "s2": 1, "s3": 2}


def test_latest_per_key_prefers_later_ingestion_then_later_run():
    table = records_to_table(
        [
            _story("s", 5, "20240103T000000Z-b", 3),
            _story("s", 9, "20240101T000000Z-a", 1),
            _story("s", 7, "20240103T000000Z-c", 3),
        ],
        STORIES.arrow_schema,
    )
    assert latest_per_key(table, "story_id").column("article_count").to_pylist() == [7]


# --- commit order, recovery, refusal --------------------------------------------------------

RUN = RunContext("20240101T000000Z-test", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def _small_reject_files(output: Path, partitions: int = 1, files: int = 3) -> int:
    """Writes `files` one-row rejects files into each of `partitions` partitions; returns the row count."""
    for p in range(partitions):
        folder = output / "rejects" / f"ingested_date=2024-01-{p + 1:02d}"
        folder.mkdir(parents=True)
        for i in range(files):
            reject = RUN.reject(f"/in/{p}-{i}.txt", "read", "empty_file", "0 bytes")
            pq.write_table(
                records_to_table([asdict(reject)], REJECTS.arrow_schema), folder / f"part-run{i}-{p}.parquet"
            )
    return partitions * files


def test_refuses_while_a_run_is_staging(tmp_path):
    _small_reject_files(tmp_path)
    staged = tmp_path / "_staging-20240101T000000Z-abcdef" / "articles" / "published_date=2024-01-01"
    staged.mkdir(parents=True)
    (staged / "part-x.parquet").write_bytes(b"x")
    with pytest.raises(CompactionRefused, match="_staging-20240101T000000Z-abcdef"):
        compact_output(str(tmp_path))
    result = run_cli("compact", "--output", str(tmp_path), check=False)
    assert result.returncode == 2 and "a pipeline run is writing there" in result.stderr
    assert len(committed_files(str(tmp_path), REJECTS)) == 3  # nothing touched


def test_crash_before_the_swap_is_discarded_and_redone(tmp_path):
    rows = _small_reject_files(tmp_path)
    plan = plan_table(str(tmp_path), REJECTS, 1 << 20)[0]
    work = Path(work_dir(str(tmp_path), plan))
    (work / "new").mkdir(parents=True)
    (work / PLAN_FILE).write_text(
        json.dumps(
            {
                "table": "rejects",
                "directory": plan.directory,
                "inputs": list(plan.inputs),
                "kept": [],
                "output": plan.output_name,
            }
        )
    )
    (work / "new" / f".{plan.output_name}.tmp").write_bytes(b"half a file")
    compact_output(str(tmp_path))
    assert not (tmp_path / WORK_DIR).exists()
    files = committed_files(str(tmp_path), REJECTS)
    assert [Path(f).name for f in files] == [plan.output_name]
    assert pq.read_table(files[0]).num_rows == rows


def test_crash_after_the_new_file_went_in_finishes_by_deleting_the_inputs(tmp_path):
    """The object-store order (rename in, then delete inputs) interrupted in between: rows visible twice until rerun."""
    rows = _small_reject_files(tmp_path)
    plan = plan_table(str(tmp_path), REJECTS, 1 << 20)[0]
    work = Path(work_dir(str(tmp_path), plan))
    work.mkdir(parents=True)
    (work / PLAN_FILE).write_text(
        json.dumps(
            {
                "table": "rejects",
                "directory": plan.directory,
                "inputs": list(plan.inputs),
                "kept": [],
                "output": plan.output_name,
            }
        )
    )
    write_compacted([f"{plan.directory}/{n}" for n in plan.inputs], REJECTS, f"{plan.directory}/{plan.output_name}")
    assert len(duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/rejects/*/*.parquet')").fetchall()) == 2 * rows
    results = compact_output(str(tmp_path))
    assert results == []  # the plan was completed, nothing left to compact
    assert [Path(f).name for f in committed_files(str(tmp_path), REJECTS)] == [plan.output_name]
    assert len(duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/rejects/*/*.parquet')").fetchall()) == rows
    assert not (tmp_path / WORK_DIR).exists()


def test_large_files_are_left_alone_and_kept_beside_the_compacted_one(tmp_path):
    rows = _small_reject_files(tmp_path)
    folder = tmp_path / "rejects" / "ingested_date=2024-01-01"
    big = folder / "part-big.parquet"
    pq.write_table(
        records_to_table(
            [asdict(RUN.reject(f"/in/big-{i}.txt", "read", "empty_file", "x" * 200)) for i in range(2000)],
            REJECTS.arrow_schema,
        ),
        big,
        compression="none",
    )
    min_mb = (big.stat().st_size - 1) / 1024 / 1024
    results = compact_output(str(tmp_path), min_file_mb=min_mb)
    assert [(r.files_before, r.files_after) for r in results] == [(4, 2)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "part-big.parquet",
            PartitionPlan("rejects", str(folder), tuple(f"part-run{i}-0.parquet" for i in range(3)), ()).output_name,
        ]
    )
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')").fetchall()[0][0] == rows + 2000


def test_a_reader_never_sees_rows_twice_during_compaction(tmp_path):
    """Never twice; a query racing a swap may miss that partition (seen once in CI: 87 of 90) or fail: rerun it."""
    rows = _small_reject_files(tmp_path, partitions=30, files=3)
    glob = f"{tmp_path}/rejects/*/*.parquet"
    seen: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def read_continuously():
        connection = duckdb.connect()
        while not done.is_set():
            try:
                seen.append(connection.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0])
            except (
                duckdb.Error
            ) as err:  # a file listed, then swapped out before it was opened: an error, not wrong rows
                failures.append(str(err))

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        results = compact_output(str(tmp_path))
    finally:
        done.set()
        reader.join()
    assert len(results) == 30 and {r.method for r in results} == {"exchange"}
    assert seen and max(seen) == rows, (set(seen), len(failures))
    assert sum(1 for n in seen if n == rows) >= len(seen) // 2, (sorted(set(seen)), len(seen))  # misses are rare races
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0] == rows


def test_row_groups_aim_at_128_mib_or_a_million_rows():
    narrow = pa.table({"x": pa.array(range(1000), pa.int64())})  # 8 bytes a row
    assert rows_per_row_group(narrow) == 1_000_000
    wide = pa.table({"text": pa.array(["y" * 4096] * 100)})  # ~4 KiB a row
    assert 30_000 < rows_per_row_group(wide) < 33_000


# --- object store ---------------------------------------------------------------------------


def test_compacts_on_s3_with_the_rename_order_and_leaves_no_work_objects(tmp_path, monkeypatch):
    """Against moto's S3 server on 127.0.0.1: no folder exchange there, so new file in, then inputs out."""
    moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (test extra)")
    import boto3
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    saved = FileSystems._pipeline_options
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
        )
        client.create_bucket(Bucket="news")
        FileSystems.set_options(
            PipelineOptions(
                [
                    f"--s3_endpoint_url={endpoint}",
                    "--s3_access_key_id=k",
                    "--s3_secret_access_key=s",
                    "--s3_region_name=us-east-1",
                ]
            )
        )
        rows = _small_reject_files(
            tmp_path, partitions=1, files=3
        )  # Beam builds a boto3 client per S3 call: ~0.6 s each
        for local in sorted((tmp_path / "rejects").rglob("*.parquet")):
            client.upload_file(str(local), "news", f"out/{local.relative_to(tmp_path)}")
        results = compact_output("s3://news/out")
        assert [(r.files_before, r.files_after, r.rows, r.method) for r in results] == [(3, 1, 3, "rename")]
        keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="news")["Contents"])
        assert [k.rsplit("/", 1)[0] for k in keys] == ["out/rejects/ingested_date=2024-01-01"]
        assert all(k.rsplit("/", 1)[1].startswith(compact.COMPACTED_PREFIX) for k in keys)
        total = 0
        for key in keys:
            with FileSystems.open(f"s3://news/{key}") as handle:
                total += pq.read_table(handle).num_rows
        assert total == rows
        assert compact_output("s3://news/out") == []
    finally:
        FileSystems.set_options(saved)
        server.stop()


# --- many small dates: the layout's floor -------------------------------------------------


def _pyarrow_rows(output: Path) -> list[tuple]:
    """Every article row as pyarrow reads the Hive dataset (partition column from the folder names)."""
    table = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table()
    return sorted(tuple(json.dumps(v, default=str) for v in row.values()) for row in table.to_pylist())


def _duckdb_rows(output: Path) -> list[tuple]:
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{output}/articles/*/*.parquet', hive_partitioning=true)").fetchall()
    return sorted(tuple(json.dumps(v, default=str) for v in row) for row in rows)


@pytest.fixture(scope="module")
def many_dates(tmp_path_factory) -> Path:
    """Over a hundred dates with one small file each (as one run leaves them), then a later run's file on three."""
    out = synthetic_output(tmp_path_factory.mktemp("many-dates") / "out", 70)
    dated = sorted(p for p in (out / ARTICLES.name).iterdir() if "HIVE_DEFAULT" not in p.name)[:3]
    for n, folder in enumerate(dated):
        day = dt.date.fromisoformat(folder.name.split("=", 1)[1])
        late = article(f"late {n}", published=dt.datetime.combine(day, dt.time(18), dt.UTC))
        assert ARTICLES.partition_dir(late) == folder.name
        pq.write_table(
            records_to_table([dataclasses.asdict(late)], ARTICLES.arrow_schema), folder / "part-late.parquet"
        )
    return out


def test_many_small_dates_merge_inside_each_date_and_say_so_once(many_dates, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(many_dates, out)
    files_before = _files_per_partition(out, ARTICLES)
    assert len(files_before) >= 100 and sorted(files_before.values())[-3:] == [2, 2, 2]
    untouched = {f: (out / f).stat().st_mtime_ns for f in _all_files(out) if "part-0" in f and f.startswith("art")}
    rows = (_pyarrow_rows(out), _duckdb_rows(out))

    result = run_cli("compact", "-v", "--output", str(out))

    assert (_pyarrow_rows(out), _duckdb_rows(out)) == rows  # every row, once, by both readers
    files_after = _files_per_partition(out, ARTICLES)
    assert set(files_after) == set(files_before) and set(files_after.values()) == {1}  # Hive by date, kept
    single = {f: t for f, t in untouched.items() if files_before[str(Path(f).parent)] == 1}
    assert {f: (out / f).stat().st_mtime_ns for f in single} == single  # one-file dates are not rewritten
    lines = result.stdout.splitlines()
    merged = [line for line in lines if " files → " in line and not line.startswith("compacted")]
    doubled = [p for p, n in files_before.items() if n == 2]
    per_date = {p: sum(pq.read_metadata(f).num_rows for f in (out / p).glob("*.parquet")) for p in doubled}
    assert sorted(merged) == sorted(f"{p}: 2 files → 1 ({per_date[p]} rows)" for p in doubled)
    assert [line for line in lines if line.startswith("compacted ")] == [
        f"compacted 3 partition(s) of {out}: 6 files → 3, {sum(per_date.values())} rows, each kept once"
    ]
    (floor,) = [line for line in lines if line.startswith("articles: ")]
    assert f"articles: {len(files_before)} partitions hold one file under 64 MB each" in floor
    assert f"({len(rows[0])} rows, " in floor and "published_date" in floor
    assert result.stderr.count(" files → ") == 0  # said once, on stdout, even with -v


def test_compaction_waits_for_no_one_while_another_writer_holds_the_lease(many_dates, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(many_dates, out)
    files = _all_files(out)
    with hold_leases([str(out)], PipelineOptions([]), command="a test holding the output"):
        result = run_cli("compact", "--output", str(out), check=False)
    assert result.returncode == 4 and "a test holding the output" in result.stderr
    assert _all_files(out) == files
    assert run_cli("compact", "--output", str(out)).returncode == 0  # released: compaction runs


def test_a_compacted_file_missing_rows_is_not_swapped_in(tmp_path, monkeypatch):
    _small_reject_files(tmp_path)
    folder = tmp_path / "rejects" / "ingested_date=2024-01-01"
    before = _rows(tmp_path, REJECTS)
    real = compact.write_compacted

    def losing_a_row(paths, table, target):
        return real(list(paths)[1:], table, target) + 1  # claims all rows, wrote two of three

    monkeypatch.setattr(compact, "write_compacted", losing_a_row)
    with pytest.raises(compact.RowsNotKept, match="2 rows in the compacted file, 3 in the 3 files"):
        compact_output(str(tmp_path), tables=[REJECTS])
    assert _rows(tmp_path, REJECTS) == before and len(list(folder.iterdir())) == 3
    monkeypatch.setattr(compact, "write_compacted", real)
    assert [r.rows for r in compact_output(str(tmp_path), tables=[REJECTS])] == [3]
    assert _rows(tmp_path, REJECTS) == before
