"""Publication times read from what inputs say: validated, range-checked, with their precision.

One rule for every date newsbeam reads (a JSON Lines ``published``, a page date found by
htmldate, a feed entry's date, a text file's date line): a value is used only when it names a
real instant inside ``EARLIEST`` … now + ``AHEAD``. Anything else (``2024-02-30``, year 9999,
``0001-01-01T00:00:00+05:00``, which overflows on conversion to UTC) gives no time and a
``problem`` that says why, never an exception and never a silently shifted date.

Precision says what the source actually gave: ``day`` (a date alone, stored as midnight UTC,
so a midnight means "time unknown"), ``minute`` or ``second``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AHEAD",
    "DAY",
    "EARLIEST",
    "MINUTE",
    "SECOND",
    "PublicationTime",
    "coarse_guess",
    "page_time",
    "parse_published",
    "read_feed_time",
    "read_iso_time",
    "within_window",
]

EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
"""No news article newsbeam ingests was published before this; earlier dates are refused."""
AHEAD = dt.timedelta(days=2)
"""How far past the current time a date may lie (time zones, embargoed items); later dates are refused."""

DAY, MINUTE, SECOND = "day", "minute", "second"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")
_ISO_TIME = re.compile(r"[T ](\d{2}):?(\d{2})(?::?(\d{2}))?")
_RFC822_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_RFC822_YEAR = re.compile(r"\b\d{1,2}\s+[A-Za-z]{3,}\.?\s+(\d{3,})\b")
"""A year written with 3 or more digits: taken as written (``parsedate_tz`` turns 0001 into 2001)."""


@dataclass(frozen=True)
class PublicationTime:
    """A checked time (aware UTC) and its precision, or why the given value was refused."""

    at: dt.datetime | None = None
    precision: str | None = None
    problem: str | None = None


def read_iso_time(value: str | None, now: dt.datetime | None = None) -> PublicationTime:
    """ISO-8601 date or datetime → checked UTC time; a naive time is taken as UTC."""
    if not value or not value.strip():
        return PublicationTime()
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as error:
        kind = "impossible" if _ISO_DATE.match(text) else "unreadable"  # 2024-02-30 is a date that doesn't exist
        return PublicationTime(problem=f"{kind}: {text[:64]!r} ({error})")
    time_part = _ISO_TIME.search(text[10:]) if len(text) > 10 else None
    precision = DAY if time_part is None else SECOND if time_part.group(3) else MINUTE
    return within_window(parsed, text, precision, now)


def parse_published(value: str | None) -> dt.datetime | None:
    """ISO-8601 date or datetime → aware UTC datetime; a naive time is taken as UTC; None if invalid or out of range."""
    return read_iso_time(value).at


def page_time(value: str | None) -> PublicationTime:
    """htmldate's date: a naive midnight is how it reports a page that gives only a day."""
    if value and value.endswith("T00:00:00"):
        return read_iso_time(value[:10])
    return read_iso_time(value)


def coarse_guess(value: str) -> PublicationTime:
    """No time, and why: a page's only date was a year or month in its text, reported as its first day."""
    precision = "a year" if value[5:10] == "01-01" else "a month"
    return PublicationTime(problem=f"only {precision} in the page text ({value[:10]}), not a publication day")


def read_feed_time(raw: str | None, parsed: Any, now: dt.datetime | None = None) -> PublicationTime:
    """A feed entry's date: the raw string when it is ISO-8601 or RFC 822, else feedparser's struct_time.

    The raw string is read first because feedparser normalises impossible dates (30 February
    becomes 1 March; ``0001-01-01T00:00:00+05:00`` becomes year 0) instead of refusing them.
    """
    text = (raw or "").strip()
    if text:
        iso = read_iso_time(text, now)
        if iso.at or not iso.problem or not iso.problem.startswith("unreadable"):
            return iso
        fields = email.utils.parsedate_tz(text)
        if fields is not None:
            precision = SECOND if _RFC822_SECONDS.search(text) else MINUTE
            written_year = _RFC822_YEAR.search(text)
            if written_year:
                fields = (int(written_year.group(1)), *fields[1:])
            try:
                local = dt.datetime(*fields[:6], tzinfo=dt.timezone(dt.timedelta(seconds=fields[9] or 0)))
            except (ValueError, OverflowError) as error:
                return PublicationTime(problem=f"impossible: {text[:64]!r} ({error})")
            return within_window(local, text, precision, now)
    if not isinstance(parsed, (time.struct_time, tuple)) or len(parsed) < 6:
        return PublicationTime(problem=f"unreadable: {text[:64]!r}") if text else PublicationTime()
    try:
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        at = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except (TypeError, ValueError, OverflowError) as error:
        return PublicationTime(problem=f"impossible: {text[:64] or tuple(parsed[:6])!r} ({error})")
    return within_window(at, text or at.isoformat(), SECOND, now)


def within_window(at: dt.datetime, given: str, precision: str, now: dt.datetime | None = None) -> PublicationTime:
    """``at`` in UTC when it lies inside ``EARLIEST`` … ``now`` + ``AHEAD``, else a problem naming the window."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        utc = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (OverflowError, ValueError) as error:
        return PublicationTime(problem=f"out_of_range: {given[:64]!r} ({error})")
    if not EARLIEST <= utc <= now + AHEAD:
        window = f"{EARLIEST.date().isoformat()} … {(now + AHEAD).date().isoformat()}"
        return PublicationTime(problem=f"out_of_range: {given[:64]!r} is outside {window}")
    return PublicationTime(utc, precision)
