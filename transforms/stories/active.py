"""The active stories of the clusterer and the inverted index that finds candidates among them.

``ActiveStory`` is one story's whole clustering state (centroids, dates, headline candidates,
members, catalog label). ``TermIndex`` posts each story under the heaviest terms of its
centroid. A posting keeps stories in the order they were last updated, and a lookup reads at
most ``per_term`` of the most recent ones per term, so finding candidates costs the same
however many stories are active.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from operator import mul
from typing import NamedTuple

from transforms.stories.vectors import Weights, top_weights


def sparse_dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product over the shared keys; ``fsum`` makes it independent of set order (and so
    of the interpreter's string hash seed)."""
    common = a.keys() & b.keys()
    return math.fsum(map(mul, map(a.__getitem__, common), map(b.__getitem__, common)))


class Centroid:
    """Sum of member vectors with its norm; once it holds more than 1.5 x ``cap`` keys it is
    cut back to the ``cap`` heaviest (the slack keeps the cut off the per-article path)."""

    __slots__ = ("norm", "weights")

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        self.weights = weights or {}
        self.norm = math.hypot(*self.weights.values())

    def add(self, vector: Weights, cap: int) -> None:
        weights = self.weights
        get = weights.get
        for key, weight in vector:
            weights[key] = get(key, 0.0) + weight
        if len(weights) > cap + cap // 2:
            self.weights = weights = {k: weights[k] for k in self.top(cap)}
        self.norm = math.hypot(*weights.values())

    def cosine(self, vector: Mapping[str, float]) -> float:
        """Cosine with a unit-length vector given as a mapping."""
        return sparse_dot(vector, self.weights) / self.norm if self.norm else 0.0

    def similarity(self, other: Centroid) -> float:
        """Cosine between two centroids."""
        return sparse_dot(self.weights, other.weights) / (self.norm * other.norm) if self.norm and other.norm else 0.0

    def top(self, n: int) -> tuple[str, ...]:
        """The n heaviest keys; ties in insertion order (deterministic, and kept by the state)."""
        weights = self.weights
        return tuple(sorted(weights, key=weights.__getitem__, reverse=True)[:n])


class ActiveStory:
    """A story that articles can still join."""

    __slots__ = (
        "count",
        "entities",
        "first",
        "founded",
        "headlines",
        "indexed",
        "absorbed",
        "label",
        "last",
        "members",
        "added",
        "story_id",
        "terms",
        "title",
        "updated",
    )

    def __init__(self, story_id: str, founded: int) -> None:
        self.story_id = story_id
        self.founded = founded  # clusterer sequence number of the founding article
        self.updated = founded  # ... of the latest member: orders postings and capacity eviction
        self.count = 0  # members across runs
        self.terms, self.title, self.entities = Centroid(), Centroid(), Centroid()
        self.first: float | None = None  # UTC timestamps of the earliest / latest dated member
        self.last: float | None = None
        self.headlines: list[tuple[str, Weights]] = []  # (title, title vector) of the first titled members
        self.members: list[str] = []  # article ids of the members kept in the state
        self.added: list[str] = []  # the members added since this clusterer was created/imported (not state)
        self.label: str | None = None  # catalog label, decided once
        self.indexed: tuple[str, ...] = ()  # terms currently posted in the index
        self.absorbed: list[MergedStory] = []  # stories merged into this one, directly or not

    def absorb(self, other: ActiveStory, caps: tuple[int, int, int], headlines: int) -> None:
        """Take ``other``'s articles: centroids summed (then capped like after a join), span, members,
        headline candidates; ``other`` is recorded among the absorbed stories with those it absorbed."""
        self.terms.add(tuple(other.terms.weights.items()), caps[0])
        self.title.add(tuple(other.title.weights.items()), caps[1])
        self.entities.add(tuple(other.entities.weights.items()), caps[2])
        self.absorbed += [MergedStory.of(other), *other.absorbed]
        self.count += other.count
        self.updated = max(self.updated, other.updated)
        if other.first is not None:
            self.first = other.first if self.first is None else min(self.first, other.first)
            self.last = other.last if self.last is None else max(self.last, other.last)
        self.headlines = (self.headlines + other.headlines)[:headlines]
        self.members += other.members
        self.added += other.added

    @property
    def touched(self) -> bool:
        return bool(self.added)

    def to_state(self) -> dict:
        return {
            "id": self.story_id,
            "founded": self.founded,
            "updated": self.updated,
            "count": self.count,
            "terms": list(self.terms.weights.items()),
            "title": list(self.title.weights.items()),
            "entities": list(self.entities.weights.items()),
            "first": self.first,
            "last": self.last,
            "headlines": [[text, [list(kv) for kv in vector]] for text, vector in self.headlines],
            "members": self.members,
            "label": self.label,
            "absorbed": [merged.to_state() for merged in self.absorbed],
        }

    @classmethod
    def from_state(cls, data: Mapping) -> ActiveStory:
        story = cls(data["id"], data["founded"])
        story.updated, story.count = data["updated"], data["count"]
        story.terms = Centroid({k: w for k, w in data["terms"]})
        story.title = Centroid({k: w for k, w in data["title"]})
        story.entities = Centroid({k: w for k, w in data["entities"]})
        story.first, story.last = data["first"], data["last"]
        story.headlines = [(text, tuple((k, w) for k, w in vector)) for text, vector in data["headlines"]]
        story.members = list(data["members"])
        story.label = data["label"]
        story.absorbed = [MergedStory.from_state(merged) for merged in data.get("absorbed", ())]  # absent before merges
        return story


class MergedStory(NamedTuple):
    """A story merged into another: what its stories-table row keeps of it (its id, its own articles)."""

    story_id: str
    count: int
    first: float | None
    last: float | None
    top_terms: tuple[str, ...]

    @classmethod
    def of(cls, story: ActiveStory, terms: int = 10) -> MergedStory:
        return cls(story.story_id, story.count, story.first, story.last, story.terms.top(terms))

    def to_state(self) -> list:
        return [self.story_id, self.count, self.first, self.last, list(self.top_terms)]

    @classmethod
    def from_state(cls, data: Sequence) -> MergedStory:
        story_id, count, first, last, top_terms = data
        return cls(story_id, count, first, last, tuple(top_terms))


class TermIndex:
    """term -> ids of the stories posted under it, least recently updated first."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, None]] = {}
        self.reads = 0  # posting entries read by ``candidates`` (for tests and benchmarks)

    def post(self, story_id: str, terms: Iterable[str]) -> None:
        """(Re)post at the most recent end: a posting stays in last-update order."""
        for term in terms:
            posting = self._postings.setdefault(term, {})
            posting.pop(story_id, None)
            posting[story_id] = None

    def unpost(self, story_id: str, terms: Iterable[str]) -> None:
        for term in terms:
            if (posting := self._postings.get(term)) is not None:
                posting.pop(story_id, None)
                if not posting:
                    del self._postings[term]

    def candidates(self, query: Iterable[tuple[str, float]], per_term: int, limit: int) -> list[str]:
        """The ``limit`` stories with the highest summed query weight, reading at most
        ``per_term`` most recently updated stories per query term; ties by story id."""
        scores: dict[str, float] = {}
        for term, weight in query:
            posting = self._postings.get(term)
            if posting:
                for story_id in islice(reversed(posting), per_term):
                    scores[story_id] = scores.get(story_id, 0.0) + weight
                    self.reads += 1
        if len(scores) <= limit:
            return sorted(scores)
        return [s for s, _ in top_weights(scores, limit)]

    def story_count(self, term: str) -> int:
        """How many stories are posted under ``term`` (its document frequency among stories)."""
        posting = self._postings.get(term)
        return len(posting) if posting else 0

    def __len__(self) -> int:
        return len(self._postings)
