"""Near-duplicate detection: syndicated copies with small edits, found by MinHash LSH (datasketch).

Each article's text becomes a MinHash signature of its 5-word shingles (computed in parallel,
before the ordered step). The ordered step asks the index for an earlier article whose
estimated Jaccard similarity reaches the threshold; a hit is marked ``duplicate_of`` that
article and joins its story. The index keeps only articles seen within a window, and its
state is saved with the story index so copies are found across runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import heapq
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from transforms.text.cleaning import normalise_for_hash
from transforms.text.tokens import word_tokens

NUM_PERM = 64
SHINGLE_WORDS = 5
THRESHOLD = 0.8
"""Estimated Jaccard similarity of 5-word shingles from which two texts are near-duplicates."""
WINDOW = dt.timedelta(days=7)
"""How long an article stays findable, by its publication time (undated: the time it was seen)."""
_SEED = 1
_SCHEME = "affine32"  # datasketch 2 default; signatures are 32-bit values


def text_signature(text: str) -> bytes | None:
    """MinHash of the text's 5-token shingles (normalised; CJK/Thai tokens are characters), as bytes.

    None for very short texts.
    """
    from datasketch import MinHash

    words = word_tokens(normalise_for_hash(text))
    if len(words) < SHINGLE_WORDS * 4:
        return None
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME, permutations=_permutations())
    minhash.update_batch(sorted(shingles))
    return minhash.hashvalues.astype(np.uint32).tobytes()


@dataclass(frozen=True)
class NearDuplicate:
    article_id: str
    story_id: str
    similarity: float


class NearDuplicateIndex:
    """Articles of the recent window, findable by signature."""

    def __init__(self, threshold: float = THRESHOLD, window: dt.timedelta = WINDOW):
        from datasketch import MinHashLSH

        self._threshold, self._window = threshold, window
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._members: dict[str, tuple[str, dt.datetime, np.ndarray]] = {}
        self._by_age: list[tuple[dt.datetime, str]] = []  # heap: the oldest member first

    def __len__(self) -> int:
        return len(self._members)

    def find(self, signature: bytes) -> NearDuplicate | None:
        """The most similar indexed article at or above the threshold (ties: smallest id)."""
        values = _values(signature)
        best = None
        for article_id in sorted(self._lsh.query(_minhash(values))):
            story_id, _, other = self._members[article_id]
            similarity = float(np.mean(values == other))
            if similarity >= self._threshold and (best is None or similarity > best.similarity):
                best = NearDuplicate(article_id, story_id, similarity)
        return best

    def story_of(self, article_id: str) -> str | None:
        """The story of an indexed article (one still in the window), else None."""
        member = self._members.get(article_id)
        return member[0] if member else None

    def add(self, article_id: str, story_id: str, signature: bytes, seen_at: dt.datetime) -> None:
        if article_id in self._members:
            return
        values = _values(signature)
        self._members[article_id] = (story_id, seen_at, values)
        heapq.heappush(self._by_age, (seen_at, article_id))
        self._lsh.insert(article_id, _minhash(values))

    def expire(self, now: dt.datetime) -> None:
        """Forget articles older than the window."""
        while self._by_age and now - self._by_age[0][0] > self._window:
            _, article_id = heapq.heappop(self._by_age)
            del self._members[article_id]
            self._lsh.remove(article_id)

    def export_state(self) -> dict:
        ids = sorted(self._members)
        signatures = b"".join(self._members[a][2].tobytes() for a in ids)
        return {
            "version": 1,
            "article_ids": ids,
            "story_ids": [self._members[a][0] for a in ids],
            "seen_at": [self._members[a][1].isoformat() for a in ids],
            "signatures": base64.b64encode(signatures).decode("ascii"),
        }

    @classmethod
    def from_state(cls, state: dict, threshold: float = THRESHOLD, window: dt.timedelta = WINDOW) -> NearDuplicateIndex:
        index = cls(threshold, window)
        raw = base64.b64decode(state["signatures"])
        size = NUM_PERM * 4
        for i, (article_id, story_id, seen_at) in enumerate(
            zip(state["article_ids"], state["story_ids"], state["seen_at"])
        ):
            index.add(article_id, story_id, raw[i * size : (i + 1) * size], dt.datetime.fromisoformat(seen_at))
        return index


def _values(signature: bytes) -> np.ndarray:
    return np.frombuffer(signature, dtype=np.uint32)


def _minhash(values: np.ndarray):
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME, hashvalues=values, permutations=_permutations())


@lru_cache(maxsize=1)
def _permutations():
    """The permutations of NUM_PERM/_SEED/_SCHEME, drawn once per process instead of per MinHash."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations
