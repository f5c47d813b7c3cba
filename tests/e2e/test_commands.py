"""The analyst and operator commands, run as a user would: query, stories, feeds, forget.

One real run builds the output: the seeds, a JSON Lines file of articles in Cyrillic, Arabic,
Devanagari and Chinese, and two loopback feeds (one good, one answering 404). Each test then
runs a command as a subprocess and checks what it prints (or removes) against DuckDB and pyarrow.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.analyst.query import views_sql
from tests.conftest import REPO, SEEDS, run_cli
from tests.e2e.test_feeds import RSS_TYPE, long_text, rss
from tests.http_server import LoopbackServer, Reply
from transforms.run.crash_points import COMMIT_POINTS, ENVIRONMENT_VARIABLE

WORLD = [
    {
        "url": "https://novosti.example.ru/2024/05/01/port",
        "title": "Порт Владивостока открыл новый терминал",
        "source": "Новости",
        "published": "2024-05-01T08:00:00Z",
        "text": " ".join(
            ["В понедельник в порту Владивостока открылся новый контейнерный терминал, сообщили власти края."] * 4
        ),
    },
    {
        "url": "https://akhbar.example.com/2024/05/02/%D9%85%D9%8A%D9%86%D8%A7%D8%A1",
        "title": "افتتاح محطة جديدة في ميناء الإسكندرية",
        "source": "أخبار",
        "published": "2024-05-02T10:00:00Z",
        "text": " ".join(
            ["أعلنت هيئة ميناء الإسكندرية يوم الاثنين افتتاح محطة حاويات جديدة لاستقبال السفن الكبيرة."] * 4
        ),
    },
    {
        "url": "https://samachar.example.in/2024/05/03/bandargah",
        "title": "मुंबई बंदरगाह पर नया टर्मिनल खुला",
        "source": "समाचार",
        "published": "2024-05-03T06:30:00Z",
        "text": " ".join(
            ["मुंबई बंदरगाह प्राधिकरण ने सोमवार को एक नया कंटेनर टर्मिनल खोलने की घोषणा की और कहा कि काम जारी है।"] * 4
        ),
    },
    {
        "url": "https://xinwen.example.cn/2024/05/04/gangkou",
        "title": "上海港新码头启用",
        "source": "新闻",
        "published": "2024-05-04T02:00:00Z",
        "text": " ".join(["上海港 周一 启用 新的 集装箱 码头 ， 港口 当局 表示 工程 仍在 继续 。"] * 4),
    },
]


def run_pipeline_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` with extra environment variables (run_cli has none)."""
    full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """An output of the seeds, four articles in four scripts, a good feed and a 404 feed; with the run's stderr."""
    extra = tmp_path_factory.mktemp("world")
    (extra / "world.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in WORLD))
    out = tmp_path_factory.mktemp("out")
    with LoopbackServer() as server:
        items = [
            {
                "title": f"Harbour bulletin {i}",
                "link": server.url(f"/bulletin/{i}"),
                "guid": f"bulletin-{i}",
                "content": long_text(f"bulletin{i}"),
            }
            for i in range(2)
        ]
        server.route("/feed.xml", Reply(200, rss(items), {"Content-Type": RSS_TYPE}))
        server.route("/missing.xml", Reply(404, b"not here", {"Content-Type": "text/plain"}))
        good, missing = server.url("/feed.xml"), server.url("/missing.xml")
        result = run_cli(
            "run",
            "-q",
            "--input",
            str(SEEDS),
            "--input",
            str(extra),
            "--feed",
            good,
            "--feed",
            missing,
            "--allow-private-network",
            "--no-fetch-articles",
            "--host-delay",
            "0",
            "--direct_num_workers=1",  # a Beam option: passes the strict parser untouched
            "--output",
            str(out),
        )
    return {"out": out, "good": good, "missing": missing, "result": result}


def articles(out: Path) -> list[dict]:
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_quiet_run_logs_no_info_and_prints_the_summary(world):
    assert " INFO " not in world["result"].stderr
    assert "reconciled        yes" in world["result"].stdout
    assert " query --output" in world["result"].stdout.split("Try:", 1)[1]


def test_the_suggested_query_runs_and_counts_what_duckdb_counts(world):
    out = world["out"]
    suggested = world["result"].stdout.split("Try:\n", 1)[1].strip()
    assert suggested.split()[0] in (".venv/bin/newsbeam", str(Path(sys.executable).parent / "newsbeam"))
    result = subprocess.run(  # as printed, from where the run was started: the venv's entry point, no bare python
        [*shlex.split(suggested), "--format", "json"], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = duckdb.sql(
        f"SELECT s.story_label, count(*) FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) a "
        f"LEFT JOIN read_parquet('{out}/stories/*.parquet') s USING (story_id) GROUP BY 1"
    ).fetchall()
    assert len(expected) <= 10, "the fixture has few stories, so the LIMIT 10 query shows them all"
    assert sorted((r["story_label"] or "", r["articles"]) for r in rows) == sorted((k or "", v) for k, v in expected)
    assert sum(r["articles"] for r in rows) == len(articles(out))


def test_articles_view_carries_the_current_story_label(world, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(world["out"], out)
    stories_file = next((out / "stories").glob("*.parquet"))
    table = pq.read_table(stories_file)
    story_ids = table["story_id"].to_pylist()
    relabelled = table.set_column(
        table.schema.get_field_index("story_label"),
        table.schema.field("story_label"),
        [[f"Relabelled {s}" for s in story_ids]],
    )
    pq.write_table(relabelled, stories_file)  # what a later run's upsert does to a relabelled story
    result = run_cli(
        "query", "--output", str(out), "--format", "json",
        "SELECT story_id, story_label, story_label_at_ingestion FROM articles WHERE story_id IS NOT NULL",
    )  # fmt: skip
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(r["story_label"] == f"Relabelled {r['story_id']}" for r in rows)
    assert not any(r["story_label_at_ingestion"].startswith("Relabelled") for r in rows)


def test_a_missing_table_is_an_empty_view_with_its_columns(world, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(world["out"], out)
    shutil.rmtree(out / "rejects")
    result = run_cli("query", "--output", str(out), "--format", "csv", "SELECT reason, detail FROM rejects")
    assert result.stdout.strip() == "reason,detail"


def test_a_bad_query_is_a_clear_error(world):
    result = run_cli("query", "--output", str(world["out"]), "SELECT nope FROM articles", check=False)
    assert result.returncode == 1 and "nope" in result.stderr and "Traceback" not in result.stderr


def test_views_sql_file_is_in_sync_and_runs_in_duckdb(world):
    path = REPO / "examples" / "views.sql"
    assert path.read_text() == views_sql(), "regenerate: python -m pipeline query --output OUTPUT > examples/views.sql"
    con = duckdb.connect()
    for statement in views_sql(str(world["out"])).split(";"):
        if "CREATE" in statement and "feed_polls" not in statement:
            con.execute(statement[statement.index("CREATE") :])
    assert con.sql("SELECT count(*) FROM articles").fetchall()[0][0] == len(articles(world["out"]))


def test_stories_lists_every_story_with_counts_outlets_and_dates(world):
    out = world["out"]
    result = run_cli("stories", "--output", str(out))
    stories = duckdb.sql(f"SELECT story_id, article_count FROM read_parquet('{out}/stories/*.parquet')").fetchall()
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["story_id", "label", "articles"]
    for story_id, count in stories:
        line = next(line for line in lines if line.startswith(story_id))
        assert f"  {count}  " in line
    assert f"({len(stories)} of {len(stories)} stories)" in result.stdout
    assert "Новости" in result.stdout and "أخبار" in result.stdout and "local files" in result.stdout


def test_stories_search_finds_a_headline_in_any_script(world):
    result = run_cli("stories", "--output", str(world["out"]), "--search", "владивосток")
    story_ids = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.startswith("s")]
    russian = next(a for a in articles(world["out"]) if a["source"] == "Новости")
    assert story_ids == [russian["story_id"]]
    nothing = run_cli("stories", "--output", str(world["out"]), "--search", "no such words")
    assert "(0 of" in nothing.stdout


def test_one_story_shows_its_articles_with_headline_outlet_and_url(world):
    arabic = next(a for a in articles(world["out"]) if a["source"] == "أخبار")
    result = run_cli("stories", "--output", str(world["out"]), arabic["story_id"][:8])
    assert result.stdout.startswith(f"story {arabic['story_id']}:")
    assert arabic["title"] in result.stdout and arabic["url"] in result.stdout and "2024-05-02 10:00" in result.stdout
    unknown = run_cli("stories", "--output", str(world["out"]), "s0000nothing", check=False)
    assert unknown.returncode == 1 and "no story" in unknown.stderr


def test_feeds_lists_both_feeds_and_reset_clears_the_backoff(world, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(world["out"], out)
    listed_run = run_cli("feeds", "--output", str(out))
    assert "warning" not in listed_run.stderr, listed_run.stderr  # feed_polls read, "failing since" shown
    listed = listed_run.stdout
    good = next(line for line in listed.splitlines() if line.startswith(world["good"]))
    missing = next(line for line in listed.splitlines() if line.startswith(world["missing"]))
    assert " 200 " in good and "next run" in good
    assert " 404" in missing and "1 failures" in missing and "UTC" in missing.split("1 failures")[1]
    assert "UTC (1 failures)" in missing  # the first failed poll's time, from feed_polls
    reset = run_cli("feeds", "--output", str(out), "--reset", world["missing"])
    assert f"reset {world['missing']}" in reset.stdout
    after = run_cli("feeds", "--output", str(out)).stdout
    missing = next(line for line in after.splitlines() if line.startswith(world["missing"]))
    assert missing.rstrip().endswith("next run")
    state = json.loads((out / "_state" / "feeds.json").read_text())
    assert next(f for f in state["feeds"] if f["feed_url"] == world["missing"])["failures"] == 0
    typo = run_cli("feeds", "--output", str(out), "--reset", world["missing"] + "x", check=False)
    assert typo.returncode == 1 and f"did you mean {world['missing']}" in typo.stderr


def forgotten_state(out: Path) -> dict:
    """What a takedown changes, in a form two outputs can be compared by: rows, story rows, ledger keys."""
    rows = sorted(a["article_id"] for a in articles(out))
    stories = duckdb.sql(
        f"SELECT story_id, article_count, first_published, last_published FROM read_parquet('{out}/stories/*.parquet') "
        "ORDER BY story_id"
    ).fetchall()
    ledger = pq.read_table(out / "_state" / "seen").select(["kind", "key"]).to_pylist()
    kinds = sorted({(r["kind"], r["key"]) for r in ledger})
    runs = [json.loads(p.read_text()) for p in sorted((out / "_runs").glob("*.json")) if "summary" not in p.name]
    forgets = [(r["kind"], r["target"], r["removed"]) for r in runs if r.get("kind") == "forget"]
    leftovers = [p.name for p in out.rglob("*") if p.name.startswith(("_staging", "."))]
    return {"rows": rows, "stories": stories, "ledger": kinds, "forgets": forgets, "leftovers": leftovers}


def test_forget_removes_the_article_updates_its_story_and_is_never_ingested_again(world, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(world["out"], out)
    before = articles(out)
    arabic = next(a for a in before if a["source"] == "أخبار")
    story_rows_before = duckdb.sql(
        f"SELECT article_count FROM read_parquet('{out}/stories/*.parquet') WHERE story_id = '{arabic['story_id']}'"
    ).fetchall()
    result = run_cli("forget", "--output", str(out), arabic["url"])
    assert f"forgot {arabic['url']}" in result.stdout
    after = articles(out)
    assert {a["article_id"] for a in before} - {a["article_id"] for a in after} == {arabic["article_id"]}
    assert len(after) == len(before) - 1
    table = pq.read_table(out / "articles", columns=["article_id"])  # pyarrow's own dataset reader agrees
    assert arabic["article_id"] not in table["article_id"].to_pylist() and table.num_rows == len(after)
    story_rows = duckdb.sql(
        f"SELECT article_count FROM read_parquet('{out}/stories/*.parquet') WHERE story_id = '{arabic['story_id']}'"
    ).fetchall()
    assert story_rows == [] if story_rows_before == [(1,)] else story_rows == [(story_rows_before[0][0] - 1,)]
    keys = {(r["kind"], r["key"]) for r in pq.read_table(out / "_state" / "seen").to_pylist()}
    assert ("forgotten", arabic["article_id"]) in keys
    assert ("forgotten_content", arabic["content_hash"]) in keys
    again = run_cli("forget", "--output", str(out), arabic["url"])
    assert "already forgotten" in again.stdout
    extra = tmp_path / "again"
    extra.mkdir()
    record = next(r for r in WORLD if r["url"] == arabic["url"])
    (extra / "again.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n")
    run_cli("run", "--input", str(extra), "--output", str(out))
    assert {a["article_id"] for a in articles(out)} == {a["article_id"] for a in after}
    report = run_cli("report", "--output", str(out))
    assert f"forget {arabic['url']}" in (out / "report.html").read_text() and report.returncode == 0


def test_forget_with_copies_removes_the_marked_duplicates_too(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    russian = next(r for r in WORLD if r["source"] == "Новости")
    copy = {**russian, "url": "https://mirror.example.net/port", "source": "Mirror"}
    (inputs / "pair.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (russian, copy)))
    run_cli("run", "--input", str(inputs), "--output", str(out), "--catalog", "")
    original = next(a for a in articles(out) if a["duplicate_of"] is None)
    copies = [a for a in articles(out) if a["duplicate_of"] == original["article_id"]]
    assert len(copies) == 1
    kept = tmp_path / "kept"
    shutil.copytree(out, kept)
    run_cli("forget", "--output", str(kept), original["article_id"])  # without --with-copies the copy stays
    assert [a["article_id"] for a in articles(kept)] == [copies[0]["article_id"]]
    result = run_cli("forget", "--output", str(out), original["article_id"], "--with-copies")
    assert "removed 2 article rows" in result.stdout
    assert articles(out) == []
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/stories/*.parquet')").fetchall() == [(0,)]


def test_forget_of_an_unknown_article_changes_nothing(world, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(world["out"], out)
    before = forgotten_state(out)
    result = run_cli("forget", "--output", str(out), "https://nowhere.example/none", check=False)
    assert result.returncode == 1 and "no article" in result.stderr
    assert forgotten_state(out) == before


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_forget_killed_at_any_commit_point_then_rerun_equals_a_clean_forget(world, tmp_path, point):
    target = next(r for r in WORLD if r["source"] == "समाचार")["url"]
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    shutil.copytree(world["out"], clean)
    shutil.copytree(world["out"], crashed)
    run_cli("forget", "--output", str(clean), target)
    killed = run_pipeline_cli("forget", "--output", str(crashed), target, env={ENVIRONMENT_VARIABLE: point})
    assert killed.returncode == -9, f"the kill point {point} was not reached: {killed.stderr[-2000:]}"
    for path in crashed.rglob("*.parquet"):  # whatever a reader sees in between reads
        if not any(part.startswith(("_", ".")) for part in path.relative_to(crashed).parts):
            pq.read_table(path)
    rerun = run_pipeline_cli("forget", "--output", str(crashed), target)
    assert rerun.returncode == 0, rerun.stderr
    assert forgotten_state(crashed) == forgotten_state(clean)
