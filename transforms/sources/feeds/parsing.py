"""Turn the bytes of an RSS, Atom or RDF feed into frozen entry records.

Pure functions, no Beam and no I/O: a DoFn hands over the body and response headers it
fetched, and gets back a ``ParsedFeed``. feedparser does the parsing (strict XML first, a
forgiving parser when the XML is broken, HTML sanitised, relative links resolved); this
module picks the fields newsbeam needs, turns entry HTML into clean paragraphs, gives each
entry an id that is stable across runs, and says why a feed that yields nothing is a reject.

feedparser never sees a URL or a file name: it would fetch the one and open the other (even
when handed ``bytes``), so the body always goes in wrapped in a ``BytesIO``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import feedparser
import lxml.etree
import lxml.html

from transforms.normalise.cleaning import clean_paragraphs
from transforms.normalise.dates import DAY, read_feed_time
from transforms.normalise.urls import canonical_url
from transforms.run.context import stable_hash

__all__ = [
    "FeedEntry",
    "ParsedFeed",
    "entry_id",
    "feed_problem",
    "html_fragment_to_text",
    "parse_feed",
]

NOT_A_FEED = "not_a_feed"
NOT_AN_ENTRY = "not_a_feed_item"
"""Reject reason of a feed item that is no entry at all (a JSON Feed item that is not an object)."""
"""Reject reason: the body yielded no entries and is not a well-formed feed."""

MAX_HTML_CHARS = 2_000_000
"""Entry HTML longer than this is not parsed (``html_fragment_to_text`` returns "")."""
MAX_BOZO_CHARS = 300
GLOBAL_GUID_MIN_CHARS = 16
"""A guid this long (or URL-like, ``tag:`` or ``urn:``) is taken as globally unique."""

SOFT_BOZO = frozenset({"CharacterEncodingOverride", "NonXMLContentType"})
"""feedparser flags that say the HTTP headers disagreed with the body, not that the XML is broken."""

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Elements whose text is never article text.
_DROPPED_TAGS = ("script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg")
# Elements that start and end a paragraph; <br> ends one.
_BLOCK_TAGS = (
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
)
_CELL_TAGS = ("td", "th")
_BREAK = "\u2029"  # PARAGRAPH SEPARATOR: also a break when the input itself contains it
_HAS_STRUCTURE = re.compile(rf"<\s*/?\s*(?:{'|'.join(_BLOCK_TAGS)}|br)\b", re.IGNORECASE)
_BLANK_LINES = re.compile(r"[ \t]*(?:\r\n|\r|\n)(?:[ \t]*(?:\r\n|\r|\n))+")
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, with its text already cleaned."""

    feed_url: str
    """The feed as configured (the stable key of the feed)."""
    entry_id: str
    """Stable across runs: see ``entry_id``."""
    link: str | None
    """Canonical article URL (courlan-normalised, tracking parameters dropped)."""
    title: str | None
    content_text: str | None
    """Full entry content (content:encoded, atom:content) as clean paragraphs joined by blank lines."""
    summary_text: str | None
    """description/summary as clean text; None when it is only a copy of the content."""
    published: dt.datetime | None
    """Aware UTC, from the entry's published/pubDate/issued (feedparser's ``published_parsed``)."""
    updated: dt.datetime | None
    """Aware UTC, from updated/modified/dc:date (``updated_parsed``; never filled in from ``published``)."""
    authors: tuple[str, ...]
    source: str | None
    """Outlet name: the item's own <source> title (aggregator feeds), else the feed's title."""
    published_precision: str | None = None
    """'day', 'minute' or 'second': what the feed's date of ``publication_time`` gave."""
    date_problem: str | None = None
    """Why a date of the entry was refused (impossible, out of range; see ``transforms.normalise.dates``)."""
    feed_title: str | None = None
    """The feed's own title: a name for the feed, never the article's outlet (``transforms.text.outlets``)."""

    @property
    def publication_time(self) -> dt.datetime | None:
        """When the article appeared: ``published``, else ``updated``."""
        return self.published or self.updated

    @property
    def publication_iso(self) -> str | None:
        """``publication_time`` as ISO-8601: a date alone when the feed gave only a day."""
        at = self.publication_time
        if at is None:
            return None
        return at.date().isoformat() if self.published_precision == DAY else at.isoformat()

    @property
    def page_url(self) -> str:
        """Where the entry's article page is fetched from (its link), else the feed: the host that is paced."""
        return self.link or self.feed_url


@dataclass(frozen=True)
class ParsedFeed:
    """What one fetch of a feed yielded."""

    entries: tuple[FeedEntry, ...]
    title: str | None
    version: str | None
    """feedparser's format name, e.g. 'rss20', 'atom10', 'rss10'; None when it recognised none."""
    bozo: str | None
    """When feedparser flagged the feed as malformed: 'ExceptionClass: message'. Entries are still salvaged."""
    refused_items: tuple[tuple[int, str], ...] = ()
    """Items that are no entry (a JSON Feed item that is a string, null, a number): (position, why)."""


# --- public API -----------------------------------------------------------


def parse_feed(body: bytes, headers: Mapping[str, str], feed_url: str) -> ParsedFeed:
    """Parse a fetched feed body; ``headers`` are the HTTP response headers (any case).

    ``Content-Type`` (and its charset) decides the decoding as in HTTP; ``Content-Location``
    is the base for relative links and defaults to ``feed_url``. The body must already be
    free of any Content-Encoding (gzip, deflate): that is the fetcher's job.
    """
    if looks_like_json(body):
        return parse_json_feed(body, feed_url)
    response_headers = {str(name).lower(): str(value) for name, value in headers.items()}
    if feed_url:
        response_headers.setdefault("content-location", feed_url)
    try:
        parsed = feedparser.parse(
            io.BytesIO(bytes(body)),
            response_headers=response_headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except Exception as error:  # noqa: BLE001 - a feed, however broken, must become data, not a crash
        return ParsedFeed(entries=(), title=None, version=None, bozo=_describe(error))
    feed = parsed.get("feed") or {}
    feed_title = _title_of(feed)
    version = parsed.get("version") or None
    inherited_authors = _author_names(_raw(feed, "authors")) if (version or "").startswith("atom") else ()
    entries = tuple(
        _entry(raw_entry, feed_url, feed_title, inherited_authors) for raw_entry in parsed.get("entries") or ()
    )
    bozo = _describe(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    return ParsedFeed(entries=entries, title=feed_title, version=version, bozo=bozo)


_JSON_FEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/1(?:\.\d+)?/?$")


def looks_like_json(body: bytes) -> bool:
    """True when the body is a JSON object (whatever the URL or Content-Type say): a JSON Feed candidate."""
    start = bytes(body[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"{")


def parse_json_feed(body: bytes, feed_url: str) -> ParsedFeed:
    """A JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1): items become entries exactly as RSS items do.

    ``id`` is the guid, ``url`` (else ``external_url``) the link, ``content_html`` or
    ``content_text`` the content, ``summary`` the summary, ``date_published`` (else
    ``date_modified``) the date, ``authors`` (1.1) or ``author`` (1.0) the authors, falling back
    to the feed's. A JSON object that is not a JSON Feed has no version: ``feed_problem`` calls
    it ``not_a_feed``: a JSON Feed is recognised by its ``version`` URL.
    """
    try:
        document = json.loads(bytes(body).decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        return ParsedFeed(entries=(), title=None, version=None, bozo=_describe(error))
    declared = (_string(document.get("version")) or "") if isinstance(document, dict) else ""
    if not _JSON_FEED_VERSION.match(declared) or not isinstance(document.get("items"), list):
        return ParsedFeed(entries=(), title=None, version=None, bozo="JSON, but not a JSON Feed (version, items)")
    version = "json11" if declared.rstrip("/").endswith("1.1") else "json10"
    feed_title = _json_text(document.get("title"))
    feed_authors = _json_authors(document)
    items = document["items"]
    entries = tuple(_json_entry(item, feed_url, feed_title, feed_authors) for item in items if isinstance(item, dict))
    refused = tuple(
        (n, f"item {n} of the JSON Feed is {_json_kind(item)}, not an object")
        for n, item in enumerate(items)
        if not isinstance(item, dict)
    )
    return ParsedFeed(entries=entries, title=feed_title, version=version, bozo=None, refused_items=refused)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    kind = {str: "a string", bool: "a boolean", list: "an array"}.get(type(value))
    return f"{kind or 'a number'} ({json.dumps(value, ensure_ascii=False)[:80]})"


def entry_id(feed_url: str, guid: str | None, link: str | None, title: str | None, content: str | None) -> str:
    """A 32-hex id for an entry, the same on every run for the same entry.

    The guid when there is one, else the canonical link, else a hash of title and content.
    A guid that does not look globally unique (no ``://``, not ``tag:``/``urn:``, shorter
    than 16 characters, e.g. ``123``) is scoped by ``feed_url``, as are links that are not
    web URLs and the title+content hash; URL-like and long guids and canonical links are not,
    so the same article in two feeds gets one id.
    """
    guid = (guid or "").strip()
    if guid:
        if _looks_globally_unique(guid):
            return stable_hash("guid", guid)
        return stable_hash("guid", feed_url, guid)
    link = (link or "").strip()
    if link:
        canonical = canonical_url(link)
        if canonical:
            return stable_hash("link", canonical)
        return stable_hash("link", feed_url, link)
    return stable_hash("text", feed_url, _collapse(title or ""), _collapse(content or ""))


def html_fragment_to_text(fragment: str) -> str:
    """Entry HTML → clean paragraphs joined by blank lines; "" when there is no text or the input is unusable.

    Block elements and <br> end paragraphs; script, style and similar elements are dropped;
    whitespace is collapsed; then ``clean_paragraphs`` removes captions, credits and repeats.
    Text with no block markup at all keeps its blank lines as paragraph breaks, so plain
    text works too. Input over ``MAX_HTML_CHARS``, nested deeper than libxml2's limit, or
    that lxml refuses, gives "" and the caller decides what to fall back on.
    """
    paragraphs = _html_paragraphs(fragment)
    return "\n\n".join(clean_paragraphs(paragraphs)) if paragraphs else ""


def feed_problem(parsed: ParsedFeed) -> str | None:
    """The reject reason for a feed that yields nothing, or None.

    - Any entries: None, even when the feed was malformed (the entries were salvaged;
      ``parsed.bozo`` says what was wrong).
    - No entries and no recognised format, or no entries and a broken document:
      ``'not_a_feed'`` (an HTML page, an error page, garbage, a truncated feed).
    - A well-formed feed with zero items: None. An empty channel is a normal state of a
      feed (nothing published yet, or a filtered feed), not an error; counting it as a
      reject would raise an alarm on every poll. A charset or content-type mismatch alone
      (``SOFT_BOZO``) does not make an empty feed broken.
    """
    if parsed.entries:
        return None
    if not parsed.version:
        return NOT_A_FEED
    if parsed.bozo and _bozo_class(parsed.bozo) not in SOFT_BOZO:
        return NOT_A_FEED
    return None


# --- entries ----------------------------------------------------------------


def _entry(raw: dict, feed_url: str, feed_title: str | None, inherited_authors: tuple[str, ...]) -> FeedEntry:
    """One feedparser entry → FeedEntry."""
    contents = [item for item in _raw(raw, "content") or () if isinstance(item, dict)]
    content_texts = [text for item in contents if (text := _text_of(item, None, paragraphs=True))]
    content_text = max(content_texts, key=len) if content_texts else None

    summary_value = _raw(raw, "summary")
    summary_text = _text_of(_raw(raw, "summary_detail"), summary_value, paragraphs=True)
    if summary_text in content_texts:  # feedparser copies content into a missing summary
        summary_text = None

    source = _raw(raw, "source")  # <source> of an aggregated RSS item, atom:source
    source_title = _text_of(_raw(source, "title_detail"), _raw(source, "title"))
    authors = _entry_author_names(raw) or _author_names(_raw(source, "authors")) or inherited_authors

    raw_link = _string(_raw(raw, "link"))
    raw_title = _string(_raw(raw, "title"))
    raw_content = next((value for item in contents if (value := _string(_raw(item, "value")))), None)
    raw_content = raw_content or _string(summary_value)
    published = read_feed_time(_string(_raw(raw, "published")), _raw(raw, "published_parsed"))
    updated = read_feed_time(_string(_raw(raw, "updated")), _raw(raw, "updated_parsed"))
    problems = [f"{name} {t.problem}" for name, t in (("published", published), ("updated", updated)) if t.problem]
    return FeedEntry(
        feed_url=feed_url,
        entry_id=entry_id(feed_url, _string(_raw(raw, "id")), raw_link, raw_title, raw_content),
        link=canonical_url(raw_link),
        title=_title_of(raw),
        content_text=content_text,
        summary_text=summary_text,
        published=published.at,
        updated=updated.at,
        authors=authors,
        source=source_title or feed_title,
        feed_title=feed_title,
        published_precision=(published if published.at else updated).precision,
        date_problem="; ".join(problems) or None,
    )


def _text_of(detail: Any, fallback: Any, paragraphs: bool = False) -> str | None:
    """Text of a feedparser text construct: HTML through lxml, plain text as is; None if empty.

    With ``paragraphs`` the result is cleaned paragraphs joined by blank lines (entry bodies);
    without, one line (titles: no cleaning rules, which would drop an all-caps headline).
    """
    value = _string(_raw(detail, "value")) or _string(fallback)
    if not value:
        return None
    content_type = _string(_raw(detail, "type")) or "text/html"
    content_type = content_type.split(";")[0].strip().lower()
    if content_type in HTML_TYPES:
        parts = _html_paragraphs(value)
    elif content_type.startswith("text/"):
        parts = _plain_paragraphs(value)
    else:  # base64 or XML payloads (images, application/*): not text
        return None
    if paragraphs:
        text = "\n\n".join(clean_paragraphs(parts))
    else:
        text = " ".join(parts)
    return text or None


def _json_entry(item: dict, feed_url: str, feed_title: str | None, feed_authors: tuple[str, ...]) -> FeedEntry:
    """One JSON Feed item → FeedEntry, with the same id, text and date rules as an RSS item."""
    raw_id = item.get("id")
    guid = str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    raw_link = _string(item.get("url")) or _string(item.get("external_url"))
    raw_title = _string(item.get("title"))
    html, plain = _string(item.get("content_html")), _string(item.get("content_text"))
    content_text = html_fragment_to_text(html) if html else None
    if not content_text and plain:
        content_text = "\n\n".join(clean_paragraphs(_plain_paragraphs(plain))) or None
    summary_text = _json_text(item.get("summary"), paragraphs=True)
    if summary_text == content_text:
        summary_text = None
    published = read_feed_time(_string(item.get("date_published")), None)
    updated = read_feed_time(_string(item.get("date_modified")), None)
    problems = [f"{name} {t.problem}" for name, t in (("published", published), ("updated", updated)) if t.problem]
    return FeedEntry(
        feed_url=feed_url,
        entry_id=entry_id(feed_url, guid, raw_link, raw_title, html or plain),
        link=canonical_url(raw_link),
        title=_json_text(raw_title),
        content_text=content_text,
        summary_text=summary_text,
        published=published.at,
        updated=updated.at,
        authors=_json_authors(item) or feed_authors,
        source=feed_title,
        feed_title=feed_title,
        published_precision=(published if published.at else updated).precision,
        date_problem="; ".join(problems) or None,
    )


def _json_text(value: Any, paragraphs: bool = False) -> str | None:
    """A JSON Feed text field (plain text) as one line, or clean paragraphs."""
    text = _string(value)
    if not text:
        return None
    parts = _plain_paragraphs(text)
    joined = "\n\n".join(clean_paragraphs(parts)) if paragraphs else " ".join(parts)
    return joined or None


def _json_authors(item: dict) -> tuple[str, ...]:
    """``authors`` (JSON Feed 1.1) or ``author`` (1.0): objects with a ``name``."""
    listed = item.get("authors")
    people = listed if isinstance(listed, list) else [item.get("author")]
    names: list[str] = []
    for person in people:
        name = author_name(_string(person.get("name")) or "") if isinstance(person, dict) else None
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _title_of(item: Any) -> str | None:
    """An item's title from ``title``; ``title_detail`` only says its type, and only when it holds the same text.

    feedparser can overwrite ``title_detail`` with a nested element's title (an ``<og>`` block,
    an author's job title), while ``title`` keeps the item's own.
    """
    title = _string(_raw(item, "title"))
    detail = _raw(item, "title_detail")
    if title is not None and _string(_raw(detail, "value")) != title:
        detail = None
    return _text_of(detail, title)


def _entry_author_names(raw: dict) -> tuple[str, ...]:
    """The entry's authors; a raw byline with an address is parsed here (feedparser mangles "a@b.example (Name)")."""
    byline = _string(_raw(raw, "author"))
    if byline and "@" in byline:
        name = author_name(byline)
        return (name,) if name else ()
    return _author_names(_raw(raw, "authors"))


def _author_names(authors: Any) -> tuple[str, ...]:
    """Names of feedparser author dicts, de-duplicated in order; an e-mail address alone is not a name."""
    names: list[str] = []
    for author in authors or ():
        name = author_name(_string(_raw(author, "name")) or "")
        if name and name not in names:
            names.append(name)
    return tuple(names)


_ADDRESS = re.compile(r"<?\s*(?:mailto:)?[^\s@()<>]+@[^\s@()<>]+\s*>?")


def author_name(byline: str) -> str | None:
    """The person's name in a feed byline: "Name (address)", "address (Name)", "Name <address>" or "Name".

    An address alone is not a name (None).
    """
    text = _collapse(byline)
    bracketed = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", text)
    if bracketed:
        outside, inside = bracketed.groups()
        parts = [part for part in (outside, inside) if part and not _ADDRESS.fullmatch(part)]
        text = parts[0] if parts else ""
    text = _collapse(_ADDRESS.sub(" ", text)).strip(" ,;-")
    return text or None


# --- HTML -------------------------------------------------------------------


def _html_paragraphs(fragment: str) -> list[str]:
    """Paragraph texts of an HTML fragment, whitespace collapsed, before any cleaning rule; [] when unusable."""
    if not fragment or len(fragment) > MAX_HTML_CHARS:
        return []
    fragment = _UNSAFE_CHARS.sub("", fragment)
    if not _HAS_STRUCTURE.search(fragment):
        fragment = _BLANK_LINES.sub(_BREAK, fragment)
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = lxml.html.document_fromstring(fragment.encode("utf-8"), parser=parser)
    except (lxml.etree.LxmlError, ValueError):
        return []
    if any(error.level_name == "FATAL" for error in parser.error_log):
        return []  # e.g. nesting beyond libxml2's depth limit: the tree is truncated
    for element in list(root.iter(*_DROPPED_TAGS)):
        element.drop_tree()
    for element in root.iter(*_BLOCK_TAGS):
        element.text = _BREAK + (element.text or "")
        element.tail = _BREAK + (element.tail or "")
    for element in root.iter("br"):
        element.tail = _BREAK + (element.tail or "")
    for element in root.iter(*_CELL_TAGS):
        element.tail = " " + (element.tail or "")
    return _split_breaks(root.text_content())


def _plain_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text: blank lines separate them, other line breaks are spaces."""
    return _split_breaks(_BLANK_LINES.sub(_BREAK, _UNSAFE_CHARS.sub("", text)))


def _split_breaks(text: str) -> list[str]:
    return [collapsed for part in text.split(_BREAK) if (collapsed := _collapse(part))]


# --- small helpers ----------------------------------------------------------


def _raw(mapping: Any, key: str) -> Any:
    """``mapping[key]`` without FeedParserDict's aliases (it answers ``updated`` with ``published``)."""
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _looks_globally_unique(guid: str) -> bool:
    lowered = guid.lower()
    return "://" in guid or lowered.startswith(("tag:", "urn:")) or len(guid) >= GLOBAL_GUID_MIN_CHARS


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "bozo"
    message = _collapse(str(error))
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:MAX_BOZO_CHARS]


def _bozo_class(bozo: str) -> str:
    return bozo.split(":", 1)[0].strip()
