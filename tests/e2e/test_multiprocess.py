"""Two worker processes give the same output as one: every DoFn pickles and imports elsewhere."""

import json
import shutil

import duckdb

from tests.conftest import SEEDS, run_cli
from tests.e2e.test_cli import UNRELATED

COLUMNS = (
    "article_id, url, title, text, published_at, content_hash, duplicate_of, duplicate_kind, "
    "story_label, published_date"
)


def rows(out):
    return sorted(
        duckdb.sql(
            f"SELECT {COLUMNS} FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
        ).fetchall()
    )


def test_multi_processing_with_two_workers_equals_a_single_worker(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(SEEDS, inputs)
    records = [
        {"url": f"https://news.test/bank/{i}", "title": "Rates on hold", "text": UNRELATED, "source": "News Test"}
        for i in range(3)
    ]
    (inputs / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n{broken\n")
    single, multi = tmp_path / "single", tmp_path / "multi"
    run_cli("run", "--input", str(inputs), "--output", str(single))
    run_cli(
        "run",
        "--input",
        str(inputs),
        "--output",
        str(multi),
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    )
    assert rows(single) == rows(multi)
    assert len(rows(single)) == 8 and sum(1 for r in rows(single) if r[6]) == 2
    rejects = "SELECT reason, reject_id FROM read_parquet('{}/rejects/*/*.parquet', hive_partitioning=true)"
    assert duckdb.sql(rejects.format(single)).fetchall() == duckdb.sql(rejects.format(multi)).fetchall()
