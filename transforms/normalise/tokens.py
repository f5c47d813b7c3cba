"""Words as each script writes them: one tokenizer for word counts, story vectors and shingles.

Most scripts put spaces between words; Chinese, Japanese (Han, Hiragana, Katakana), Thai, Lao,
Khmer and Burmese do not. Splitting on spaces turns a 1,500-character Japanese article into
18 "words", so every length rule and every similarity built on that split fails for those
languages. Here:

- spaced scripts (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Hangul, …): a word is a
  run of letters, combining marks and digits (the ``regex`` module's Unicode ``\\w``, which,
  unlike ``re``, keeps Devanagari vowel signs and Thai tone marks inside the word), joined
  across an inner apostrophe, hyphen or digit separator ("it's", "since-deleted", "3.5",
  "1,200"), so a spaced text has as many words as a whitespace split finds;
- unspaced scripts: one token per character (a grapheme: a base letter with its marks). This
  is the documented equivalence used instead of a dictionary segmenter: ``word_count`` turns
  characters into words with ``CHARACTERS_PER_WORD``, and ``terms`` pairs neighbouring
  characters into overlapping bigrams, the standard unit of CJK retrieval (Lucene's
  CJKBigramFilter), for story vectors.

Why per character rather than a segmenter (measured on the four Japanese pages of the fundus
multilingual corpus and on Chinese, Japanese, Thai, Lao, Khmer and Burmese news paragraphs):
MeCab/IPAdic (wordfreq's Japanese tokenizer) splits Japanese news into 1.59-1.91 characters per
token; jieba (wordfreq's Chinese tokenizer) splits Japanese wrongly (1.1-1.3); ICU's dictionary
word break gives 1.81 (Chinese), 1.67 (Japanese), 3.39 (Thai), 3.22 (Khmer), 2.53 (Burmese) and
4.87 (Lao, weak dictionary). wordfreq keeps Thai, Lao, Khmer and Burmese glued in one token.
Each segmenter needs a dictionary (20-60 MB) and up to 1 s of loading per worker, none covers
all seven scripts with one package (PyICU also needs a C++ build), and per-character tokens
already carry what length and similarity need. Counts for unspaced scripts are therefore
estimates, within about 15% of a segmenter's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import regex

__all__ = [
    "CHARACTERS_PER_WORD",
    "UNSPACED_SCRIPTS",
    "has_unspaced_script",
    "terms",
    "word_count",
    "word_tokens",
]

UNSPACED_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
"""Scripts written without spaces between words: tokenised per character."""

CHARACTERS_PER_WORD = {"cjk": 1.7, "southeast_asian": 3.0}
"""Characters (graphemes) per word of a dictionary segmenter, to turn characters into a word count.

cjk: MeCab/IPAdic on Japanese news 1.59-1.91, ICU 1.67 (Japanese) and 1.81 (Chinese).
southeast_asian (Thai, Lao, Khmer, Burmese): ICU's dictionary word breaks give 2.5-3.4
graphemes per word."""

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\u30fc\u3005"  # + prolonged sound mark, iteration mark
_SOUTHEAST_ASIAN = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_WORD_PART = rf"(?:[\w--[{_CJK}{_SOUTHEAST_ASIAN}_]]|\p{{M}})+"
_WORD_PATTERN = rf"{_WORD_PART}(?:['’\-‐.,:/]{_WORD_PART})*"
_TOKEN = regex.compile(
    rf"(?P<cjk>[{_CJK}]\p{{M}}*)|(?P<southeast_asian>[{_SOUTHEAST_ASIAN}]\p{{M}}*)|(?P<word>{_WORD_PATTERN})",
    regex.V1,
)
_JOINER = regex.compile(r"['’\-‐.,:/]")
_UNSPACED = regex.compile(rf"[{_CJK}{_SOUTHEAST_ASIAN}]", regex.V1)
_WORD = regex.compile(_WORD_PATTERN, regex.V1)
"""``_TOKEN``'s word alternative alone: in a text without unspaced characters it finds the same tokens."""
_WORD_PARTS = regex.compile(_WORD_PART, regex.V1)
"""The maximal runs between joiners: what ``terms`` keeps of a spaced text's words."""


def _scan(text: str) -> Iterator[tuple[str, str]]:
    """(kind, token) pairs in order; kind is 'word', 'cjk' or 'southeast_asian'."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        yield kind, match.group()


def word_tokens(text: str) -> list[str]:
    """Words of a spaced script and single characters of an unspaced one, in order; punctuation dropped."""
    if not _UNSPACED.search(text):
        return _WORD.findall(text)
    return [token for _, token in _scan(text)]


def word_count(text: str) -> int:
    """Words in ``text``: spaced words one each, unspaced characters by ``CHARACTERS_PER_WORD`` (rounded up)."""
    if not _UNSPACED.search(text):  # spaced scripts only: one C-level scan
        return len(_WORD.findall(text))
    words = 0
    characters = {"cjk": 0, "southeast_asian": 0}
    for kind, _ in _scan(text):
        if kind == "word":
            words += 1
        else:
            characters[kind] += 1
    return words + sum(math.ceil(n / CHARACTERS_PER_WORD[kind]) for kind, n in characters.items() if n)


def terms(text: str) -> list[str]:
    """Similarity terms: the words of spaced scripts; overlapping character bigrams inside each unspaced run.

    Words are split at inner apostrophes, hyphens and digit separators ("since-deleted" →
    "since", "deleted"), as the background word lists (wordfreq) are, so a compound is weighed
    by its known parts rather than as an unknown, maximally rare word.

    A run of one unspaced character is kept as that character, so no non-empty text of letters
    has no terms. Callers normalise case first (e.g. NFKC + lower) if they want it.
    """
    if not _UNSPACED.search(text):  # no bigrams to pair: the word parts, found in one C-level scan
        return _WORD_PARTS.findall(text)
    result: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if len(run) == 1:
            result.append(run[0])
        result.extend(run[i] + run[i + 1] for i in range(len(run) - 1))
        run.clear()

    previous_end = -1
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "word":
            close_run()
            result.extend(part for part in _JOINER.split(match.group()) if part)
        else:
            if run and match.start() != previous_end:  # punctuation or space between: a new run
                close_run()
            run.append(match.group())
        previous_end = match.end()
    close_run()
    return result


def has_unspaced_script(text: str) -> bool:
    """True when the text contains any character of an unspaced script."""
    return bool(_UNSPACED.search(text))
