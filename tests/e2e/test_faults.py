"""Network faults, end to end: one CLI run polls healthy feeds beside feeds and pages that fail in every way.

Each faulty feed lives on its own loopback server (its own host, so the politeness queue of one
host never delays another) and is rejected with the precise reason; the healthy feeds' articles
are all written, from their pages. Page faults leave entries without text of their own as
``no_text`` rejects naming the fault; an entry with its own summary falls back to it.
Timeouts and caps are small (`--http-timeout 1 --http-total-timeout 3 --max-body-mb 1`) so the
whole run stays within seconds of the CLI's start-up time.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.e2e.test_feeds import HTML_TYPE, RSS_TYPE, article_page, long_text, rss, run_feeds
from tests.fault_server import (
    FAULTS,
    content_length_lie,
    invalid_gzip,
    redirect_to,
    reset_mid_body,
    slow_drip,
    truncated,
)
from tests.http_server import LoopbackServer, Reply

FAST = ("--http-timeout", "1", "--http-total-timeout", "3", "--max-body-mb", "1")


def feed_body(name: str, count: int = 30) -> bytes:
    return rss(
        [
            {
                "title": f"{name} item {i}",
                "link": f"http://127.0.0.1:1/{name}/{i}",
                "guid": f"{name}-{i}",
                "description": long_text(f"{name}-{i}"),
            }
            for i in range(count)
        ],
        title=name,
    )


FEED = feed_body("faulty")
FEED_FAULTS = {
    # name: (raw handler, stage, reason)
    "reset": (FAULTS["reset"], "fetch", "connection_error"),
    "reset_mid_body": (reset_mid_body(FEED), "fetch", "incomplete_body"),
    "stall": (FAULTS["stall"], "fetch", "timeout"),
    "stall_after_headers": (FAULTS["stall_after_headers"], "fetch", "timeout"),
    "slow_drip": (slow_drip(FEED), "fetch", "timeout"),
    "truncated": (truncated(FEED), "fetch", "incomplete_body"),
    "content_length_longer": (content_length_lie(FEED, +500), "fetch", "incomplete_body"),
    "invalid_gzip": (invalid_gzip(FEED), "fetch", "invalid_compression"),
    "redirect_loop": (redirect_to("/feed"), "fetch", "redirect_loop"),
    "storm_503": (FAULTS["storm_503"], "fetch", "http_503"),
    "storm_500": (FAULTS["storm_500"], "fetch", "http_500"),
    "huge_headers": (FAULTS["huge_headers"], "fetch", "invalid_response"),
    "huge_header_line": (FAULTS["huge_header_line"], "fetch", "invalid_response"),
    "endless_body": (FAULTS["endless_body"], "fetch", "too_large"),
    "endless_chunked_body": (FAULTS["endless_chunked_body"], "fetch", "too_large"),
}
PASSWORD = "s3cret-pa55"
FORBIDDEN_LINKS = [
    "file:///etc/passwd",
    "ftp://127.0.0.1/feed.xml",
    "gopher://127.0.0.1:6379/_INFO",
    "data:text/html,<p>hi</p>",
    "javascript:alert(1)",
]
PAGE = article_page("A page that breaks", seed="page")
PAGE_FAULTS = {
    # page path: (raw handler, the fetch reason named in the reject's reason and detail)
    "/reset": (FAULTS["reset"], "connection_error"),
    "/truncated": (truncated(PAGE), "incomplete_body"),
    "/gzip": (invalid_gzip(PAGE), "invalid_compression"),
    "/storm": (FAULTS["storm_503"], "HTTP 503"),
    "/stall": (FAULTS["stall"], "timeout"),
    "/headers": (FAULTS["huge_headers"], "invalid_response"),
}


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """One CLI run over 2 healthy feeds, 16 faulty feeds and 1 feed whose pages fail;
    the servers stay up for a rerun."""
    servers: list[LoopbackServer] = []

    def server() -> LoopbackServer:
        servers.append(LoopbackServer())
        return servers[-1]

    healthy = []
    for name in ("alpha", "beta"):
        s = server()
        items = [{"title": f"{name} story {i}", "link": s.url(f"/story/{i}"), "guid": f"{name}-{i}"} for i in range(3)]
        s.route("/feed", Reply(200, rss(items, title=name), {"content-type": RSS_TYPE}))
        for i in range(3):
            s.route(
                f"/story/{i}",
                Reply(200, article_page(f"{name} story {i}", seed=f"{name}{i}"), {"content-type": HTML_TYPE}),
            )
        healthy.append(s)
    faulty = {}
    for name, (handler, _, _) in FEED_FAULTS.items():
        s = server()
        s.raw("/feed", handler)
        faulty[name] = s
    shorter = server()  # a Content-Length shorter than the body: the feed is cut short, and what parses is salvaged
    shorter.raw("/feed", content_length_lie(FEED, -len(FEED) // 2))
    pages = server()
    items = [{"title": f"broken page {path}", "link": pages.url(path), "guid": f"page{path}"} for path in PAGE_FAULTS]
    items.append(
        {"title": "own summary", "link": pages.url("/reset"), "guid": "with-summary", "description": long_text("own")}
    )
    pages.route("/feed", Reply(200, rss(items, title="pages"), {"content-type": RSS_TYPE}))
    for path, (handler, _) in PAGE_FAULTS.items():
        pages.raw(path, handler)

    schemes = server()  # entry links that must never be followed; feeds behind credentials that must never be written
    items = [{"title": f"link {i}", "link": link, "guid": f"scheme-{i}"} for i, link in enumerate(FORBIDDEN_LINKS)]
    items.append(
        {
            "title": "file link with text",
            "link": "file:///etc/passwd",
            "guid": "scheme-text",
            "description": long_text("sch"),
        }
    )
    schemes.route("/feed", Reply(200, rss(items, title="schemes"), {"content-type": RSS_TYPE}))
    schemes.raw("/storm", FAULTS["storm_503"])
    with_credentials = [
        schemes.url("/feed").replace("://", f"://reader:{PASSWORD}@"),
        schemes.url("/storm").replace("://", f"://reader:{PASSWORD}@"),
    ]

    out = tmp_path_factory.mktemp("faults") / "out"
    feeds = [s.url("/feed") for s in (*healthy, *faulty.values(), shorter, pages)] + with_credentials
    argv = [arg for url in feeds for arg in ("--feed", url)]
    result = run_feeds(out, *argv, *FAST, "--fetch-threads", "32")
    yield {
        "out": out,
        "result": result,
        "healthy": healthy,
        "faulty": faulty,
        "shorter": shorter,
        "pages": pages,
        "argv": argv,
        "schemes": schemes,
    }
    for s in servers:
        s.close()


def query(out: Path, sql: str) -> list[tuple]:
    return duckdb.sql(
        sql.replace("ARTICLES", f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)").replace(
            "REJECTS", f"read_parquet('{out}/rejects/*/*.parquet', hive_partitioning=true)"
        )
    ).fetchall()


@pytest.mark.parametrize("name", FEED_FAULTS)
def test_faulty_feed_is_rejected_with_its_reason(fault_run, name):
    url = fault_run["faulty"][name].url("/feed")
    rows = query(fault_run["out"], f"SELECT stage, reason, detail FROM REJECTS WHERE source_uri = '{url}'")
    _, stage, reason = FEED_FAULTS[name]
    assert [(r[0], r[1]) for r in rows] == [(stage, reason)], rows
    assert rows[0][2]  # a detail that says what happened


def test_healthy_feeds_are_unaffected(fault_run):
    for s in fault_run["healthy"]:
        rows = query(
            fault_run["out"],
            f"SELECT title, text_source FROM ARTICLES WHERE source_uri = '{s.url('/feed')}' ORDER BY 1",
        )
        assert [r[1] for r in rows] == ["page"] * 3, rows
        assert len(s.requests_to("/feed")) == 1


def test_page_faults_are_rejects_whose_reason_is_the_fault(fault_run):
    pages = fault_run["pages"]
    rows = query(
        fault_run["out"],
        "SELECT source_uri, detail, reason, page_url, attempt FROM REJECTS"
        f" WHERE stage = 'fetch' AND attempt = 1 AND source_uri LIKE '{pages.url('/feed')}#entry=%'",
    )
    assert len(rows) == len(PAGE_FAULTS) and all(uri.startswith(pages.url("/feed") + "#entry=") for uri, *_ in rows)
    for path, (_, named) in PAGE_FAULTS.items():
        ((detail, reason, attempt),) = [(d, r, a) for _, d, r, page, a in rows if page == pages.url(path)]
        assert named in detail, (path, detail)
        assert reason == named.lower().replace("http ", "http_") and attempt == 1, (path, reason)
    fallback = query(
        fault_run["out"], "SELECT text_source FROM ARTICLES WHERE entry_id IS NOT NULL AND title = 'own summary'"
    )
    assert fallback == [("feed_summary",)]


def test_a_short_content_length_is_salvaged_or_rejected_never_lost(fault_run):
    url = fault_run["shorter"].url("/feed")
    articles = query(fault_run["out"], f"SELECT count(*) FROM ARTICLES WHERE source_uri = '{url}'")[0][0]
    rejects = query(fault_run["out"], f"SELECT stage, reason FROM REJECTS WHERE source_uri LIKE '{url}%'")
    assert 0 < articles < 30 or rejects == [("parse", "not_a_feed")]
    state = json.loads((fault_run["out"] / "_state" / "feeds.json").read_text())
    entry = next(v for v in _feed_states(state) if v["feed_url"] == url)
    assert entry["last_bozo"] or rejects


def _feed_states(state) -> list[dict]:
    values = state.get("feeds", state) if isinstance(state, dict) else state
    return list(values.values()) if isinstance(values, dict) else list(values)


def test_failed_feeds_back_off_and_the_summary_reconciles(fault_run):
    stdout = fault_run["result"].stdout
    assert "reconciled        yes" in stdout
    assert f"failed: {len(FEED_FAULTS) + 1}" in stdout  # + the 503 behind credentials
    states = {
        s["feed_url"]: s for s in _feed_states(json.loads((fault_run["out"] / "_state" / "feeds.json").read_text()))
    }
    for name, s in fault_run["faulty"].items():
        state = states[s.url("/feed")]
        assert state["failures"] == 1 and state["next_attempt_at"], (name, state)
    assert states[fault_run["faulty"]["storm_503"].url("/feed")]["last_status"] == 503


def test_a_rerun_retries_nothing_early_and_writes_nothing_twice(fault_run):
    """Failed feeds back off (not polled again at once); healthy ones are polled,
    and their articles are already ingested."""
    out = fault_run["out"]
    before = query(out, "SELECT count(*) FROM ARTICLES")[0][0]
    result = run_feeds(out, *fault_run["argv"], *FAST)
    assert query(out, "SELECT count(*) FROM ARTICLES")[0][0] == before
    assert (
        query(out, "SELECT count(*), count(DISTINCT reject_id) FROM REJECTS")[0]
        == query(out, "SELECT count(*), count(*) FROM REJECTS")[0]
    )
    for s in fault_run["faulty"].values():
        assert len(s.requests_to("/feed")) == 1
    assert "reconciled        yes" in result.stdout


def test_only_http_links_are_followed(fault_run):
    schemes = fault_run["schemes"]
    feed = schemes.url("/feed").replace("://", "://***@")
    rows = query(
        fault_run["out"],
        f"SELECT detail FROM REJECTS WHERE source_uri LIKE '{feed}#entry=%' AND reason = 'no_link' AND attempt = 1",
    )
    assert len(rows) == len(FORBIDDEN_LINKS) and all("the entry has no link" in d for (d,) in rows), rows
    assert query(fault_run["out"], f"SELECT url, text_source FROM ARTICLES WHERE source_uri = '{feed}'") == [
        (None, "feed_summary")
    ]
    assert {r.path for r in schemes.requests} == {"/feed", "/storm"}  # and never /etc/passwd, ftp or gopher


def test_credentials_in_urls_reach_no_row_and_no_log(fault_run):
    out, result = fault_run["out"], fault_run["result"]
    storm = fault_run["schemes"].url("/storm").replace("://", "://***@")
    assert query(out, f"SELECT stage, reason FROM REJECTS WHERE source_uri = '{storm}'") == [("fetch", "http_503")]
    rows = query(out, "SELECT concat_ws('|', source_uri, detail) FROM REJECTS") + query(
        out, "SELECT concat_ws('|', source_uri, url) FROM ARTICLES"
    )
    assert not [r for (r,) in rows if PASSWORD in r]
    assert PASSWORD not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory):
    """Without --allow-private-network: loopback feeds (a credentials URL among them) are refused before any request."""
    with LoopbackServer() as s:
        s.route("/feed", Reply(200, feed_body("guarded"), {"content-type": RSS_TYPE}))
        port = s.base_url.rsplit(":", 1)[1]
        feeds = [s.url("/feed"), f"http://reader:{PASSWORD}@localhost:{port}/feed", f"http://[::1]:{port}/feed"]
        out = tmp_path_factory.mktemp("guarded") / "out"
        result = run_feeds(out, *[a for url in feeds for a in ("--feed", url)], *FAST, private_ok=False)
        yield {"out": out, "result": result, "requests": list(s.requests), "port": port}


def test_private_destinations_are_refused_without_the_flag(guarded_run):
    rows = query(guarded_run["out"], "SELECT source_uri, stage, reason, detail FROM REJECTS ORDER BY 1")
    assert [(r[1], r[2]) for r in rows] == [("fetch", "private_address")] * 3
    assert guarded_run["requests"] == []
    assert (
        not [r for r in rows if PASSWORD in r[0] + r[3]]
        and PASSWORD not in guarded_run["result"].stdout + guarded_run["result"].stderr
    )
