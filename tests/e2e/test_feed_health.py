"""End to end: the feed_polls table and numbered retries of failing feed entries, over several CLI runs.

A real loopback server serves a feed (Cyrillic and Thai titles) with one entry whose page works and
one whose page is missing and has no text of its own, plus a feed that answers 500. The CLI runs
four times; each run's feed_polls rows and rejects rows are read back with DuckDB.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.e2e.test_feeds import HTML_TYPE, article_page, feed_reply, rss, run_feeds
from tests.http_server import Reply
from tests.http_server import loopback_server as loopback_server_fixture  # noqa: F401 (registers the fixture)
from transforms.sources.feeds.retries import MAX_ENTRY_ATTEMPTS


def rows(out: Path, table: str, order: str) -> list[dict]:
    relation = duckdb.sql(
        f"SELECT * FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true) ORDER BY {order}"
    )
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def summaries(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "_runs").glob("*.summary.json"))]


def test_feed_polls_and_a_failing_entry_tried_then_given_up(loopback_server, tmp_path):
    server = loopback_server
    server.route("/news/1.html", Reply(200, article_page("Новости: мост открыт"), {"Content-Type": HTML_TYPE}))
    items = [
        {"title": "Новости: мост открыт", "link": server.url("/news/1.html"), "guid": "urn:n:1"},
        {"title": "ข่าว: หน้าหายไป", "link": server.url("/news/missing.html"), "guid": "urn:n:2"},  # 404, no text
    ]
    server.route("/feed.xml", feed_reply(rss(items)))
    server.route("/broken.xml", Reply(500, b"down"))
    out = tmp_path / "out"

    for _ in range(MAX_ENTRY_ATTEMPTS + 1):
        run_feeds(out, "--feed", server.url("/feed.xml"), "--feed", server.url("/broken.xml"))

    tries = rows(out, "rejects", "attempt")
    tries = [r for r in tries if r["source_uri"].startswith(server.url("/feed.xml"))]
    assert [(r["attempt"], r["gave_up"], r["reason"]) for r in tries] == [
        (1, False, "http_404"),
        (2, False, "http_404"),
        (3, True, "http_404"),
    ]
    assert {(r["entry_title"], r["entry_link"], r["page_url"]) for r in tries} == {
        ("ข่าว: หน้าหายไป", server.url("/news/missing.html"), server.url("/news/missing.html"))
    }
    assert len({r["reject_id"] for r in tries}) == 3 and len({r["run_id"] for r in tries}) == 3
    assert len(server.requests_to("/news/missing.html")) == MAX_ENTRY_ATTEMPTS  # not requested after giving up

    runs = summaries(out)
    assert [s["rejects_written"] for s in runs] == [2, 1, 1, 0]  # run 1 also writes the 500 feed's reject
    assert [s["rejects"] for s in runs] == [1, 1, 1, 0]  # every item reject is a new row: none "repeated"
    assert runs[-1]["counters"]["feeds.entries_already_seen"] == 2  # the article and the given-up entry
    assert all(s["reconciled"] for s in runs)

    polls = rows(out, "feed_polls", "polled_at, feed_url")
    good = [p for p in polls if p["feed_url"] == server.url("/feed.xml")]
    assert [(p["http_status"], p["entries_seen"], p["new_entries"], p["articles"], p["rejects"]) for p in good] == [
        (200, 2, 2, 1, 1),
        (200, 2, 1, 0, 1),
        (200, 2, 1, 0, 1),
        (200, 2, 0, 0, 0),
    ]
    assert all(p["bytes"] == len(rss(items)) and p["latency_seconds"] > 0 and p["error"] is None for p in good)
    assert [p["run_id"] for p in good] == [s["run_id"] for s in runs]
    (broken,) = [p for p in polls if p["feed_url"] == server.url("/broken.xml")]  # backs off: polled once
    assert (broken["http_status"], broken["error"], broken["consecutive_failures"], broken["rejects"]) == (
        500,
        "http_500",
        1,
        1,
    )
    assert broken["next_attempt_at"] > broken["polled_at"]
    assert {str(p["polled_date"]) for p in polls} == {p["polled_at"].date().isoformat() for p in polls}
