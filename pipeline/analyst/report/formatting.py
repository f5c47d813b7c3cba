"""How values read on the page: times and days in UTC, counts with their noun, escaped text and safe links."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlsplit


def readable_time(value: dt.datetime | str | None) -> str:
    """'26 Jul 2022, 09:00 UTC' (a datetime or an ISO string); '' for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    value = value.astimezone(dt.UTC) if value.tzinfo else value
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def readable_day(value: dt.date | str) -> str:
    """'26 Jul 2022'."""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {day:%b %Y}"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (never a ``javascript:`` or ``file:`` link from a feed)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def link(url: str | None, text: str) -> str:
    href = safe_href(url)
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{esc(text)}</a>' if href else esc(text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"
