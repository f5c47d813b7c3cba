"""Tag every article with a story: features in parallel, then one ordered clustering step.

Originals get a term vector and a MinHash signature where they were extracted (parallel,
``story_ref``); the resulting small refs, with the exact-duplicate links dedup set on them, meet
under a single key, are sorted in publication order and go through the story index loaded from
the state store: a near-duplicate of an article in the window joins that article's story (and
is marked); any other original is clustered by ``StoryClusterer``; exact duplicates follow
their original. The step emits one ``ArticleVerdict`` per ref, which ``JoinVerdicts`` applies
to the article bodies (no body enters the group-by), and writes the updated index into a staging
folder of the state store, from where it is put in place after the commit. Ordering and
throughput limits of the single key are in docs/design.md.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import apache_beam as beam

from schemas import Article, Story
from transforms.dedup.near import text_signature
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.stories.article_refs import (
    ArticleRef,
    ArticleVerdict,
    KeyedArticle,
    PackedVector,
    article_ref,
    unpacked,
)
from transforms.stories.clusterer import ArticleVector, CatalogStory, StorySummary, publication_order_key, vectorize
from transforms.stories.saved import StoryIndex, load_story_index, stage_story_index

STAGE = "stories"
STORIES, INDEX = "stories", "index"
CLUSTER_KEY = "all"


@dataclass(frozen=True)
class StoryInput:
    """What the ordered clustering step needs of one article."""

    article_id: str
    published_at: dt.datetime | None
    title: str | None
    vector: ArticleVector | PackedVector | None
    signature: bytes | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True)
class StoryAssignment:
    story_id: str
    story_label: str | None
    duplicate_of: str | None = None  # set for a near-duplicate found by the ordered step
    duplicate_kind: str | None = None


class StoryOutputs(NamedTuple):
    verdicts: beam.PCollection  # (ref key, ArticleVerdict) for every ref
    stories: beam.PCollection
    index: beam.PCollection  # the path of the staged story index (one string), put in place after the commit


class AssignStories(beam.PTransform):
    """ArticleRefs → a verdict per ref (story and duplicate fields), Story rows for touched stories, the new index."""

    def __init__(self, catalog: Sequence[CatalogStory], run: RunContext, state_dir: str):
        super().__init__()
        self._catalog, self._run, self._state_dir = tuple(catalog), run, state_dir

    def expand(self, refs):
        clustered = (
            refs
            | "OneOrderedKey" >> beam.WithKeys(CLUSTER_KEY)
            | "GatherForClustering" >> beam.GroupByKey()
            | "ClusterInOrder"
            >> beam.ParDo(ClusterStories(self._catalog, self._run, self._state_dir)).with_outputs(
                STORIES, INDEX, main="verdicts"
            )
        )
        return StoryOutputs(clustered.verdicts, clustered[STORIES], clustered[INDEX])


class ClusterStories(beam.DoFn):
    """Loads the story index, assigns all inputs of its key in order, emits assignments and rows, stages the index."""

    def __init__(self, catalog: tuple[CatalogStory, ...], run: RunContext, state_dir: str):
        self._catalog, self._run, self._state_dir = catalog, run, state_dir

    def process(self, element) -> Iterator:
        _, grouped = element
        refs = list(grouped)
        index = load_story_index(self._state_dir, self._catalog)
        assignments, stories = assign_stories([ref_story_input(r) for r in refs], index, self._run)
        counters.STORIES_TOUCHED.inc(len(stories))
        counters.NEAR_DUPLICATES.inc(sum(1 for a in assignments.values() if a.duplicate_kind == "near"))
        for ref in refs:
            yield ref.ref, verdict(ref, assignments[ref.article_id])
        for story in stories:
            yield beam.pvalue.TaggedOutput(STORIES, story)
        yield beam.pvalue.TaggedOutput(INDEX, stage_story_index(index, self._state_dir, self._run.run_id))


def story_features(article: Article) -> tuple[ArticleVector, bytes | None]:
    """The term vector and the MinHash signature of an article."""
    return vectorize(article.title, article.text, article.language), text_signature(article.text)


def story_ref(element: KeyedArticle) -> ArticleRef:
    """The ref of a keyed article with its story features, computed where the text is."""
    ref, article = element
    return article_ref(ref, article, *story_features(article))


def story_input(article: Article) -> StoryInput:
    """The clustering view of an article; exact duplicates carry no signature (they follow their original,
    or are clustered on their own vector when it is an earlier run's article the index no longer holds)."""
    vector = vectorize(article.title, article.text, article.language)
    if article.duplicate_of:
        return StoryInput(
            article.article_id, article.published_at, article.title, vector, duplicate_of=article.duplicate_of
        )
    return StoryInput(article.article_id, article.published_at, article.title, *story_features(article))


def ref_story_input(ref: ArticleRef) -> StoryInput:
    """The clustering view of a ref (features computed before dedup). An exact duplicate carries no signature:
    it follows its original, or is clustered on its own vector when that is an earlier run's article the index
    no longer holds."""
    if ref.duplicate_of:
        return StoryInput(ref.article_id, ref.published_at, ref.title, ref.vector, duplicate_of=ref.duplicate_of)
    return StoryInput(ref.article_id, ref.published_at, ref.title, ref.vector, ref.signature)


def verdict(ref: ArticleRef, assignment: StoryAssignment) -> ArticleVerdict:
    """The ref's dedup marks, or the near-duplicate mark of the ordered step, plus its story."""
    marks = (assignment.duplicate_of, assignment.duplicate_kind) if assignment.duplicate_of else None
    duplicate_of, duplicate_kind = marks or (ref.duplicate_of, ref.duplicate_kind)
    return ArticleVerdict(ref.article_id, duplicate_of, duplicate_kind, assignment.story_id, assignment.story_label)


def assign_stories(
    inputs: list[StoryInput], index: StoryIndex, run: RunContext
) -> tuple[dict[str, StoryAssignment], list[Story]]:
    """Assign every input through the index (mutated) and summarise the stories it touched."""
    originals = sorted(
        (i for i in inputs if i.duplicate_of is None), key=lambda i: publication_order_key(i.published_at, i.article_id)
    )
    story_of: dict[str, str] = {}
    near: dict[str, tuple[str, str]] = {}  # article_id → (original article_id, story_id)
    gained: Counter[str] = Counter()
    for item in originals:
        seen_at = item.published_at or run.started_at
        index.near_duplicates.expire(seen_at)
        hit = index.near_duplicates.find(item.signature) if item.signature else None
        if hit:
            story_id = index.current_story(hit.story_id)
            near[item.article_id] = (hit.article_id, story_id)
            story_of[item.article_id] = story_id
            gained[story_id] += 1
            continue
        vector = unpacked(item.vector)  # one at a time: packed vectors stay small while they wait
        story_of[item.article_id] = index.clusterer.add(item.article_id, vector, item.published_at, item.title)
        if item.signature:
            index.near_duplicates.add(item.article_id, story_of[item.article_id], item.signature, seen_at)
    index.record_merges()  # stories merged while this run's articles were added: their ids point on
    story_of = {article_id: index.current_story(story_id) for article_id, story_id in story_of.items()}
    gained = Counter({index.current_story(story_id): n for story_id, n in gained.items()})
    in_run = {i.article_id for i in inputs}
    followers = sorted((i for i in inputs if i.duplicate_of is not None), key=lambda i: i.duplicate_of in in_run)
    for item in followers:  # copies of earlier runs' articles first: a URL copy of such a copy follows it
        story = story_of.get(item.duplicate_of) or index.story_of_article(item.duplicate_of)
        if story is None:  # an earlier run's article the index no longer holds: clustered on its own
            vector = unpacked(item.vector)
            story_of[item.article_id] = index.clusterer.add(item.article_id, vector, item.published_at, item.title)
            continue
        story_of[item.article_id] = index.current_story(story)
        gained[story_of[item.article_id]] += 1
    for story_id, n in gained.items():
        index.duplicate_counts[story_id] = index.duplicate_counts.get(story_id, 0) + n
    summaries = {s.story_id: s for s in index.clusterer.stories()}
    for summary in summaries.values():
        index.labels[summary.story_id] = summary.story_label
    assignments = {
        article_id: StoryAssignment(
            story_id,
            index.labels.get(story_id),
            *((near[article_id][0], "near") if article_id in near else (None, None)),
        )
        for article_id, story_id in story_of.items()
    }
    touched = {story for story in story_of.values() if story in summaries}
    touched |= {merged for story in touched for merged in summaries[story].merged}  # their rows carry the label
    return assignments, [
        story_row(summaries[s], index.story_duplicates(summaries[s]) - index.forgotten_count(s), run)
        for s in sorted(touched)
    ]


def story_row(summary: StorySummary, duplicates: int, run: RunContext) -> Story:
    """A stories-table row: all articles the story has gathered over all runs, duplicates included; for a
    story merged into another, what it held when merged, with the other's id and current label.

    ``duplicates`` is net of the story's articles removed by takedowns.
    """
    return Story(
        story_id=summary.story_id,
        story_label=summary.story_label,
        label_source=summary.label_source,
        first_published=summary.first_published,
        last_published=summary.last_published,
        article_count=summary.article_count + duplicates,
        top_terms=tuple(summary.top_terms),
        ingested_at=run.started_at,
        run_id=run.run_id,
        merged_into=summary.merged_into,
    )
