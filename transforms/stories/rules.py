"""The story rules both graphs follow: what clustering sees of an article, and how a batch of inputs is assigned.

The batch graph (``stories/batch.py``) runs ``assign_stories`` once over a run's refs in one
ordered step; the streaming graph (``stories/streaming.py``) runs it once per event-time window.
Both build their inputs with the functions here, so an article gets the same story, the same
near-duplicate mark and the same row on either path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from schemas import Article, Story
from transforms.dedup.near import text_signature
from transforms.dedup.rules import NEAR
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
    """Assign every input through the index (mutated) and summarise the stories it touched.

    In four phases: the originals in publication order (``tag_originals``); story ids re-pointed
    past the merges this made (``follow_merges``); exact duplicates after their originals
    (``tag_copies``); then the index keeps the counts and labels, and every article gets its
    assignment and every story it touched a row (``settle``).
    """
    tagging = tag_originals(inputs, index, run)
    follow_merges(tagging, index)
    tag_copies(inputs, tagging, index)
    return settle(tagging, index, run)


@dataclass
class Tagging:
    """What ``assign_stories`` has decided so far."""

    story_of: dict[str, str] = field(default_factory=dict)  # article_id → story_id
    near: dict[str, tuple[str, str]] = field(default_factory=dict)  # article_id → (original article_id, story_id)
    gained: Counter[str] = field(default_factory=Counter)  # story_id → duplicates it gained


def tag_originals(inputs: list[StoryInput], index: StoryIndex, run: RunContext) -> Tagging:
    """Originals in publication order: a near-duplicate of an article in the window joins its story (and is
    marked), any other is clustered and enters the near-duplicate window."""
    originals = sorted(
        (i for i in inputs if i.duplicate_of is None), key=lambda i: publication_order_key(i.published_at, i.article_id)
    )
    tagging = Tagging()
    for item in originals:
        seen_at = item.published_at or run.started_at
        index.near_duplicates.expire(seen_at)
        hit = index.near_duplicates.find(item.signature) if item.signature else None
        if hit:
            story_id = index.current_story(hit.story_id)
            tagging.near[item.article_id] = (hit.article_id, story_id)
            tagging.story_of[item.article_id] = story_id
            tagging.gained[story_id] += 1
            continue
        story_id = index.clusterer.add(item.article_id, vector_of(item), item.published_at, item.title)
        tagging.story_of[item.article_id] = story_id
        if item.signature:
            index.near_duplicates.add(item.article_id, story_id, item.signature, seen_at)
    return tagging


def follow_merges(tagging: Tagging, index: StoryIndex) -> None:
    """Stories merged while the originals were added: their ids point on, in the index and in ``tagging``."""
    index.record_merges()
    tagging.story_of = {article_id: index.current_story(story_id) for article_id, story_id in tagging.story_of.items()}
    tagging.gained = Counter({index.current_story(story_id): n for story_id, n in tagging.gained.items()})


def tag_copies(inputs: list[StoryInput], tagging: Tagging, index: StoryIndex) -> None:
    """Exact duplicates follow their original's story; copies of earlier runs' articles first, so that a URL copy
    of such a copy follows it. A copy of an article the index no longer holds is clustered on its own."""
    in_run = {i.article_id for i in inputs}
    copies = sorted(
        ((i, i.duplicate_of) for i in inputs if i.duplicate_of is not None), key=lambda pair: pair[1] in in_run
    )
    for item, original in copies:
        story = tagging.story_of.get(original) or index.story_of_article(original)
        if story is None:
            tagging.story_of[item.article_id] = index.clusterer.add(
                item.article_id, vector_of(item), item.published_at, item.title
            )
            continue
        tagging.story_of[item.article_id] = index.current_story(story)
        tagging.gained[tagging.story_of[item.article_id]] += 1


def settle(tagging: Tagging, index: StoryIndex, run: RunContext) -> tuple[dict[str, StoryAssignment], list[Story]]:
    """The index keeps the duplicates gained and the current labels; every article's assignment, and a row for
    every story touched (and for the stories merged into those: their rows carry the label)."""
    for story_id, n in tagging.gained.items():
        index.duplicate_counts[story_id] = index.duplicate_counts.get(story_id, 0) + n
    summaries = {s.story_id: s for s in index.clusterer.stories()}
    for summary in summaries.values():
        index.labels[summary.story_id] = summary.story_label
    return story_assignments(tagging, index), touched_story_rows(tagging, summaries, index, run)


def story_assignments(tagging: Tagging, index: StoryIndex) -> dict[str, StoryAssignment]:
    """Each article's story and current label; a near-duplicate also names its original."""
    return {
        article_id: StoryAssignment(
            story_id,
            index.labels.get(story_id),
            *((tagging.near[article_id][0], NEAR) if article_id in tagging.near else (None, None)),
        )
        for article_id, story_id in tagging.story_of.items()
    }


def touched_story_rows(
    tagging: Tagging, summaries: dict[str, StorySummary], index: StoryIndex, run: RunContext
) -> list[Story]:
    """A row per story an article joined, and per story merged into one of those, in story-id order."""
    touched = {story for story in tagging.story_of.values() if story in summaries}
    touched |= {merged for story in touched for merged in summaries[story].merged}
    return [
        story_row(summaries[s], index.story_duplicates(summaries[s]) - index.forgotten_count(s), run)
        for s in sorted(touched)
    ]


def vector_of(item: StoryInput) -> ArticleVector:
    """The input's term vector, unpacked one at a time: packed vectors stay small while they wait."""
    if item.vector is None:
        raise ValueError(f"story input {item.article_id} has no term vector")
    return unpacked(item.vector)


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
