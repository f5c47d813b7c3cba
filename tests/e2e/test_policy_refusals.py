"""A feed refused by policy (a loopback address without --allow-private-network) is not a failure.

The refusal is a rejects row and a summary line that name the flag; the feed does not back off,
so the rerun with ``--allow-private-network`` polls it at once and writes its articles.
"""

from __future__ import annotations

import json

from tests.e2e.test_feeds import articles, feed_reply, rejects, run_feeds, simple_rss, summary_figure
from tests.http_server import Reply


def test_a_loopback_feed_is_refused_with_the_way_out_then_polled_with_the_flag(loopback_server, tmp_path):
    body, _ = simple_rss(loopback_server, "policy")
    loopback_server.route("/feed.xml", feed_reply(body))
    out, url = tmp_path / "out", loopback_server.url("/feed.xml")

    refused = run_feeds(out, "--feed", url, private_ok=False)

    (reject,) = rejects(out)
    assert (reject["stage"], reject["reason"]) == ("fetch", "private_address")
    assert "--allow-private-network" in reject["detail"] and "not a failure" in reject["detail"]
    assert "--allow-private-network" in summary_figure(refused.stdout, "refused")
    assert summary_figure(refused.stdout, "feeds polled") == "1 (not modified: 0, failed: 0, refused: 1)"  # no failure
    (state,) = json.loads((out / "_state" / "feeds.json").read_text())["feeds"]
    assert state["next_attempt_at"] is None and state["failures"] == 0

    allowed = run_feeds(out, "--feed", url)

    assert summary_figure(allowed.stdout, "feeds polled") == "1 (not modified: 0, failed: 0, refused: 0)"
    assert len(articles(out)) == 2


def test_pages_refused_by_robots_txt_are_a_summary_line_not_a_failure(loopback_server, tmp_path):
    loopback_server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /\n", {"Content-Type": "text/plain"}))
    body, paths = simple_rss(loopback_server, "robots")
    loopback_server.route("/feed.xml", feed_reply(body))
    out = tmp_path / "out"

    result = run_feeds(out, "--feed", loopback_server.url("/feed.xml"))

    assert all(loopback_server.requests_to(path) == [] for path in paths)
    assert summary_figure(result.stdout, "refused").startswith(f"{len(paths)} pages: robots.txt")
    assert summary_figure(result.stdout, "feeds polled") == "1 (not modified: 0, failed: 0, refused: 0)"
