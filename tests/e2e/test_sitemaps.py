"""End to end: a loopback news site's sitemaps through ``python -m pipeline run``.

robots.txt names a sitemap index; the index lists a gzipped Google News sitemap, a plain sitemap
and a child that answers 404. The first run fetches every page; the second fetches no page again;
a third, after the plain sitemap gained an entry, fetches only that page.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from tests.conftest import run_cli
from tests.sitemap_site import NEWS, PLAIN, page_requests, serve_site


def run(out: Path, *args: str):
    return run_cli(
        "run",
        "--output",
        str(out),
        "--catalog",
        "",
        "--host-delay",
        "0",
        "--allow-private-network",
        "--min-words",
        "20",
        *args,
    )


def latest_summary(out: Path) -> dict:
    return json.loads(max(out.glob("_runs/*.summary.json"), key=lambda p: p.stat().st_mtime_ns).read_text())


def table(out: Path, name: str) -> list[dict]:
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{out}/{name}/*/*.parquet', hive_partitioning=true)")
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def test_discovered_sitemaps_are_read_once_and_later_runs_fetch_only_new_pages(loopback_server, tmp_path):
    serve_site(loopback_server)
    out = tmp_path / "out"
    base = loopback_server.base_url

    run(out, "--site", base)
    first = latest_summary(out)
    assert first["reconciled"], first["mismatches"]
    assert sorted(page_requests(loopback_server)) == sorted([p for p, *_ in NEWS] + [p for p, _ in PLAIN])
    sitemaps = first["sources"]["sitemaps"]
    assert (sitemaps["inputs"], sitemaps["articles_extracted"], sitemaps["failed"]) == (5, 5, 1)
    articles = {a["url"]: a for a in table(out, "articles")}
    tokyo = articles[f"{base}/news/tokyo-library.html"]
    assert tokyo["title"] == "東京で新しい図書館が開館" and tokyo["date_source"] == "sitemap"
    assert tokyo["published_at"] == dt.datetime(2024, 3, 4, 0, 0, tzinfo=dt.UTC)
    assert tokyo["source"] == "Loopback Daily" and tokyo["source_uri"] == f"{base}/sitemaps/news.xml.gz"
    (gone,) = table(out, "rejects")
    assert gone["reason"] == "http_404" and gone["source_uri"].endswith("/sitemaps/gone.xml")
    state = json.loads((out / "_state" / "sitemaps.json").read_text())["sitemaps"]
    assert set(state[f"{base}/sitemaps/pages.xml"]["pages"]) == {base + p for p, _ in PLAIN}

    fetched_before = len(page_requests(loopback_server))
    sitemap_requests_before = len(loopback_server.requests_to("/sitemaps/news.xml.gz"))
    run(out, "--site", base)
    second = latest_summary(out)
    assert second["reconciled"], second["mismatches"]
    assert len(page_requests(loopback_server)) == fetched_before  # no page again
    assert len(loopback_server.requests_to("/sitemaps/news.xml.gz")) == sitemap_requests_before  # lastmod unchanged
    assert second["counters"]["sitemaps.sitemaps_unchanged"] == 2 and second["articles"] == 0

    serve_site(loopback_server, PLAIN + [("/features/new-bridge.html", "2024-03-06")], plain_lastmod="2024-03-06")
    run(out, "--site", base)
    third = latest_summary(out)
    assert third["reconciled"], third["mismatches"]
    assert page_requests(loopback_server)[fetched_before:] == ["/features/new-bridge.html"]
    assert third["sources"]["sitemaps"]["already_seen"] == len(PLAIN) and third["articles"] == 1


def test_a_sitemap_given_directly_with_filters_fetches_only_the_wanted_pages(loopback_server, tmp_path):
    serve_site(loopback_server)
    out = tmp_path / "out"
    base = loopback_server.base_url
    # News dates in UTC: Tokyo 00:00, Kazan 04:30, Amman 06:00; the pages' own text is English.
    run(out, "--sitemap", f"{base}/sitemaps/news.xml.gz", "--since", "2024-03-04T05:00:00Z", "--language", "en")
    summary = latest_summary(out)
    assert summary["reconciled"], summary["mismatches"]
    assert summary["counters"]["sitemaps.filtered_fetch_date"] == 2
    assert page_requests(loopback_server) == ["/news/amman-library.html"]
    assert [(a["url"], a["language"]) for a in table(out, "articles")] == [(f"{base}/news/amman-library.html", "en")]
