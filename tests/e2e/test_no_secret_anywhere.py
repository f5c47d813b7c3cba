"""Credentials in URLs (``http://user:secret@…``) reach no column of any table, no report and no log.

A feed configured with credentials lists a page whose canonical link and og:url carry other
credentials, and a saved page's canonical link has some too; the run, ``report`` and ``stories``
are run as a user would, then every Parquet table is read back with DuckDB and every text
searched for the secrets.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli
from tests.e2e.test_feeds import HTML_TYPE, article_page, feed_reply, rss, run_feeds
from tests.http_server import Reply
from tests.http_server import loopback_server as loopback_server_fixture  # noqa: F401 (registers the fixture)

pytestmark = pytest.mark.e2e
SECRETS = ("feedsecret", "pagesecret", "ogsecret")


def _with_credentials(url: str, user: str, secret: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{secret}@{rest}"


def _every_text_of_every_table(out: Path) -> str:
    texts = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = [str(f) for f in folder.rglob("*.parquet")]
        if files:
            relation = duckdb.sql(f"SELECT * FROM read_parquet({files!r}, union_by_name = true)")
            texts += [repr(row) for row in relation.fetchall()]
    return "\n".join(texts)


def test_credentials_in_a_canonical_url_an_og_url_and_a_feed_url_reach_no_table_report_or_log(
    loopback_server, tmp_path
):
    server = loopback_server
    page = article_page("Harbour cranes idle as dock workers strike", seed="harbour").decode()
    canonical = _with_credentials(server.url("/story?id=1"), "editor", "pagesecret")
    og = _with_credentials(server.url("/og-story"), "editor", "ogsecret")
    page = page.replace(
        "</head>", f'<link rel="canonical" href="{canonical}"><meta property="og:url" content="{og}"></head>'
    )
    server.route("/story", Reply(200, page.encode(), {"Content-Type": HTML_TYPE}))
    server.route("/missing", Reply(404, b"gone", {"Content-Type": "text/plain"}))
    items = [
        {"title": "Harbour cranes idle", "link": server.url("/story"), "guid": "1"},
        {"title": "Missing page", "link": _with_credentials(server.url("/missing"), "u", "pagesecret"), "guid": "2"},
    ]
    server.route("/feed", feed_reply(rss(items)))
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "saved.html").write_text(  # a saved page: its outlet comes from the page, not from a feed
        article_page("Ferry timetable cut for winter", seed="ferry")
        .decode()
        .replace("</head>", '<link rel="canonical" href="https://desk:pagesecret@ferries.example.org/cut"></head>')
    )
    out = tmp_path / "out"

    feed = _with_credentials(server.url("/feed"), "reader", "feedsecret")
    run = run_feeds(out, "--feed", feed, "--input", str(inputs), check=False)
    report = run_cli("report", "--output", str(out))
    stories = run_cli("stories", "--output", str(out))

    tables = _every_text_of_every_table(out)
    assert (
        "harbour" in tables.lower() and "ferry" in tables.lower()
    )  # both articles written: the search below searched something
    texts = {
        "tables": tables,
        "report.html": (out / "report.html").read_text(),
        "stories": stories.stdout,
        "logs": run.stdout + run.stderr + report.stdout + report.stderr + stories.stderr,
    }
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {where}"
