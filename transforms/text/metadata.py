"""Titles and bylines cleaned with what is known about the site: its name, its host, the feed's title.

Pages put the site name into their ``<title>`` ("… | TechCrunch", "… – DW – 28.04.2023",
"…：東京新聞デジタル") and into author fields ("Hessenschau De", "Deutsche Welle"), and author
fields also carry datelines ("Frankfurt", "Germany") and "By". These rules remove them:

- ``strip_site_name``: leading or trailing title segments (split at `` | ``, `` - ``, `` – ``,
  `` — ``, ``｜``, ``：``, ``·``) that name the site, and dates next to such a segment; never
  the whole title, and never a date or section alone (nothing proves it isn't the headline's).
- ``clean_authors``: "By"/"Von"/"Par"/"Por" prefixes off; names that are the site or a place
  (a country or a time-zone city of the system tz database) dropped while a person remains.
- ``declared_text``, ``declared_keywords``, ``declared_image``: what the page declares about
  itself (its description, section, keywords, top image), tidied, never guessed from the text.

A segment names the site when its words equal the site name's words, or are the start or end
of them (or the reverse) with at least four letters in common: "WELT" for "DIE WELT",
"Times of India" for "The Times of India", "Golem.de" for the host golem.de.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

__all__ = [
    "clean_authors",
    "declared_image",
    "declared_keywords",
    "declared_text",
    "headline_seen",
    "site_names",
    "strip_site_name",
]

MIN_PARTIAL_MATCH_CHARS = 4
"""A partial match (start or end of the site name) needs this many letters, so "DW" matches only "DW"."""

_SEPARATOR = re.compile(r"(\s*[|｜]\s*|\s*：\s*|\s+[-–—·•»~/]\s+)")
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\.?\s+\w+\.?\s+\d{4}|\w+\.?\s+\d{1,2},?\s+\d{4}")
_DOMAIN = re.compile(r"^(?:www\.)?([\w-]+(?:\.[\w-]+)*)\.[a-z]{2,}$", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por|di|door|av|af)\s+", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def site_names(*names: str | None, urls: Iterable[str | None] = ()) -> tuple[str, ...]:
    """The known names of a site: the given names and the hosts of the URLs (empty values skipped)."""
    found = [name for name in names if name and name.strip()]
    for url in urls:
        try:
            host = urlsplit(url).hostname if url else None
        except ValueError:
            host = None
        if host:
            found.append(host)
    return tuple(dict.fromkeys(found))


def strip_site_name(title: str | None, names: Iterable[str]) -> str | None:
    """The title without a leading or trailing site name (and the dates beside it); never empty."""
    if not title:
        return title
    keys = [key for name in names if (key := _words(name))]
    parts = _SEPARATOR.split(title.strip())
    segments, separators = parts[0::2], parts[1::2]
    if len(segments) < 2 or not keys:
        return title.strip()
    start, end = 0, len(segments)
    end = _strip_end(segments, start, end, keys, step=-1)
    start = _strip_end(segments, start, end, keys, step=1)
    kept = [segments[start]]
    for index in range(start + 1, end):
        kept += [separators[index - 1], segments[index]]
    return "".join(kept).strip() or title.strip()


def headline_seen(title: str | None, headings: Iterable[str]) -> str | None:
    """The part of ``title`` that the page shows as its headline (an ``<h1>``), else ``title``.

    A ``<title>`` adds the site's name and sections around the headline ("Budget passes - National
    | Example News"); when a run of its segments equals the text of one of the page's headings,
    that run is the headline a reader sees, whatever the names around it. The run must be at least
    as long as every segment outside it, so a logo's ``<h1>`` with the site name never wins.
    """
    if not title:
        return title
    parts = _SEPARATOR.split(title.strip())
    segments, separators = parts[0::2], parts[1::2]
    if len(segments) < 2:
        return title
    wanted = {key for heading in headings if (key := _words(heading))}
    for size in range(len(segments) - 1, 0, -1):
        for start in range(len(segments) - size + 1):
            run = [segments[start]]
            for index in range(start + 1, start + size):
                run += [separators[index - 1], segments[index]]
            text = "".join(run).strip()
            outside = segments[:start] + segments[start + size :]
            if _words(text) in wanted and all(len(_words(text)) >= len(_words(other)) for other in outside):
                return text  # the longest part: a logo's <h1> naming the site is not the headline
    return title


def clean_authors(authors: Iterable[str], names: Iterable[str]) -> tuple[str, ...]:
    """Author names without "By", and without the site's name or places while a person's name remains."""
    keys = [key for name in names if (key := _words(name))]
    cleaned = []
    for author in authors:
        author = " ".join(_BYLINE_PREFIX.sub("", author.strip()).split())
        if author and author not in cleaned:
            cleaned.append(author)
    people = [a for a in cleaned if not any(_names_site(_words(a), key) for key in keys) and not _is_place(a)]
    return tuple(people or cleaned)


def declared_text(value: object) -> str | None:
    """A declared string field with its whitespace collapsed; None when it is not a string or is blank."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def declared_keywords(values: Iterable[object] | None) -> tuple[str, ...]:
    """Keywords in declaration order, each once (case-insensitively); comma-joined lists (``"a, b"``) split."""
    found: dict[str, str] = {}
    for value in values or ():
        for part in value.split(",") if isinstance(value, str) else ():
            keyword = " ".join(part.split())
            if keyword:
                found.setdefault(keyword.casefold(), keyword)
    return tuple(found.values())


def declared_image(image: object, page_url: str | None) -> str | None:
    """The declared top image as an absolute http(s) URL (resolved against the page), without credentials."""
    address = declared_text(image)
    if not address:
        return None
    if page_url:
        try:
            address = urljoin(page_url, address)
        except ValueError:
            return None
    try:
        parts = urlsplit(address)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or " " in address:
        return None
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _strip_end(segments: list[str], start: int, end: int, keys: list[tuple[str, ...]], step: int) -> int:
    """The new ``end`` (step -1) or ``start`` (step 1) after dropping site-name segments and the dates among them."""
    first, last = start, end
    named = False
    while last - first > 1:
        segment = segments[last - 1] if step < 0 else segments[first]
        if any(_names_site(_words(segment), key) for key in keys):
            named = True
        elif not _DATE.fullmatch(segment.strip()):
            break
        if step < 0:
            last -= 1
        else:
            first += 1
    if not named:  # only dates (or nothing) at this end: they may belong to the headline
        return end if step < 0 else start
    return last if step < 0 else first


def _names_site(words: tuple[str, ...], key: tuple[str, ...]) -> bool:
    if not words:
        return False
    if words == key:
        return True
    shorter, longer = sorted((words, key), key=len)
    if sum(map(len, shorter)) < MIN_PARTIAL_MATCH_CHARS or len(shorter) == len(longer):
        return False
    return longer[: len(shorter)] == shorter or longer[-len(shorter) :] == shorter


def _words(name: str) -> tuple[str, ...]:
    """Casefolded words of a name; a host or domain-like name loses 'www.' and its top-level domain."""
    text = unicodedata.normalize("NFKC", name).strip()
    domain = _DOMAIN.match(text)
    if domain:
        text = domain.group(1)
    return tuple(_WORD.findall(text.casefold()))


def _is_place(name: str) -> bool:
    return _words(name) in _places()


@lru_cache(maxsize=1)
def _places() -> frozenset[tuple[str, ...]]:
    """Country names and time-zone cities of the system tz database (empty when it isn't installed)."""
    places: set[tuple[str, ...]] = set()
    for zone in zoneinfo.available_timezones():
        city = zone.rsplit("/", 1)[-1].replace("_", " ")
        places.add(_words(city))
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "iso3166.tab"
        if table.is_file():
            for line in table.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#") and "\t" in line:
                    places.add(_words(line.split("\t", 1)[1]))
            break
    return frozenset(p for p in places if p)
