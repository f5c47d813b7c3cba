"""--cc-news month specs and the warc.paths.gz listing."""

from __future__ import annotations

import gzip

import pytest

from transforms.sources.warc.cc_news import DEFAULT_BASE, cc_news_paths, listing_url, parse_months


def test_months():
    assert parse_months("2024/03") == [(2024, 3)]
    assert parse_months("2024-03") == [(2024, 3)]
    assert parse_months("2023/11-2024/02") == [(2023, 11), (2023, 12), (2024, 1), (2024, 2)]
    assert parse_months("2023/11..2023/12") == [(2023, 11), (2023, 12)]


@pytest.mark.parametrize("spec", ["2024", "2024/13", "2024/03-2023/01", "March 2024", "2024/03-2024/04-2024/05"])
def test_bad_months_raise(spec):
    with pytest.raises(ValueError, match="--cc-news"):
        parse_months(spec)


def test_paths_are_the_listing_lines_under_the_base():
    listings = {
        listing_url("s3://commoncrawl/", 2024, 1): gzip.compress(b"crawl-data/CC-NEWS/2024/01/a.warc.gz\n\n"),
        listing_url(
            "s3://commoncrawl/", 2024, 2
        ): b"crawl-data/CC-NEWS/2024/02/b.warc.gz\ncrawl-data/CC-NEWS/2024/02/c.warc.gz\n",
    }
    assert cc_news_paths("2024/01-2024/02", "s3://commoncrawl", listings.__getitem__) == [
        "s3://commoncrawl/crawl-data/CC-NEWS/2024/01/a.warc.gz",
        "s3://commoncrawl/crawl-data/CC-NEWS/2024/02/b.warc.gz",
        "s3://commoncrawl/crawl-data/CC-NEWS/2024/02/c.warc.gz",
    ]
    assert listing_url(DEFAULT_BASE, 2024, 3) == "https://data.commoncrawl.org/crawl-data/CC-NEWS/2024/03/warc.paths.gz"
