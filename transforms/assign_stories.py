"""Tag every article with a story: vectors in parallel, then one ordered clustering step.

Originals are vectorised where they are (parallel). Their small vectors, plus the duplicate
links, meet under a single key, are sorted in publication order and clustered by
``StoryClusterer``; duplicates join their original's story. The assignments are joined back
to the full articles by id. Ordering and throughput limits of that single key are in the README.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import Article, Story
from transforms.run_context import RunContext
from transforms.story_clustering import (
    ArticleVector,
    CatalogStory,
    StoryClusterer,
    StorySummary,
    publication_order_key,
    vectorize,
)

STAGE = "stories"
STORIES = "stories"
CLUSTER_KEY = "all"


@dataclass(frozen=True)
class StoryInput:
    """What the ordered clustering step needs of one article."""

    article_id: str
    published_at: dt.datetime | None
    title: str | None
    vector: ArticleVector | None  # None for a duplicate, which follows its original
    duplicate_of: str | None = None


@dataclass(frozen=True)
class StoryAssignment:
    story_id: str
    story_label: str


class AssignStories(beam.PTransform):
    """Articles → articles with story_id/story_label, plus a ``stories`` output of Story rows."""

    def __init__(self, catalog: Sequence[CatalogStory], run: RunContext):
        super().__init__()
        self._catalog = tuple(catalog)
        self._run = run

    def expand(self, articles):
        clustered = (
            articles
            | "Vectorize" >> beam.Map(story_input)
            | "OneOrderedKey" >> beam.WithKeys(CLUSTER_KEY)
            | "GatherForClustering" >> beam.GroupByKey()
            | "ClusterInOrder" >> beam.ParDo(ClusterStories(self._catalog, self._run)).with_outputs(STORIES, main="assignments")
        )
        tagged = (
            {
                "article": articles | "KeyByOriginal" >> beam.Map(lambda a: (a.article_id, a)),
                "story": clustered.assignments,
            }
            | "JoinStories" >> beam.CoGroupByKey()
            | "TagArticles" >> beam.FlatMap(_tag_articles)
        )
        return tagged, clustered[STORIES]


class ClusterStories(beam.DoFn):
    """Clusters all inputs of its key in publication order; emits assignments and Story rows."""

    def __init__(self, catalog: tuple[CatalogStory, ...], run: RunContext):
        self._catalog = catalog
        self._run = run

    def process(self, element) -> Iterator:
        _, inputs = element
        assignments, stories = cluster_articles(list(inputs), self._catalog, self._run)
        Metrics.counter(STAGE, "stories").inc(len(stories))
        yield from assignments.items()
        for story in stories:
            yield beam.pvalue.TaggedOutput(STORIES, story)


def story_input(article: Article) -> StoryInput:
    """The clustering view of an article; duplicates carry no vector."""
    vector = None if article.duplicate_of else vectorize(article.title, article.text, article.language)
    return StoryInput(article.article_id, article.published_at, article.title, vector, article.duplicate_of)


def cluster_articles(
    inputs: list[StoryInput], catalog: Sequence[CatalogStory], run: RunContext
) -> tuple[dict[str, StoryAssignment], list[Story]]:
    """Assign every input (originals by similarity, duplicates by link) and summarise the stories."""
    clusterer = StoryClusterer(catalog)
    originals = sorted((i for i in inputs if i.vector is not None), key=lambda i: publication_order_key(i.published_at, i.article_id))
    for item in originals:
        clusterer.add(item.article_id, item.vector, item.published_at, item.title)
    summaries = {s.story_id: s for s in clusterer.stories()}
    assignments = {
        article_id: StoryAssignment(s.story_id, s.story_label) for s in summaries.values() for article_id in s.article_ids
    }
    extra_members: dict[str, list[StoryInput]] = {}
    for item in inputs:
        if item.vector is None:
            assignments[item.article_id] = assignments[item.duplicate_of]
            extra_members.setdefault(assignments[item.article_id].story_id, []).append(item)
    stories = [story_row(s, extra_members.get(s.story_id, []), run) for s in summaries.values()]
    return assignments, sorted(stories, key=lambda s: s.story_id)


def story_row(summary: StorySummary, duplicates: list[StoryInput], run: RunContext) -> Story:
    """A stories-table row; duplicates count as articles of the story and widen its date range."""
    dates = [d for d in (summary.first_published, summary.last_published, *(i.published_at for i in duplicates)) if d]
    return Story(
        story_id=summary.story_id,
        story_label=summary.story_label,
        label_source=summary.label_source,
        first_published=min(dates) if dates else None,
        last_published=max(dates) if dates else None,
        article_count=summary.article_count + len(duplicates),
        top_terms=tuple(summary.top_terms),
        ingested_at=run.started_at,
        run_id=run.run_id,
    )


def _tag_articles(element) -> Iterator[Article]:
    article_id, grouped = element
    assignment = list(grouped["story"])
    for article in grouped["article"]:
        if len(assignment) != 1:
            raise RuntimeError(f"article {article_id} got {len(assignment)} story assignments")
        yield dataclasses.replace(article, story_id=assignment[0].story_id, story_label=assignment[0].story_label)
