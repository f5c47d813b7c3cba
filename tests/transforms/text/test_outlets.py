"""The outlet rule: the site name the page or item declares (never a feed's title), else the URL's host."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.text.outlets import LOCAL_FILES, OUTLET_MACRO, outlet, site_name, web_host

CASES = [
    ("Example Wire", "https://agg.example.com/a", "Example Wire"),
    (None, "https://WWW.News.Example.org:8443/2024/a.html?x=1#top", "news.example.org"),
    ("", "http://user:secret@feeds.example.net/a", "feeds.example.net"),
    ("  ", "http://[::1]:8080/a", "::1"),
    (None, "http://127.0.0.1:5000/n/1.html", "127.0.0.1"),
    (None, None, LOCAL_FILES),
    (None, "/data/seeds/records.jsonl#line=3", LOCAL_FILES),
    (None, "file:///data/a.html", LOCAL_FILES),
    (None, "http://", LOCAL_FILES),
    ("Новости", "https://новости.example/a", "Новости"),
    (None, "https://xn--e1afmkfd.example/a", "xn--e1afmkfd.example"),
]


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(OUTLET_MACRO)
    return connection


@pytest.mark.parametrize(("source", "url", "expected"), CASES)
def test_outlet_is_the_site_name_else_the_host_else_local_files(con, source, url, expected):
    assert outlet(source, url) == expected
    assert con.execute("SELECT outlet(?, ?)", [source, url]).fetchall()[0][0] == expected  # the SQL form agrees


HOSTS = st.from_regex(r"(www\.)?[a-zA-Z0-9][a-zA-Z0-9-]{0,20}(\.[a-zA-Z]{2,6}){1,2}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", "ftp", "file", ""]),
    userinfo=st.sampled_from(["", "u@", "u:p@"]),
    host=HOSTS,
    port=st.sampled_from(["", ":80", ":8443"]),
    rest=st.sampled_from(["", "/", "/a/b.html", "?q=1", "#f", "/a:b@c"]),
    source=st.one_of(st.none(), st.sampled_from(["", " ", "BBC News", "  Le Monde  "])),
)
def test_python_and_sql_agree(con, scheme, userinfo, host, port, rest, source):
    url = f"{scheme}://{userinfo}{host}{port}{rest}" if scheme else f"{host}{rest}"
    assert con.execute("SELECT outlet(?, ?)", [source, url]).fetchall()[0][0] == outlet(source, url)


def test_site_name_prefers_the_page_and_never_takes_the_feed_title():
    assert site_name("Le Monde", "Aggregator Daily", feed_title="Aggregator Daily") == "Le Monde"
    assert site_name(None, "Aggregator Daily", feed_title="Aggregator Daily") is None  # the URL's host will tell
    assert site_name(None, "Example Wire", feed_title="Aggregator Daily") == "Example Wire"  # the item's <source>
    assert site_name(None, "Example News") == "Example News"  # a JSON Lines record's or sitemap's own name
    assert site_name("  ", None) is None
    assert site_name("example.com", "The Example Times", page_url="https://www.example.com/a") == "The Example Times"
    assert site_name("example.com", None, page_url="https://www.example.com/a") == "example.com"
    assert site_name("127.0.0.1:8080", "Loopback Daily", page_url="http://127.0.0.1:8080/a") == "Loopback Daily"
    assert site_name("www.Example.com", None, page_url="https://www.example.com/a") == "example.com"
    assert site_name("127.0.0.1:8080", "Feed", "Feed", page_url="http://127.0.0.1:8080/a") == "127.0.0.1"


def test_web_host():
    assert web_host("https://www.example.org/a") == "example.org"
    assert web_host("mailto:a@example.org") is None and web_host("http://[bad") is None
