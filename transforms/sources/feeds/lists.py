"""Read the list of feeds to poll: a plain text file or an OPML export.

A plain list has one http(s) URL per line; blank lines and ``#`` comments (a whole line, or
a trailing `` # note`` after the URL) are ignored, so a ``#fragment`` inside a URL is kept.
An OPML document (what feed readers export) is recognised by its content: the feeds are the
``xmlUrl`` attributes of all its outlines, folders included. OPML is parsed with defusedxml,
which refuses entity declarations and external entities, so a feeds file cannot blow up
memory or read local files.

URLs are returned as written (they are the stable key of a feed), in file order, each once.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

__all__ = ["read_feed_list"]

WEB_SCHEMES = ("http", "https")

_TRAILING_COMMENT = re.compile(r"\s+#.*\Z")
_XML_START = re.compile(r"\A\s*<")


def read_feed_list(text: str, name: str = "<feeds>") -> list[str]:
    """Feed URLs of a feeds file (plain list or OPML), in file order, de-duplicated.

    Raises ValueError naming ``name`` (and the line, for a plain list) when a line is not an
    http(s) URL, when an XML document is not well-formed OPML, or when it declares entities.
    """
    text = text.lstrip("\ufeff")
    urls = _read_opml(text, name) if _XML_START.match(text) else _read_plain_list(text, name)
    return list(dict.fromkeys(urls))


def _read_plain_list(text: str, name: str) -> list[str]:
    urls = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _TRAILING_COMMENT.sub("", line).strip()
        if not entry or entry.startswith("#"):
            continue
        if not _is_web_url(entry):
            raise ValueError(f"{name}:{number}: not an http(s) URL: {line.strip()!r}")
        urls.append(entry)
    return urls


def _read_opml(text: str, name: str) -> list[str]:
    try:
        root = defusedxml.ElementTree.fromstring(text)
    except DefusedXmlException as error:
        raise ValueError(
            f"{name}: refused: a feeds file must not declare entities or refer to external resources ({error})"
        ) from None
    except ParseError as error:
        raise ValueError(f"{name}: malformed OPML: {error}") from None
    if _local_name(root.tag) != "opml":
        raise ValueError(f"{name}: an XML document whose root is <{_local_name(root.tag)}>, not <opml>")
    urls = []
    for outline in root.iter():
        if not isinstance(outline.tag, str) or _local_name(outline.tag) != "outline":
            continue
        url = _xml_url(outline)
        if url is None:
            continue  # a folder, or a link outline that is not a feed
        if not _is_web_url(url):
            label = outline.get("text") or outline.get("title") or ""
            raise ValueError(f"{name}: outline {label!r}: xmlUrl is not an http(s) URL: {url!r}")
        urls.append(url)
    return urls


def _xml_url(outline: Element) -> str | None:
    """The outline's xmlUrl attribute (exporters disagree on its case), stripped."""
    for attribute, value in outline.attrib.items():
        if attribute.lower() == "xmlurl":
            return value.strip()
    return None


def _is_web_url(value: str) -> bool:
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(host)


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
