"""Archive filters: host suffixes, time bounds, languages, and the --site value forms."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.builders import article, day
from transforms.sources.archive_filters import (
    FETCH_DATE,
    LANGUAGE,
    PUBLISHED,
    SITE,
    ArchiveFilters,
    expand_site_values,
    parse_languages,
    parse_time_bound,
    site_origin,
    site_suffix,
)

UTC = dt.UTC


def test_host_suffixes_keep_subdomains_only():
    filters = ArchiveFilters(sites=("bbc.co.uk", "lemonde.fr"))
    assert filters.site_allowed("https://www.bbc.co.uk/news/1")
    assert filters.site_allowed("http://BBC.CO.UK./x")
    assert filters.site_allowed("https://lemonde.fr/")
    assert not filters.site_allowed("https://notbbc.co.uk/x")
    assert not filters.site_allowed("https://bbc.co.uk.evil.example/x")
    assert not filters.site_allowed(None) and not filters.site_allowed("not a url")
    assert ArchiveFilters().site_allowed(None)


def test_records_are_judged_on_site_then_fetch_date():
    filters = ArchiveFilters(sites=("a.example",), since=dt.datetime(2024, 3, 1, tzinfo=UTC))
    assert filters.record_problem("https://b.example/", None) == SITE
    assert filters.record_problem("https://a.example/", dt.datetime(2024, 2, 29, tzinfo=UTC)) == FETCH_DATE
    assert filters.record_problem("https://a.example/", None) is None  # an unknown time can't be judged


def test_articles_are_judged_on_language_then_publication_date():
    filters = ArchiveFilters(languages=("ru", "uk"), until=day(10))
    ru = article("ru", language="ru", published=day(3))
    assert filters.article_problem(ru) is None
    assert filters.article_problem(dataclasses.replace(ru, language="en")) == LANGUAGE
    assert filters.article_problem(dataclasses.replace(ru, language=None)) == LANGUAGE
    assert filters.article_problem(dataclasses.replace(ru, published_at=day(10))) == PUBLISHED
    assert filters.article_problem(dataclasses.replace(ru, published_at=None)) is None


def test_time_bounds():
    assert parse_time_bound("2024-03-31") == dt.datetime(2024, 3, 31, tzinfo=UTC)
    assert parse_time_bound("2024-03-31", end=True) == dt.datetime(2024, 4, 1, tzinfo=UTC)
    assert parse_time_bound("2024-03-31T12:00:00+02:00") == dt.datetime(2024, 3, 31, 10, tzinfo=UTC)
    assert parse_time_bound("2024-03-31T12:00") == dt.datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert parse_time_bound(None) is None
    with pytest.raises(ValueError, match="not a date"):
        parse_time_bound("March")


def test_site_values_files_and_urls(tmp_path):
    listing = tmp_path / "sites.txt"
    listing.write_text("# newsrooms\nbbc.co.uk\nlemonde.fr, elpais.com  # Spain\n\n")
    values = expand_site_values(
        ["nhk.or.jp,asahi.com", str(listing), "https://www.spiegel.de/"], lambda p: open(p).read()
    )
    assert values == ["nhk.or.jp", "asahi.com", "bbc.co.uk", "lemonde.fr", "elpais.com", "https://www.spiegel.de/"]
    assert [site_suffix(v) for v in values][-1] == "www.spiegel.de"
    assert site_suffix(".BBC.co.uk") == "bbc.co.uk" and site_suffix("127.0.0.1:8080") == "127.0.0.1"
    assert site_origin("bbc.co.uk") == "https://bbc.co.uk"
    assert site_origin("http://127.0.0.1:8080/news/") == "http://127.0.0.1:8080"


def test_languages():
    assert parse_languages(["ru,UK", " ja ", "ru"]) == ("ru", "uk", "ja")
