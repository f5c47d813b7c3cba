"""Streaming story tagging: the story rules (``stories/rules.py``), applied one event-time window at a time.

``AssignStoriesOnline`` does what the batch ``AssignStories`` does, on an unbounded input:

1. ``Features`` (parallel): each article becomes the small ``StoryInput`` both graphs cluster (term
   vectors; a MinHash signature for originals), under one key.
2. ``TagInWindowOrder`` (one key, stateful): the inputs wait in state until the watermark
   passes the end of their window; then the window's inputs, in publication order, go through
   ``stories.rules.assign_stories`` with the story index — the batch graph's clusterer,
   near-duplicate index (same MinHash rule and threshold; ``duplicate_kind='near'``), labels
   and counts. It emits one assignment per article (at the article's event time) and one
   ``StoryUpdate`` row per story the window touched (pane 0; later panes when late articles
   of a closed window come). Exact duplicates follow their original; one whose original has
   not been tagged yet waits up to ``MAX_WAITS`` flushes, then is clustered on its own, as
   batch does with a copy of an article its index no longer holds
   (``stories.duplicates_without_original``).
3. ``JoinStories`` (keyed by article id): each full article meets its assignment and is
   emitted with its story fields; whole articles never pass the single key.

State and restarts. The step's keyed state holds the story index as the state store's export
(``StoryIndex.export``), plus links from recent articles to their stories (for duplicates),
bounded by the dedup horizon; the near-duplicate window is the dedup horizon too. A job that
finds no keyed state loads ``STATE/story_index.json.gz`` (``load_story_index``: written by batch
runs or by an earlier job), and every ``snapshot_seconds`` of watermark progress (and when the
job is drained) writes the index back there, so a relaunched job continues the same story ids.
An article the restored index already holds (in its near-duplicate window or an active story:
the relaunched job fetched it again) goes to ``already_ingested`` instead of being written
twice (``stories.already_ingested``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import KV
from apache_beam.utils.timestamp import Timestamp

from schemas import Article, Story, StoryUpdate
from transforms.dedup.near import NearDuplicateIndex
from transforms.dedup.rules import NEAR
from transforms.event_time.windows import MICROS, EventTime
from transforms.run import counters
from transforms.run.context import RunContext
from transforms.stories.clusterer import CatalogStory
from transforms.stories.rules import CLUSTER_KEY, StoryAssignment, StoryInput, assign_stories, story_input
from transforms.stories.saved import StoryIndex, load_story_index, save_story_index

UPDATES = "updates"
MAX_WAITS = 2
"""Flushes an exact duplicate waits for its original before it is clustered on its own."""
DEFAULT_SNAPSHOT_SECONDS = 3600.0


@dataclass(frozen=True)
class Pending:
    """A story input waiting in state for its window to close (or a duplicate for its original)."""

    event_micros: int
    item: StoryInput
    waits: int = 0


@dataclass(frozen=True)
class Link:
    """What a later exact duplicate needs of an article already tagged."""

    root_id: str  # the original at the root of its duplicate chain
    story_id: str
    event_micros: int


@dataclass
class WindowedStories:
    """Everything the ordered step remembers between flushes."""

    index: StoryIndex
    links: dict[str, Link] = field(default_factory=dict)
    waiting: list[Pending] = field(default_factory=list)
    panes: dict[int, int] = field(default_factory=dict)  # window end (µs) → panes written
    updated_at: int = 0  # µs of the last update row: rows are strictly ordered within a job

    def export(self) -> bytes:
        """The keyed-state form: the story index in the state store's format, plus the streaming links."""
        return pickle.dumps(
            (self.index.export(), self.links, self.waiting, self.panes, self.updated_at),
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    @classmethod
    def restore(cls, data: bytes, catalog: Sequence[CatalogStory], near_window: dt.timedelta) -> WindowedStories:
        exported, links, waiting, panes, updated_at = pickle.loads(data)
        return cls(
            with_near_window(StoryIndex.from_export(exported, catalog), near_window), links, waiting, panes, updated_at
        )


@dataclass(frozen=True)
class Flushed:
    """What one flush produced: assignments (event µs, article id, assignment), update rows, duplicates that
    stopped waiting for their original, and articles the index already holds (event µs, article id)."""

    assignments: list[tuple[int, str, StoryAssignment]]
    updates: list[StoryUpdate]
    given_up: int
    already_ingested: list[tuple[int, str]] = field(default_factory=list)


def with_near_window(index: StoryIndex, window: dt.timedelta) -> StoryIndex:
    """The index with its near-duplicate window bounded by ``window`` (the streaming dedup horizon)."""
    index.near_duplicates = NearDuplicateIndex.from_state(index.near_duplicates.export_state(), window=window)
    return index


def flush_window(
    stories: WindowedStories,
    ready: list[Pending],
    times: EventTime,
    window_end: int,
    run: RunContext,
    now_micros: int,
) -> Flushed:
    """Tags ``ready`` (plus waiting duplicates) with the story rules; mutates ``stories``.

    An exact duplicate whose original is neither in this flush nor known (to the links or the
    index) waits; after ``MAX_WAITS`` flushes it goes to ``assign_stories`` anyway, which clusters
    it on its own, as the batch graph does with a copy of an article the index no longer holds.
    In phases: articles the index already holds are set aside (``set_aside_known``), duplicates
    whose original is unknown wait (``batch_to_tag``), the rest is tagged and linked
    (``tag_batch``), and what is past the window's lateness is forgotten (``forget_old``).
    """
    candidates, known = set_aside_known(stories, [*stories.waiting, *ready])
    batch, stories.waiting, given_up = batch_to_tag(stories, candidates)
    assignments, rows = tag_batch(stories, batch, window_end, run)
    pane = forget_old(stories, times, window_end)
    stories.updated_at = max(now_micros, stories.updated_at + 1)
    updates = [story_update(row, times, window_end, pane, stories.updated_at) for row in rows]
    return Flushed(assignments, updates, given_up, known)


def set_aside_known(stories: WindowedStories, pending: list[Pending]) -> tuple[list[Pending], list[tuple[int, str]]]:
    """The inputs to tag, and (event µs, article id) of the originals the index already holds: the job was
    relaunched and a feed delivered the article again; its copies follow its story."""
    candidates, known = [], []
    for item in pending:
        story_id = stories.index.story_of_article(item.item.article_id) if item.item.duplicate_of is None else None
        if story_id is None:
            candidates.append(item)
        else:
            known.append((item.event_micros, item.item.article_id))
            stories.links[item.item.article_id] = Link(item.item.article_id, story_id, item.event_micros)
    return candidates, known


def batch_to_tag(stories: WindowedStories, candidates: list[Pending]) -> tuple[list[Pending], list[Pending], int]:
    """The inputs tagged now (duplicates re-pointed at their root original), those that wait another flush, and
    how many duplicates stopped waiting for an original that never came."""
    originals = {p.item.article_id for p in candidates if p.item.duplicate_of is None}
    in_batch_copies = {p.item.article_id: p.item.duplicate_of for p in candidates if p.item.duplicate_of}
    batch, waiting, given_up = [], [], 0
    for pending in candidates:
        item = pending.item
        if item.duplicate_of is not None:
            root = root_of(item.duplicate_of, in_batch_copies, stories.links)
            known_root = is_known(root, originals, stories)
            if not known_root and pending.waits + 1 < MAX_WAITS:
                waiting.append(dataclasses.replace(pending, waits=pending.waits + 1))
                continue
            given_up += not known_root
            pending = dataclasses.replace(pending, item=dataclasses.replace(item, duplicate_of=root))
        batch.append(pending)
    return batch, waiting, given_up


def is_known(article_id: str, originals: set[str], stories: WindowedStories) -> bool:
    """True when an original is in this flush, linked from an earlier one, or held by the index."""
    return article_id in originals or article_id in stories.links or bool(stories.index.story_of_article(article_id))


def tag_batch(
    stories: WindowedStories, batch: list[Pending], window_end: int, run: RunContext
) -> tuple[list[tuple[int, str, StoryAssignment]], list[Story]]:
    """``assign_stories`` at the window's end; each input's assignment at its event time, and a link for its copies
    to come. An exact duplicate's assignment names its root original."""
    at = Timestamp(micros=window_end).to_utc_datetime().replace(tzinfo=dt.UTC)
    items = [p.item for p in batch]
    found, rows = assign_stories(items, stories.index, RunContext(run.run_id, at)) if items else ({}, [])
    events = {p.item.article_id: p.event_micros for p in batch}  # an article delivered twice: its latest event
    assignments = []
    for item in items:
        assignment = found[item.article_id]
        if item.duplicate_of is not None:  # an exact duplicate: re-pointed at the root original
            assignment = dataclasses.replace(assignment, duplicate_of=item.duplicate_of)
        root = item.duplicate_of or item.article_id
        stories.links[item.article_id] = Link(root, assignment.story_id, events[item.article_id])
        assignments.append((events[item.article_id], item.article_id, assignment))
    return assignments, rows


def forget_old(stories: WindowedStories, times: EventTime, window_end: int) -> int:
    """Retired stories, links and pane counts past the window's horizon and lateness leave memory; returns the
    pane number of this flush of the window ending at ``window_end``."""
    stories.index.clusterer.pop_retired()  # their rows are out: keep memory bounded by the window
    forget_before = window_end - times.horizon_micros - times.lateness_micros - times.window_micros
    stories.links = {k: link for k, link in stories.links.items() if link.event_micros >= forget_before}
    pane = stories.panes.get(window_end, 0)
    stories.panes = {end: n for end, n in stories.panes.items() if end >= forget_before}
    stories.panes[window_end] = pane + 1
    return pane


def root_of(article_id: str, in_batch_copies: dict[str, str | None], links: dict[str, Link]) -> str:
    """The original at the root of a duplicate chain, through this flush's copies and earlier links."""
    seen = set()
    while article_id in in_batch_copies and article_id not in seen and in_batch_copies[article_id]:
        seen.add(article_id)
        article_id = in_batch_copies[article_id]
    link = links.get(article_id)
    return link.root_id if link else article_id


def story_update(row: Story, times: EventTime, window_end: int, pane: int, updated_at: int) -> StoryUpdate:
    """A stories-table row as a story-updates row of the window ending at ``window_end``."""

    def utc(micros: int) -> dt.datetime:
        return Timestamp(micros=micros).to_utc_datetime().replace(tzinfo=dt.UTC)

    story = {f.name: getattr(row, f.name) for f in dataclasses.fields(row) if f.name != "ingested_at"}
    window = {"window_start": utc(window_end - times.window_micros), "window_end": utc(window_end)}
    return StoryUpdate(**story, **window, pane=pane, updated_at=utc(updated_at))


def tag_article(article: Article, assignment: StoryAssignment) -> Article:
    """The article with its story; a near-duplicate also marked, an exact one re-pointed at its root."""
    marks: dict[str, Any] = {}
    if assignment.duplicate_kind == NEAR:
        marks = {"duplicate_of": assignment.duplicate_of, "duplicate_kind": NEAR}
    elif article.duplicate_of and assignment.duplicate_of:
        marks = {"duplicate_of": assignment.duplicate_of}
    return dataclasses.replace(article, story_id=assignment.story_id, story_label=assignment.story_label, **marks)


class OnlineStoryOutputs(NamedTuple):
    articles: beam.PCollection  # tagged articles, at their event time
    updates: beam.PCollection  # StoryUpdate rows, at their window's end
    already_ingested: beam.PCollection  # articles the restored index already holds: counted, not written


class AssignStoriesOnline(beam.PTransform):
    """Articles (deduplicated, at their event time) → tagged articles, and story-update rows."""

    def __init__(
        self,
        catalog: Sequence[CatalogStory],
        times: EventTime,
        run: RunContext,
        state_dir: str | None = None,
        snapshot_seconds: float = DEFAULT_SNAPSHOT_SECONDS,
    ):
        super().__init__()
        self._tagger = TagStoriesByWindow(tuple(catalog), times, run, state_dir, snapshot_seconds)
        self._times = times

    def expand(self, articles):
        tagged = (
            articles
            | "Features" >> beam.Map(lambda a: (CLUSTER_KEY, story_input(a))).with_output_types(KV[str, Any])
            | "TagInWindowOrder" >> beam.ParDo(self._tagger).with_outputs(UPDATES, main="assignments")
        )
        joined = (
            (
                articles
                | "KeyArticles" >> beam.Map(lambda a: (a.article_id, (ARTICLE, a))).with_output_types(KV[str, Any]),
                tagged.assignments
                | "KeyAssignments" >> beam.Map(lambda kv: (kv[0], (ASSIGNMENT, kv[1]))).with_output_types(KV[str, Any]),
            )
            | "ArticlesAndAssignments" >> beam.Flatten().with_output_types(KV[str, Any])
            | "JoinStories"
            >> beam.ParDo(JoinStories()).with_input_types(KV[str, Any]).with_outputs(ALREADY_INGESTED, main="articles")
        )
        return OnlineStoryOutputs(joined.articles, tagged[UPDATES], joined[ALREADY_INGESTED])


ARTICLE, ASSIGNMENT = "article", "assignment"
ALREADY_INGESTED = "already_ingested"
"""The assignment of an article the index already holds, and the output such articles go to."""


class TagStoriesByWindow(beam.DoFn):
    """The single-key step: inputs wait in a bag; a watermark timer per window end flushes them in order."""

    INPUTS = BagStateSpec("inputs", PickleCoder())  # Pending
    PENDING = ReadModifyWriteStateSpec("pending", PickleCoder())  # sorted window ends (µs) to flush
    STORIES = ReadModifyWriteStateSpec("stories", BytesCoder())  # WindowedStories.export()
    VERSION = ReadModifyWriteStateSpec("version", PickleCoder())  # token of the stored state, for the cache
    SAVED_AT = ReadModifyWriteStateSpec("saved_at", VarIntCoder())  # watermark (µs) of the last snapshot
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)
    SNAPSHOT = TimerSpec("snapshot", TimeDomain.WATERMARK)

    def __init__(
        self,
        catalog: tuple[CatalogStory, ...],
        times: EventTime,
        run: RunContext,
        state_dir: str | None,
        snapshot_seconds: float,
    ):
        self._catalog, self._times, self._run = catalog, times, run
        self._state_dir, self._snapshot_micros = state_dir, round(snapshot_seconds * MICROS)
        self._near_window = dt.timedelta(seconds=times.dedup_horizon_seconds)
        self._tagged = counters.ARTICLES_TAGGED.metric()
        self._without_original = counters.DUPLICATES_WITHOUT_ORIGINAL.metric()
        self._touched = counters.STORIES_TOUCHED.metric()
        self._near = counters.NEAR_DUPLICATES.metric()
        self._snapshots = counters.STORY_SNAPSHOTS.metric()
        self._already_ingested = counters.STREAM_ALREADY_IN_INDEX.metric()

    def setup(self) -> None:
        self._cached: tuple[str, WindowedStories] | None = None

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        inputs=beam.DoFn.StateParam(INPUTS),
        pending_state=beam.DoFn.StateParam(PENDING),
        flush=beam.DoFn.TimerParam(FLUSH),
    ) -> None:
        _, item = element
        inputs.add(Pending(timestamp.micros, item))
        pending = set(pending_state.read() or ())
        end = self._times.window_end(timestamp.micros)
        if end not in pending:
            pending.add(end)
            pending_state.write(tuple(sorted(pending)))
            flush.set(Timestamp(micros=min(pending)))

    @on_timer(FLUSH)
    def flush_ready(
        self,
        fired=beam.DoFn.TimestampParam,
        inputs=beam.DoFn.StateParam(INPUTS),
        pending_state=beam.DoFn.StateParam(PENDING),
        stories_state=beam.DoFn.StateParam(STORIES),
        version=beam.DoFn.StateParam(VERSION),
        saved_at=beam.DoFn.StateParam(SAVED_AT),
        flush=beam.DoFn.TimerParam(FLUSH),
        snapshot=beam.DoFn.TimerParam(SNAPSHOT),
    ) -> Iterator:
        window_end = fired.micros
        everything = list(inputs.read())
        ready = [p for p in everything if self._times.window_end(p.event_micros) <= window_end]
        later = [p for p in everything if self._times.window_end(p.event_micros) > window_end]
        inputs.clear()
        for p in later:
            inputs.add(p)
        stories = self._live(stories_state, version)
        ready.sort(key=lambda p: p.event_micros)
        now = Timestamp.now().micros
        flushed = flush_window(stories, ready, self._times, window_end, self._run, now)
        self._remember(stories, stories_state, version)
        pending = sorted(e for e in pending_state.read() or () if e > window_end)
        if stories.waiting and not pending:  # give waiting duplicates a later flush even if nothing comes
            pending = [window_end + self._times.window_micros]
        if pending:
            pending_state.write(tuple(pending))
            flush.set(Timestamp(micros=pending[0]))
        else:
            pending_state.clear()
        self._maybe_snapshot(stories, window_end, saved_at, snapshot)
        self._without_original.inc(flushed.given_up)
        self._touched.inc(len(flushed.updates))
        self._near.inc(sum(1 for _, _, a in flushed.assignments if a.duplicate_kind == NEAR))
        for event_micros, article_id, assignment in flushed.assignments:
            self._tagged.inc()
            yield TimestampedValue((article_id, assignment), Timestamp(micros=event_micros))
        self._already_ingested.inc(len(flushed.already_ingested))
        for event_micros, article_id in flushed.already_ingested:
            yield TimestampedValue((article_id, ALREADY_INGESTED), Timestamp(micros=event_micros))
        for update in flushed.updates:
            yield beam.pvalue.TaggedOutput(UPDATES, TimestampedValue(update, Timestamp(micros=window_end - 1)))

    @on_timer(SNAPSHOT)
    def write_snapshot(
        self,
        fired=beam.DoFn.TimestampParam,
        stories_state=beam.DoFn.StateParam(STORIES),
        version=beam.DoFn.StateParam(VERSION),
        saved_at=beam.DoFn.StateParam(SAVED_AT),
    ) -> None:
        if self._state_dir and stories_state.read() is not None:
            stories = self._live(stories_state, version)
            save_story_index({}, stories.index.export(), self._state_dir)
            saved_at.write(fired.micros)
            self._snapshots.inc()
            self._cached = (version.read(), stories)  # unchanged: the stored state is still current

    def _maybe_snapshot(self, stories: WindowedStories, now: int, saved_at, snapshot) -> None:
        if not self._state_dir:
            return
        last = saved_at.read()
        if last is None or now - last >= self._snapshot_micros:
            save_story_index({}, stories.index.export(), self._state_dir)
            saved_at.write(now)
            self._snapshots.inc()
        else:  # the changes since then are saved by a later flush, or by this timer (it fires on drain too)
            snapshot.set(Timestamp(micros=last + self._snapshot_micros))

    def _live(self, stories_state, version) -> WindowedStories:
        """The cached state if the stored version token says it is current, else the stored one, else the store."""
        token = version.read()
        cached, self._cached = self._cached, None
        if cached is not None and token and cached[0] == token:
            return cached[1]
        stored = stories_state.read()
        if stored is not None:
            return WindowedStories.restore(stored, self._catalog, self._near_window)
        index = load_story_index(self._state_dir, self._catalog) if self._state_dir else StoryIndex.new(self._catalog)
        return WindowedStories(with_near_window(index, self._near_window))

    def _remember(self, stories: WindowedStories, stories_state, version) -> None:
        token = uuid.uuid4().hex
        stories_state.write(stories.export())
        version.write(token)
        self._cached = (token, stories)


class JoinStories(beam.DoFn):
    """Per article id: the full article meets its assignment and goes out at its event time.

    ``TagStoriesByWindow`` emits exactly one assignment per article it receives (a re-delivery the
    index holds gets ``ALREADY_INGESTED`` and goes to that output), so every key completes and its
    state is cleared. No
    event-time expiry here: a watermark jump past an article could fire it before the
    assignment that is on its way, and the article would go out without its story.
    """

    ARTICLE = ReadModifyWriteStateSpec("article", PickleCoder())  # (event µs, Article)
    ASSIGNMENT = ReadModifyWriteStateSpec("assignment", PickleCoder())

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        article_state=beam.DoFn.StateParam(ARTICLE),
        assignment_state=beam.DoFn.StateParam(ASSIGNMENT),
    ) -> Iterator[TimestampedValue]:
        _, (kind, value) = element
        if kind == ARTICLE:
            article_state.write((timestamp.micros, value))
        else:
            assignment_state.write(value)
        stored, assignment = article_state.read(), assignment_state.read()
        if stored is not None and assignment is not None:
            article_state.clear()
            assignment_state.clear()
            if assignment == ALREADY_INGESTED:
                yield beam.pvalue.TaggedOutput(
                    ALREADY_INGESTED, TimestampedValue(stored[1], Timestamp(micros=stored[0]))
                )
            else:
                yield TimestampedValue(tag_article(stored[1], assignment), Timestamp(micros=stored[0]))
