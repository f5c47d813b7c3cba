"""The batch graph, top to bottom as the product reads: read → extract → dedup → cluster → write."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import apache_beam as beam

from schemas import SEEN, TABLES
from transforms.assign_stories import AssignStories
from transforms.dedup import MarkDuplicates
from transforms.extract import ExtractArticles
from transforms.read_seeds import ReadSeedFiles
from transforms.run_context import RunContext
from transforms.seen_ledger import REJECT, DropKnown, ReadSeenKeys, RecordSeenKeys
from transforms.story_clustering import CatalogStory
from transforms.write_tables import WriteTables, committed_files


@dataclass(frozen=True)
class RunPlan:
    """Everything the graph needs, decided before it is built."""

    files: Sequence[str]
    output: str
    state: str
    catalog: Sequence[CatalogStory]
    run: RunContext
    min_words: int


def build_graph(p: beam.Pipeline, plan: RunPlan) -> beam.PCollection:
    """Adds the whole pipeline to ``p``; returns the run record produced after the commit."""
    run = plan.run
    seen = p | "ReadSeenLedger" >> ReadSeenKeys(committed_files(plan.state, SEEN))
    read = p | "ReadSeedFiles" >> ReadSeedFiles(list(plan.files), run)
    extracted = read.documents | "ExtractArticles" >> ExtractArticles(run, plan.min_words)
    deduped = extracted.articles | "MarkDuplicates" >> MarkDuplicates(seen)
    articles, stories = deduped.articles | "AssignStories" >> AssignStories(plan.catalog, run)
    rejects = (
        (read.rejects, extracted.rejects)
        | "AllRejects" >> beam.Flatten()
        | "SkipKnownRejects" >> DropKnown(seen, REJECT, lambda r: r.reject_id, ("dedup", "repeated_rejects"))
    )
    handled = (articles, rejects, deduped.already_ingested) | "RecordSeen" >> RecordSeenKeys(run)
    tables = {"articles": articles, "stories": stories, "rejects": rejects, "seen": handled}
    return tables | "WriteTables" >> WriteTables(plan.output, run, (*TABLES, SEEN), roots={"seen": plan.state})
