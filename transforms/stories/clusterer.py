"""Story tagging: group articles about the same event into stories, online, in publication order.

``vectorize`` (``stories.vectors``) runs per article in parallel. ``StoryClusterer.add`` is the
single ordered step. For each article it

1. retrieves candidate stories from an inverted index over the active stories' top centroid
   terms (``stories.active``), reading a bounded number of postings, so the cost per article does
   not grow with the number of stories;
2. scores each candidate by a weighted mean of cosines to the story's centroids: terms
   (title + body), title alone, entities (a feature counts only when both sides have it; by
   default terms 1, title 0.1, entities 0: on the dev corpora entities added nothing the
   terms don't carry), minus ``decay_per_day`` per day between the article and the story's
   time span when both are dated (more than ``window_days`` apart: not a candidate at all).
   The article's terms are first reweighted by their *inverse story frequency* among the
   active stories, ``ln((S + P + 1) / (n + 0.5)) ** novelty_power`` (S active stories, n of
   them indexed under the term, P = ``novelty_prior`` stories assumed without it, so that with
   one or two active stories a shared word is not taken for a common one), and renormalised:
   a word that many current stories share ("biden", "covid" in a season of such news) tells
   them apart less than the background idf says, and a word no current story has marks the
   article as new. This is idf over the stories rather than the articles, so a big story does
   not discount its own words, and it is read from the index's posting lengths: bounded by the window, and rebuilt by
   ``from_state`` exactly as it was;
3. joins the best story when its score clears ``similarity_threshold`` *and* beats the
   ``background_rank``-th best candidate by ``distinctness_margin``: among many
   similar stories (one topic covered for months, no dates to tell events apart) an article
   needs a story that stands out, not just shared vocabulary. Otherwise it founds a story
   whose id derives from its own article id;
4. takes a second look when the article joined a story (``_second_look``): reports of one
   event that came before the event stood out may have founded two stories; as reports join
   them their centroids converge. When the story's term centroid and another active story's,
   both reweighted by the inverse story frequency, reach a cosine of ``merge_threshold``
   (dated stories no more than ``window_days`` apart), the two become one: the older story
   keeps its id and absorbs the other's centroids, span, headlines and members, and the other
   id is recorded as merged into it (``StorySummary.merged_into``; ``resolve`` follows it).
   At most ``merge_candidates`` stories, found through the same index, are compared, so the
   cost per article stays bounded. The merge record lives in the absorbing story's state, so
   stories split across runs merge the same way and later runs still resolve the old id.

This docstring is the one description of the algorithm (docs/design.md links here). Labels
(``stories.labels``, shared with the streaming step): a story takes the closest catalog entry
over ``catalog_threshold`` the first time it matches one that no other active story holds, and
keeps it (across runs too); else its most representative headline (the member title closest to
its terms, so it can change as articles join); else its heaviest names and terms ("eirik
lindqvist / rosenborg / eliteserien"). The stories table holds the current label.

Active stories: dated ones until the newest date seen passes their last article by
``window_days``; undated ones until ``max_active_stories`` forces out the least recently
updated. Only active stories are kept, exported (``export_state``) and joinable, so memory is
bounded by the window, and an undated article can join only a story that is still active.
Feeding articles 1..n to one clusterer, or 1..k, ``export_state``, ``from_state``, k+1..n,
gives the same story ids: the state holds everything ``add`` reads.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from transforms.stories.active import ActiveStory, TermIndex, sparse_dot
from transforms.stories.catalog import CatalogStory, load_catalog
from transforms.stories.labels import StoryLabeller, story_label
from transforms.stories.vectors import (
    DEFAULT_VECTORIZER,
    ArticleVector,
    VectorizerConfig,
    Weights,
    vectorize,
)

__all__ = [  # the clustering API in one place (vectors come from ``stories.vectors``)
    "DEFAULT_VECTORIZER",
    "ArticleVector",
    "CatalogStory",
    "ClusteringConfig",
    "StoryClusterer",
    "StorySummary",
    "VectorizerConfig",
    "load_catalog",
    "publication_order_key",
    "story_id_for",
    "vectorize",
]

STATE_FORMAT = "newsbeam.story-state/1"
_DAY = 86400.0


@dataclass(frozen=True)
class ClusteringConfig:
    """Constants of the ordered step: one default for every corpus (see benchmarks/clustering.py)."""

    similarity_threshold: float = 0.10  # min score to join a story
    distinctness_margin: float = 0.10  # ... and by how much it must beat the background candidate
    background_rank: int = 5  # the background is the score of the N-th best candidate
    novelty_power: float = 1.5  # exponent of the inverse story frequency on article terms (0: off)
    novelty_prior: float = 2.0  # stories without the term assumed besides the active ones: a handful says little
    terms_weight: float = 1.0  # weights of the three cosines in the score
    title_weight: float = 0.1
    entity_weight: float = 0.0  # neutral-to-harmful on the dev corpora (bench-clustering); names still label stories
    decay_per_day: float = 0.3  # score lost per day outside the story's [first, last]; both dated only
    window_days: float = 3.0  # further apart: not a candidate; a story quiet this long leaves the state
    max_active_stories: int = 20000  # least recently updated stories leave beyond this
    catalog_threshold: float = 0.30  # min cosine(story terms, catalog entry) for the entry's label
    merge_threshold: float = 0.4  # second look: min cosine of two stories' term centroids to merge them (0: off)
    merge_candidates: int = 8  # stories compared with a story an article just joined
    query_terms: int = 10  # heaviest article terms looked up in the index
    postings_per_term: int = 40  # most recently updated stories read per looked-up term
    candidates: int = 24  # stories scored in full, the best by summed query weight
    index_terms: int = 20  # heaviest centroid terms a story is posted under
    centroid_terms: int = 150  # centroid caps (heaviest keys kept after each join)
    centroid_title_terms: int = 40
    centroid_entities: int = 60
    headline_candidates: int = 10  # first N titled members considered for the headline label
    label_terms: int = 3  # key phrases joined into a label when no catalog entry/headline fits
    summary_terms: int = 10  # length of ``StorySummary.top_terms``


@dataclass(frozen=True)
class StorySummary:
    story_id: str
    story_label: str
    label_source: str  # "catalog" | "headline" | "terms"
    first_published: datetime | None
    last_published: datetime | None
    article_count: int  # members across runs
    top_terms: tuple[str, ...]
    article_ids: tuple[str, ...]  # members added since the clusterer was created/imported
    touched: bool = True  # whether any article joined it since then
    merged_into: str | None = None  # the story that absorbed this one (its articles now belong there)
    merged: tuple[str, ...] = ()  # ids of the stories merged into this one


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; naive values are taken to be UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _datetime(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def publication_order_key(published_at: datetime | None, article_id: str) -> tuple:
    """Dated articles first, oldest first; then undated ones; ties by article id."""
    when = _utc(published_at)
    return (1, 0.0, article_id) if when is None else (0, when.timestamp(), article_id)


def _spans_within(a: ActiveStory, b: ActiveStory, gap: float) -> bool:
    """True unless both stories are dated and their spans are more than ``gap`` seconds apart."""
    if a.first is None or b.first is None or a.last is None or b.last is None:
        return True
    return max(a.first - b.last, b.first - a.last) <= gap


def story_id_for(article_id: str) -> str:
    """Stable story id derived from the founding article's id."""
    return "s" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:16]


class StoryClusterer:
    """Online single-pass clusterer; call ``add`` in ``publication_order_key`` order."""

    def __init__(self, catalog: Sequence[CatalogStory] = (), config: ClusteringConfig = ClusteringConfig()) -> None:
        self.config = config
        self._labeller = StoryLabeller.for_catalog(tuple(catalog), config.catalog_threshold)
        self._active: OrderedDict[str, ActiveStory] = OrderedDict()  # least recently updated first
        self._index = TermIndex()
        self._expiry: list[tuple[float, str]] = []  # heap of (last published, story id); stale entries skipped
        self._assigned: dict[str, str] = {}  # article id -> story id, for members kept in the state
        self._label_holders: dict[str, str] = {}  # catalog label -> active story holding it
        self._merged_into: dict[str, str] = {}  # absorbed story id -> active story that holds its articles
        self._retired: list[
            tuple[int, StorySummary]
        ] = []  # (founded, summary) of touched stories that left, until popped
        self._seq = 0  # articles added, ever (orders postings; part of the state)
        self._watermark: float | None = None  # newest article date seen (UTC timestamp)
        self.scored = 0  # candidate stories scored in full (for tests and benchmarks)

    # -- the ordered step ------------------------------------------------------------------

    def story_of(self, article_id: str) -> str | None:
        """The story of an article that is a member of an active story, else None."""
        return self._assigned.get(article_id)

    def add(self, article_id: str, vector: ArticleVector, published_at: datetime | None, title: str | None) -> str:
        """Join the best eligible story or found a new one; return the story id."""
        if article_id in self._assigned:  # re-delivered article: idempotent
            return self._assigned[article_id]
        when = _utc(published_at)
        stamp = None if when is None else when.timestamp()
        self._seq += 1
        if stamp is not None and (self._watermark is None or stamp > self._watermark):
            self._watermark = stamp
            self._expire()
        story = self._best_match(vector, stamp)
        if story is None:
            story_id = story_id_for(article_id)
            while story_id in self._active:  # prefix collision: extend deterministically
                story_id = story_id_for(story_id)
            story = ActiveStory(story_id, self._seq)
        self._join(story, article_id, vector, stamp, title)
        if story.count > 1 and self.config.merge_threshold:
            story = self._second_look(story)
        while len(self._active) > self.config.max_active_stories:
            self._retire(next(iter(self._active.values())))
        return story.story_id

    def _best_match(self, vector: ArticleVector, stamp: float | None) -> ActiveStory | None:
        cfg = self.config
        query = sorted(vector.terms, key=lambda kv: -kv[1])[: cfg.query_terms]  # terms come sorted: ties by term
        features = self._features(vector)
        scored = []
        for story_id in self._index.candidates(query, cfg.postings_per_term, cfg.candidates):
            story = self._active[story_id]
            penalty = 0.0
            if stamp is not None and story.first is not None and story.last is not None:
                gap = max(story.first - stamp, stamp - story.last, 0.0) / _DAY
                if gap > cfg.window_days:
                    continue
                penalty = cfg.decay_per_day * gap
            scored.append((self._similarity(features, story) - penalty, story.founded, story))
        self.scored += len(scored)
        if not scored:
            return None
        scored.sort(key=lambda s: (-s[0], s[1]))
        best = scored[0][0]
        background = scored[cfg.background_rank - 1][0] if len(scored) >= cfg.background_rank else 0.0
        if best >= cfg.similarity_threshold and best >= background + cfg.distinctness_margin:
            return scored[0][2]
        return None

    def _features(self, vector: ArticleVector) -> list[tuple[float, str, dict[str, float]]]:
        """(weight, centroid name, vector as a mapping) of the features that count."""
        cfg = self.config
        features = [(cfg.terms_weight, "terms", self._story_idf_weighted(vector.terms))]
        if cfg.title_weight and vector.title:
            features.append((cfg.title_weight, "title", dict(vector.title)))
        if cfg.entity_weight and vector.entities:
            features.append((cfg.entity_weight, "entities", dict(vector.entities)))
        return features

    def _story_idf_weighted(self, terms: Weights) -> dict[str, float]:
        """The article's terms times their inverse story frequency ** ``novelty_power``, unit length."""
        power, stories = self.config.novelty_power, len(self._active)
        if not power or not stories:
            return dict(terms)
        count = self._index.story_count
        top = stories + self.config.novelty_prior + 1
        factors: dict[int, float] = {}  # story count -> factor: few distinct counts, so few logs
        weighted = {}
        for t, w in terms:
            n = count(t)
            factor = factors.get(n)
            if factor is None:
                factor = factors[n] = math.log(top / (n + 0.5)) ** power
            weighted[t] = w * factor
        norm = math.sqrt(math.fsum(w * w for w in weighted.values())) or 1.0
        return {t: w / norm for t, w in weighted.items()}

    @staticmethod
    def _similarity(features: list[tuple[float, str, dict[str, float]]], story: ActiveStory) -> float:
        """Weighted mean of the cosines to the story's centroids, over the features both have."""
        total = weights = 0.0
        for weight, name, vector in features:
            centroid = getattr(story, name)
            if centroid.norm:
                total += weight * centroid.cosine(vector)
                weights += weight
        return total / weights if weights else 0.0

    def _join(
        self, story: ActiveStory, article_id: str, vector: ArticleVector, stamp: float | None, title: str | None
    ) -> None:
        cfg = self.config
        self._index.unpost(story.story_id, story.indexed)
        story.terms.add(vector.terms, cfg.centroid_terms)
        if vector.title:
            story.title.add(vector.title, cfg.centroid_title_terms)
        if vector.entities:
            story.entities.add(vector.entities, cfg.centroid_entities)
        story.count += 1
        story.updated = self._seq
        story.members.append(article_id)
        story.added.append(article_id)
        self._assigned[article_id] = story.story_id
        if title and title.strip() and len(story.headlines) < cfg.headline_candidates:
            story.headlines.append((title.strip(), vector.title))
        if stamp is not None:
            story.first = stamp if story.first is None else min(story.first, stamp)
            story.last = stamp if story.last is None else max(story.last, stamp)
            heapq.heappush(self._expiry, (story.last, story.story_id))
        self._active[story.story_id] = story
        self._active.move_to_end(story.story_id)
        story.indexed = story.terms.top(cfg.index_terms)
        self._index.post(story.story_id, story.indexed)
        if story.label is None and self._labeller:
            story.label = self._labeller.catalog_label(vector.terms, story.terms, self._label_holders)
            if story.label is not None:
                self._label_holders[story.label] = story.story_id

    def _second_look(self, story: ActiveStory) -> ActiveStory:
        """Merge ``story`` with the active story whose term centroid is closest to its own, when that
        cosine reaches ``merge_threshold``; returns the story that now holds the article.

        Reports of one event that founded two stories (the first few did not stand out enough to
        join) pull both centroids toward the event as more reports join them; once they converge
        the two are one story. Both centroids are weighted by the inverse story frequency (as
        articles are in ``add``), so stories that only share a season's vocabulary stay apart, and
        dated stories more than ``window_days`` apart never merge. The cost is bounded as for
        ``add``: candidates come from the index under the story's top terms, at most
        ``merge_candidates`` of them compared. The older story keeps its id and absorbs the other.
        """
        cfg = self.config
        terms = story.terms
        query = [(t, terms.weights[t] / terms.norm) for t in story.indexed[: cfg.query_terms]]
        mine = self._story_idf_weighted(tuple(terms.weights.items()))
        best, best_score, compared = None, cfg.merge_threshold, 0
        for other_id in self._index.candidates(query, cfg.postings_per_term, cfg.merge_candidates + 1):
            other = self._active[other_id]
            if other is story or not _spans_within(story, other, cfg.window_days * _DAY):
                continue
            compared += 1
            score = sparse_dot(mine, self._story_idf_weighted(tuple(other.terms.weights.items())))
            if score >= best_score:
                best, best_score = other, score
        self.scored += compared
        if best is None:
            return story
        older, newer = sorted((story, best), key=lambda s: (s.founded, s.story_id))
        self._merge(older, newer)
        return older

    def _merge(self, older: ActiveStory, newer: ActiveStory) -> None:
        cfg = self.config
        self._index.unpost(newer.story_id, newer.indexed)
        self._index.unpost(older.story_id, older.indexed)
        del self._active[newer.story_id]
        older.absorb(
            newer, (cfg.centroid_terms, cfg.centroid_title_terms, cfg.centroid_entities), cfg.headline_candidates
        )
        for merged in older.absorbed:
            self._merged_into[merged.story_id] = older.story_id
        self._assigned.update((a, older.story_id) for a in newer.members)
        if newer.label is not None:
            if older.label is None:
                older.label = newer.label
                self._label_holders[older.label] = older.story_id
            else:
                self._label_holders.pop(newer.label, None)
        if older.last is not None:
            heapq.heappush(self._expiry, (older.last, older.story_id))
        self._active[older.story_id] = older
        self._active.move_to_end(older.story_id)
        older.indexed = older.terms.top(cfg.index_terms)
        self._index.post(older.story_id, older.indexed)

    def resolve(self, story_id: str) -> str:
        """The id that now holds the articles of ``story_id``: itself, or the active story that absorbed it."""
        return self._merged_into.get(story_id, story_id)

    @property
    def merged_into(self) -> dict[str, str]:
        """Absorbed story id -> the active story that absorbed it (directly or through another)."""
        return dict(self._merged_into)

    def _expire(self) -> None:
        """Retire dated stories whose last article is ``window_days`` behind the watermark."""
        if self._watermark is None:
            return
        horizon = self._watermark - self.config.window_days * _DAY
        while self._expiry and self._expiry[0][0] < horizon:
            last, story_id = heapq.heappop(self._expiry)
            story = self._active.get(story_id)
            if story is not None and story.last == last:  # else a newer heap entry exists
                self._retire(story)

    def _retire(self, story: ActiveStory) -> None:
        if story.touched:
            self._retired += [(story.founded, summary) for summary in self._summaries(story)]
        for merged in story.absorbed:
            self._merged_into.pop(merged.story_id, None)
        del self._active[story.story_id]
        self._index.unpost(story.story_id, story.indexed)
        for article_id in story.members:
            self._assigned.pop(article_id, None)
        if story.label is not None:
            self._label_holders.pop(story.label, None)

    # -- results ---------------------------------------------------------------------------

    def stories(self) -> list[StorySummary]:
        """Every active story, plus the touched ones that left the state since the last
        ``pop_retired``; in founding order."""
        founded = self._retired + [
            (s.founded, summary) for s in self._active.values() for summary in self._summaries(s)
        ]
        return [summary for _, summary in sorted(founded, key=lambda f: (f[0], f[1].story_id))]

    def touched_stories(self) -> list[StorySummary]:
        """The stories that articles joined since this clusterer was created or imported."""
        return [s for s in self.stories() if s.touched]

    def pop_retired(self) -> list[StorySummary]:
        """Summaries of the touched stories that left the state since the last call, which are
        then forgotten: a long-running caller keeps memory bounded by the window this way."""
        retired, self._retired = self._retired, []
        return [summary for _, summary in retired]

    def _summaries(self, story: ActiveStory) -> list[StorySummary]:
        """The story's summary, then one per story merged into it (pointing at it, with its label)."""
        summary = self._summary(story)
        if not story.touched:
            return [summary]
        return [
            summary,
            *(
                StorySummary(
                    story_id=merged.story_id,
                    story_label=summary.story_label,
                    label_source=summary.label_source,
                    first_published=_datetime(merged.first),
                    last_published=_datetime(merged.last),
                    article_count=merged.count,
                    top_terms=merged.top_terms,
                    article_ids=(),
                    merged_into=story.story_id,
                )
                for merged in story.absorbed
            ),
        ]

    def _summary(self, story: ActiveStory) -> StorySummary:
        cfg = self.config
        label, source = story_label(story.label, story.headlines, story.terms, story.entities, cfg.label_terms)
        return StorySummary(
            story_id=story.story_id,
            story_label=label,
            label_source=source,
            first_published=_datetime(story.first),
            last_published=_datetime(story.last),
            article_count=story.count,
            top_terms=story.terms.top(cfg.summary_terms),
            article_ids=tuple(story.added),
            touched=story.touched,
            merged=tuple(merged.story_id for merged in story.absorbed),
        )

    # -- state across runs -----------------------------------------------------------------

    def export_state(self) -> bytes:
        """Everything ``add`` reads, as canonical JSON (UTF-8): active stories in last-update
        order, the sequence counter and the newest date seen. Retired stories are not in it."""
        state = {
            "format": STATE_FORMAT,
            "config": asdict(self.config),
            "seq": self._seq,
            "watermark": self._watermark,
            "stories": [s.to_state() for s in self._active.values()],
        }
        return json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_state(
        cls,
        data: bytes | str | Mapping,
        catalog: Sequence[CatalogStory] = (),
        config: ClusteringConfig = ClusteringConfig(),
    ) -> StoryClusterer:
        """A clusterer that continues where the exported one stopped (no story is touched yet)."""
        state = json.loads(data) if isinstance(data, (bytes, str)) else data
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a story clusterer state: format {state.get('format')!r}, expected {STATE_FORMAT!r}")
        clusterer = cls(catalog, config)
        clusterer._seq, clusterer._watermark = state["seq"], state["watermark"]
        labels = clusterer._labeller.labels
        for data_story in state["stories"]:
            story = ActiveStory.from_state(data_story)
            if story.label is not None and story.label not in labels:
                story.label = None  # the entry left the catalog
            clusterer._active[story.story_id] = story
            story.indexed = story.terms.top(config.index_terms)
            clusterer._index.post(story.story_id, story.indexed)  # in last-update order, as when live
            clusterer._assigned.update((a, story.story_id) for a in story.members)
            if story.last is not None:
                heapq.heappush(clusterer._expiry, (story.last, story.story_id))
            if story.label is not None:
                clusterer._label_holders[story.label] = story.story_id
            clusterer._merged_into.update((merged.story_id, story.story_id) for merged in story.absorbed)
        return clusterer
