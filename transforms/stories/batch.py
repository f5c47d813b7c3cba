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

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import apache_beam as beam

from transforms.dedup.rules import NEAR
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.stories.article_refs import ArticleRef, ArticleVerdict, KeyedArticle, article_ref
from transforms.stories.clusterer import CatalogStory
from transforms.stories.rules import CLUSTER_KEY, StoryAssignment, StoryInput, assign_stories, story_features
from transforms.stories.saved import load_story_index, stage_story_index

STAGE = "stories"
STORIES, INDEX = "stories", "index"


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
        counters.NEAR_DUPLICATES.inc(sum(1 for a in assignments.values() if a.duplicate_kind == NEAR))
        for ref in refs:
            yield ref.ref, verdict(ref, assignments[ref.article_id])
        for story in stories:
            yield beam.pvalue.TaggedOutput(STORIES, story)
        yield beam.pvalue.TaggedOutput(INDEX, stage_story_index(index, self._state_dir, self._run.run_id))


def story_ref(element: KeyedArticle) -> ArticleRef:
    """The ref of a keyed article with its story features, computed where the text is."""
    ref, article = element
    return article_ref(ref, article, *story_features(article))


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
