"""Story labels: the one rule the batch clusterer and the streaming step both use.

A story's label is, in order of preference:

1. ``catalog``: the catalog entry (``seeds/stories.toml``) closest to the story's terms, when the
   cosine reaches the threshold (``ClusteringConfig.catalog_threshold``). The batch clusterer
   decides it once per story and keeps it, and gives an entry to one active story at a time;
2. ``headline``: the member title closest to the story's terms (the earliest on ties);
3. ``terms``: the heaviest names, each in its fullest form, then the heaviest terms
   ("eirik lindqvist / rosenborg / eliteserien").

The catalog is vectorised once per process (``StoryLabeller.for_catalog``), like an article
whose headline is the label and whose text is the description and exemplar.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from functools import lru_cache

from transforms.stories.active import Centroid
from transforms.stories.catalog import CatalogStory
from transforms.stories.vectors import Weights, vectorize

CATALOG, HEADLINE, TERMS = "catalog", "headline", "terms"


class StoryLabeller:
    """The vectorised catalog, with an inverted index from term to entries."""

    def __init__(self, catalog: Sequence[CatalogStory], threshold: float) -> None:
        self.threshold = threshold
        self.labels = frozenset(c.label for c in catalog)
        self._entries = [(c.label, dict(vectorize(c.label, f"{c.description}\n{c.exemplar}").terms)) for c in catalog]
        self._index: dict[str, list[int]] = {}
        for i, (_, vector) in enumerate(self._entries):
            for term in vector:
                self._index.setdefault(term, []).append(i)

    @classmethod
    @lru_cache(maxsize=8)
    def for_catalog(cls, catalog: tuple[CatalogStory, ...], threshold: float) -> StoryLabeller:
        """The labeller of ``catalog``, built once per process."""
        return cls(catalog, threshold)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def catalog_label(self, article_terms: Weights, story_terms: Centroid, taken: Container[str] = ()) -> str | None:
        """The entry sharing a term with the article that is closest to the story's terms, over the
        threshold and not in ``taken``; None when there is none."""
        entries = {i for term, _ in article_terms for i in self._index.get(term, ())}
        best, best_score = None, self.threshold
        for i in sorted(entries):
            label, entry = self._entries[i]
            score = story_terms.cosine(entry)
            if label not in taken and score >= best_score:
                best, best_score = label, score
        return best


def story_label(
    catalog_label: str | None,
    headlines: Sequence[tuple[str, Weights]],
    terms: Centroid,
    entities: Centroid,
    label_terms: int,
) -> tuple[str, str]:
    """(label, source): the catalog label, else the most representative headline, else key phrases."""
    if catalog_label is not None:
        return catalog_label, CATALOG
    if headlines:  # the title closest to the story's terms, earliest on ties
        return max(headlines, key=lambda h: terms.cosine(dict(h[1])))[0], HEADLINE
    return " / ".join(key_phrases(terms, entities, label_terms)), TERMS


def key_phrases(terms: Centroid, entities: Centroid, n: int) -> list[str]:
    """The heaviest names, each in its fullest form ("lindqvist" -> "eirik lindqvist"), then the
    heaviest terms; nothing that repeats a word already in the label."""
    names = [e for e in entities.top(30) if not e.startswith("#")]
    spans = [e for e in names if " " in e]
    phrases: list[str] = []
    for key in [*names, *terms.top(n + 10)]:
        if len(phrases) >= n:
            break
        phrase = key if " " in key else next((s for s in spans if key in s.split()), key)
        if not set(phrase.split()) & {w for p in phrases for w in p.split()}:
            phrases.append(phrase)
    return phrases
