"""The whole-response deadline, end to end: feeds, pages and robots.txt that drip their headers or body.

Each server drips a byte every 0.1 s (far within the read timeout, 5 s here), so only the total
timeout (1 s) can cut it. The servers record when the client hung up; every hang-up must come
within a small multiple of the total timeout, and the run must still write the healthy feed and
account for every faulty one. Bounds come from the configured timeouts, not fixed seconds.
"""

from __future__ import annotations

import time

import duckdb

from tests.e2e.test_feeds import HTML_TYPE, RSS_TYPE, article_page, long_text, rss, run_feeds
from tests.fault_server import body_drip, header_drip
from tests.http_server import LoopbackServer, Reply

READ_TIMEOUT, TOTAL_TIMEOUT = 5.0, 1.0
TIMEOUTS = ("--http-timeout", str(READ_TIMEOUT), "--http-total-timeout", str(TOTAL_TIMEOUT))
DRIP_EVERY = 0.1


def _items(server: LoopbackServer, name: str, paths: list[str], own_text: bool = False) -> bytes:
    return rss(
        [
            {
                "title": f"{name} {path}",
                "link": server.url(path),
                "guid": f"{name}{path}",
                **({"description": long_text(name + path)} if own_text else {}),
            }
            for path in paths
        ],
        title=name,
    )


def test_dripping_feeds_pages_and_robots_txt_are_cut_at_the_total_timeout(tmp_path):
    hang_ups: dict[str, list[float]] = {"feed head": [], "feed body": [], "page head": [], "robots head": []}
    with (
        LoopbackServer() as healthy,
        LoopbackServer() as feed_head,
        LoopbackServer() as feed_body,
        LoopbackServer() as pages,
        LoopbackServer() as robots,
    ):
        healthy.route("/feed", Reply(200, _items(healthy, "healthy", ["/story"]), {"content-type": RSS_TYPE}))
        healthy.route("/story", Reply(200, article_page("healthy story", seed="ok"), {"content-type": HTML_TYPE}))
        feed_head.raw("/feed", header_drip(b"<rss/>" * 50, DRIP_EVERY, hang_ups["feed head"]))
        feed_body.raw("/feed", body_drip(b"<rss/>" * 50, DRIP_EVERY, hang_ups["feed body"]))
        pages.route("/feed", Reply(200, _items(pages, "pages", ["/slow"]), {"content-type": RSS_TYPE}))
        pages.raw("/slow", header_drip(article_page("slow page"), DRIP_EVERY, hang_ups["page head"]))
        robots.route(
            "/feed", Reply(200, _items(robots, "robots", ["/held"], own_text=True), {"content-type": RSS_TYPE})
        )
        robots.raw("/robots.txt", header_drip(b"User-agent: *\nAllow: /\n", DRIP_EVERY, hang_ups["robots head"]))
        robots.route("/held", Reply(200, article_page("never fetched"), {"content-type": HTML_TYPE}))
        feeds = [s.url("/feed") for s in (healthy, feed_head, feed_body, pages, robots)]
        out = tmp_path / "out"
        result = run_feeds(out, *TIMEOUTS, *(arg for url in feeds for arg in ("--feed", url)))
        wait_until = time.monotonic() + TOTAL_TIMEOUT * 2
        while not all(hang_ups.values()) and time.monotonic() < wait_until:
            time.sleep(0.05)
        assert not robots.requests_to("/held")  # robots.txt never answered: the page is not fetched
    for what, seconds in hang_ups.items():
        assert seconds and seconds[0] < TOTAL_TIMEOUT * 2, f"{what}: hung up after {seconds} s"
    assert "reconciled        yes" in result.stdout
    rejects = duckdb.sql(
        f"SELECT source_uri, stage, reason, detail FROM read_parquet('{out}/rejects/*/*.parquet') ORDER BY 1"
    ).fetchall()
    by_uri = {uri: (stage, reason, detail) for uri, stage, reason, detail in rejects}
    assert by_uri[feed_head.url("/feed")][:2] == ("fetch", "timeout")
    assert by_uri[feed_body.url("/feed")][:2] == ("fetch", "timeout")
    page_reject = next(v for k, v in by_uri.items() if k.startswith(pages.url("/feed")))
    assert page_reject[1] == "timeout"  # the entry's reject names the page's real cause
    titles = duckdb.sql(
        f"SELECT title, text_source FROM read_parquet('{out}/articles/*/*.parquet') ORDER BY 1"
    ).fetchall()
    assert [t for t, _ in titles] == ["healthy /story", "robots /held"]
    assert dict(titles)["robots /held"].startswith("feed_")  # its own text, since robots.txt timed out
