"""Streaming story tagging: one ordered, stateful step that holds the clusterer between articles.

Originals are vectorised where they are (parallel, ``story_input``), then meet under a single
key (as in the batch graph; the README explains the throughput limit) and are added to the
clusterer in arrival order. Duplicates follow their original's story, and a duplicate of a
duplicate is re-pointed at the original at the root, so ``duplicate_of`` always names an
original. A duplicate that arrives before its original (no order survives a shuffle) waits in
state; if the original has not come by the second checkpoint, it is written without a story
(counted as ``stories.duplicates_without_original``).

The clusterer is reached through ``ClusteringAdapter`` only: the reworked clusterer plugs in
there. A story's label is fixed when the story is founded (a stream cannot relabel rows it
already wrote): the catalog entry closest to the founding article (same threshold as the batch
clusterer), else its headline, else its top terms.

State: a pickled snapshot of ``OnlineStories`` plus a log of the articles added since, so an
article costs one small append; the snapshot is rewritten at checkpoints (an event-time timer
at the end of a window with data, at most one per window size of watermark progress), and each worker keeps the live object in memory while
the state's version token says it is current.
"""

from __future__ import annotations

import dataclasses
import pickle
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import KV
from apache_beam.utils.timestamp import Timestamp

from schemas import Article
from transforms.event_time.windows import EventTime
from transforms.run import counters
from transforms.stories.active import Centroid
from transforms.stories.batch import story_input
from transforms.stories.clusterer import CatalogStory, ClusteringConfig, StoryClusterer
from transforms.stories.labels import StoryLabeller, story_label

STAGE = "stories"
CLUSTER_KEY = "all"
CATALOG_LABEL_THRESHOLD = ClusteringConfig.catalog_threshold
"""Minimum cosine between a founding article and a catalog entry for the entry's label (the batch clusterer's)."""
LABEL_TERMS = ClusteringConfig.label_terms


class ClusteringAdapter:
    """The one seam to the clusterer: ``assign(item) -> (story_id, story_label)``.

    ``make_clusterer(catalog)`` builds anything with ``add(article_id, vector, published_at,
    title) -> story_id`` (today ``StoryClusterer``). The adapter and what it holds are pickled
    into state, so the clusterer must pickle.
    """

    def __init__(
        self,
        catalog: Sequence[CatalogStory] = (),
        make_clusterer: Callable[[Sequence[CatalogStory]], Any] = StoryClusterer,
    ):
        self._clusterer = make_clusterer(tuple(catalog))
        self._labeller = StoryLabeller.for_catalog(tuple(catalog), CATALOG_LABEL_THRESHOLD)
        self._labels: dict[str, str] = {}

    def assign(self, item) -> tuple[str, str]:
        story_id = self._clusterer.add(item.article_id, item.vector, item.published_at, item.title)
        if story_id not in self._labels:
            self._labels[story_id] = founding_label(item, self._labeller)
        return story_id, self._labels[story_id]


def founding_label(item, labeller: StoryLabeller) -> str:
    """The batch rule (``stories.labels``) applied to the founding article alone."""
    vector = item.vector
    terms = Centroid(dict(vector.terms))
    catalog = labeller.catalog_label(vector.terms, terms)
    headlines = [(item.title.strip(), vector.title)] if item.title and item.title.strip() else []
    return story_label(catalog, headlines, terms, Centroid(dict(vector.entities)), LABEL_TERMS)[0] or "untitled"


@dataclass(frozen=True)
class StoryLink:
    """What a later duplicate needs of an article already tagged."""

    root_id: str  # the original at the root of its duplicate chain
    story_id: str | None
    story_label: str | None
    event_micros: int


@dataclass(frozen=True)
class Waiting:
    """A duplicate whose original has not been tagged yet."""

    event_micros: int
    article: Article
    generation: int  # the checkpoint generation it started waiting in


Timed = tuple[int, Article]
"""An article ready to go out, with the event time (microseconds) it goes out at."""


@dataclass
class OnlineStories:
    """Everything the ordered step remembers: the clusterer (via its adapter), links for duplicates, waiting duplicates."""

    adapter: ClusteringAdapter
    links: dict[str, StoryLink] = field(default_factory=dict)
    waiting: dict[str, list[Waiting]] = field(default_factory=dict)

    def tag(self, article: Article, item, event_micros: int, generation: int) -> list[Timed]:
        """The rows this article makes ready: itself (unless it waits) and any duplicates that waited for it."""
        if article.duplicate_of is not None:
            return self._follow(Waiting(event_micros, article, generation))
        story_id, label = self.adapter.assign(item)
        self.links[article.article_id] = StoryLink(article.article_id, story_id, label, event_micros)
        tagged = dataclasses.replace(article, story_id=story_id, story_label=label)
        return [(event_micros, tagged), *self._release(article.article_id)]

    def give_up_waiting(self, generation: int) -> list[Timed]:
        """Duplicates waiting since before ``generation``: out without a story, their link unchanged."""
        given_up = []
        for original_id in list(self.waiting):
            still = [w for w in self.waiting[original_id] if w.generation >= generation]
            given_up += [(w.event_micros, w.article) for w in self.waiting[original_id] if w.generation < generation]
            if still:
                self.waiting[original_id] = still
            else:
                del self.waiting[original_id]
        return given_up

    def forget_before(self, event_micros: int) -> None:
        """Links of articles older than ``event_micros``: no duplicate can point at them any more."""
        self.links = {k: link for k, link in self.links.items() if link.event_micros >= event_micros}

    def _follow(self, waiting: Waiting) -> list[Timed]:
        duplicate = waiting.article
        link = self.links.get(duplicate.duplicate_of)
        if link is None:
            self.waiting.setdefault(duplicate.duplicate_of, []).append(waiting)
            return []
        tagged = dataclasses.replace(
            duplicate, duplicate_of=link.root_id, story_id=link.story_id, story_label=link.story_label
        )
        self.links[duplicate.article_id] = dataclasses.replace(link, event_micros=waiting.event_micros)
        return [(waiting.event_micros, tagged), *self._release(duplicate.article_id)]

    def _release(self, article_id: str) -> list[Timed]:
        return [row for waiting in self.waiting.pop(article_id, []) for row in self._follow(waiting)]


class AssignStoriesOnline(beam.PTransform):
    """Articles (deduplicated, at their event time) → the same articles with story_id and story_label."""

    def __init__(self, catalog: Sequence[CatalogStory], times: EventTime, make_clusterer: Callable = StoryClusterer):
        super().__init__()
        self._catalog, self._times, self._make_clusterer = tuple(catalog), times, make_clusterer

    def expand(self, articles):
        return (
            articles
            | "Vectorize" >> beam.Map(lambda a: (CLUSTER_KEY, (a, story_input(a)))).with_output_types(KV[str, Any])
            | "TagInArrivalOrder" >> beam.ParDo(TagStoriesInOrder(self._catalog, self._times, self._make_clusterer))
        )


class TagStoriesInOrder(beam.DoFn):
    """The single-key step: snapshot + log in state, the live ``OnlineStories`` cached per worker."""

    SNAPSHOT = ReadModifyWriteStateSpec("snapshot", BytesCoder())  # pickled here: a copy, not the live object
    CURSOR = ReadModifyWriteStateSpec("cursor", PickleCoder())  # (generation, articles logged, version token)
    LOG = BagStateSpec("log", PickleCoder())  # (sequence, event micros, article, story input)
    CHECKPOINT_AT = ReadModifyWriteStateSpec("checkpoint_at", VarIntCoder())  # when the pending checkpoint fires
    LAST_CHECKPOINT = ReadModifyWriteStateSpec("last_checkpoint", VarIntCoder())
    CHECKPOINT = TimerSpec("checkpoint", TimeDomain.WATERMARK)

    def __init__(self, catalog: tuple[CatalogStory, ...], times: EventTime, make_clusterer: Callable):
        self._catalog, self._times, self._make_clusterer = catalog, times, make_clusterer
        self._tagged = counters.ARTICLES_TAGGED.metric()
        self._without_original = counters.DUPLICATES_WITHOUT_ORIGINAL.metric()

    def setup(self) -> None:
        self._cached: tuple[str, OnlineStories] | None = None  # (version token, live state)

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        snapshot=beam.DoFn.StateParam(SNAPSHOT),
        cursor_state=beam.DoFn.StateParam(CURSOR),
        log=beam.DoFn.StateParam(LOG),
        checkpoint_at=beam.DoFn.StateParam(CHECKPOINT_AT),
        last_checkpoint=beam.DoFn.StateParam(LAST_CHECKPOINT),
        checkpoint=beam.DoFn.TimerParam(CHECKPOINT),
    ) -> Iterator[TimestampedValue]:
        _, (article, item) = element
        generation, logged, _ = cursor = cursor_state.read() or (0, 0, "")
        stories = self._live(cursor, snapshot, log)
        ready = stories.tag(article, item, timestamp.micros, generation)
        log.add((logged, timestamp.micros, article, item))
        self._remember(cursor_state, (generation, logged + 1, uuid.uuid4().hex), stories)
        # At the end of the article's window, but at most one checkpoint per window size of watermark progress.
        due, pending, last = self._times.window_end(timestamp.micros), checkpoint_at.read(), last_checkpoint.read()
        due = due if last is None else max(due, last + self._times.window_micros)
        if pending is None or due < pending:
            checkpoint_at.write(due)
            checkpoint.set(Timestamp(micros=due))
        yield from self._emit(ready)

    @on_timer(CHECKPOINT)
    def write_checkpoint(
        self,
        fired=beam.DoFn.TimestampParam,
        snapshot=beam.DoFn.StateParam(SNAPSHOT),
        cursor_state=beam.DoFn.StateParam(CURSOR),
        log=beam.DoFn.StateParam(LOG),
        checkpoint_at=beam.DoFn.StateParam(CHECKPOINT_AT),
        last_checkpoint=beam.DoFn.StateParam(LAST_CHECKPOINT),
        checkpoint=beam.DoFn.TimerParam(CHECKPOINT),
    ) -> Iterator[TimestampedValue]:
        cursor = cursor_state.read() or (0, 0, "")
        stories = self._live(cursor, snapshot, log)
        given_up = stories.give_up_waiting(cursor[0])
        self._without_original.inc(len(given_up))
        times = self._times
        stories.forget_before(fired.micros - times.horizon_micros - times.lateness_micros - times.window_micros)
        snapshot.write(pickle.dumps(stories, protocol=pickle.HIGHEST_PROTOCOL))
        log.clear()
        self._remember(cursor_state, (cursor[0] + 1, 0, uuid.uuid4().hex), stories)
        checkpoint_at.clear()
        last_checkpoint.write(fired.micros)
        if stories.waiting:  # give them a later checkpoint even if nothing else arrives
            due = fired.micros + times.window_micros
            checkpoint_at.write(due)
            checkpoint.set(Timestamp(micros=due))
        yield from self._emit(given_up)

    def _live(self, cursor: tuple, snapshot, log) -> OnlineStories:
        """The cached state when the stored version token says it is current, else snapshot + replayed log.

        The cache is dropped while the caller changes the state, so a failed bundle can't leave it ahead of the stored state.
        """
        generation, _, token = cursor
        cached, self._cached = self._cached, None
        if cached is not None and token and cached[0] == token:
            return cached[1]
        frozen = snapshot.read()
        stories = (
            pickle.loads(frozen) if frozen else OnlineStories(ClusteringAdapter(self._catalog, self._make_clusterer))
        )
        for _, event_micros, article, item in sorted(log.read(), key=lambda entry: entry[0]):
            stories.tag(article, item, event_micros, generation)
        return stories

    def _remember(self, cursor_state, cursor: tuple, stories: OnlineStories) -> None:
        cursor_state.write(cursor)
        self._cached = (cursor[2], stories)

    def _emit(self, rows: list[Timed]) -> Iterator[TimestampedValue]:
        for event_micros, article in rows:
            self._tagged.inc()
            yield TimestampedValue(article, Timestamp(micros=event_micros))
