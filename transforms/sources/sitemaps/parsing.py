"""Parse a sitemap body: a sitemap index, a ``<urlset>`` (with the Google News ``news:`` extension),
or a plain-text list of URLs; gzipped or not.

Parsed with lxml's pull parser (no entities, no network, recover on broken markup) rather than
ultimate-sitemap-parser: that library parses urlsets and the news extension just as well on our
fixtures, but drops an index's ``<lastmod>`` per child sitemap, which is what lets a later run
skip unchanged children; and it brings its own HTTP stack, where ours must be the polite client.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from dataclasses import dataclass

from lxml import etree

from transforms.normalise.dates import parse_published

GZIP_MAGIC = b"\x1f\x8b"
INDEX, URLSET, TEXT = "index", "urlset", "text"


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>``: the page and what the sitemap says about it."""

    url: str
    sitemap_url: str
    lastmod: str | None = None
    published: str | None = None  # news:publication_date, ISO-8601 as given
    title: str | None = None  # news:title
    language: str | None = None  # news:language
    publication: str | None = None  # news:publication/news:name

    @property
    def version(self) -> str:
        """What identifies this listing of the page: it is new again when lastmod (or the news date) changes."""
        return self.lastmod or self.published or ""

    @property
    def listed_at(self) -> dt.datetime | None:
        """The entry's own time: the news date, else lastmod (what --since/--until check before fetching)."""
        return parse_w3c_datetime(self.published) or parse_w3c_datetime(self.lastmod)


@dataclass(frozen=True)
class ChildSitemap:
    """One ``<sitemap>`` of an index."""

    url: str
    lastmod: str | None = None


@dataclass(frozen=True)
class ParsedSitemap:
    kind: str  # INDEX, URLSET or TEXT
    children: tuple[ChildSitemap, ...] = ()
    entries: tuple[SitemapEntry, ...] = ()


class SitemapError(ValueError):
    """Not a sitemap: undecodable gzip, not XML, or XML that is neither an index nor a urlset."""


def gunzip_capped(body: bytes, limit: int) -> bytes:
    """The body, gunzipped when it is gzip (a ``.xml.gz`` served as a file); SitemapError over ``limit`` bytes."""
    if not body.startswith(GZIP_MAGIC):
        return body
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decoder.decompress(body, limit + 1)
    except zlib.error as err:
        raise SitemapError(f"invalid gzip: {err}") from err
    if len(data) > limit:
        raise SitemapError(f"more than {limit} bytes once gunzipped")
    return data


def parse_sitemap(body: bytes, sitemap_url: str, max_bytes: int = 50 * 2**20) -> ParsedSitemap:
    """Whatever one sitemap body lists; raises SitemapError when it is not a sitemap."""
    data = gunzip_capped(body, max_bytes).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not data.startswith(b"<"):
        urls = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
        listed = tuple(SitemapEntry(u, sitemap_url) for u in urls if u.lower().startswith(("http://", "https://")))
        if not listed:
            raise SitemapError("neither XML nor a list of http(s) URLs")
        return ParsedSitemap(TEXT, entries=listed)
    children: list[ChildSitemap] = []
    entries: list[SitemapEntry] = []
    root = None
    try:
        events = etree.iterparse(
            io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True, recover=True
        )
        for event, element in events:
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if event == "start":
                root = root or name
                continue
            if name == "url":
                entry = _entry(element, sitemap_url)
                if entry:
                    entries.append(entry)
                element.clear()
            elif name == "sitemap" and root == "sitemapindex":
                loc = _text(element, "loc")
                if loc:
                    children.append(ChildSitemap(loc, _text(element, "lastmod")))
                element.clear()
    except etree.LxmlError as err:
        if root is None:
            raise SitemapError(f"not XML: {err}") from err
    if root == "sitemapindex":
        return ParsedSitemap(INDEX, children=tuple(children))
    if root == "urlset":
        return ParsedSitemap(URLSET, entries=tuple(entries))
    raise SitemapError(f"XML root <{root}> is neither <sitemapindex> nor <urlset>")


def _entry(element, sitemap_url: str) -> SitemapEntry | None:
    loc = _text(element, "loc")
    if not loc:
        return None
    news = _child(element, "news")
    publication = _child(news, "publication") if news is not None else None
    return SitemapEntry(
        url=loc,
        sitemap_url=sitemap_url,
        lastmod=_text(element, "lastmod"),
        published=_text(news, "publication_date") if news is not None else None,
        title=_text(news, "title") if news is not None else None,
        language=_text(publication, "language") if publication is not None else None,
        publication=_text(publication, "name") if publication is not None else None,
    )


def _child(element, localname: str):
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == localname:
            return child
    return None


def _text(element, localname: str) -> str | None:
    child = _child(element, localname)
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def parse_w3c_datetime(value: str | None) -> dt.datetime | None:
    """A sitemap date (W3C datetime: YYYY, YYYY-MM, YYYY-MM-DD or a time with offset) in UTC; None if unreadable."""
    text = (value or "").strip()
    if re.fullmatch(r"\d{4}(-\d{2})?", text):
        return dt.datetime(int(text[:4]), int(text[5:7] or 1), 1, tzinfo=dt.UTC) if int(text[5:7] or 1) <= 12 else None
    return parse_published(text)
