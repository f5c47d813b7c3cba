"""Extract clean article text and metadata from source documents.

Plain text goes through the text-cleaning rules; HTML through trafilatura (metadata on,
comments off) and then the same rules. Each document becomes an Article (without duplicate or
story fields yet) or a rejects row.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urldefrag, urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import Article, Reject
from transforms.run import progress
from transforms.run.context import REJECTS, RunContext, set_rejects_aside, stable_hash
from transforms.sources.document import ENTRY, HTML, PAGE, SourceDocument
from transforms.text.cleaning import clean_paragraphs, normalise_for_hash, parse_plain_text, split_paragraphs

STAGE = "extract"
DEFAULT_MIN_WORDS = 20
LANGUAGE_SAMPLE_CHARS = 2000
MAX_HTML_BYTES = 2 * 2**20
"""Largest HTML page or file handed to trafilatura (a text-dense 2 MiB page takes ~10 s on one busy core; time grows faster than size)."""
TOO_LARGE_HTML = "HTML too large to extract"
VALID_HOST = re.compile(r"(?:[\w-]+\.)+[\w-]+|\[[0-9a-fA-F:.]+\]|[0-9.]+")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
"""htmldate output: the publication time with its UTC offset, not just the day."""
log = logging.getLogger(__name__)


class ExtractArticles(beam.PTransform):
    """SourceDocuments → Articles, plus a ``rejects`` output.

    Takes one PCollection, or a dict {source name: PCollection}: each source is then extracted in
    the step that read it (``ExtractText<Source>``) and only the articles are merged, so no runner
    holds raw pages between stages (a Flatten before extraction is a fusion break on FnApiRunner).
    """

    def __init__(self, run: RunContext, min_words: int = DEFAULT_MIN_WORDS):
        super().__init__()
        self._run = run
        self._min_words = min_words

    def expand(self, documents):
        if not isinstance(documents, dict):
            return self._extract(documents, "ExtractText")
        results = [self._extract(docs, f"ExtractText{name}") for name, docs in documents.items()]
        return ExtractOutputs(
            articles=[r.articles for r in results] | "AllArticles" >> beam.Flatten(),
            rejects=[r[REJECTS] for r in results] | "AllExtractRejects" >> beam.Flatten(),
        )

    def _extract(self, documents, label: str):
        return documents | label >> beam.ParDo(ExtractArticle(self._run, self._min_words)).with_outputs(
            REJECTS, main="articles"
        )


class ExtractOutputs(NamedTuple):
    """Articles and rejects of every source, merged."""

    articles: beam.PCollection
    rejects: beam.PCollection


class ExtractArticle(beam.DoFn):
    """Runs ``extract_article`` and routes rejects aside."""

    def __init__(self, run: RunContext, min_words: int):
        self._run = run
        self._min_words = min_words
        self._articles = Metrics.counter(STAGE, "articles")

    def setup(self) -> None:
        identify_language("warm up the language model once per worker")

    def process(self, document: SourceDocument) -> Iterator:
        result = extract_article(document, self._run, self._min_words)
        source = source_of(document)
        if isinstance(result, Article):
            self._articles.inc()
            Metrics.counter(STAGE, f"{source}_articles").inc()
            progress.note("articles extracted")
        else:
            Metrics.counter(STAGE, f"{source}_rejects").inc()
            progress.note("extraction rejects")
        yield set_rejects_aside(result, STAGE)


def source_of(document: SourceDocument) -> str:
    """The summary's source: the document's own ``accounted_as`` ('warc', 'sitemap'), else 'feed' for feed
    entries and their pages, 'seed' for seed files and records."""
    if document.accounted_as:
        return document.accounted_as
    return "feed" if document.kind in (PAGE, ENTRY) else "seed"


@dataclass(frozen=True)
class Content:
    """What one extraction found, before the input's own fields are applied."""

    paragraphs: tuple[str, ...]
    text_source: str
    title: str | None = None
    published: dt.datetime | None = None
    date_source: str | None = None
    authors: tuple[str, ...] = ()
    source: str | None = None
    url: str | None = None

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def extract_article(document: SourceDocument, run: RunContext, min_words: int = DEFAULT_MIN_WORDS) -> Article | Reject:
    """Clean text plus metadata for one document; a reject when too little text remains.

    A fetched page that fails or yields fewer than ``min_words`` falls back to the feed entry's
    own text (``text_source`` says which was used).
    """
    content = extract_content(document)
    use_fallback = document.fallback_text and (isinstance(content, str) or content.word_count < min_words)
    if use_fallback:
        content = _from_entry_text(document.fallback_text, document.fallback_source)
    if isinstance(content, str):
        reason = "too_large" if content.startswith(TOO_LARGE_HTML) else "extraction_failed"
        return run.reject(document.item_uri, STAGE, reason, content, document.body)
    if content.word_count < min_words:
        return run.reject(
            document.item_uri,
            STAGE,
            "too_little_text",
            f"{content.word_count} words after cleaning, fewer than {min_words}",
            document.body,
        )
    given = parse_published(document.published)
    if document.published and not given:
        log.warning(
            "%s: unreadable published %r; using the date found in the content, if any",
            document.source_uri,
            document.published,
        )
    published, date_source = (given, document.published_by) if given else (content.published, content.date_source)
    text = "\n\n".join(content.paragraphs)
    content_hash = stable_hash(normalise_for_hash(text))
    url = canonical_url(content.url) or canonical_url(document.url)
    return Article(
        article_id=stable_hash("url", url) if url else stable_hash("text", content_hash),
        url=url,
        source_uri=document.source_uri,
        entry_id=document.entry_id,
        source=document.source or content.source,
        title=document.title or content.title,
        text=text,
        authors=document.authors or content.authors,
        published_at=published,
        date_source=date_source if published else None,
        feed_published_at=given,
        page_published_at=content.published,
        language=identify_language(text),
        word_count=len(text.split()),
        content_hash=content_hash,
        text_source=content.text_source,
        ingested_at=run.started_at,
        run_id=run.run_id,
    )


def extract_content(document: SourceDocument) -> Content | str:
    """The document's own text and metadata, or why there is none."""
    if document.kind in (HTML, PAGE):
        return _from_html(document.body, document.url, "page" if document.kind == PAGE else "html")
    if document.kind == ENTRY:
        return _from_entry_text(document.body, document.fallback_source)
    return _from_plain_text(document.body)


def _from_plain_text(body: str) -> Content:
    parsed = parse_plain_text(body)
    published = _midnight_utc(parsed.published) if parsed.published else None
    return Content(parsed.paragraphs, "plain_text", title=parsed.title, published=published, date_source="text_header")


def _from_entry_text(text: str, text_source: str | None) -> Content:
    return Content(tuple(clean_paragraphs(split_paragraphs(text))), text_source or "feed_content")


def _from_html(body: str | bytes, url: str | None, text_source: str) -> Content | str:
    import trafilatura
    import trafilatura.settings

    size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
    if size > MAX_HTML_BYTES:  # trafilatura's time grows faster than the page: cap it
        return f"{TOO_LARGE_HTML}: {size} bytes of HTML, more than {MAX_HTML_BYTES}"

    try:
        extracted = trafilatura.bare_extraction(
            body,
            url=url,
            include_comments=False,
            with_metadata=True,
            date_extraction_params={**trafilatura.settings.set_date_params(True), "outputformat": DATE_FORMAT},
        )
    except (ValueError, TypeError, RecursionError) as err:  # lxml/trafilatura on hostile markup
        return f"trafilatura failed: {type(err).__name__}: {err}"
    if extracted is None or not extracted.text:
        return "trafilatura found no main text"
    paragraphs = clean_paragraphs(split_paragraphs(extracted.text))
    if paragraphs and extracted.title and normalise_for_hash(paragraphs[0]) == normalise_for_hash(extracted.title):
        paragraphs = paragraphs[1:]  # the headline is the title, not body text (as for .txt files)
    return Content(
        tuple(paragraphs),
        text_source,
        title=extracted.title,
        published=parse_published(extracted.date),
        date_source="page_metadata",
        authors=split_authors(extracted.author),
        source=extracted.sitename,
        url=extracted.url,
    )


def split_authors(byline: str | None) -> tuple[str, ...]:
    """trafilatura joins authors with '; '."""
    return tuple(name.strip() for name in (byline or "").split(";") if name.strip())


def canonical_url(url: str | None) -> str | None:
    """courlan-normalised http(s) URL without credentials, tracking parameters or fragment; None if not a web URL.

    Validity is checked here rather than with courlan.check_url, a crawler filter that refuses
    valid article URLs (/gallery/, /page/, .pdf, upper-case schemes).
    """
    import courlan

    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or not VALID_HOST.fullmatch(host):
        return None
    normalised = urlsplit(urldefrag(courlan.normalize_url(url.strip())).url)
    return normalised._replace(netloc=normalised.netloc.rpartition("@")[2]).geturl()  # credentials never reach a row


def parse_published(value: str | None) -> dt.datetime | None:
    """ISO-8601 date or datetime → aware UTC datetime; a naive time is taken as UTC; None if invalid."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def identify_language(text: str) -> str | None:
    """ISO 639-1 code from py3langid on the start of the text."""
    import py3langid

    sample = text[:LANGUAGE_SAMPLE_CHARS]
    return py3langid.classify(sample)[0] if sample.strip() else None
