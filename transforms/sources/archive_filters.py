"""Archive filters: which sites, which dates and which languages a run keeps.

``--site`` and the fetch-date half of ``--since``/``--until`` are checked on a WARC record or a
sitemap entry before anything is extracted (or fetched); the publication-date half and
``--language`` on the extracted article. A filtered item is counted, never written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import apache_beam as beam

from schemas import Article
from transforms.run import counters

SITE, FETCH_DATE, PUBLISHED, LANGUAGE = "site", "fetch_date", "published", "language"
"""Why an item was filtered out: the counter suffixes."""


@dataclass(frozen=True)
class ArchiveFilters:
    """Host suffixes, a [since, until) time range and languages; empty means no filter."""

    sites: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    """Exclusive; ``--until 2024-03-31`` keeps the whole of that day."""
    languages: tuple[str, ...] = ()

    def site_allowed(self, url: str | None) -> bool:
        """The URL's host is one of ``sites`` or below one (``bbc.co.uk`` keeps ``www.bbc.co.uk``)."""
        if not self.sites:
            return True
        host = host_name(url)
        return host is not None and any(host == suffix or host.endswith("." + suffix) for suffix in self.sites)

    def in_range(self, when: dt.datetime | None) -> bool:
        """``when`` lies in [since, until); an unknown time passes (it can't be judged)."""
        if when is None:
            return True
        return (self.since is None or when >= self.since) and (self.until is None or when < self.until)

    def record_problem(self, url: str | None, fetched_at: dt.datetime | None) -> str | None:
        """Before extraction: ``SITE`` or ``FETCH_DATE`` when a record or entry is filtered out, else None."""
        if not self.site_allowed(url):
            return SITE
        if not self.in_range(fetched_at):
            return FETCH_DATE
        return None

    def article_problem(self, article: Article) -> str | None:
        """After extraction: ``LANGUAGE`` or ``PUBLISHED`` when the article is filtered out, else None."""
        if self.languages and article.language not in self.languages:
            return LANGUAGE
        if not self.in_range(article.published_at):
            return PUBLISHED
        return None

    @property
    def filters_articles(self) -> bool:
        return bool(self.languages or self.since or self.until)


class FilterArticles(beam.PTransform):
    """Articles → the ones the filters keep; the others are counted ``filter.articles_<why>``."""

    def __init__(self, filters: ArchiveFilters):
        super().__init__()
        self._filters = filters

    def expand(self, articles):
        return articles | "KeepWanted" >> beam.FlatMap(_kept, self._filters)


def _kept(article: Article, filters: ArchiveFilters) -> Iterator[Article]:
    problem = filters.article_problem(article)
    if problem:
        counters.ARTICLES_FILTERED.of(problem).inc()
        return
    yield article


def host_name(url: str | None) -> str | None:
    """Lower-case host of a URL without a trailing dot; None when there is none."""
    try:
        host = urlsplit(url or "").hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def expand_site_values(values: Iterable[str], read_text: Callable[[str], str]) -> list[str]:
    """``--site`` values, comma-separated ones split and files read: a value with a '/' that is not
    an http(s) URL, or ending in '.txt', is a file of sites (one per line or comma-separated, '#' comments)."""
    items: list[str] = []
    for value in values:
        is_url = value.lower().startswith(("http://", "https://"))
        if not is_url and ("/" in value or value.lower().endswith(".txt")):
            lines = [line.split("#", 1)[0] for line in read_text(value).splitlines()]
            items.extend(part for line in lines for part in line.split(","))
        else:
            items.extend(value.split(","))
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def site_suffix(site: str) -> str:
    """The host suffix of a site given as 'bbc.co.uk', '.bbc.co.uk' or 'https://www.bbc.co.uk/'."""
    if site.lower().startswith(("http://", "https://")):
        return host_name(site) or ""
    return site.strip().lower().strip(".").split("/", 1)[0].rsplit(":", 1)[0]


def site_origin(site: str) -> str:
    """Where the site's robots.txt is: the origin of a URL, else https:// and the host."""
    if site.lower().startswith(("http://", "https://")):
        parts = urlsplit(site)
        return f"{parts.scheme.lower()}://{parts.netloc}"
    return "https://" + site.strip().lower().strip(".")


def parse_time_bound(value: str | None, *, end: bool = False) -> dt.datetime | None:
    """``YYYY-MM-DD`` or an ISO-8601 time, in UTC (naive times are UTC). A bare date as an ``end``
    bound means the end of that day. Raises ValueError for anything else."""
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end else start
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from err
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def parse_languages(values: Iterable[str]) -> tuple[str, ...]:
    """ISO 639-1 codes from ``--language`` values (repeatable or comma-separated)."""
    codes = (part.strip().lower() for value in values for part in value.split(","))
    return tuple(dict.fromkeys(code for code in codes if code))
