"""The batch graph, top to bottom as the product reads: read → extract → dedup → cluster → write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import apache_beam as beam

from schemas import SEEN, TABLES
from transforms.dedup.batch import MarkDuplicates
from transforms.dedup.ledger import REJECT, DropKnown, ReadSeenKeys, RecordSeenKeys
from transforms.http.polite import FetchSettings
from transforms.output.layout import committed_files, staging_dir
from transforms.output.tables import WriteTables
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.feeds.batch import ReadFeeds
from transforms.sources.feeds.health import FeedPollRows
from transforms.sources.feeds.retries import NumberEntryAttempts
from transforms.sources.feeds.state import FeedState, save_polled_states
from transforms.sources.seeds import ReadSeedFiles
from transforms.sources.sitemaps.batch import ReadSitemaps, SitemapRoot
from transforms.sources.sitemaps.state import SitemapState, save_sitemap_states
from transforms.sources.warc.batch import ReadWarcFiles
from transforms.stories.article_refs import JoinVerdicts, ParkArticles
from transforms.stories.batch import AssignStories, story_ref
from transforms.stories.clusterer import CatalogStory
from transforms.stories.saved import save_staged_story_index
from transforms.text.extract import DEFAULT_EXTRACTION_BUDGET_S, DEFAULT_MIN_WORDS, ExtractArticles


@dataclass(frozen=True)
class RunPlan:
    """Everything the graph needs, decided before it is built."""

    output: str
    state: str
    run: RunContext
    files: Sequence[str] = ()
    feeds: Sequence[FeedState] = ()  # the feeds due for polling
    known_feeds: Mapping[str, FeedState] = field(default_factory=dict)  # every feed in the state store
    catalog: Sequence[CatalogStory] = ()
    min_words: int = DEFAULT_MIN_WORDS
    extraction_budget: float = DEFAULT_EXTRACTION_BUDGET_S
    extraction_workers: int | None = None  # HTML extraction processes per worker process; None: one per core
    fetch: FetchSettings = field(default_factory=FetchSettings)
    fetch_pages: bool = True
    warc_files: Sequence[str] = ()
    sitemaps: Sequence[SitemapRoot] = ()
    known_sitemaps: Mapping[str, SitemapState] = field(default_factory=dict)  # every sitemap in the state store
    filters: ArchiveFilters = field(default_factory=ArchiveFilters)


def build_graph(p: beam.Pipeline, plan: RunPlan) -> beam.PCollection:
    """Adds the whole pipeline to ``p``; returns the run record produced after the commit.

    A source with nothing to read (no feed due, no WARC, no sitemap, no seed file) adds no step:
    fewer steps to build, plan and run (a 1-page run's start-up); its outputs are empty."""
    run = plan.run
    seen = p | "ReadSeenLedger" >> ReadSeenKeys(committed_files(plan.state, SEEN))
    nothing = p | "NoInput" >> beam.Create([])
    files = feeds = warc = sitemaps = None
    if plan.files or not (plan.feeds or plan.warc_files or plan.sitemaps):
        files = p | "ReadSeedFiles" >> ReadSeedFiles(list(plan.files), run)
    if plan.feeds:
        feeds = p | "ReadFeeds" >> ReadFeeds(plan.feeds, seen, run, plan.fetch, plan.fetch_pages)
    if plan.warc_files:
        warc = p | "ReadWarcFiles" >> ReadWarcFiles(plan.warc_files, run, plan.filters, plan.fetch.policy)
    if plan.sitemaps:
        sitemaps = p | "ReadSitemaps" >> ReadSitemaps(
            plan.sitemaps, dict(plan.known_sitemaps), run, plan.fetch, plan.filters
        )
    read = {"SeedFiles": files, "Feeds": feeds, "Warc": warc, "Sitemaps": sitemaps}
    documents = {name: source.documents for name, source in read.items() if source is not None}
    extracted = documents | "ExtractArticles" >> ExtractArticles(
        run, plan.min_words, plan.extraction_budget, plan.filters, plan.extraction_workers
    )
    parked = extracted.articles | "ParkArticles" >> ParkArticles(staging_dir(plan.output, run.run_id), story_ref)
    deduped = parked.refs | "MarkDuplicates" >> MarkDuplicates(seen)  # bodies wait in files; refs travel
    tagged = deduped.articles | "AssignStories" >> AssignStories(plan.catalog, run, plan.state)
    articles = parked.files | "JoinVerdicts" >> JoinVerdicts(tagged.verdicts, deduped.already_ingested)
    stories = tagged.stories
    source_rejects = [source.rejects for source in read.values() if source is not None]
    rejects = (
        (*source_rejects, extracted.rejects)
        | "AllRejects" >> beam.Flatten()
        | "NumberEntryAttempts" >> NumberEntryAttempts(seen)
        | "SkipKnownRejects" >> DropKnown(seen, REJECT, lambda r: r.reject_id, counters.REPEATED_REJECTS)
    )
    already = deduped.already_ingested
    handled = (articles, rejects, already) | "RecordSeen" >> RecordSeenKeys(run)
    polls = (
        (feeds.polls, feeds.new_entries, articles, rejects) | "FeedPollRows" >> FeedPollRows(run) if feeds else nothing
    )
    tables = {"articles": articles, "stories": stories, "rejects": rejects, "seen": handled, "feed_polls": polls}
    record = tables | "WriteTables" >> WriteTables(plan.output, run, (*TABLES, SEEN), roots={"seen": plan.state})
    return (
        record
        | "SaveFeedStates"
        >> beam.Map(
            save_polled_states,
            beam.pvalue.AsList(feeds.states if feeds else nothing),
            plan.state,
            dict(plan.known_feeds),
        )
        | "SaveStoryIndex"
        >> beam.Map(
            save_staged_story_index,
            beam.pvalue.AsSingleton(tagged.index, default_value=None),
            plan.state,
            run.run_id,
        )
        | "SaveSitemapStates"
        >> beam.Map(
            save_sitemap_states,
            beam.pvalue.AsList(sitemaps.states if sitemaps else nothing),
            beam.pvalue.AsList(sitemaps.handled if sitemaps else nothing),
            plan.state,
            dict(plan.known_sitemaps),
        )
    )
