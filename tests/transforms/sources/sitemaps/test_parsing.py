"""Sitemap bodies: indexes, urlsets with the Google News extension, gzip, plain text, junk."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest

from tests.sitemap_site import NEWS, index, news_sitemap, plain_sitemap
from transforms.sources.sitemaps.parsing import (
    INDEX,
    TEXT,
    URLSET,
    SitemapError,
    gunzip_capped,
    parse_sitemap,
    parse_w3c_datetime,
)

BASE = "https://site.example"


def test_an_index_lists_its_children_with_lastmod():
    parsed = parse_sitemap(index(BASE, "2024-02-21"), f"{BASE}/sitemap_index.xml")
    assert parsed.kind == INDEX and not parsed.entries
    assert [(c.url, c.lastmod) for c in parsed.children][1] == (f"{BASE}/sitemaps/pages.xml", "2024-02-21")


def test_a_gzipped_news_sitemap_gives_title_language_and_publication_date():
    parsed = parse_sitemap(gzip.compress(news_sitemap(BASE)), f"{BASE}/news.xml.gz")
    assert parsed.kind == URLSET
    assert [(e.url, e.title, e.language, e.published) for e in parsed.entries] == [
        (BASE + path, title, language, date) for path, title, language, date in NEWS
    ]
    tokyo = parsed.entries[0]
    assert tokyo.publication == "Loopback Daily" and tokyo.sitemap_url == f"{BASE}/news.xml.gz"
    assert tokyo.listed_at == dt.datetime(2024, 3, 4, 0, 0, tzinfo=dt.UTC) and tokyo.version == NEWS[0][3]


def test_a_plain_sitemap_gives_lastmod_as_the_version():
    (entry,) = parse_sitemap(plain_sitemap(BASE, [("/a.html", "2024-02-20")]), "u").entries
    assert (entry.url, entry.lastmod, entry.version, entry.title) == (
        f"{BASE}/a.html",
        "2024-02-20",
        "2024-02-20",
        None,
    )


def test_a_text_sitemap_lists_its_urls():
    parsed = parse_sitemap(b"\xef\xbb\xbfhttps://a.example/1\n\nnot a url\nhttp://a.example/2\n", "u")
    assert parsed.kind == TEXT and [e.url for e in parsed.entries] == ["https://a.example/1", "http://a.example/2"]


def test_entities_are_not_expanded():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.example/&e;</loc></url></urlset>'
    )
    entries = parse_sitemap(body, "u").entries
    assert all("root:" not in e.url for e in entries)


def test_broken_markup_is_salvaged_up_to_the_break():
    body = plain_sitemap(BASE, [("/a.html", "2024-02-20"), ("/b.html", "2024-02-21")])[:-30]
    assert [e.url for e in parse_sitemap(body, "u").entries][:1] == [f"{BASE}/a.html"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Not a sitemap</body></html>",
        b"\x1f\x8b\x08\x00garbage",
        b"plain words, no urls",
        b"<?xml version='1.0'?>",
    ],
)
def test_what_is_not_a_sitemap_raises(body):
    with pytest.raises(SitemapError):
        parse_sitemap(body, "u")


def test_gunzip_is_capped():
    with pytest.raises(SitemapError, match="more than 1000 bytes"):
        gunzip_capped(gzip.compress(b"x" * 5000), 1000)
    assert gunzip_capped(b"<urlset/>", 10) == b"<urlset/>"


def test_w3c_datetimes():
    assert parse_w3c_datetime("2024") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert parse_w3c_datetime("2024-03") == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert parse_w3c_datetime("2024-03-04T09:00:00+09:00") == dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    assert parse_w3c_datetime("2024-03-04T09:00Z") == dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)
    assert parse_w3c_datetime("last tuesday") is None and parse_w3c_datetime(None) is None
