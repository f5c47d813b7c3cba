"""The batch graph, top to bottom as the product reads: read → extract → dedup → cluster → write."""
from __future__ import annotations

from typing import Sequence

import apache_beam as beam

from schemas import ARTICLES, REJECTS, TABLES
from transforms.assign_stories import AssignStories
from transforms.dedup import MarkDuplicates, SkipKnownRejects
from transforms.extract import ExtractArticles
from transforms.read_seeds import ReadSeedFiles
from transforms.run_context import RunContext
from transforms.story_clustering import CatalogStory
from transforms.write_tables import WriteTables, committed_files


def build_graph(
    p: beam.Pipeline,
    files: Sequence[str],
    output: str,
    catalog: Sequence[CatalogStory],
    run: RunContext,
    min_words: int,
) -> beam.PCollection:
    """Adds the whole pipeline to ``p``; returns the run record produced after the commit."""
    read = p | "ReadSeedFiles" >> ReadSeedFiles(list(files), run)
    extracted = read.documents | "ExtractArticles" >> ExtractArticles(run, min_words)
    articles = extracted.articles | "MarkDuplicates" >> MarkDuplicates(committed_files(output, ARTICLES))
    tagged, stories = articles | "AssignStories" >> AssignStories(catalog, run)
    rejects = (
        (read.rejects, extracted.rejects)
        | "AllRejects" >> beam.Flatten()
        | "SkipKnownRejects" >> SkipKnownRejects(committed_files(output, REJECTS))
    )
    tables = {"articles": tagged, "stories": stories, "rejects": rejects}
    return tables | "WriteTables" >> WriteTables(output, run, TABLES)
