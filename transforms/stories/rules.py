"""The story rules both graphs follow: what clustering sees of an article, and how a batch of inputs is assigned.

The batch graph (``stories/batch.py``) runs ``assign_stories`` once over a run's refs in one
ordered step; the streaming graph (``stories/streaming.py``) runs it once per event-time window.
Both build their inputs with the functions here, so an article gets the same story, the same
near-duplicate mark and the same row on either path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from schemas import Article, Story
from transforms.dedup.near import text_signature
from transforms.run.context import RunContext
from transforms.stories.clusterer import ArticleVector, StorySummary, publication_order_key, vectorize
from transforms.stories.saved import StoryIndex
from transforms.stories.vectors import PackedVector, unpacked

CLUSTER_KEY = "all"
"""The one key the ordered story step gathers its inputs under."""


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


def story_features(article: Article) -> tuple[ArticleVector, bytes | None]:
    """The term vector and the MinHash signature of an article."""
    return vectorize(article.title, article.text, article.language), text_signature(article.text)


def story_input(article: Article) -> StoryInput:
    """The clustering view of an article; exact duplicates carry no signature (they follow their original,
    or are clustered on their own vector when it is an earlier run's article the index no longer holds)."""
    vector = vectorize(article.title, article.text, article.language)
    if article.duplicate_of:
        return StoryInput(
            article.article_id, article.published_at, article.title, vector, duplicate_of=article.duplicate_of
        )
    return StoryInput(article.article_id, article.published_at, article.title, *story_features(article))


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
