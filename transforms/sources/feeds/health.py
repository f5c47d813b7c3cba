"""Feed health: one ``feed_polls`` row per feed per poll, with what the poll's entries became.

``feed_poll_row`` is the rule, a plain function that batch and streaming both call: it turns a
``FeedPoll`` (the new feed state, the HTTP outcome, the reject if the poll failed) into a
``FeedPollRow``. How many entries were new, and how many articles and rejects they gave, is
known only after deduplication and extraction, so the batch graph counts them per feed before
the tables are written (``FeedPollRows``): new entries by the entry's feed, articles by
``source_uri`` (a feed article's ``source_uri`` is its feed's configured URL) and rejects by
``source_uri`` up to ``#entry=``. A caller that cannot count them (streaming polls are written
before their entries are extracted) leaves them null.
"""

from __future__ import annotations

import apache_beam as beam

from schemas import Article, FeedPollRow, Reject
from transforms.http.addresses import redact_credentials
from transforms.run.context import RunContext, stable_hash
from transforms.sources.feeds.parsing import FeedEntry
from transforms.sources.feeds.rules import FeedPoll

ENTRY_MARK = "#entry="
"""How a feed entry's item URI extends the feed's: ``FEED#entry=ENTRY_ID``."""


def feed_poll_row(
    poll: FeedPoll,
    run: RunContext,
    *,
    new_entries: int | None = None,
    articles: int | None = None,
    rejects: int | None = None,
) -> FeedPollRow:
    """The ``feed_polls`` row of one poll; the counts are None where the caller could not count them."""
    state = poll.state
    feed_url = redact_credentials(state.feed_url)
    polled_at = state.last_polled_at or run.started_at
    return FeedPollRow(
        poll_id=stable_hash(feed_url, polled_at.isoformat()),
        feed_url=feed_url,
        current_url=redact_credentials(state.current_url),
        run_id=run.run_id,
        polled_at=polled_at,
        http_status=state.last_status,
        not_modified=state.last_status == 304 and poll.reject is None,
        bytes=poll.bytes_received,
        latency_seconds=poll.latency_seconds,
        entries_seen=len(poll.entries),
        new_entries=new_entries,
        articles=articles,
        rejects=rejects,
        error=poll.reject.reason if poll.reject else None,
        error_detail=poll.reject.detail if poll.reject else None,
        bozo=state.last_bozo,
        consecutive_failures=state.failures,
        gone=state.gone,
        next_attempt_at=state.next_attempt_at,
    )


def feed_of(source_uri: str) -> str:
    """The feed part of a row's ``source_uri``: a feed entry's item URI without its ``#entry=…``."""
    return source_uri.split(ENTRY_MARK, 1)[0]


class FeedPollRows(beam.PTransform):
    """(polls, new entries, written articles, written rejects) → one ``FeedPollRow`` per poll.

    Articles and rejects of seed files meet no poll and are dropped after being counted.
    """

    def __init__(self, run: RunContext):
        super().__init__()
        self._run = run

    def expand(self, pcolls):
        polls, new_entries, articles, rejects = pcolls
        return (
            {
                "poll": polls
                | "KeyPollsByFeed" >> beam.Map(lambda poll: (redact_credentials(poll.state.feed_url), poll)),
                "new_entries": new_entries
                | "KeyEntriesByFeed" >> beam.Map(_entry_feed)
                | "CountNewEntries" >> beam.combiners.Count.PerKey(),
                "articles": articles
                | "KeyArticlesByFeed" >> beam.FlatMap(_article_feed)
                | "CountArticles" >> beam.combiners.Count.PerKey(),
                "rejects": rejects
                | "KeyRejectsByFeed" >> beam.Map(_reject_feed)
                | "CountRejects" >> beam.combiners.Count.PerKey(),
            }
            | "GroupByFeed" >> beam.CoGroupByKey()
            | "PollRows" >> beam.FlatMap(_poll_rows, self._run)
        )


def _entry_feed(entry: FeedEntry) -> tuple[str, None]:
    return redact_credentials(entry.feed_url), None


def _article_feed(article: Article) -> list[tuple[str, None]]:
    return [(feed_of(article.source_uri), None)] if article.entry_id else []


def _reject_feed(reject: Reject) -> tuple[str, None]:
    return feed_of(reject.source_uri), None


def _poll_rows(element, run: RunContext) -> list[FeedPollRow]:
    _, grouped = element
    counts = {name: sum(grouped[name]) for name in ("new_entries", "articles", "rejects")}
    return [feed_poll_row(poll, run, **counts) for poll in grouped["poll"]]
