"""The feed rules both graphs follow: one poll of one feed, and the document an entry becomes.

The batch graph (``feeds/batch.py``) polls every due feed once; the streaming graph
(``feeds/streaming.py``) polls on an interval and keeps each feed's state in keyed state. Both
call ``poll_feed`` and ``entry_document`` through a ``FetchSession``, so a feed gets the same
conditional GET, the same rejects and the same documents on either path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas import Reject
from transforms.http.addresses import redact_credentials
from transforms.http.client import FetchResult
from transforms.http.polite import FetchSession
from transforms.http.robots import ROBOTS_RULES
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.document import ENTRY_TEXT, PAGE, SourceDocument
from transforms.sources.feeds.parsing import NOT_AN_ENTRY, FeedEntry, feed_problem, parse_feed
from transforms.sources.feeds.state import FeedState, after_fetch, policy_hint, unexpected_not_modified

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FeedPoll:
    """What one poll of one feed produced."""

    state: FeedState
    entries: tuple[FeedEntry, ...] = ()
    reject: Reject | None = None
    item_rejects: tuple[Reject, ...] = ()
    """One per item of the feed that is no entry (counted in the feed's entries, rejected before extraction)."""
    bytes_received: int = 0
    """Size of the decoded feed body (0 on 304 and on errors)."""
    latency_seconds: float | None = None
    """How long the GET took, redirects included (not the wait for the host's turn)."""

    @property
    def rejects(self) -> list[Reject]:
        """The feed's reject (a failed poll) and those of its items that are no entry."""
        return ([self.reject] if self.reject else []) + list(self.item_rejects)


def poll_feed(session: FetchSession, state: FeedState, run: RunContext, now: dt.datetime | None = None) -> FeedPoll:
    """One conditional GET of a feed, parsed when it changed. Never raises for bad feeds."""
    now = now or dt.datetime.now(dt.UTC)
    result = session.get(state.current_url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT)
    new_state = after_fetch(state, result, now)
    session.count(counters.FEED_STATUS.of(result.status or result.error))
    measured: dict[str, Any] = {"bytes_received": len(result.body), "latency_seconds": result.elapsed}
    if result.not_modified and not unexpected_not_modified(state, result):
        return FeedPoll(new_state, **measured)
    if result.error or result.not_modified:
        reason = (
            "feed_gone" if result.status == 410 else fetch_reason(result) if result.error else "unexpected_not_modified"
        )
        session.count(counters.FEEDS_FAILED.of(reason))
        return FeedPoll(
            new_state,
            reject=run.reject(
                redact_credentials(state.feed_url), "fetch", reason, describe(result), result.body or reason
            ),
            **measured,
        )
    # Relative links resolve against where the feed was served from (after redirects), unless it says otherwise.
    parsed = parse_feed(result.body, {"content-location": result.final_url, **result.headers}, state.feed_url)
    problem = feed_problem(parsed)
    if problem:
        # Forget the validators: a 304 next time must not hide a feed we could not read.
        unread = dataclasses.replace(new_state, etag=None, last_modified=None)
        detail = (
            f"{parsed.bozo or 'no entries and no feed version'} "
            f"(content-type {result.headers.get('content-type', '?')})"
        )
        session.count(counters.FEEDS_FAILED.of(problem))
        return FeedPoll(
            unread,
            reject=run.reject(
                redact_credentials(state.feed_url), "parse", problem, redact_credentials(detail), result.body
            ),
            **measured,
        )
    if parsed.bozo:
        session.count(counters.FEEDS_SALVAGED)
    session.count(counters.FEED_ENTRIES, len(parsed.entries) + len(parsed.refused_items))
    item_rejects = tuple(
        run.reject(
            f"{redact_credentials(state.feed_url)}#item={position}",
            "parse",
            NOT_AN_ENTRY,
            why,
            f"{state.feed_url}\n{why}",
        )
        for position, why in parsed.refused_items
    )
    if item_rejects:  # rejected before extraction, as entries without text are
        session.count(counters.FEED_ENTRIES_WITHOUT_TEXT.of(NOT_AN_ENTRY), len(item_rejects))
    return FeedPoll(
        dataclasses.replace(new_state, last_bozo=parsed.bozo),
        entries=parsed.entries,
        item_rejects=item_rejects,
        **measured,
    )


def entry_document(
    session: FetchSession, entry: FeedEntry, run: RunContext, fetch_pages: bool = True
) -> SourceDocument | Reject:
    """The entry's article page (or, failing that, the entry's own text) as a document to extract.

    With neither, a ``fetch`` reject whose reason says why the page gave nothing (``http_404``,
    ``timeout``, ``robots_disallowed``, ``not_html``, ``no_link``, ``no_text`` when pages are not
    fetched, …) and which names the entry (link, title) and the page URL requested.
    """
    own_text, own_source = (
        (entry.content_text, "feed_content") if entry.content_text else (entry.summary_text, "feed_summary")
    )
    fields: dict[str, Any] = dict(
        source_uri=redact_credentials(entry.feed_url),
        url=entry.link,
        title=entry.title,
        source=entry.source,
        feed_title=entry.feed_title,
        authors=entry.authors,
        published=entry.publication_iso,
        published_problem=entry.date_problem,
        published_by="feed",
        entry_id=entry.entry_id,
        fallback_text=own_text,
        fallback_source=own_source,
    )
    page_url = None
    if not fetch_pages:
        reason, problem = "no_text", "not fetched (--no-fetch-articles)"
    elif not entry.link:
        reason, problem = "no_link", "the entry has no link"
    elif not (robots := session.robots(entry.link)).allowed:
        reason = "robots_disallowed" if robots.reason == ROBOTS_RULES else robots.reason
        problem = robots.detail
        session.count(counters.FEED_PAGES.of(f"robots_{robots.reason}"))
    else:
        result = session.get(entry.link, accept=PAGE_ACCEPT)
        page_url = result.final_url or entry.link
        content_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if not result.error and content_type in HTML_TYPES:
            session.count(counters.FEED_PAGES_FETCHED)
            fetched_at = dt.datetime.now(dt.UTC).isoformat()  # when the GET answered
            return SourceDocument(kind=PAGE, body=result.body, **{**fields, "url": page_url, "fetched_at": fetched_at})
        reason = fetch_reason(result) if result.error else "not_html"
        problem = describe(result) if result.error else f"not an HTML page (content-type {content_type or 'missing'})"
        session.count(counters.FEED_PAGES.of(reason))
    if own_text:
        session.count(counters.FEED_ENTRY_TEXT_FROM.of(own_source))
        return SourceDocument(kind=ENTRY_TEXT, body=own_text, **fields)
    session.count(counters.FEED_ENTRIES_WITHOUT_TEXT.of(reason))
    return run.reject(
        redact_credentials(f"{entry.feed_url}#entry={entry.entry_id}"),
        "fetch",
        reason,
        redact_credentials(f"{problem}; the entry has no text of its own ({entry.link or 'no link'})"),
        entry.entry_id,
        entry_id=entry.entry_id,
        entry_link=redact_credentials(entry.link) if entry.link else None,
        entry_title=entry.title,
        page_url=redact_credentials(page_url) if page_url else None,
    )


def fetch_reason(result: FetchResult) -> str:
    """A rejects reason: 'http_404', 'timeout', 'private_address', …"""
    return f"http_{result.status}" if result.error == "http_status" and result.status else result.error or "ok"


def describe(result: FetchResult) -> str:
    status = f"HTTP {result.status}" if result.status else "no response"
    retry = f", retry after {result.retry_after:.0f}s" if result.retry_after is not None else ""
    hint = f"; {policy_hint(result.error)}" if policy_hint(result.error) else ""
    return redact_credentials(
        f"{status} {result.error or ''}: {result.detail} ({result.final_url or result.url}){retry}{hint}".strip()
    )
