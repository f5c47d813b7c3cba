"""Turn plain article text into a title, a publication date and clean paragraphs.

Everything here is a pure function over strings. The rules remove what news
pages insert around the story: photo captions and credit lines, wire credits
and syndication notes, all-caps cross-headlines that link to other stories,
and a paragraph doubled by the page layout. Real paragraphs are kept in order.

A caption is short: a long paragraph with a photo credit glued to its end is text, and only
the credit is cut from it. A paragraph that recurs further on (a meal plan's "Rest day.", an
interview series' questions, a code listing's lines) is the text's own structure and stays;
only a repeat within ``DOUBLED_WITHIN`` paragraphs of its first copy (a layout's doubled
paragraph, a pull quote set beside its source) or inside a copied block of paragraphs (a page
that shows its story twice) is dropped.

Rules whose evidence is letter case (all-caps cross-headlines, a trailing all-caps credit)
fire only where their premise holds: they count cased letters only, and a letter of a script
without case (Arabic, Hebrew, Devanagari, CJK, Thai, …) counts against them, so a Hindi or
Arabic paragraph quoting "NASA" and "ISS" is text, not a headline. Sentence ends include the
full stops of other scripts (。！？ ؟ । ။ ።).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.normalise.tokens import word_count

__all__ = [
    "PlainTextDocument",
    "clean_paragraphs",
    "is_sentence_like",
    "looks_like_headline",
    "normalise_for_hash",
    "parse_plain_text",
    "split_paragraphs",
]

MAX_HEADLINE_WORDS = 20
MAX_BOILERPLATE_WORDS = 25
MAX_CAPTION_WORDS = 60
"""A caption is a line or two: a longer unpunctuated paragraph with a cue ("Pictured: …") is text."""
MIN_CROSS_HEADLINE_WORDS = 3
CROSS_HEADLINE_UPPER_SHARE = 0.9
DOUBLED_WITHIN = 2
"""A sentence repeated at most this many paragraphs after its last copy is a layout's double, not structure."""
MIN_DOUBLED_BLOCK = 3
"""This many consecutive paragraphs repeating earlier ones in order are a doubled block (a story shown twice)."""


@dataclass(frozen=True)
class PlainTextDocument:
    """A parsed .txt article."""

    title: str | None
    published: datetime.date | None
    paragraphs: tuple[str, ...]


# --- patterns -------------------------------------------------------------

_DATE_HEADER = re.compile(r"\A\s*date[ \t]+(\d{4})-(\d{2})-(\d{2})(?=\s|\Z)[ \t]*")

_CLOSERS = "\"'”’»)\\]」』）】"
_FULL_STOPS = ".!?…。！？｡؟۔।॥။።"  # Latin, CJK, Arabic/Urdu, Devanagari, Burmese, Ethiopic
_CLAUSE_MARKS = ",;:、，；：،؛"
_ENDS_SENTENCE = re.compile(rf"[{_FULL_STOPS}][{_CLOSERS}]*$")
_ENDS_CLAUSE = re.compile(rf"[{_FULL_STOPS}{_CLAUSE_MARKS}][{_CLOSERS}]*$")
_LIST_ITEM = re.compile(r"[-*•‣◦▪–]\s")
_ENDS_WITH_INITIALISM = re.compile(r"(?:\b[A-Za-z]\.){2,}$")  # U.S.  p.m.  D.C.

_AGENCY = (
    r"(?:Getty\s+Images|Getty|Shutterstock|iStock|Alamy|Reuters|AP\s+Photo|AP\s+Images"
    r"|Associated\s+Press|Bloomberg|AFP|EPA(?:-EFE)?|Sipa(?:\s+USA)?|Xinhua|Sputnik|TASS"
    r"|NurPhoto|ZUMA(?:\s+Wire|\s+Press)?|PA\s+(?:Wire|Images|Media)|dpa|Anadolu\s+Agency"
    r"|WireImage|Pool|Handout)"
)
_NAME = r"[A-Z][\w'.&-]*"  # one capitalised word of a name, e.g. "Jane", "Mr.", "EPA-EFE"
_CAPS_WORD = r"[A-Z][A-Z0-9&'/-]+"
_LABEL = r"(?i:photo(?:graph)?|image|picture|credit)s?(?i:\s+credit)?"

_BY_AGENCY = rf"(?:{_NAME}(?:\s+|\s*/\s*)){{0,5}}{_AGENCY}"  # Jane Doe/Reuters
_VIA = rf"(?:{_NAME}(?:\s+|\s*/\s*)){{0,5}}via\s+{_NAME}(?:\s+{_NAME}){{0,3}}"  # AFP via Getty Images
_LABELLED = rf"{_LABEL}\s*(?::|(?i:by)\b)\s*[^.!?]{{1,80}}"  # Photo: Jane Doe/AP
_PARENS = rf"\(\s*(?:{_LABELLED}|{_BY_AGENCY})\s*\)"  # (Photo: Getty Images)
_CAPS_GROUP = rf"{_CAPS_WORD}(?:\s+{_CAPS_WORD}){{0,3}}(?:/{_NAME}(?:\s+{_NAME}){{0,3}})?"  # AP, REUTERS/Jane Doe

_TRAILING_CREDIT = re.compile(
    rf"(?P<end>[.!?…][{_CLOSERS}]*)\s+(?P<credit>(?P<caps>{_CAPS_GROUP})|{_VIA}|{_BY_AGENCY}|{_LABELLED}|{_PARENS})\s*$"
)
_CREDIT_LINE = re.compile(rf"(?:{_VIA}|{_BY_AGENCY}|{_LABELLED})\s*$|.*{_PARENS}\s*$")

_CAPTION_CUE = re.compile(
    r"\b(?:can\s+be\s+seen\s+(?:above|below|here|left|right)"
    r"|(?:seen|shown|pictured)\s+(?:above|below|here)|pictured"
    r"|in\s+this\s+(?:(?:undated|handout|file|aerial)\s+)*(?:photo(?:graph)?|picture|image)"
    r"|file\s+photo)\b"
    r"|\((?:L-R|R-L|left\s+to\s+right|from\s+left)\)",
    re.IGNORECASE,
)

_WIRE_CREDIT = re.compile(
    r"[-–—•*\s]*(?:with\s+(?:[\w.'&-]+\s+){0,3}wires?(?:\s+services?)?\.?"
    r"|with\s+files\s+from\b.*"
    r"|[^.!?]{0,80}\bcontributed\s+(?:additional\s+)?(?:to\s+this\s+(?:report|story|article)|reporting)"
    r"(?:\s+(?:from|in|to|on|by)\b[^.!?,]*)?\.?"
    r"|additional\s+reporting\s+by\b.*"
    r"|(?:reporting|writing)\s+by\b.*(?:;|\b(?:editing|writing)\s+by\b).*"
    r"|originally\s+published\s+as\b.*"
    r"|(?:this|the)\s+(?:story|article|report|post)\s+(?:was\s+)?(?:originally|first)\s+(?:published|appeared)\b.*)",
    re.IGNORECASE,
)

_TRANSLATE_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
    }
)


# --- public API -----------------------------------------------------------


def parse_plain_text(raw: str) -> PlainTextDocument:
    """Split a .txt article: optional date header, optional headline, cleaned body paragraphs."""
    text = raw.lstrip("\ufeff")
    published, text = _take_date_header(text)
    lines = split_paragraphs(text)
    title = None
    if len(lines) > 1 and looks_like_headline(lines[0]):
        title, lines = lines[0], lines[1:]
    return PlainTextDocument(title=title, published=published, paragraphs=tuple(clean_paragraphs(lines)))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs = non-empty lines (files use either blank-line or single-newline separation);
    whitespace collapsed, stripped."""
    return [collapsed for line in text.splitlines() if (collapsed := _collapse_whitespace(line))]


def clean_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Drop captions and credit lines, wire credits, all-caps cross-headlines and doubled sentences.

    A long paragraph ending in a photo credit keeps its text without the credit. A sentence-like
    paragraph repeated within ``DOUBLED_WITHIN`` paragraphs of its last copy, or inside a block
    of ``MIN_DOUBLED_BLOCK`` paragraphs copied in order, is dropped; other repeats, and repeated
    short unpunctuated lines (table rows, list items), are kept. Every real
    paragraph is kept, in order. A text's only paragraph is kept whatever it looks like (a
    one-line wire item or snippet is the article, not a caption of one).
    """
    paragraphs = [collapsed for paragraph in paragraphs if (collapsed := _collapse_whitespace(paragraph))]
    alone = len(paragraphs) == 1  # a text's only paragraph is the text, not matter inserted around it
    if not alone:
        paragraphs = [_without_trailing_credit(p) for p in paragraphs if not _is_inserted_matter(p)]
    keys = [normalise_for_hash(paragraph) for paragraph in paragraphs]
    doubled = _doubled(keys, [is_sentence_like(paragraph) for paragraph in paragraphs])
    return [paragraph for index, paragraph in enumerate(paragraphs) if index not in doubled]


def _doubled(keys: list[str], sentence_like: list[bool]) -> set[int]:
    """Positions of sentence-like repeats that a layout doubled: near their last copy, or in a copied block.

    A repeat within ``DOUBLED_WITHIN`` paragraphs of its last copy is doubled; so is every paragraph
    of a run of at least ``MIN_DOUBLED_BLOCK`` consecutive repeats that copy consecutive earlier
    paragraphs in order (a page that shows its story twice). Other repeats are the text's structure.
    """
    last_seen: dict[str, int] = {}
    previous: list[int | None] = []
    for index, key in enumerate(keys):
        previous.append(last_seen.get(key) if sentence_like[index] else None)
        last_seen[key] = index
    doubled = {i for i, before in enumerate(previous) if before is not None and i - before <= DOUBLED_WITHIN}
    start = 0
    while start < len(keys):
        end = start
        while end < len(keys) and _continues_block(previous, start, end):
            end += 1
        if end - start >= MIN_DOUBLED_BLOCK:
            doubled.update(range(start, end))
        start = max(end, start + 1)
    return doubled


def _continues_block(previous: list[int | None], start: int, end: int) -> bool:
    """Whether paragraph ``end`` repeats the paragraph after the one ``end - 1`` repeats (a copied block)."""
    here = previous[end]
    if here is None:
        return False
    before = previous[end - 1] if end > start else None
    return end == start or (before is not None and here == before + 1)


def is_sentence_like(paragraph: str) -> bool:
    """Ends like a sentence or clause, or is longer than a headline: not a table row or list item.

    A bulleted line ("- Warm up. 10 minutes easy jogging", as trafilatura writes list items) is a
    list item whatever its punctuation.
    """
    if _LIST_ITEM.match(paragraph):
        return False
    return bool(_ENDS_CLAUSE.search(paragraph)) or word_count(paragraph) > MAX_HEADLINE_WORDS


def normalise_for_hash(text: str) -> str:
    """Canonical form for exact-duplicate detection: NFKC, curly quotes/apostrophes/dashes to ASCII, casefold,
    whitespace collapsed."""
    canonical = unicodedata.normalize("NFKC", text).translate(_TRANSLATE_PUNCTUATION)
    return _collapse_whitespace(canonical.casefold())


def looks_like_headline(line: str) -> bool:
    """True for a short line with no closing punctuation that is not all lower-case."""
    line = line.strip()
    if not 0 < word_count(line) <= MAX_HEADLINE_WORDS or _ENDS_CLAUSE.search(line):
        return False
    return line != line.lower() or not _cased_script(line)  # case is evidence only in a script that has it


# --- rules ------------------------------------------------------------------


def _take_date_header(text: str) -> tuple[datetime.date | None, str]:
    """Strip a leading `date YYYY-MM-DD` header; an invalid date is not a header."""
    match = _DATE_HEADER.match(text)
    if not match:
        return None, text
    try:
        published = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None, text
    return published, text[match.end() :]


def _is_inserted_matter(paragraph: str) -> bool:
    """True for text a publisher inserted around the story rather than the story itself."""
    return _is_photo_caption(paragraph) or _is_wire_credit(paragraph) or _is_cross_headline(paragraph)


def _is_photo_caption(paragraph: str) -> bool:
    """A credit line, a short sentence followed by a photo credit, or a short unpunctuated caption cue."""
    if word_count(paragraph) > MAX_CAPTION_WORDS:
        return False  # a caption is a line or two; a long paragraph ending in a credit is text
    if _CREDIT_LINE.fullmatch(paragraph):
        return True
    if _trailing_credit(paragraph):
        return True
    return not _ENDS_SENTENCE.search(paragraph) and bool(_CAPTION_CUE.search(paragraph))


def _trailing_credit(paragraph: str) -> re.Match[str] | None:
    """The photo credit glued after the last sentence of ``paragraph``, if there is one."""
    trailing = _TRAILING_CREDIT.search(paragraph)
    if (
        trailing
        and not _ENDS_WITH_INITIALISM.search(paragraph[: trailing.end("end")])
        and (trailing.group("caps") is None or _ends_in_lower_case(paragraph[: trailing.start("credit")]))
    ):
        return trailing
    return None


def _without_trailing_credit(paragraph: str) -> str:
    """A long paragraph without the photo credit glued to its end (a short one with it is a caption)."""
    trailing = _trailing_credit(paragraph)
    return paragraph[: trailing.end("end")] if trailing else paragraph


def _ends_in_lower_case(text: str) -> bool:
    """The text before an all-caps credit reads as a sentence: a cased script, lower-case letters near its end.

    "… said on Tuesday. AP" is a credit; "ACTUARIAL CONSULTING VS. INSURANCE" is one all-caps line.
    """
    return _cased_script(text) and any(c.islower() for c in " ".join(text.split()[-3:]))


def _is_wire_credit(paragraph: str) -> bool:
    """A short contribution, syndication or reporting-credit line."""
    return len(paragraph.split()) <= MAX_BOILERPLATE_WORDS and bool(_WIRE_CREDIT.fullmatch(paragraph))


def _is_cross_headline(paragraph: str) -> bool:
    """A run of at least three words set (nearly) all in capitals, e.g. a link to another story.

    Only cased letters can be capitals; letters of a script without case count as not capital,
    so Latin acronyms inside Arabic, Hindi or Chinese text never make it a headline.
    """
    upper = sum(map(str.isupper, paragraph))
    if upper < MIN_CROSS_HEADLINE_WORDS:
        return False
    letters = sum(map(str.isalpha, paragraph))
    cased_words = sum(1 for word in paragraph.split() if any(c.isupper() or c.islower() for c in word))
    return cased_words >= MIN_CROSS_HEADLINE_WORDS and upper / letters >= CROSS_HEADLINE_UPPER_SHARE


def _cased_script(text: str) -> bool:
    """True when most letters of ``text`` belong to a script with letter case (Latin, Cyrillic, Greek, …)."""
    letters = sum(map(str.isalpha, text))
    cased = sum(1 for c in text if c.isupper() or c.islower())
    return letters > 0 and cased * 2 > letters


_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
"""C0/C1 control characters that ``str.split`` doesn't treat as whitespace: dropped from every text."""


def _collapse_whitespace(text: str) -> str:
    return " ".join(_CONTROL_CHARACTERS.sub("", text).split())
