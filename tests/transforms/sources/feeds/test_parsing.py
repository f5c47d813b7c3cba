"""Tests for transforms.sources.feeds.parsing: RSS 2.0, Atom 1.0 and RSS 1.0 samples, broken and
non-feeds, charsets from HTTP headers, entry ids, entry HTML to text, and a sweep over
feedparser's own test corpus."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zlib

import feedparser
import pytest

from tests.conftest import SHARED_DATA
from transforms.run.context import stable_hash
from transforms.sources.feeds.parsing import (
    FeedEntry,
    ParsedFeed,
    author_name,
    entry_id,
    feed_problem,
    html_fragment_to_text,
    parse_feed,
)

UTC = dt.UTC
FEEDPARSER_TESTS = SHARED_DATA / "feeds/feedparser-tests"
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM_HEADERS = {"Content-Type": "application/atom+xml"}

RSS_URL = "https://news.example.com/rss.xml"
RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example &amp; Sons News</title>
  <link>https://news.example.com/</link>
  <description>All the news</description>
  <item>
    <title>Council approves &lt;em&gt;new&lt;/em&gt; budget</title>
    <link>/politics/budget?utm_source=rss&amp;utm_medium=feed</link>
    <guid isPermaLink="false">1001</guid>
    <description>The council voted late on Monday.</description>
    <content:encoded><![CDATA[
      <p>The city council approved the budget on Monday.</p>
      <p>Officials said new buses
         arrive in January.</p>
      <p>Photo: Jane Doe/Reuters</p>
      <p>The city council approved the budget on Monday.</p>
      <script>track()</script>
    ]]></content:encoded>
    <pubDate>Tue, 05 Mar 2024 14:30:00 +0200</pubDate>
    <dc:creator>Jane Doe</dc:creator>
    <dc:creator>John Roe</dc:creator>
  </item>
  <item>
    <title>Flooding in the old town</title>
    <guid>https://news.example.com/local/floods</guid>
    <description>&lt;p&gt;Streets flooded overnight.&lt;/p&gt;\
&lt;p&gt;Basements were pumped out.&lt;/p&gt;</description>
    <pubDate>Wed, 06 Mar 2024 08:00:00 EST</pubDate>
    <author>desk@news.example.com (Ann Other)</author>
  </item>
  <item>
    <title>Wire story</title>
    <link>https://news.example.com/wire/story-3</link>
    <source url="https://wire.example.net/rss">Example Wire</source>
    <content:encoded><![CDATA[<p>Only the full text is given.</p>]]></content:encoded>
  </item>
</channel>
</rss>
"""

ATOM_URL = "https://blog.example.org/feed.atom"
ATOM10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/">
  <title type="html">Example &lt;b&gt;Blog&lt;/b&gt;</title>
  <id>tag:blog.example.org,2024:feed</id>
  <updated>2024-03-07T10:00:00Z</updated>
  <author><name>Feed Author</name></author>
  <entry>
    <title>First post</title>
    <id>tag:blog.example.org,2024:1</id>
    <link rel="alternate" href="https://blog.example.org/2024/03/first"/>
    <published>2024-03-05T09:00:00+05:30</published>
    <updated>2024-03-06T10:00:00Z</updated>
    <author><name>Ada Writer</name><email>ada@example.org</email></author>
    <summary type="text">A short
summary: 3 &lt; 4 and x&lt;y.</summary>
    <content type="html">&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second paragraph.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Second post</title>
    <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
    <link href="2024/03/second"/>
    <updated>2024-03-06T23:30:00-08:00</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Inline <em>XHTML</em> body.</p>\
<p>More.</p></div></content>
  </entry>
  <entry>
    <title type="text">ALL CAPS HEADLINE STAYS</title>
    <id>tag:blog.example.org,2024:3</id>
    <link href="https://blog.example.org/2024/03/third"/>
    <updated>2024-03-07T10:00:00Z</updated>
    <summary type="html">&lt;p&gt;Only a summary.&lt;/p&gt;</summary>
  </entry>
</feed>
"""

RDF_URL = "https://old.example.net/index.rdf"
RSS10 = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://old.example.net/">
    <title>Old School Wire</title>
    <link>https://old.example.net/</link>
    <description>RDF site summary</description>
    <items><rdf:Seq>
      <rdf:li rdf:resource="https://old.example.net/a"/>
      <rdf:li rdf:resource="https://old.example.net/b"/>
      <rdf:li rdf:resource="https://old.example.net/c"/>
    </rdf:Seq></items>
  </channel>
  <item rdf:about="https://old.example.net/a">
    <title>Item A</title><link>https://old.example.net/a</link>
    <description>First item.</description>
    <dc:date>2024-03-05T23:15:00-05:00</dc:date>
    <dc:creator>Rita Reporter</dc:creator>
  </item>
  <item rdf:about="https://old.example.net/b">
    <title>Item B</title><link>https://old.example.net/b?utm_campaign=x</link>
    <description>Second item.</description>
    <dc:date>2024-03-06T01:00:00+01:00</dc:date>
  </item>
  <item rdf:about="https://old.example.net/c">
    <title>Item C</title><link>https://old.example.net/c</link>
    <dc:date>2024-03-06</dc:date>
  </item>
</rdf:RDF>
"""


def by_title(parsed: ParsedFeed) -> dict[str | None, FeedEntry]:
    return {entry.title: entry for entry in parsed.entries}


# --- RSS 2.0 ----------------------------------------------------------------


def test_rss20_feed_level_fields():
    parsed = parse_feed(RSS20, RSS_HEADERS, RSS_URL)
    assert (parsed.version, parsed.title, parsed.bozo) == ("rss20", "Example & Sons News", None)
    assert len(parsed.entries) == 3
    assert feed_problem(parsed) is None


def test_rss20_item_with_short_guid_content_encoded_and_offset_date():
    entry = parse_feed(RSS20, RSS_HEADERS, RSS_URL).entries[0]
    assert entry.feed_url == RSS_URL
    assert entry.title == "Council approves new budget"
    # relative link resolved against the feed URL, tracking parameters dropped
    assert entry.link == "https://news.example.com/politics/budget"
    assert entry.content_text == (  # photo credit and repeated paragraph cleaned away
        "The city council approved the budget on Monday.\n\nOfficials said new buses arrive in January."
    )
    assert entry.summary_text == "The council voted late on Monday."
    assert entry.published == dt.datetime(2024, 3, 5, 12, 30, tzinfo=UTC)
    assert entry.updated is None  # never filled in from pubDate
    assert entry.authors == ("Jane Doe", "John Roe")
    assert entry.source == "Example & Sons News"
    # "1001" is not globally unique: scoped by the feed
    assert entry.entry_id == entry_id(RSS_URL, "1001", None, None, None)
    assert entry.entry_id != entry_id("https://other.example/rss", "1001", None, None, None)


def test_rss20_permalink_guid_becomes_the_link_and_description_the_summary():
    entry = parse_feed(RSS20, RSS_HEADERS, RSS_URL).entries[1]
    assert entry.link == "https://news.example.com/local/floods"
    assert entry.entry_id == stable_hash("guid", "https://news.example.com/local/floods")
    assert entry.content_text is None
    assert entry.summary_text == "Streets flooded overnight.\n\nBasements were pumped out."
    assert entry.published == dt.datetime(2024, 3, 6, 13, 0, tzinfo=UTC)  # EST = -05:00
    assert entry.authors == ("Ann Other",)


def test_rss20_item_without_guid_uses_link_and_its_source_element():
    entry = parse_feed(RSS20, RSS_HEADERS, RSS_URL).entries[2]
    assert entry.entry_id == entry_id(RSS_URL, None, "https://news.example.com/wire/story-3", None, None)
    assert entry.source == "Example Wire"  # aggregated item: its own outlet, not the feed's
    assert entry.content_text == "Only the full text is given."
    assert entry.summary_text is None  # feedparser's copy of content:encoded is not a summary
    assert entry.published is None and entry.publication_time is None
    assert entry.authors == ()


@pytest.mark.parametrize("teaser_first", [True, False])
def test_longest_of_several_contents_wins_and_a_copied_summary_is_dropped(teaser_first):
    teaser = "<content:encoded>&lt;p&gt;Short teaser.&lt;/p&gt;</content:encoded>"
    full = "<xhtml:body><xhtml:p>The full body, which is longer.</xhtml:p><xhtml:p>Second.</xhtml:p></xhtml:body>"
    body = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><title>t</title><item><title>Two bodies</title>'
        + (teaser + full if teaser_first else full + teaser)
        + "</item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body, RSS_HEADERS, RSS_URL).entries
    assert entry.content_text == "The full body, which is longer.\n\nSecond."
    assert entry.summary_text is None  # feedparser copied the teaser content into the summary


def test_parse_is_deterministic():
    assert parse_feed(RSS20, RSS_HEADERS, RSS_URL) == parse_feed(RSS20, dict(RSS_HEADERS), RSS_URL)


def test_content_location_header_is_the_base_for_relative_links():
    parsed = parse_feed(RSS20, {**RSS_HEADERS, "Content-Location": "https://mirror.example.org/feeds/main"}, RSS_URL)
    assert parsed.entries[0].link == "https://mirror.example.org/politics/budget"
    assert parsed.entries[0].feed_url == RSS_URL


# --- Atom 1.0 ---------------------------------------------------------------


def test_atom10_feed_level_fields():
    parsed = parse_feed(ATOM10, ATOM_HEADERS, ATOM_URL)
    assert (parsed.version, parsed.title, parsed.bozo) == ("atom10", "Example Blog", None)
    assert [entry.title for entry in parsed.entries] == ["First post", "Second post", "ALL CAPS HEADLINE STAYS"]


def test_atom10_entry_with_content_summary_and_both_dates():
    entry = parse_feed(ATOM10, ATOM_HEADERS, ATOM_URL).entries[0]
    assert entry.entry_id == stable_hash("guid", "tag:blog.example.org,2024:1")
    assert entry.link == "https://blog.example.org/2024/03/first"
    assert entry.content_text == "First paragraph.\n\nSecond paragraph."
    assert entry.summary_text == "A short summary: 3 < 4 and x<y."  # type="text" is not parsed as HTML
    assert entry.published == dt.datetime(2024, 3, 5, 3, 30, tzinfo=UTC)
    assert entry.updated == dt.datetime(2024, 3, 6, 10, 0, tzinfo=UTC)
    assert entry.publication_time == entry.published  # published wins over updated
    assert entry.authors == ("Ada Writer",)
    assert entry.source == "Example Blog"


def test_atom10_entry_with_only_updated_xhtml_content_relative_link_and_inherited_author():
    entry = parse_feed(ATOM10, ATOM_HEADERS, ATOM_URL).entries[1]
    assert entry.link == "https://blog.example.org/2024/03/second"  # xml:base
    assert entry.content_text == "Inline XHTML body.\n\nMore."
    assert entry.published is None
    assert entry.updated == dt.datetime(2024, 3, 7, 7, 30, tzinfo=UTC)
    assert entry.publication_time == entry.updated
    assert entry.authors == ("Feed Author",)  # atom:entry inherits the feed's author


def test_atom10_all_caps_title_is_not_cleaned_away():
    entry = parse_feed(ATOM10, ATOM_HEADERS, ATOM_URL).entries[2]
    assert entry.title == "ALL CAPS HEADLINE STAYS"
    assert (entry.content_text, entry.summary_text) == (None, "Only a summary.")


# --- RSS 1.0 (RDF) ----------------------------------------------------------


def test_rss10_items_dates_and_ids():
    parsed = parse_feed(RSS10, {"Content-Type": "application/rdf+xml"}, RDF_URL)
    assert (parsed.version, parsed.title, parsed.bozo) == ("rss10", "Old School Wire", None)
    a, b, c = parsed.entries
    assert (a.title, a.summary_text, a.authors) == ("Item A", "First item.", ("Rita Reporter",))
    # feedparser files dc:date under "updated"; publication_time falls back to it
    assert (a.published, a.updated) == (None, dt.datetime(2024, 3, 6, 4, 15, tzinfo=UTC))
    assert b.publication_time == dt.datetime(2024, 3, 6, 0, 0, tzinfo=UTC)
    assert c.publication_time == dt.datetime(2024, 3, 6, 0, 0, tzinfo=UTC)  # a bare date: midnight UTC
    assert b.link == "https://old.example.net/b"
    assert len({a.entry_id, b.entry_id, c.entry_id}) == 3
    assert all(entry.source == "Old School Wire" for entry in parsed.entries)


# --- dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Tue, 05 Mar 2024 23:30:00 -0800", dt.datetime(2024, 3, 6, 7, 30, tzinfo=UTC)),
        ("2024-03-05T10:00:00+14:00", dt.datetime(2024, 3, 4, 20, 0, tzinfo=UTC)),
        ("9999-12-31T23:59:59-05:00", None),  # year 10000 in UTC: no datetime holds it
        ("0000-00-00T00:00:00Z", None),
        ("Mon, 31 Feb 2024 10:00:00 GMT", None),
        ("yesterday-ish", None),
    ],
)
def test_dates_become_aware_utc_or_none(raw, expected):
    body = f'<rss version="2.0"><channel><item><title>t</title><pubDate>{raw}</pubDate></item></channel></rss>'
    (entry,) = parse_feed(body.encode(), RSS_HEADERS, RSS_URL).entries
    assert entry.published == expected
    if expected is not None:
        assert entry.published.tzinfo is UTC


# --- broken feeds and non-feeds ---------------------------------------------


def test_bozo_feed_with_undefined_entity_is_salvaged():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken&nbsp;Feed</title>
<item><title>One</title><link>https://b.example/1</link></item>
<item><title>Two&hellip;</title><link>https://b.example/2</link></item>
<item><title>Three</title><link>https://b.example/3</link></item>
</channel></rss>"""
    parsed = parse_feed(body, RSS_HEADERS, "https://b.example/rss")
    assert parsed.bozo is not None and parsed.bozo.startswith("SAXParseException:")
    assert "undefined entity" in parsed.bozo
    assert [entry.title for entry in parsed.entries] == ["One", "Two\u2026", "Three"]
    assert feed_problem(parsed) is None


def test_bozo_feed_with_unclosed_tags_is_salvaged():
    body = b"""<rss version="2.0"><channel><title>Cut off</title>
<item><title>One</title><description>first <b>bold</description></item>
<item><title>Two</title><link>https://c.example/2</link></item>
<item><title>Three</title><link>https://c.example/3"""
    parsed = parse_feed(body, RSS_HEADERS, "https://c.example/rss")
    assert parsed.bozo is not None and parsed.bozo.startswith("SAXParseException:")
    assert [entry.title for entry in parsed.entries][:2] == ["One", "Two"]
    assert parsed.entries[0].summary_text == "first bold"
    assert feed_problem(parsed) is None


@pytest.mark.parametrize(
    "body, headers",
    [
        (b"\x00\x01\x02 random \xff\xfe bytes \x9c", {}),
        (
            (
                b"<!DOCTYPE html><html><head><title>Not found</title></head>"
                b"<body><h1>404</h1><p>The page does not exist.</p></body></html>"
            ),
            {"Content-Type": "text/html; charset=utf-8"},
        ),
        (b"", RSS_HEADERS),
        (b'{"items": [{"title": "json, not a feed"}]}', {"Content-Type": "application/json"}),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>cut', RSS_HEADERS),
        (zlib.compress(RSS20), {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"}),
    ],
    ids=["garbage", "html-page", "empty-body", "json", "truncated-without-items", "still-compressed"],
)
def test_non_feeds_are_not_a_feed(body, headers):
    parsed = parse_feed(body, headers, "https://x.example/feed")
    assert parsed.entries == ()
    assert feed_problem(parsed) == "not_a_feed"


def test_valid_empty_channel_is_not_a_problem():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>
<link>https://q.example/</link><description>nothing yet</description></channel></rss>"""
    parsed = parse_feed(body, RSS_HEADERS, "https://q.example/rss")
    assert (parsed.entries, parsed.version, parsed.bozo, parsed.title) == ((), "rss20", None, "Quiet")
    assert feed_problem(parsed) is None


def test_valid_empty_feed_served_with_a_wrong_content_type_is_not_a_problem():
    parsed = parse_feed(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Q</title></feed>',
        {"content-type": "text/html"},
        "https://q.example/atom",
    )
    assert parsed.bozo is not None and parsed.bozo.startswith("NonXMLContentType")
    assert feed_problem(parsed) is None


def test_feed_problem_rules_on_hand_made_results():
    entry = parse_feed(RSS20, RSS_HEADERS, RSS_URL).entries[0]
    assert feed_problem(ParsedFeed((entry,), None, None, "SAXParseException: x")) is None
    assert feed_problem(ParsedFeed((), None, None, None)) == "not_a_feed"
    assert feed_problem(ParsedFeed((), None, "rss20", "SAXParseException: unclosed token")) == "not_a_feed"
    assert feed_problem(ParsedFeed((), None, "rss20", "CharacterEncodingOverride: x")) is None
    assert feed_problem(ParsedFeed((), None, "atom10", None)) is None


def test_a_feedparser_crash_becomes_a_not_a_feed_result(monkeypatch):
    def explode(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(feedparser, "parse", explode)
    parsed = parse_feed(RSS20, RSS_HEADERS, RSS_URL)
    assert parsed == ParsedFeed((), None, None, "RecursionError: maximum recursion depth exceeded")
    assert feed_problem(parsed) == "not_a_feed"


def test_body_that_names_a_local_file_is_parsed_as_bytes_not_opened(tmp_path):
    secret = tmp_path / "feed.xml"
    secret.write_bytes(RSS20)
    parsed = parse_feed(str(secret).encode(), {}, "https://x.example/feed")
    assert parsed.entries == ()
    assert feed_problem(parsed) == "not_a_feed"


def test_body_that_is_a_url_is_not_fetched():
    parsed = parse_feed(b"http://127.0.0.1:9/feed.xml", {}, "https://x.example/feed")
    assert (parsed.entries, feed_problem(parsed)) == ((), "not_a_feed")


def test_entity_expansion_inside_a_feed_is_not_performed():
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>t</title>'
        "<item><title>&i;</title><link>https://e.example/1</link></item></channel></rss>"
    ).encode()
    parsed = parse_feed(body, RSS_HEADERS, "https://e.example/rss")
    assert len(parsed.entries) == 1
    assert len(parsed.entries[0].title or "") < 1000


# --- charsets ---------------------------------------------------------------


def test_charset_only_in_content_type_header_decodes_windows_1251():
    title = "Новости дня"
    text = "Правительство утвердило бюджет."
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>' + title + "</title>"
        "<item><title>Бюджет</title><link>https://ru.example/1</link>"
        "<description>" + text + "</description></item></channel></rss>"
    ).encode("windows-1251")
    parsed = parse_feed(body, {"content-type": "application/rss+xml; charset=windows-1251"}, "https://ru.example/rss")
    assert parsed.title == title
    assert (parsed.entries[0].title, parsed.entries[0].summary_text) == ("Бюджет", text)
    assert parsed.bozo is None


def test_header_names_are_case_insensitive():
    body = '<rss version="2.0"><channel><title>Größe</title></channel></rss>'.encode("iso-8859-1")
    for name in ("Content-Type", "CONTENT-TYPE", "content-type"):
        assert parse_feed(body, {name: "text/xml; charset=iso-8859-1"}, "https://de.example/rss").title == "Größe"


# --- entry ids --------------------------------------------------------------


def test_entry_id_is_stable_and_hex():
    first = entry_id(RSS_URL, "1001", "https://a.example/x", "T", "C")
    assert first == entry_id(RSS_URL, "1001", "https://a.example/x", "T", "C")
    assert re.fullmatch(r"[0-9a-f]{32}", first)


def test_short_guids_are_scoped_by_feed():
    assert entry_id("https://a.example/rss", "42", None, None, None) != entry_id(
        "https://b.example/rss", "42", None, None, None
    )


@pytest.mark.parametrize(
    "guid",
    [
        "https://news.example.com/story/42",
        "tag:news.example.com,2024:42",
        "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6",
        "URN:ISBN:0451450523",
        "a1b2c3d4e5f6a7b8c9d0",  # 20 characters: long enough to be taken as global
    ],
)
def test_globally_unique_looking_guids_are_not_scoped(guid):
    assert entry_id("https://a.example/rss", guid, None, None, None) == entry_id(
        "https://b.example/rss", guid, "https://elsewhere.example/x", "other", "other"
    )


def test_guid_wins_over_link():
    with_guid = entry_id(RSS_URL, "tag:x,2024:1", "https://a.example/x", None, None)
    assert with_guid != entry_id(RSS_URL, None, "https://a.example/x", None, None)
    assert with_guid == entry_id(RSS_URL, "tag:x,2024:1", "https://a.example/other", None, None)


def test_no_guid_uses_the_canonical_link():
    plain = entry_id("https://a.example/rss", None, "https://a.example/story", "Title", "Body")
    assert plain == entry_id("https://a.example/rss", "", "https://a.example/story?utm_source=rss#top", "T2", "B2")
    assert plain == entry_id("https://b.example/rss", None, "https://a.example/story", None, None)
    assert plain != entry_id("https://a.example/rss", None, "https://a.example/other-story", "Title", "Body")


def test_no_guid_no_link_hashes_title_and_content():
    base = entry_id(RSS_URL, None, None, "Title", "Body text")
    assert base == entry_id(RSS_URL, "  ", "", "Title", "Body  text")  # whitespace does not matter
    assert base != entry_id(RSS_URL, None, None, "Title", "Other body")
    assert base != entry_id(RSS_URL, None, None, "Other title", "Body text")
    assert base != entry_id("https://other.example/rss", None, None, "Title", "Body text")


def test_entries_without_guid_or_link_get_distinct_ids_from_their_text():
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><title>Same title</title><description>First body.</description></item>
<item><title>Same title</title><description>Second body.</description></item>
</channel></rss>"""
    first, second = parse_feed(body, RSS_HEADERS, RSS_URL).entries
    assert first.link is None and second.link is None
    assert first.entry_id != second.entry_id
    assert first.entry_id == entry_id(RSS_URL, None, None, "Same title", "First body.")


# --- entry HTML to text -----------------------------------------------------


def test_html_fragment_keeps_paragraphs_and_drops_script_and_style():
    fragment = """
      <style>p { color: red }</style>
      <h2>Heading</h2>
      <p>First   paragraph
         continues here.</p>
      <script>var secret = "tracking";</script>
      <div>Second<br>after a break</div>
      <ul><li>one</li><li>two</li></ul>
      <table><tr><td>cell a</td><td>cell b</td></tr></table>
      <noscript>enable javascript</noscript>
      Tail text &amp; entities &eacute;
    """
    assert html_fragment_to_text(fragment) == (
        "Heading\n\nFirst paragraph continues here.\n\nSecond\n\nafter a break\n\none\n\ntwo\n\n"
        "cell a cell b\n\nTail text & entities é"
    )


def test_html_fragment_applies_the_cleaning_rules():
    fragment = (
        "<p>The council approved the budget on Monday.</p>"
        "<p>Photo: Jane Doe/Reuters</p>"
        "<p>The council approved the budget on Monday.</p>"
        "<p>Opposition members said they would appeal.</p>"
    )
    assert html_fragment_to_text(fragment) == (
        "The council approved the budget on Monday.\n\nOpposition members said they would appeal."
    )


def test_plain_text_keeps_its_blank_line_paragraphs():
    text = "First paragraph\nwrapped.\n\n  Second one: 3 < 4 & 5 > 2.\n"
    assert html_fragment_to_text(text) == "First paragraph wrapped.\n\nSecond one: 3 < 4 & 5 > 2."


@pytest.mark.parametrize(
    "garbage",
    ["", "   \n\t ", "<<<>>>", "</p></div>", "<p", "\x00\x01\x02", "\ud800 lone surrogate", "<![CDATA[", "&#xFFFFFFF;"],
)
def test_garbage_never_raises(garbage):
    assert isinstance(html_fragment_to_text(garbage), str)


def test_deeply_nested_fragment_does_not_crash():
    depth = 50_000
    fragment = "<p>Before.</p>" + "<div>" * depth + "deep" + "</div>" * depth
    assert html_fragment_to_text(fragment) == ""  # truncated by the parser: the caller falls back


def test_huge_fragment_is_refused():
    assert html_fragment_to_text("<p>word</p>" * 300_000) == ""


# --- corpus sweep -----------------------------------------------------------

_HEADER_LINE = re.compile(rb"^\s*Header:\s*([\w-]+):[ \t]*(.*?)\s*$", re.MULTILINE)
FEED_SUFFIXES = {".xml", ".gz", ".z"}


def headers_of(body: bytes) -> dict[str, str]:
    """HTTP headers from the ``Header:`` lines of a test file's leading comment."""
    comment = body.split(b"-->", 1)[0] if body.lstrip()[:4] in (b"<!--", b"<?xm") else b""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in _HEADER_LINE.findall(comment)}


def test_headers_of_reads_the_comment_lines():
    body = (
        b'<?xml version="1.0"?>\n<!--\nHeader:      Content-type: text/xml;charset= "us-ascii"\n'
        b"Description: x\n-->\n<rss/>"
    )
    assert headers_of(body) == {"Content-type": 'text/xml;charset= "us-ascii"'}


@pytest.mark.slow
def test_feedparser_corpus_sweep():
    """Every file ends as entries or a feed_problem reason; no file raises; no entry is lost."""
    if not FEEDPARSER_TESTS.is_dir():
        pytest.skip(f"feedparser test corpus not found at {FEEDPARSER_TESTS}")
    files = sorted(path for path in FEEDPARSER_TESTS.rglob("*") if path.is_file() and path.suffix in FEED_SUFFIXES)
    assert len(files) > 2000
    counts = {"files": 0, "with_entries": 0, "empty_ok": 0, "problems": 0, "entries": 0, "bozo": 0}
    unaccounted = []
    for path in files:
        body = path.read_bytes()
        headers = headers_of(body)
        parsed = parse_feed(body, headers, "http://feeds.example.test/" + path.relative_to(FEEDPARSER_TESTS).as_posix())
        problem = feed_problem(parsed)
        reference = feedparser.parse(io.BytesIO(body), response_headers={k.lower(): v for k, v in headers.items()})
        if len(parsed.entries) != len(reference.entries):
            unaccounted.append((path.name, len(parsed.entries), len(reference.entries)))
        counts["files"] += 1
        counts["entries"] += len(parsed.entries)
        counts["bozo"] += parsed.bozo is not None
        if parsed.entries:
            counts["with_entries"] += 1
        elif problem is not None:
            counts["problems"] += 1
        else:  # a well-formed feed with no items: accounted as a valid empty feed
            assert parsed.version, path
            counts["empty_ok"] += 1
        assert problem in (None, "not_a_feed")
        assert all(re.fullmatch(r"[0-9a-f]{32}", entry.entry_id) for entry in parsed.entries)
    print(f"\nfeedparser corpus: {counts}")
    assert not unaccounted, unaccounted[:10]
    assert counts["with_entries"] > 1000 and counts["problems"] > 0


@pytest.mark.parametrize(
    "element",
    [
        "<pubDate>Fri, 30 Feb 2024 10:00:00 GMT</pubDate>",
        "<dc:date>2024-02-30T10:00:00Z</dc:date>",
        "<dc:date>0001-01-01T00:00:00+05:00</dc:date>",
        "<pubDate>Fri, 31 Dec 9999 23:00:00 -0500</pubDate>",
    ],
)
def test_impossible_or_out_of_range_feed_dates_are_refused_with_a_reason(element):
    body = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><item><title>t</title>'
        f"{element}</item></channel></rss>"
    )
    (entry,) = parse_feed(body.encode(), RSS_HEADERS, RSS_URL).entries
    assert entry.publication_time is None
    assert entry.date_problem


def test_a_date_only_feed_date_has_day_precision_and_is_passed_on_as_a_date():
    body = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><item><title>t</title>'
        "<dc:date>2024-03-05</dc:date></item></channel></rss>"
    )
    (entry,) = parse_feed(body.encode(), RSS_HEADERS, RSS_URL).entries
    assert (entry.published_precision, entry.publication_iso) == ("day", "2024-03-05")


# --- titles and bylines ------------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "name"),
    [
        ("desk@gazette.example (Desk)", "Desk"),
        ("Jane Doe (jane@gazette.example)", "Jane Doe"),
        ("Jane Doe <jane@gazette.example>", "Jane Doe"),
        ("jane@gazette.example", None),
        ("mailto:jane@gazette.example", None),
        ("  Jane   Doe ", "Jane Doe"),
    ],
)
def test_author_name_from_a_feed_byline(byline, name):
    assert author_name(byline) == name


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("desk@gazette.example (Desk)", ("Desk",)),
        ("Jane Doe (jane@gazette.example)", ("Jane Doe",)),
        ("a@b.example", ()),
    ],
)
def test_rss_author_with_an_address_is_parsed_not_mangled(byline, authors):
    body = f'<rss version="2.0"><channel><item><title>t</title><author>{byline}</author></item></channel></rss>'
    (entry,) = parse_feed(body.encode(), RSS_HEADERS, RSS_URL).entries
    assert entry.authors == authors


def test_the_entry_title_wins_when_feedparser_overwrote_title_detail(monkeypatch):
    # The shape of a captured corporate feed: an <og> block and an author with a job <title>; feedparser
    # left the headline in ``title`` and the job title in ``title_detail``.
    overwritten = feedparser.FeedParserDict(
        version="rss20",
        bozo=False,
        feed=feedparser.FeedParserDict(title="Corp Blog"),
        entries=[
            feedparser.FeedParserDict(
                title="Quarterly platform update",
                title_detail={"type": "text/plain", "value": "Engineering Director"},
                link="https://blog.example.com/q",
                authors=[{"name": "Ann Lee"}],
            )
        ],
    )
    monkeypatch.setattr(feedparser, "parse", lambda *args, **kwargs: overwritten)
    (entry,) = parse_feed(b"<rss/>", RSS_HEADERS, RSS_URL).entries
    assert (entry.title, entry.authors) == ("Quarterly platform update", ("Ann Lee",))


def test_json_feed_items_become_entries():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Fireball",
            "items": [
                {
                    "id": 7,
                    "url": "https://example.org/a?utm_source=x",
                    "title": "A",
                    "content_html": "<p>One.</p><p>Two.</p>",
                    "summary": "Sum.",
                    "date_published": "2025-01-02T03:04:05+01:00",
                    "authors": [{"name": "Jane Roe"}, {"url": "https://x"}],
                },
                {
                    "id": "b",
                    "external_url": "https://example.org/b",
                    "content_text": "Plain\n\ntext",
                    "date_modified": "2025-02-30",
                },
                "not an item",
            ],
        }
    ).encode()
    parsed = parse_feed(b"\n " + body, {"content-type": "text/plain"}, "https://example.org/feed.json")
    assert (parsed.version, parsed.title, parsed.bozo, feed_problem(parsed)) == ("json11", "Fireball", None, None)
    first, second = parsed.entries
    assert (first.link, first.title, first.content_text, first.summary_text) == (
        "https://example.org/a",
        "A",
        "One.\n\nTwo.",
        "Sum.",
    )
    assert first.published == dt.datetime(2025, 1, 2, 2, 4, 5, tzinfo=UTC) and first.authors == ("Jane Roe",)
    assert first.entry_id == entry_id(
        "https://example.org/feed.json", "7", "https://example.org/a?utm_source=x", "A", None
    )
    assert (second.link, second.content_text, second.publication_time) == (
        "https://example.org/b",
        "Plain\n\ntext",
        None,
    )
    assert second.date_problem.startswith("updated impossible")


@pytest.mark.parametrize(
    "body",
    [b'{"version": "https://jsonfeed.org/version/1.1", "items": "no"}', b'{"version": 1, "items": []}', b"{ broken"],
)
def test_json_that_is_not_a_json_feed_is_not_a_feed(body):
    assert feed_problem(parse_feed(body, {"content-type": "application/feed+json"}, "https://e.org/f")) == "not_a_feed"


def test_an_empty_json_feed_is_not_a_problem():
    body = b'{"version": "https://jsonfeed.org/version/1", "title": "Quiet", "items": []}'
    assert feed_problem(parse_feed(body, {}, "https://e.org/f")) is None
