"""Tests for transforms.normalise.urls: canonical article URLs."""

from __future__ import annotations

import pytest

from transforms.normalise.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/a/b?utm_source=x&utm_campaign=y", "https://example.com/a/b"),
        ("https://example.com/a?b=2&a=1#frag", "https://example.com/a?a=1&b=2"),
        ("http://example.com:80/story", "http://example.com/story"),
        ("https://example.com/news/story", "https://example.com/news/story"),
    ],
)
def test_canonical_url_normalises(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.pl/here.pl?r123", "http://example.pl/here.pl?r123"),
        ("https://example.com/article.php?12345", "https://example.com/article.php?12345"),
        ("https://example.com/a?b=1&utm_source=x&flag", "https://example.com/a?b=1&flag"),
        ("https://example.com?12345", "https://example.com/?12345"),
        ("https://example.com/a?utm_source", "https://example.com/a"),
    ],
)
def test_valueless_query_parameters_that_identify_articles_survive_normalisation(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "ftp://example.com/story",
        "mailto:desk@example.com",
        "not a url",
        "https://",
        "example.com/story",
        "javascript:alert(1)",
    ],
)
def test_canonical_url_rejects_garbage(url):
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://www.theguardian.com/artanddesign/gallery/2024/mar/05/photography-awards-shortlist",
            "https://www.theguardian.com/artanddesign/gallery/2024/mar/05/photography-awards-shortlist",
            id="gallery-path",
        ),
        pytest.param("HTTPS://example.com/news/story", "https://example.com/news/story", id="upper-case-scheme"),
    ],
)
def test_canonical_url_keeps_valid_article_urls(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_rejects_host_with_space():
    assert canonical_url("https://exa mple.com/story") is None
