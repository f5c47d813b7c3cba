"""examples/queries.sql runs in DuckDB against a real pipeline output and gives the right figures.

The output is the seeds plus two extra inputs, so every query has something to show: a JSON
Lines record from "Example Wire" with the same text as seed 002, published later the same day
(so it is a text duplicate of seed 002 and joins its story), and an empty file (a rejects row).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SEEDS, run_cli, run_seeds_with_a_wire_copy

pytestmark = pytest.mark.e2e

QUERIES_FILE = REPO / "examples" / "queries.sql"
PLACEHOLDER = "OUTPUT"


def load_queries(path: Path = QUERIES_FILE) -> dict[str, str]:
    """{name: SQL} from the '-- name:' blocks of the file."""
    blocks = re.split(r"^-- name: ", path.read_text(), flags=re.M)[1:]
    return {block.split("\n", 1)[0].strip(): block.split("\n", 1)[1].strip() for block in blocks}


QUERIES = load_queries()


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    return run_seeds_with_a_wire_copy(tmp_path_factory)


def run_query(name: str, output: Path) -> list[dict]:
    sql = QUERIES[name].replace(PLACEHOLDER, str(output)).rstrip().rstrip(";")
    relation = duckdb.sql(sql)
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def test_the_file_has_the_promised_queries_each_using_the_placeholder():
    assert {
        "articles_per_story_per_day",
        "top_sources_per_story",
        "duplicate_rate_per_source",
        "articles_missing_a_date",
        "rejects_by_reason",
    } <= set(QUERIES)
    for name, sql in QUERIES.items():
        assert f"'{PLACEHOLDER}/" in sql, name


FEED_QUERIES = {"feed_health", "failed_feed_entries"}
"""Queries over what only feeds produce: tested on a feed run (below)."""


@pytest.mark.parametrize("name", sorted(set(QUERIES) - FEED_QUERIES))
def test_every_query_runs_and_returns_rows(name, output):
    assert run_query(name, output)


@pytest.fixture(scope="module")
def make_run_output(tmp_path_factory) -> Path:
    """What `make run` writes: the seeds alone (no rejects, no feeds: those tables are zero-row files)."""
    out = tmp_path_factory.mktemp("make-run") / "out"
    run_cli("run", "--input", str(SEEDS), "--output", str(out))
    return out


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_runs_on_make_runs_own_output(name, make_run_output):
    rows = run_query(name, make_run_output)
    if name in {"rejects_by_reason", *FEED_QUERIES}:
        assert rows == []  # the tables exist, with no rows
    else:
        assert rows


@pytest.fixture(scope="module")
def relabelled_output(tmp_path_factory) -> Path:
    """Two runs: seeds 000-001 without the catalog (a headline/terms label), then 002-004 with it (relabelled)."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for path in sorted(SEEDS.glob("*.txt")):
        (first if path.name < "002" else second).joinpath(path.name).write_bytes(path.read_bytes())
    out = tmp_path_factory.mktemp("relabelled") / "out"
    run_cli("run", "--input", str(first), "--output", str(out), "--catalog", "")
    run_cli("run", "--input", str(second), "--output", str(out))
    return out


def test_current_labels_come_from_the_stories_table(relabelled_output):
    rows = run_query("articles_with_current_story_label", relabelled_output)
    assert {r["story_label"] for r in rows} == {"ISS withdrawal"} and len(rows) == 5
    at_ingestion = {r["label_at_ingestion"] for r in rows}
    assert "ISS withdrawal" in at_ingestion and len(at_ingestion) == 2  # the first run's articles kept their label
    per_story = run_query("articles_per_story_per_day", relabelled_output)
    assert {r["story_label"] for r in per_story} == {"ISS withdrawal"}
    assert sum(r["articles"] for r in per_story) == 5


@pytest.fixture(scope="module")
def feed_output(tmp_path_factory) -> tuple[Path, str, str]:
    """Two runs of a feed with a working page and a missing one (no text of its own), plus a feed answering 500."""
    from tests.e2e.test_feeds import HTML_TYPE, article_page, feed_reply, rss, run_feeds
    from tests.http_server import LoopbackServer, Reply

    out = tmp_path_factory.mktemp("feeds") / "out"
    with LoopbackServer() as server:
        server.route(
            "/p/1.html", Reply(200, article_page("Ein neuer Steg über den Fluss"), {"Content-Type": HTML_TYPE})
        )
        items = [
            {"title": "Ein neuer Steg über den Fluss", "link": server.url("/p/1.html"), "guid": "urn:p:1"},
            {"title": "गायब पन्ना", "link": server.url("/p/gone.html"), "guid": "urn:p:2"},
        ]
        server.route("/feed.xml", feed_reply(rss(items)))
        server.route("/down.xml", Reply(500, b"down"))
        for _ in range(2):
            run_feeds(out, "--feed", server.url("/feed.xml"), "--feed", server.url("/down.xml"))
        return out, server.url("/feed.xml"), server.url("/down.xml")


def test_feed_health(feed_output):
    out, feed, down = feed_output
    rows = {r["feed_url"]: r for r in run_query("feed_health", out)}
    assert (rows[feed]["polls"], rows[feed]["last_status"], rows[feed]["failures_in_a_row"]) == (2, "200", 0)
    assert (rows[feed]["new_entries"], rows[feed]["articles"], rows[feed]["rejects"]) == (3, 1, 2)
    assert (rows[down]["polls"], rows[down]["last_status"], rows[down]["failures_in_a_row"]) == (1, "http_500", 1)
    assert list(rows) == [down, feed]  # failing feeds first


def test_failed_feed_entries(feed_output):
    out, feed, _ = feed_output
    rows = run_query("failed_feed_entries", out)
    assert [(r["entry_title"], r["reason"], r["attempt"], r["gave_up"]) for r in rows] == [
        ("गायब पन्ना", "http_404", 2, False),
        ("गायब पन्ना", "http_404", 1, False),
    ]
    assert {r["entry_link"] for r in rows} == {feed.replace("/feed.xml", "/p/gone.html")}


def test_articles_per_story_per_day(output):
    rows = run_query("articles_per_story_per_day", output)
    by_day = {
        (r["story_label"], str(r["published_date"]) if r["published_date"] else None): (r["articles"], r["originals"])
        for r in rows
    }
    # 2022-07-26: seed 002 (date header) and the wire copy of it; undated: seeds 000, 001, 003, 004.
    assert by_day == {("ISS withdrawal", "2022-07-26"): (2, 1), ("ISS withdrawal", None): (4, 4)}
    assert sum(originals for _, originals in by_day.values()) == len(list(SEEDS.glob("*.txt")))


def test_top_sources_per_story(output):
    rows = run_query("top_sources_per_story", output)
    assert [(r["story_label"], r["rank"], r["source"], r["articles"]) for r in rows] == [
        ("ISS withdrawal", 1, "(unknown)", 5),
        ("ISS withdrawal", 2, "Example Wire", 1),
    ]


def test_duplicate_rate_per_source(output):
    rows = {r["source"]: r for r in run_query("duplicate_rate_per_source", output)}
    assert (rows["(unknown)"]["articles"], rows["(unknown)"]["duplicates"], rows["(unknown)"]["duplicate_rate"]) == (
        5,
        0,
        0.0,
    )
    assert (
        rows["Example Wire"]["articles"],
        rows["Example Wire"]["duplicates"],
        rows["Example Wire"]["duplicate_rate"],
    ) == (1, 1, 1.0)


def test_articles_missing_a_date(output):
    rows = run_query("articles_missing_a_date", output)
    assert sorted(Path(r["source_uri"]).name[:3] for r in rows) == [
        "000",
        "001",
        "003",
        "004",
    ]  # 002 is dated 2022-07-26
    dated = duckdb.sql(
        f"SELECT published_date FROM read_parquet('{output}/articles/*/*.parquet', hive_partitioning=true) "
        "WHERE source_uri LIKE '%002_c32dd63ed62bcf65.txt'"
    ).fetchall()
    assert [str(d) for (d,) in dated] == ["2022-07-26"]


def test_missing_date_rate_per_source(output):
    rows = {r["source"]: r for r in run_query("missing_date_rate_per_source", output)}
    assert (
        rows["(unknown)"]["undated"],
        rows["(unknown)"]["missing_date_rate"],
        rows["(unknown)"]["dated_from_the_text"],
    ) == (4, 0.8, 1)
    assert (rows["Example Wire"]["undated"], rows["Example Wire"]["dated_by_feed_or_record"]) == (0, 1)


def test_stories_overview(output):
    rows = run_query("stories_overview", output)
    assert [(r["story_label"], r["label_source"], r["article_count"]) for r in rows] == [
        ("ISS withdrawal", "catalog", 6)
    ]


def test_rejects_by_reason(output):
    rows = run_query("rejects_by_reason", output)
    assert [(r["stage"], r["reason"], r["rejects"], Path(r["example_source"]).name) for r in rows] == [
        ("read", "empty_file", 1, "blank.txt"),
    ]


def test_pyarrow_dataset_read_back_as_in_the_docs(output):
    import pyarrow as pa
    import pyarrow.dataset as ds

    part = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    table = ds.dataset(str(output / "articles"), format="parquet", partitioning=part).to_table(
        columns=["story_label", "published_date"]
    )
    assert table.num_rows == 6
    assert table.column("published_date").null_count == 4


def test_pandas_read_back_as_in_the_docs(output):
    """Plain ``pd.read_parquet`` fails on the NULL partition ("Cannot yet unify dictionaries with nulls", pyarrow 25):
    the docs give the partitioning, as here."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    pd = pytest.importorskip("pandas", reason="pandas is not installed (not a newsbeam dependency)")
    dates = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    frame = pd.read_parquet(output / "articles", columns=["story_label", "published_date"], partitioning=dates)
    assert len(frame) == 6
    published = frame["published_date"]
    assert int(published.isna().sum()) == 4
    assert sorted(str(d) for d in published[published.notna()]) == ["2022-07-26", "2022-07-26"]


def test_written_parquet_files_carry_the_column_descriptions(output):
    import pyarrow.parquet as pq

    from schemas import TABLES
    from transforms.output.layout import committed_files

    for table in TABLES:
        files = committed_files(str(output), table)
        assert files, table.name
        for path in files:
            schema = pq.read_schema(path)
            assert schema.names == [c.name for c in table.columns]
            for column in table.columns:
                assert schema.field(column.name).metadata[b"description"].decode() == column.description, (
                    path,
                    column.name,
                )
