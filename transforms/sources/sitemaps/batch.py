"""Read sitemaps politely into source documents: discover, crawl indexes, fetch the new pages.

Roots are ``--sitemap`` URLs and, for ``--site`` origins, the ``Sitemap:`` lines of their
robots.txt (``/sitemap.xml`` when there are none). Every request goes through the project's
polite client (``FetchByHost``: robots.txt, per-host pacing, SSRF rules, size caps, deadlines).
Counters (namespace ``sitemaps``): ``entries`` (every page listed), ``entries_already_seen``,
``filtered_<why>``, ``rejected_<reason>`` (a page that could not be fetched: one rejects row),
``pages_fetched``, ``sitemaps_fetched``, ``sitemaps_not_modified``, ``sitemaps_unchanged`` (lastmod
in the index unchanged, not fetched) and ``sitemap_rejected_<reason>`` (one rejects row per sitemap).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import apache_beam as beam
from protego import Protego

from schemas import Reject
from transforms.http.addresses import redact_credentials
from transforms.http.polite import FetchByHost, FetchSession, FetchSettings
from transforms.http.robots import ROBOTS_UNREACHABLE, origin_of
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.document import PAGE, SourceDocument
from transforms.sources.feeds.rules import HTML_TYPES, PAGE_ACCEPT, describe, fetch_reason
from transforms.sources.sitemaps.parsing import INDEX, SitemapEntry, SitemapError, parse_sitemap
from transforms.sources.sitemaps.state import HandledPage, SitemapState, after_fetch, unreadable

STAGE = "sitemaps"
log = logging.getLogger(__name__)
SOURCE = "sitemap"
"""The run summary's name for documents found through sitemaps."""
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, text/plain;q=0.5, */*;q=0.1"
MAX_SITEMAPS_PER_ROOT = 1000
MAX_DEPTH = 3
SITEMAP_TOO_DEEP = "sitemap_too_deep"
TRANSIENT = ("timeout", "connection_error", "dns_error", "incomplete_body", "http_429", ROBOTS_UNREACHABLE)
"""Page failures a later run should retry: the page is not marked handled."""


@dataclass(frozen=True)
class SitemapRoot:
    """A sitemap URL to read, or (``discover``) a site origin whose robots.txt names its sitemaps."""

    url: str
    discover: bool = False


class SitemapOutputs(NamedTuple):
    documents: beam.PCollection
    rejects: beam.PCollection
    states: beam.PCollection
    handled: beam.PCollection


class ReadSitemaps(beam.PTransform):
    """Sitemap roots → documents for new pages, rejects, sitemaps' new states, pages handled."""

    def __init__(
        self,
        roots: Sequence[SitemapRoot],
        known: dict[str, SitemapState],
        run: RunContext,
        settings: FetchSettings,
        filters: ArchiveFilters = ArchiveFilters(),
    ):
        super().__init__()
        self._roots, self._known, self._run, self._settings, self._filters = list(roots), known, run, settings, filters

    def expand(self, pbegin):
        known, run, filters = self._known, self._run, self._filters
        crawled = (
            pbegin
            | "SitemapRoots" >> beam.Create(self._roots)
            | "CrawlSitemaps"
            >> FetchByHost(
                lambda session, root: crawl_sitemaps(session, root, known, run, filters),
                lambda root: root.url,
                self._settings,
            )
        )
        fetched = (
            crawled
            | "NewEntries" >> beam.Filter(lambda item: isinstance(item, SitemapEntry))
            | "FetchPages"
            >> FetchByHost(
                lambda session, entry: fetch_sitemap_page(session, entry, run), lambda e: e.url, self._settings
            )
        )
        sitemap_rejects = crawled | "SitemapRejects" >> beam.Filter(lambda item: isinstance(item, Reject))
        page_rejects = fetched | "PageRejects" >> beam.Filter(lambda item: isinstance(item, Reject))
        return SitemapOutputs(
            documents=fetched | "Documents" >> beam.Filter(lambda item: isinstance(item, SourceDocument)),
            rejects=(sitemap_rejects, page_rejects) | "AllSitemapRejects" >> beam.Flatten(),
            states=crawled | "States" >> beam.Filter(lambda item: isinstance(item, SitemapState)),
            handled=fetched | "Handled" >> beam.Filter(lambda item: isinstance(item, HandledPage)),
        )


def crawl_sitemaps(
    session: FetchSession,
    root: SitemapRoot,
    known: dict[str, SitemapState],
    run: RunContext,
    filters: ArchiveFilters = ArchiveFilters(),
    now: dt.datetime | None = None,
) -> list[SitemapEntry | SitemapState | Reject]:
    """Every sitemap under one root: new entries to fetch, each fetched sitemap's new state, rejects."""
    now = now or dt.datetime.now(dt.UTC)
    pending = [(url, None, 0) for url in (discover_sitemaps(session, root.url) if root.discover else [root.url])]
    visited: set[str] = set()
    listed: set[str] = set()
    out: list[SitemapEntry | SitemapState | Reject] = []
    while pending:
        if len(visited) >= MAX_SITEMAPS_PER_ROOT:
            session.count(counters.SITEMAPS_OVER_LIMIT, len(pending))
            log.warning("%s: more than %d sitemaps; %d not read", root.url, MAX_SITEMAPS_PER_ROOT, len(pending))
            break
        url, lastmod, depth = pending.pop(0)
        if url in visited:
            continue
        visited.add(url)
        state = known.get(url) or SitemapState(url)
        if lastmod and state.lastmod == lastmod and state.last_error is None:
            session.count(counters.SITEMAPS_UNCHANGED)
            continue
        robots = session.robots(url)
        if not robots.allowed:
            out.append(_sitemap_reject(session, run, url, robots_reason(robots.reason), robots.detail, url))
            continue
        result = session.get(url, etag=state.etag, last_modified=state.last_modified, accept=SITEMAP_ACCEPT)
        new_state = after_fetch(state, result, lastmod, now)
        if result.not_modified:
            session.count(counters.SITEMAPS_NOT_MODIFIED)
            out.append(new_state)
            continue
        if result.error:
            out.append(new_state)
            out.append(_sitemap_reject(session, run, url, fetch_reason(result), describe(result), result.body or url))
            continue
        session.count(counters.SITEMAPS_FETCHED)
        try:
            parsed = parse_sitemap(result.body, url, session.policy.max_decoded_bytes)
        except SitemapError as err:
            out.append(unreadable(new_state, "invalid_sitemap"))
            out.append(_sitemap_reject(session, run, url, "invalid_sitemap", str(err), result.body))
            continue
        out.append(new_state)
        if parsed.kind == INDEX:
            if depth < MAX_DEPTH:
                pending.extend((child.url, child.lastmod, depth + 1) for child in parsed.children)
            else:  # each dropped child is a reject, so what it lists is known to be unseen
                detail = f"a sitemap index nested deeper than {MAX_DEPTH} levels (listed by {url})"
                out += [_sitemap_reject(session, run, c.url, SITEMAP_TOO_DEEP, detail, c.url) for c in parsed.children]
            continue
        for entry in parsed.entries:
            session.count(counters.SITEMAP_ENTRIES)
            outcome = entry_outcome(entry, state, filters, listed)
            if outcome:
                session.count(outcome)
            else:
                out.append(entry)
    return out


def entry_outcome(
    entry: SitemapEntry, state: SitemapState, filters: ArchiveFilters, listed: set[str]
) -> counters.Counter | None:
    """None when the entry's page should be fetched; else the counter it is skipped under."""
    if entry.url in listed or state.knows(entry.url, entry.version):
        return counters.SITEMAP_ENTRIES_ALREADY_SEEN
    listed.add(entry.url)
    problem = filters.record_problem(entry.url, entry.listed_at)
    return counters.SITEMAP_FILTERED.of(problem) if problem else None


def discover_sitemaps(session: FetchSession, origin: str) -> list[str]:
    """The ``Sitemap:`` URLs of the origin's robots.txt; ``/sitemap.xml`` when it names none."""
    base = origin_of(origin) or origin.rstrip("/")
    result = session.get(f"{base}/robots.txt", accept="text/plain")
    found = list(Protego.parse(result.body.decode("utf-8", "replace")).sitemaps) if not result.error else []
    session.count(counters.SITES_DISCOVERED.of("discovered" if found else "without_robots_sitemaps"))
    return found or [f"{base}/sitemap.xml"]


def fetch_sitemap_page(session: FetchSession, entry: SitemapEntry, run: RunContext) -> list:
    """The entry's page as a document (or a reject), and a HandledPage unless a retry may succeed."""
    robots = session.robots(entry.url)
    if not robots.allowed:
        reason, detail = robots_reason(robots.reason), robots.detail
    else:
        result = session.get(entry.url, accept=PAGE_ACCEPT)
        content_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if not result.error and content_type in HTML_TYPES:
            session.count(counters.SITEMAP_PAGES_FETCHED)
            document = SourceDocument(
                source_uri=redact_credentials(entry.sitemap_url),
                kind=PAGE,
                body=result.body,
                url=result.final_url or entry.url,
                title=entry.title,
                published=entry.published,
                published_by="sitemap",
                source=entry.publication,
                entry_id=None,
                fetched_at=dt.datetime.now(dt.UTC).isoformat(),  # when the GET answered
                accounted_as=SOURCE,
            )
            return [document, HandledPage(entry.sitemap_url, entry.url, entry.version)]
        reason = fetch_reason(result) if result.error else "not_html"
        detail = describe(result) if result.error else f"not an HTML page (content-type {content_type or 'missing'})"
    session.count(counters.rejected(counters.SITEMAPS).of(reason))
    reject = run.reject(
        redact_credentials(entry.url), "fetch", reason, redact_credentials(detail), f"{entry.url}\n{entry.version}"
    )
    transient = reason in TRANSIENT or reason.startswith("http_5")
    return [reject] if transient else [reject, HandledPage(entry.sitemap_url, entry.url, entry.version)]


def robots_reason(decision_reason: str) -> str:
    """A rejects reason for a URL robots.txt keeps us from: 'robots_disallowed' or 'robots_unreachable'."""
    return ROBOTS_UNREACHABLE if decision_reason == ROBOTS_UNREACHABLE else "robots_disallowed"


def _sitemap_reject(session: FetchSession, run: RunContext, url: str, reason: str, detail: str, evidence) -> Reject:
    session.count(counters.SITEMAPS_FAILED.of(reason))
    return run.reject(redact_credentials(url), "fetch", reason, redact_credentials(detail), evidence)


def sitemap_roots(sitemaps: Sequence[str], discover_origins: Sequence[str]) -> list[SitemapRoot]:
    """``--sitemap`` URLs, then one discovery root per site origin, without repeats."""
    roots = [SitemapRoot(url) for url in sitemaps] + [SitemapRoot(origin, discover=True) for origin in discover_origins]
    return list(dict.fromkeys(roots))
