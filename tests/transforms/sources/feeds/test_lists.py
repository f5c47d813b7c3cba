"""Tests for transforms.sources.feeds.lists: plain feed lists, OPML exports, de-duplication, refusals."""

from __future__ import annotations

import pytest

from transforms.sources.feeds.lists import read_feed_list

PLAIN_LIST = """\ufeff# Newsroom feeds, one per line
https://example.com/world/rss.xml

http://example.org/feed   # trailing comment
   https://example.net/atom.xml
https://example.com/feed.xml#section-a
# https://commented-out.example.com/rss
https://example.com/world/rss.xml
"""

NESTED_OPML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!-- exported by a feed reader -->
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Top" xmlUrl="https://example.com/top.xml" htmlUrl="https://example.com/"/>
    <outline text="News" title="News">
      <outline text="World" type="rss" xmlUrl="https://example.com/world.xml"/>
      <outline text="Deeper">
        <outline text="Local" type="rss" xmlurl="https://local.example.org/rss"/>
      </outline>
      <outline text="A web page, not a feed" type="link" url="https://example.com/about"/>
    </outline>
    <outline text="Top again" xmlUrl="https://example.com/top.xml"/>
    <outline text="Café" xmlUrl=" https://example.fr/flux "/>
  </body>
</opml>
"""


def test_plain_list_skips_comments_and_blank_lines_and_keeps_file_order():
    assert read_feed_list(PLAIN_LIST, "feeds.txt") == [
        "https://example.com/world/rss.xml",
        "http://example.org/feed",
        "https://example.net/atom.xml",
        "https://example.com/feed.xml#section-a",
    ]


def test_plain_list_with_windows_line_endings():
    assert read_feed_list("https://a.example/rss\r\n\r\nhttps://b.example/rss\r\n") == [
        "https://a.example/rss",
        "https://b.example/rss",
    ]


def test_empty_file_has_no_feeds():
    assert read_feed_list("", "feeds.txt") == []
    assert read_feed_list("# nothing yet\n\n", "feeds.txt") == []


def test_opml_reads_nested_outlines_in_order_and_dedups():
    assert read_feed_list(NESTED_OPML, "subs.opml") == [
        "https://example.com/top.xml",
        "https://example.com/world.xml",
        "https://local.example.org/rss",
        "https://example.fr/flux",
    ]


def test_dedup_keeps_the_first_occurrence():
    text = "https://b.example/rss\nhttps://a.example/rss\nhttps://b.example/rss\n"
    assert read_feed_list(text) == ["https://b.example/rss", "https://a.example/rss"]


def test_dedup_is_exact_not_canonical():
    # Feed URLs are keys as configured; different spellings stay distinct.
    assert read_feed_list("https://a.example/rss\nhttps://a.example/rss/\n") == [
        "https://a.example/rss",
        "https://a.example/rss/",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "example.com/rss",
        "ftp://example.com/rss",
        "feed://example.com/rss",
        "https:///no-host",
        "https://example.com/a b",
        "javascript:alert(1)",
    ],
)
def test_bad_line_error_names_the_file_and_line(line):
    text = f"# feeds\nhttps://ok.example/rss\n{line}\n"
    with pytest.raises(ValueError) as caught:
        read_feed_list(text, "config/feeds.txt")
    message = str(caught.value)
    assert message.startswith("config/feeds.txt:3:")
    assert "not an http(s) URL" in message
    assert repr(line) in message


def test_default_name_appears_in_errors():
    with pytest.raises(ValueError, match=r"^<feeds>:1: "):
        read_feed_list("not a url")


def test_malformed_opml_is_an_error_naming_the_file():
    broken = '<opml version="2.0"><body><outline text="x" xmlUrl="https://a.example/rss"></body></opml>'
    with pytest.raises(ValueError, match=r"^subs\.opml: malformed OPML: mismatched tag"):
        read_feed_list(broken, "subs.opml")


def test_xml_that_is_not_opml_is_an_error():
    with pytest.raises(ValueError, match=r"^feeds\.xml: .*root is <rss>, not <opml>"):
        read_feed_list('<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "feeds.xml")


def test_opml_outline_with_a_non_web_feed_url_is_an_error():
    opml = '<opml version="1.0"><body><outline text="Old" xmlUrl="gopher://example.com/1"/></body></opml>'
    with pytest.raises(ValueError, match=r"^subs\.opml: outline 'Old': xmlUrl is not an http\(s\) URL"):
        read_feed_list(opml, "subs.opml")


def test_opml_entity_expansion_bomb_is_refused():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [\n  <!ENTITY a "aaaaaaaaaa">\n'
        + "".join(f'  <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
        + ']>\n<opml version="2.0"><body><outline text="&j;" xmlUrl="https://a.example/rss"/></body></opml>'
    )
    with pytest.raises(ValueError, match=r"^bomb\.opml: refused: .*entities"):
        read_feed_list(bomb, "bomb.opml")


def test_opml_external_entity_is_refused():
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        '<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://a.example/rss"/></body></opml>'
    )
    with pytest.raises(ValueError, match=r"^xxe\.opml: refused: "):
        read_feed_list(xxe, "xxe.opml")
