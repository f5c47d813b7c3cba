"""Copies that arrive in a later run are rows: marked against the earlier article, in its story, counted.

Run 1 writes an article. Run 2 reads the same article again (same URL: already ingested), an
exact copy under a new URL and a lightly edited copy under another: both copies are written,
marked ``duplicate_of`` the first article (``text`` and ``near``), and join its story, whose
``article_count`` becomes 3. Read back with DuckDB.
"""

from __future__ import annotations

import json

import duckdb

from tests.conftest import run_cli

SENTENCES = [
    "The city council approved the new harbour bridge on Tuesday after a four-hour debate.",
    "Construction is expected to start in spring and to take three years, officials said.",
    "The bridge will carry trams, cyclists and pedestrians across the old shipping channel.",
    "Residents of the eastern district had campaigned for a crossing for more than a decade.",
    "Opponents argued that the cost had doubled since the first plans were drawn up in 2019.",
    "The mayor said the bridge would cut the commute to the centre by twenty minutes.",
]
TEXT = " ".join(f"{s} Part {i} of the report." for i in range(6) for s in SENTENCES)
EDITED = TEXT.replace("four-hour debate", "five-hour debate", 1)


def _record(url: str, text: str, source: str) -> str:
    return json.dumps(
        {
            "url": url,
            "title": "Harbour bridge approved",
            "text": text,
            "published": "2026-11-03T08:00:00Z",
            "source": source,
        }
    )


def test_a_later_runs_copies_under_new_urls_are_marked_rows_in_the_earlier_story(tmp_path):
    first, second, out = tmp_path / "first.jsonl", tmp_path / "second.jsonl", tmp_path / "out"
    first.write_text(_record("https://a.example/bridge", TEXT, "Outlet A") + "\n")
    second.write_text(
        "\n".join(
            [
                _record("https://a.example/bridge", TEXT, "Outlet A"),  # the same article again
                _record("https://b.example/wire/bridge", TEXT, "Outlet B"),  # syndicated as is
                _record("https://c.example/bridge", EDITED, "Outlet C"),  # syndicated with an edit
            ]
        )
        + "\n"
    )
    run_cli("run", "--input", str(first), "--output", str(out), "--catalog", "")
    rerun = run_cli("run", "--input", str(second), "--output", str(out), "--catalog", "")
    assert "reconciled        yes" in rerun.stdout
    assert "already ingested  1 " in rerun.stdout
    articles = f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
    rows = duckdb.sql(
        f"SELECT source, article_id, duplicate_of, duplicate_kind, story_id FROM {articles} ORDER BY source"
    ).fetchall()
    (a_source, a_id, a_dup, _, a_story), b, c = rows
    assert (a_source, a_dup) == ("Outlet A", None)
    assert b[0] == "Outlet B" and (b[2], b[3], b[4]) == (a_id, "text", a_story)
    assert c[0] == "Outlet C" and (c[2], c[3], c[4]) == (a_id, "near", a_story)
    stories = duckdb.sql(f"SELECT story_id, article_count FROM read_parquet('{out}/stories/*.parquet')").fetchall()
    assert stories == [(a_story, 3)]
