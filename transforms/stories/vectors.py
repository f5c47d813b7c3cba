"""Article vectors for story clustering: the part that runs per article, in parallel.

``vectorize`` turns a title and a text into three small sparse vectors, each L2-normalised:

- ``terms``: title and body words (a title occurrence counts ``title_weight`` times), the
  main similarity signal;
- ``title``: the title's words alone, compared with a story's titles;
- ``entities``: a cheap stand-in for named entities, read from the original-case text:
  capitalised names (multi-word spans and their words), acronyms, and numbers.

Words come from the script-aware tokenizer (``transforms.normalise.tokens.terms``): words of spaced
scripts, overlapping character bigrams inside Chinese, Japanese, Thai, Lao, Khmer and Burmese
runs. Word weights are a *background* inverse frequency from ``wordfreq``'s list for the
article's language (English when it has none), so a vector never depends on the batch it came
with and stays comparable across runs. A bigram that is not in the list (one spanning two
words) is as rare as its rarer character, so bigrams around common particles weigh little.
A non-empty text of letters never gives an empty ``terms`` vector: when every word is on the
list's most common end (weight 0), the words are kept with a small equal weight.
"""

from __future__ import annotations

import heapq
import math
import pickle
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import wordfreq

from transforms.normalise.tokens import has_unspaced_script, terms

Weights = tuple[tuple[str, float], ...]

# A word of the original-case text: letters with inner apostrophes/hyphens, or a number.
_CASED_TOKEN = re.compile(r"[^\W\d_](?:[\w'’\-]*\w)?|\d[\d,.:\-/]*\d|\d")
_SENTENCE_END = re.compile(r"[.!?:;]['\"’”)\]]*$")
# Capitalised for grammar, not because they name something (English; other languages rely on frequency).
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december".split()
)
_COMMON_WORD_WEIGHT = 0.01  # a word at or above ``zipf_ceiling``, when a text has nothing rarer
_NUMBER_WEIGHT, _YEAR_WEIGHT = 5.0, 2.0  # idf-like weights: a figure like "60-48" is specific, a year much less


@dataclass(frozen=True)
class ArticleVector:
    """Sparse L2-normalised weights, each tuple sorted by key."""

    terms: Weights
    title: Weights = ()
    entities: Weights = ()


@dataclass(frozen=True)
class PackedVector:
    """An ArticleVector as compressed pickled bytes (~1.4 kB): ~8× smaller than the tuples it holds, so the ordered
    story step, which holds every ref of the run at once, unpacks one vector at a time."""

    data: bytes

    @classmethod
    def pack(cls, vector: ArticleVector) -> PackedVector:
        return cls(zlib.compress(pickle.dumps(vector, protocol=pickle.HIGHEST_PROTOCOL), 1))

    def unpack(self) -> ArticleVector:
        return pickle.loads(zlib.decompress(self.data))


def unpacked(vector: ArticleVector | PackedVector) -> ArticleVector:
    return vector.unpack() if isinstance(vector, PackedVector) else vector


@dataclass(frozen=True)
class VectorizerConfig:
    """Constants of ``vectorize``."""

    max_terms: int = 60  # keep the N heaviest terms: bounds memory and dot-product cost
    max_title_terms: int = 20
    max_entities: int = 30
    title_weight: float = 1.0  # in ``terms``, a title occurrence weighs this much more than a body one
    zipf_ceiling: float = 8.0  # idf = (ceiling - zipf)^power; "the" (7.7) ~ 0, unknown = 8
    idf_power: float = 1.0  # 1 = linear in log-frequency; higher sharpens toward rare words
    # A capitalised word is a name when its lowercase form is rarer than this (Zipf scale);
    # stricter at a sentence start or in a Title-Cased headline, where capitals say nothing.
    name_zipf: float = 6.0
    name_zipf_ambiguous: float = 4.5
    default_language: str = "en"  # wordlist when ``language`` is None or has none


DEFAULT_VECTORIZER = VectorizerConfig()


@lru_cache(maxsize=64)
def _frequencies(language: str, fallback: str) -> Mapping[str, float]:
    try:
        return wordfreq.get_frequency_dict(language)
    except LookupError:  # wordfreq has no list for this language
        return wordfreq.get_frequency_dict(fallback)


def _zipf(word: str, freqs: Mapping[str, float]) -> float:
    freq = freqs.get(word, 0.0)
    if freq <= 0 and len(word) == 2 and has_unspaced_script(word):  # a bigram spanning two words
        freq = min(freqs.get(word[0], 0.0), freqs.get(word[1], 0.0))
    return math.log10(freq * 1e9) if freq > 0 else 0.0  # == wordfreq.zipf_frequency; unknown: 0


def _idf(word: str, freqs: Mapping[str, float], cfg: VectorizerConfig) -> float:
    return max(cfg.zipf_ceiling - _zipf(word, freqs), 0.0) ** cfg.idf_power


def _counts(text: str) -> Counter[str]:
    tokens = terms(unicodedata.normalize("NFKC", text).lower())
    return Counter(t for t in tokens if (len(t) > 1 or has_unspaced_script(t)) and not t.isnumeric())


def _sublinear(count: int) -> float:
    return 1.0 + math.log(count) if count > 0 else 0.0


def top_weights(weights: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    """The n heaviest items, ties broken by key (deterministic)."""
    return heapq.nsmallest(n, weights.items(), key=lambda kv: (-kv[1], kv[0]))


def _normalised(weights: Mapping[str, float], n: int) -> Weights:
    top = top_weights(weights, n)
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return tuple(sorted((t, w / norm) for t, w in top))


def _term_weights(
    title_counts: Counter[str],
    body_counts: Counter[str],
    title_weight: float,
    freqs: Mapping[str, float],
    cfg: VectorizerConfig,
) -> dict[str, float]:
    weights, common = {}, {}
    for term in title_counts.keys() | body_counts.keys():
        tf = title_weight * _sublinear(title_counts[term]) + _sublinear(body_counts[term])
        if (weight := tf * _idf(term, freqs, cfg)) > 0:
            weights[term] = weight
        else:
            common[term] = tf * _COMMON_WORD_WEIGHT
    return weights or common  # only very common words: still a vector, never an empty one


def _is_title_case(words: list[str]) -> bool:
    """Most longer words capitalised: a Headline Styled Like This."""
    long_words = [w for w in words if w[0].isalpha() and len(w) > 3]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) > 0.6 * len(long_words)


def _entity_counts(text: str, freqs: Mapping[str, float], cfg: VectorizerConfig, *, headline: bool) -> Counter[str]:
    """Names (multi-word spans and their words), acronyms and numbers, lowercased."""
    found: Counter[str] = Counter()
    span: list[str] = []

    def close_span() -> None:
        if not span:
            return
        if len(span) > 1:
            found[" ".join(span)] += 1
        found.update(span)
        span.clear()

    chunks = unicodedata.normalize("NFKC", text).split()
    ambiguous_all = headline and _is_title_case(chunks)
    sentence_start = True
    for chunk in chunks:
        for token in _CASED_TOKEN.findall(chunk):
            if not token[0].isupper() and not token[0].isdigit():  # most words: not a name, nothing to look up
                close_span()
                sentence_start = False
                continue
            key = token.lower().replace("’", "'").removesuffix("'s")
            if token[0].isdigit():
                close_span()
                if len(token) > 1:
                    found["#" + token] += 1
            elif len(token) > 1 and token.isupper():  # acronym: NASA, ISS, GOP
                span.append(key)
            elif (
                token[0].isupper()
                and key not in _CALENDAR
                and _zipf(key, freqs) < (cfg.name_zipf_ambiguous if sentence_start or ambiguous_all else cfg.name_zipf)
            ):
                span.append(key)
            else:
                close_span()
            sentence_start = False
        if _SENTENCE_END.search(chunk):
            close_span()
            sentence_start = True
    close_span()
    return found


def _entity_weight(key: str, freqs: Mapping[str, float], cfg: VectorizerConfig) -> float:
    if key.startswith("#"):
        digits = key[1:]
        return _YEAR_WEIGHT if len(digits) == 4 and digits.isdigit() and digits[:2] in ("19", "20") else _NUMBER_WEIGHT
    return max(_idf(part, freqs, cfg) for part in key.split())


def extract_entities(
    title: str | None, text: str, language: str | None = None, *, config: VectorizerConfig = DEFAULT_VECTORIZER
) -> Counter[str]:
    """Entity proxy counts of a title and a text (what ``ArticleVector.entities`` weighs)."""
    freqs = _frequencies((language or config.default_language).lower(), config.default_language)
    return _entity_counts(title or "", freqs, config, headline=True) + _entity_counts(
        text or "", freqs, config, headline=False
    )


def vectorize(
    title: str | None, text: str, language: str | None = None, *, config: VectorizerConfig = DEFAULT_VECTORIZER
) -> ArticleVector:
    """Sublinear tf x background idf for terms, title terms and entities; each L2-normalised."""
    freqs = _frequencies((language or config.default_language).lower(), config.default_language)
    title_counts, body_counts = _counts(title or ""), _counts(text or "")
    terms = _term_weights(title_counts, body_counts, config.title_weight, freqs, config)
    title_terms = _term_weights(title_counts, Counter(), 1.0, freqs, config)
    entity_counts = extract_entities(title, text, language, config=config)
    entities = {}
    for key, count in entity_counts.items():
        if (weight := _sublinear(count) * _entity_weight(key, freqs, config)) > 0:
            entities[key] = weight
    return ArticleVector(
        _normalised(terms, config.max_terms),
        _normalised(title_terms, config.max_title_terms),
        _normalised(entities, config.max_entities),
    )
