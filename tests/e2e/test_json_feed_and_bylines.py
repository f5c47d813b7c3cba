"""End to end: JSON Feed 1.0/1.1 and real-shaped feed bylines over a loopback server, the CLI as a subprocess."""

from __future__ import annotations

import datetime as dt
import json

from tests.e2e.test_feeds import HTML_TYPE, RSS_TYPE, article_page, articles, feed_reply, long_text, rejects, run_feeds
from tests.http_server import Reply
from tests.http_server import loopback_server as loopback_server_fixture  # noqa: F401 (registers the fixture)

UTC = dt.UTC


def json_feed_11(server) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Loopback Fireball",
            "home_page_url": server.url("/"),
            "authors": [{"name": "Feed Owner"}],
            "items": [
                {
                    "id": server.url("/j/1"),
                    "url": server.url("/j/1"),
                    "title": "JSON item with a page",
                    "content_html": f"<p>{long_text('json one')}</p>",
                    "date_published": "2025-06-03T10:00:00-05:00",
                    "authors": [{"name": "Jane Roe", "url": "https://example.org/jane"}],
                },
                {
                    "id": "2",
                    "external_url": server.url("/j/2"),
                    "title": "Linked item",
                    "content_text": long_text("json two"),
                    "date_published": "2025-06-04",
                },
                {"id": "3", "title": "Item without a link", "summary": long_text("json three")},
            ],
        }
    ).encode()


def json_feed_10(server) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Loopback One Oh",
            "author": {"name": "Old Author"},
            "items": [{"id": "a", "url": server.url("/j/10"), "content_text": long_text("json ten"), "title": "Ten"}],
        }
    ).encode()


def test_json_feeds_are_read_by_content_with_rss_identity_and_accounting(loopback_server, tmp_path):
    server = loopback_server
    for path in ("/j/1", "/j/2", "/j/10"):
        server.route(path, Reply(200, article_page(f"Page {path}", seed=path), {"Content-Type": HTML_TYPE}))
    # Served as plain application/json at suffix-less paths: only the content says it is a feed.
    server.route("/feed", feed_reply(json_feed_11(server), "application/json"))
    server.route("/old", feed_reply(json_feed_10(server), "application/json; charset=utf-8"))
    server.route("/not-a-feed", feed_reply(b'{"items": [{"title": "an API answer"}]}', "application/json"))
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/feed"), "--feed", server.url("/old"), "--feed", server.url("/not-a-feed"))

    rows = {row["title"]: row for row in articles(out)}
    assert set(rows) == {"JSON item with a page", "Linked item", "Item without a link", "Ten"}
    assert rows["JSON item with a page"]["authors"] == ["Jane Roe"]
    assert rows["JSON item with a page"]["published_at"] == dt.datetime(2025, 6, 3, 15, 0, tzinfo=UTC)
    with_page = rows["JSON item with a page"]
    assert (with_page["date_source"], with_page["published_precision"]) == ("feed", "second")
    assert rows["Linked item"]["authors"] == ["Feed Owner"]  # the feed's authors are inherited
    assert rows["Linked item"]["published_precision"] == "day"
    assert rows["Item without a link"]["text_source"] == "feed_summary"
    assert rows["Ten"]["authors"] == ["Old Author"]  # JSON Feed 1.0 "author"
    # the feed's title names the feed, not the outlet: a page's host (no site name declared), else nothing
    assert {row["source"] for row in rows.values()} <= {"127.0.0.1", None}
    assert rows["JSON item with a page"]["source"] == "127.0.0.1"
    assert [(r["reason"], r["source_uri"]) for r in rejects(out)] == [("not_a_feed", server.url("/not-a-feed"))]

    run_feeds(out, "--feed", server.url("/feed"), "--feed", server.url("/old"), "--reset-feeds")
    assert len(articles(out)) == 4  # the same entries: already ingested, nothing doubled


def test_entry_title_not_an_author_job_title_and_address_bylines_parsed(loopback_server, tmp_path):
    server = loopback_server
    server.route("/p/1", Reply(200, article_page("Quarterly platform update", seed="p1"), {"Content-Type": HTML_TYPE}))
    byline_page = article_page("Harbour works begin", seed="p2").replace(
        b"<head>", b"<head><meta name='author' content='Maria Lopez'>"
    )
    server.route("/p/2", Reply(200, byline_page, {"Content-Type": HTML_TYPE}))
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:og="http://ogp.me/ns#"><channel>
<title>Corporate Engineering Blog</title><link>{server.url("/")}</link>
<item><title>Quarterly platform update</title><link>{server.url("/p/1")}</link><guid>{server.url("/p/1")}</guid>
 <og><title>Quarterly platform update | Corp</title><type>article</type></og>
 <atom:author><atom:name>Ann Lee</atom:name><atom:title>Engineering Director</atom:title></atom:author>
 <author>ann.lee@corp.example (Ann Lee)</author>
 <description>{long_text("feed one")}</description></item>
<item><title>Harbour works begin</title><link>{server.url("/p/2")}</link><guid>{server.url("/p/2")}</guid>
 <author>desk@gazette.example</author><description>{long_text("feed two")}</description></item>
</channel></rss>""".encode()
    server.route("/feed.xml", feed_reply(body, RSS_TYPE))
    out = tmp_path / "out"

    run_feeds(out, "--feed", server.url("/feed.xml"))

    rows = {row["url"].rsplit("/", 1)[-1]: row for row in articles(out)}
    assert rows["1"]["title"] == "Quarterly platform update"
    assert rows["1"]["authors"] == ["Ann Lee"]
    assert rows["2"]["authors"] == ["Maria Lopez"]  # an address is no name: the page byline wins


def test_json_feed_items_that_are_not_objects_are_each_a_reject(loopback_server, tmp_path):
    server = loopback_server
    feed = json.loads(json_feed_11(server))
    feed["items"] = ["a string", *feed["items"][1:], None, 42]  # 2 entries with text + 3 items that are no entry
    server.route("/j/2", Reply(200, article_page("Page /j/2", seed="/j/2"), {"Content-Type": HTML_TYPE}))
    server.route("/feed", feed_reply(json.dumps(feed).encode(), "application/feed+json"))
    out = tmp_path / "out"

    result = run_feeds(out, "--feed", server.url("/feed"))

    assert len(articles(out)) == 2
    refused = sorted((r["reason"], r["source_uri"], r["detail"]) for r in rejects(out))
    assert [(reason, uri.rsplit("#", 1)[1]) for reason, uri, _ in refused] == [
        ("not_a_feed_item", "item=0"),
        ("not_a_feed_item", "item=3"),
        ("not_a_feed_item", "item=4"),
    ]
    assert {detail.split(" is ")[1] for *_, detail in refused} == {
        'a string ("a string"), not an object',
        "null, not an object",
        "a number (42), not an object",
    }
    assert "feed entries    5 = 2 articles + 0 seen before + 3 rejected" in result.stdout
    assert "reconciled        yes" in result.stdout
