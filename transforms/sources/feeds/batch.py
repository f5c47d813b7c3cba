"""Pull RSS/Atom/RDF feeds and their article pages, politely, into source documents.

Feeds are polled with conditional GET (validators from the state store), parsed with
feedparser, entries already in the seen-items ledger are dropped, and each new entry's page
is fetched (robots.txt honoured) and handed to extraction with the entry's own text as the
fallback. Outputs: ``documents``, ``rejects`` and ``states`` (every polled feed's new state).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import apache_beam as beam

from schemas import Reject
from transforms.dedup.ledger import ENTRY, DropKnown
from transforms.http.polite import FetchByHost, FetchSettings
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.document import SourceDocument
from transforms.sources.feeds.rules import entry_document, poll_feed
from transforms.sources.feeds.state import FeedState

STAGE = "feeds"


class FeedOutputs(NamedTuple):
    documents: beam.PCollection
    rejects: beam.PCollection
    states: beam.PCollection
    polls: beam.PCollection  # every FeedPoll, for the feed_polls table
    new_entries: beam.PCollection  # entries no earlier run handled


class ReadFeeds(beam.PTransform):
    """Due feeds → documents for new entries, rejects, and the feeds' new states."""

    def __init__(
        self, feeds: Sequence[FeedState], seen, run: RunContext, settings: FetchSettings, fetch_pages: bool = True
    ):
        super().__init__()
        self._feeds, self._seen, self._run, self._settings, self._fetch_pages = (
            list(feeds),
            seen,
            run,
            settings,
            fetch_pages,
        )

    def expand(self, pbegin):
        run, fetch_pages = self._run, self._fetch_pages
        polls = (
            pbegin
            | "DueFeeds" >> beam.Create(self._feeds)
            | "PollFeeds"
            >> FetchByHost(
                lambda session, state: [poll_feed(session, state, run)], lambda s: s.current_url, self._settings
            )
        )
        new_entries = (
            polls
            | "Entries" >> beam.FlatMap(lambda poll: poll.entries)
            | "SkipSeenEntries"
            >> DropKnown(self._seen, ENTRY, lambda e: e.entry_id, counters.FEED_ENTRIES_ALREADY_SEEN)
        )
        pages = new_entries | "FetchPages" >> FetchByHost(
            lambda session, entry: [entry_document(session, entry, run, fetch_pages)],
            lambda entry: entry.page_url,
            self._settings,
        )
        feed_rejects = polls | "FeedRejects" >> beam.FlatMap(lambda poll: poll.rejects)
        page_rejects = pages | "PageRejects" >> beam.Filter(lambda item: isinstance(item, Reject))
        return FeedOutputs(
            documents=pages | "Documents" >> beam.Filter(lambda item: isinstance(item, SourceDocument)),
            rejects=(feed_rejects, page_rejects) | "AllFeedRejects" >> beam.Flatten(),
            states=polls | "States" >> beam.Map(lambda poll: poll.state),
            polls=polls,
            new_entries=new_entries,
        )
