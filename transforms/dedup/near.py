"""Near-duplicate detection: syndicated copies with small edits, found by MinHash LSH.

Each article's text becomes a MinHash signature of its 5-word shingles (computed in parallel,
before the ordered step). The ordered step asks the index for an earlier article whose
estimated Jaccard similarity reaches the threshold; a hit is marked ``duplicate_of`` that
article and joins its story. The index keeps only articles seen within a window, and its
state is saved with the story index so copies are found across runs.

Hashing is vectorised: each word is hashed once (MurmurHash3, ``mmh3``), a shingle's hash
combines its words' hashes in numpy, and the ``NUM_PERM`` hash functions are
multiply-add-shift maps over all shingles at once. Signatures of this scheme (``SCHEME``) are
not comparable with those of the earlier datasketch scheme (SHA-1 per shingle, format 1); see
``transforms/stories/saved.py`` for the migration of saved indexes.
"""

from __future__ import annotations

import base64
import datetime as dt
import heapq
from dataclasses import dataclass

import mmh3
import numpy as np

from transforms.normalise.cleaning import normalise_for_hash
from transforms.normalise.tokens import word_tokens

NUM_PERM = 64
SHINGLE_WORDS = 5
THRESHOLD = 0.8
"""Estimated Jaccard similarity of 5-word shingles from which two texts are near-duplicates."""
WINDOW = dt.timedelta(days=7)
"""How long an article stays findable, by its publication time (undated: the time it was seen)."""
BANDS, ROWS = 5, 11
"""LSH banding for THRESHOLD and NUM_PERM (the false-positive/negative optimum datasketch picks)."""
FORMAT = 2
SCHEME = "mmh3-words/mas64-32"
"""Word hash / permutation family of the signatures; part of the saved state."""
_SEED = 1
_CHUNK = 4096  # shingles per block of the permutation matrix: bounds memory on very long texts


def _splitmix64(seed: int, n: int) -> list[int]:
    """``n`` pseudo-random 64-bit integers from ``seed`` (SplitMix64: fixed forever, unlike numpy's generators)."""
    mask, out = 2**64 - 1, []
    for _ in range(n):
        seed = (seed + 0x9E3779B97F4A7C15) & mask
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


_constants = _splitmix64(_SEED, SHINGLE_WORDS + 2 * NUM_PERM)
_SHINGLE_MULTIPLIERS = np.array([c | 1 for c in _constants[:SHINGLE_WORDS]], dtype=np.uint64)  # odd
_PERM_A = np.array([c | 1 for c in _constants[SHINGLE_WORDS : SHINGLE_WORDS + NUM_PERM]], dtype=np.uint64)
_PERM_B = np.array(_constants[SHINGLE_WORDS + NUM_PERM :], dtype=np.uint64)


def text_signature(text: str) -> bytes | None:
    """MinHash of the text's 5-token shingles (normalised; CJK/Thai tokens are characters), as bytes.

    None for very short texts.
    """
    words = word_tokens(normalise_for_hash(text))
    if len(words) < SHINGLE_WORDS * 4:
        return None
    return minhash(shingle_hashes(words)).tobytes()


def shingle_hashes(words: list[str]) -> np.ndarray:
    """32-bit hashes of every run of ``SHINGLE_WORDS`` consecutive words (one word hash each)."""
    word_hashes = np.fromiter(map(mmh3.hash, words), dtype=np.int32, count=len(words))
    word_hashes = word_hashes.view(np.uint32).astype(np.uint64)
    n = len(words) - SHINGLE_WORDS + 1
    key = np.zeros(n, dtype=np.uint64)
    for offset, multiplier in enumerate(_SHINGLE_MULTIPLIERS):  # position-dependent: word order counts
        key += word_hashes[offset : offset + n] * multiplier
    key ^= key >> np.uint64(31)  # fold the high bits into the 32 kept below
    return key & np.uint64(0xFFFFFFFF)


def minhash(hashes: np.ndarray) -> np.ndarray:
    """The ``NUM_PERM`` minima of ``(a * h + b) mod 2**64 >> 32`` over the shingle hashes, as uint32."""
    lowest = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(hashes), _CHUNK):
        block = np.multiply(hashes[start : start + _CHUNK, None], _PERM_A)
        block += _PERM_B
        np.minimum(lowest, block.min(axis=0), out=lowest)
    return (lowest >> np.uint64(32)).astype(np.uint32)  # the shift keeps the order: shift the minima only


@dataclass(frozen=True)
class NearDuplicate:
    article_id: str
    story_id: str
    similarity: float


class NearDuplicateIndex:
    """Articles of the recent window, findable by signature (LSH: ``BANDS`` bands of ``ROWS`` values)."""

    def __init__(self, threshold: float = THRESHOLD, window: dt.timedelta = WINDOW):
        self._threshold, self._window = threshold, window
        self._bands: list[dict[bytes, set[str]]] = [{} for _ in range(BANDS)]
        self._members: dict[str, tuple[str, dt.datetime, np.ndarray]] = {}
        self._by_age: list[tuple[dt.datetime, str]] = []  # heap: the oldest member first

    def __len__(self) -> int:
        return len(self._members)

    def find(self, signature: bytes) -> NearDuplicate | None:
        """The most similar indexed article at or above the threshold (ties: smallest id)."""
        values = _values(signature)
        candidates = set()
        for band, key in zip(self._bands, _band_keys(values)):
            candidates |= band.get(key, set())
        best = None
        for article_id in sorted(candidates):
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
        for band, key in zip(self._bands, _band_keys(values)):
            band.setdefault(key, set()).add(article_id)

    def expire(self, now: dt.datetime) -> None:
        """Forget articles older than the window."""
        while self._by_age and now - self._by_age[0][0] > self._window:
            _, article_id = heapq.heappop(self._by_age)
            _, _, values = self._members.pop(article_id)
            for band, key in zip(self._bands, _band_keys(values)):
                members = band[key]
                members.discard(article_id)
                if not members:
                    del band[key]

    def export_state(self) -> dict:
        ids = sorted(self._members)
        signatures = b"".join(self._members[a][2].tobytes() for a in ids)
        return {
            "version": FORMAT,
            "scheme": SCHEME,
            "article_ids": ids,
            "story_ids": [self._members[a][0] for a in ids],
            "seen_at": [self._members[a][1].isoformat() for a in ids],
            "signatures": base64.b64encode(signatures).decode("ascii"),
        }

    @classmethod
    def from_state(cls, state: dict, threshold: float = THRESHOLD, window: dt.timedelta = WINDOW) -> NearDuplicateIndex:
        """The index an ``export_state`` describes; a state of another signature scheme is refused."""
        if (state.get("version"), state.get("scheme")) != (FORMAT, SCHEME):
            raise ValueError(
                f"near-duplicate state format {state.get('version')!r} ({state.get('scheme')!r}),"
                f" expected {FORMAT} ({SCHEME!r}): migrate it first (transforms.stories.saved)"
            )
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


def _band_keys(values: np.ndarray) -> list[bytes]:
    return [values[band * ROWS : (band + 1) * ROWS].tobytes() for band in range(BANDS)]
