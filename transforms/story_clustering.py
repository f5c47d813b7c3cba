"""Story tagging v1: group articles about the same event into stories.

``vectorize`` runs per article in parallel: sparse L2-normalised term weights with a
*background* inverse frequency (``wordfreq``), so vectors never drift between runs.
``StoryClusterer.add`` is the single ordered step: an online single pass against story
centroids, candidates looked up in an inverted index (top centroid terms -> stories)
that dated stories leave once outside the time window. ``stories()`` resolves labels.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import wordfreq

_TOKEN = re.compile(r"\w+")
_CATALOG_KEYS = ("label", "description", "exemplar")


@dataclass(frozen=True)
class ArticleVector:
    """Sparse L2-normalised weights, sorted by term, at most ``max_terms`` long."""

    terms: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class CatalogStory:
    """A known story: its label, a description and optional exemplar text."""

    label: str
    description: str
    exemplar: str = ""


@dataclass(frozen=True)
class VectorizerConfig:
    """Constants of ``vectorize``; flat optimum on the dev corpora (benchmarks/)."""

    max_terms: int = 60  # keep the N heaviest terms: bounds memory and dot-product cost
    title_weight: float = 2.0  # a title occurrence weighs this much more than a body one
    zipf_ceiling: float = 8.0  # idf = (ceiling - zipf)^power; "the" (7.7) ~ 0, unknown = 8
    idf_power: float = 1.0  # 1 = linear in log-frequency; higher sharpens toward rare words
    default_language: str = "en"  # wordlist when ``language`` is None or has none


DEFAULT_VECTORIZER = VectorizerConfig()


@dataclass(frozen=True)
class ClusteringConfig:
    """Constants of the ordered step: one default, chosen across all dev corpora."""

    similarity_threshold: float = 0.30  # min size-damped similarity to join a story
    window_days: float = 3.0  # max gap to a story's [first, last]; only if both dated
    catalog_threshold: float = 0.30  # min cosine(centroid, catalog entry) for its label
    # score = dot(article, sum of members) / (|sum|^(1-d) * n^d): d=0 is cosine to the
    # centroid, d=1 average-link. Cosine to the sum of n loosely related members grows
    # ~sqrt(n) over their mean similarity, so big loose stories swallow neighbours;
    # d=0.5 damps that drift (event-level corpora gain, topic-level ones lose a little).
    size_damping: float = 0.5
    centroid_terms: int = 150  # centroid truncated to its heaviest terms after each join
    index_terms: int = 20  # heaviest centroid terms posted in the inverted index
    query_terms: int = 10  # heaviest article terms used to look up candidate stories
    label_terms: int = 3  # terms joined into a label when no catalog entry/headline fits
    summary_terms: int = 10  # length of ``StorySummary.top_terms``
    headline_candidates: int = 20  # first N titled members considered for the headline


@dataclass(frozen=True)
class StorySummary:
    story_id: str
    story_label: str
    label_source: str  # "catalog" | "headline" | "terms"
    first_published: datetime | None
    last_published: datetime | None
    article_count: int
    top_terms: tuple[str, ...]
    article_ids: tuple[str, ...]


def load_catalog(toml_text: str) -> list[CatalogStory]:
    """Parse ``[[story]]`` tables (label, description, optional exemplar)."""
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"story catalog is not valid TOML: {exc}") from exc
    if set(data) - {"story"}:
        raise ValueError(f"story catalog: unknown top-level keys {sorted(set(data) - {'story'})}")
    tables = data.get("story", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError("story catalog: 'story' must be an array of tables ([[story]])")
    catalog: list[CatalogStory] = []
    for i, table in enumerate(tables, 1):
        if set(table) - set(_CATALOG_KEYS):
            raise ValueError(f"story catalog entry {i}: unknown keys {sorted(set(table) - set(_CATALOG_KEYS))}")
        if not all(isinstance(table.get(k, ""), str) for k in _CATALOG_KEYS):
            raise ValueError(f"story catalog entry {i}: {', '.join(_CATALOG_KEYS)} must be a string")
        fields = {k: table.get(k, "").strip() for k in _CATALOG_KEYS}
        for key in ("label", "description"):
            if not fields[key]:
                raise ValueError(f"story catalog entry {i}: '{key}' is missing or empty")
        if any(c.label == fields["label"] for c in catalog):
            raise ValueError(f"story catalog: duplicate label {fields['label']!r}")
        catalog.append(CatalogStory(**fields))
    return catalog


@lru_cache(maxsize=64)
def _frequencies(language: str, fallback: str) -> Mapping[str, float]:
    try:
        return wordfreq.get_frequency_dict(language)
    except LookupError:  # wordfreq has no list for this language
        return wordfreq.get_frequency_dict(fallback)


def _idf(word: str, freqs: Mapping[str, float], cfg: VectorizerConfig) -> float:
    freq = freqs.get(word, 0.0)
    zipf = math.log10(freq * 1e9) if freq > 0 else 0.0  # == wordfreq.zipf_frequency; unknown: 0
    return max(cfg.zipf_ceiling - zipf, 0.0) ** cfg.idf_power


def _counts(text: str) -> Counter[str]:
    tokens = _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())
    return Counter(t for t in tokens if len(t) > 1 and not t.isnumeric())


def _sublinear(count: int) -> float:
    return 1.0 + math.log(count) if count > 0 else 0.0


def _top(weights: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    """The n heaviest items, ties broken by term (deterministic)."""
    return heapq.nsmallest(n, weights.items(), key=lambda kv: (-kv[1], kv[0]))


def vectorize(
    title: str | None, text: str, language: str | None = None, *, config: VectorizerConfig = DEFAULT_VECTORIZER
) -> ArticleVector:
    """Sublinear tf (title boosted) x background idf; top ``max_terms``; L2-normalised."""
    freqs = _frequencies((language or config.default_language).lower(), config.default_language)
    title_counts, body_counts = _counts(title or ""), _counts(text or "")
    weights = {}
    for term in title_counts.keys() | body_counts.keys():
        tf = config.title_weight * _sublinear(title_counts[term]) + _sublinear(body_counts[term])
        if (weight := tf * _idf(term, freqs, config)) > 0:
            weights[term] = weight
    top = _top(weights, config.max_terms)
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return ArticleVector(tuple(sorted((t, w / norm) for t, w in top)))


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; naive values are taken to be UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def publication_order_key(published_at: datetime | None, article_id: str) -> tuple:
    """Dated articles first, oldest first; then undated ones; ties by article id."""
    when = _utc(published_at)
    return (1, 0.0, article_id) if when is None else (0, when.timestamp(), article_id)


def story_id_for(article_id: str) -> str:
    """Stable story id derived from the founding article's id."""
    return "s" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:16]


def _dot(vector: Iterable[tuple[str, float]], centroid: Mapping[str, float]) -> float:
    return sum(w * centroid.get(t, 0.0) for t, w in vector)


class _TermIndex:
    """Inverted index: term -> ids of stories having it among their top terms."""

    def __init__(self) -> None:
        self._postings: dict[str, set[str]] = defaultdict(set)

    def add(self, story_id: str, terms: Iterable[str]) -> None:
        for term in terms:
            self._postings[term].add(story_id)

    def remove(self, story_id: str, terms: Iterable[str]) -> None:
        for term in terms:
            if (posting := self._postings.get(term)) is not None:
                posting.discard(story_id)
                if not posting:
                    del self._postings[term]

    def query(self, terms: Iterable[str]) -> set[str]:
        return set().union(*(self._postings.get(t, ()) for t in terms))


class _Story:
    def __init__(self, story_id: str) -> None:
        self.story_id = story_id
        self.centroid: dict[str, float] = {}  # sum of member vectors, truncated
        self.norm = 0.0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.article_ids: list[str] = []
        self.headlines: list[tuple[str, ArticleVector]] = []
        self.indexed: tuple[str, ...] = ()  # terms currently posted in the indexes
        self.active = False  # dated and not yet expired from the active index

    def top_terms(self, n: int) -> tuple[str, ...]:
        return tuple(t for t, _ in _top(self.centroid, n))

    def cosine(self, vector: ArticleVector) -> float:
        return _dot(vector.terms, self.centroid) / self.norm if self.norm else 0.0


class StoryClusterer:
    """Online single-pass clusterer; call ``add`` in ``publication_order_key`` order."""

    def __init__(self, catalog: Sequence[CatalogStory] = (), config: ClusteringConfig = ClusteringConfig()) -> None:
        self.config = config
        self._catalog = [(c.label, vectorize(c.label, f"{c.description}\n{c.exemplar}")) for c in catalog]
        self._stories: dict[str, _Story] = {}  # insertion order = founding order
        self._assigned: dict[str, str] = {}  # article id -> story id
        self._all = _TermIndex()  # every story: searched by undated articles
        self._undated = _TermIndex()  # stories without any date: no time gate applies
        self._active = _TermIndex()  # dated stories that can still be within the window
        self._expiry: list[tuple[datetime, str]] = []  # heap of (last_published, story id)
        self._watermark: datetime | None = None  # newest article date seen

    def add(self, article_id: str, vector: ArticleVector, published_at: datetime | None, title: str | None) -> str:
        """Join the best eligible story or found a new one; return the story id."""
        if article_id in self._assigned:  # re-delivered article: idempotent
            return self._assigned[article_id]
        when = _utc(published_at)
        story = self._best_match(vector, when)
        if story is None:
            story_id = story_id_for(article_id)
            while story_id in self._stories:  # prefix collision: extend deterministically
                story_id = story_id_for(story_id)
            story = self._stories[story_id] = _Story(story_id)
        self._join(story, article_id, vector, when, title)
        self._assigned[article_id] = story.story_id
        return story.story_id

    def _best_match(self, vector: ArticleVector, when: datetime | None) -> _Story | None:
        cfg = self.config
        query = [t for t, _ in _top(dict(vector.terms), cfg.query_terms)]
        if when is None:
            candidates = self._all.query(query)
        else:
            self._expire(when)
            candidates = self._active.query(query) | self._undated.query(query)
        best, best_score = None, cfg.similarity_threshold
        for story in sorted((self._stories[s] for s in candidates), key=lambda s: s.story_id):
            if when is not None and story.first is not None and story.last is not None:
                gap = max(story.first - when, when - story.last).total_seconds() / 86400.0
                if gap > cfg.window_days:
                    continue
            damp = story.norm ** (1 - cfg.size_damping) * len(story.article_ids) ** cfg.size_damping
            score = _dot(vector.terms, story.centroid) / damp
            if score > best_score or (best is None and score == best_score):
                best, best_score = story, score
        return best

    def _expire(self, when: datetime) -> None:
        """Unpost dated stories whose window closed before the newest date seen."""
        if self._watermark is None or when > self._watermark:
            self._watermark = when
        while self._expiry and (self._watermark - self._expiry[0][0]).total_seconds() > self.config.window_days * 86400:
            last, story_id = heapq.heappop(self._expiry)
            story = self._stories[story_id]
            if story.active and story.last == last:  # else a newer heap entry exists
                self._active.remove(story_id, story.indexed)
                story.active = False

    def _indexes(self, story: _Story) -> list[_TermIndex]:
        if story.last is None:
            return [self._all, self._undated]
        return [self._all, self._active] if story.active else [self._all]

    def _join(self, story: _Story, article_id: str, vector: ArticleVector, when: datetime | None, title: str | None) -> None:
        cfg = self.config
        for index in self._indexes(story):
            index.remove(story.story_id, story.indexed)
        for term, weight in vector.terms:
            story.centroid[term] = story.centroid.get(term, 0.0) + weight
        if len(story.centroid) > cfg.centroid_terms:
            story.centroid = dict(_top(story.centroid, cfg.centroid_terms))
        story.norm = math.sqrt(sum(w * w for w in story.centroid.values()))
        story.article_ids.append(article_id)
        if title and title.strip() and len(story.headlines) < cfg.headline_candidates:
            story.headlines.append((title.strip(), vector))
        if when is not None:
            story.first = min(story.first or when, when)
            story.last = max(story.last or when, when)
            story.active = True
            heapq.heappush(self._expiry, (story.last, story.story_id))
        story.indexed = story.top_terms(cfg.index_terms)
        for index in self._indexes(story):
            index.add(story.story_id, story.indexed)

    def stories(self) -> list[StorySummary]:
        """Summaries in founding order, labels resolved on the final centroids."""
        catalog_labels = self._catalog_labels()
        summaries = []
        for story in self._stories.values():
            if story.story_id in catalog_labels:
                label, source = catalog_labels[story.story_id], "catalog"
            elif story.headlines:  # title of the member closest to the centroid, earliest on ties
                label, source = max(story.headlines, key=lambda h: story.cosine(h[1]))[0], "headline"
            else:
                label, source = " / ".join(story.top_terms(self.config.label_terms)), "terms"
            summaries.append(StorySummary(
                story_id=story.story_id, story_label=label, label_source=source,
                first_published=story.first, last_published=story.last,
                article_count=len(story.article_ids), top_terms=story.top_terms(self.config.summary_terms),
                article_ids=tuple(story.article_ids),
            ))
        return summaries

    def _catalog_labels(self) -> dict[str, str]:
        """Story id -> catalog label. A label goes to at most one story: the pairs over
        ``catalog_threshold`` are taken greedily, most similar first, so an event split
        into several stories labels only its best-matching part (others keep headlines)."""
        pairs = sorted(
            (-story.cosine(vector), story.story_id, label)
            for story in self._stories.values() for label, vector in self._catalog
            if story.cosine(vector) >= self.config.catalog_threshold
        )
        assigned: dict[str, str] = {}
        for _, story_id, label in pairs:
            if story_id not in assigned and label not in assigned.values():
                assigned[story_id] = label
        return assigned
