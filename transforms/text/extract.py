"""Extract clean article text and metadata from source documents.

Plain text goes through the text-cleaning rules; HTML through trafilatura (metadata on,
comments off) and then the same rules. Each document becomes an Article (without duplicate or
story fields yet) or a rejects row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from schemas import Article, Reject
from transforms.normalise.cleaning import clean_paragraphs, normalise_for_hash, parse_plain_text, split_paragraphs
from transforms.normalise.dates import DAY, PublicationTime, coarse_guess, page_time, read_iso_time, within_window
from transforms.normalise.tokens import word_count
from transforms.normalise.urls import canonical_url
from transforms.run import counters, prewarm, progress
from transforms.run.allocator import tune_allocator
from transforms.run.context import REJECTED, RunContext, as_utc, set_rejects_aside, stable_hash
from transforms.sources.archive_filters import ArchiveFilters, FilterArticles
from transforms.sources.document import ENTRY_TEXT, HTML, MAX_PAGE_BYTES, PAGE, SourceDocument
from transforms.text.html_worker import (
    DEFAULT_BUDGET_S,
    BudgetedExtractor,
    ExtractionPool,
    TooSlow,
    run_trafilatura,
    strip_inert_markup,
    usable_cores,
)
from transforms.text.metadata import (
    clean_authors,
    declared_image,
    declared_keywords,
    declared_text,
    headline_seen,
    site_names,
    strip_site_name,
)
from transforms.text.outlets import site_name

STAGE = "extract"
DEFAULT_MIN_WORDS = 20
DEFAULT_EXTRACTION_BUDGET_S = DEFAULT_BUDGET_S
"""Seconds one HTML page may take to extract (``--extraction-budget``); over it: a ``too_slow`` reject."""
LANGUAGE_SAMPLE_CHARS = 2000
MAX_HTML_BYTES = 4 * 2**20
"""Largest markup handed to trafilatura, weighed after ``strip_inert_markup`` (the time budget bounds the cost)."""
TOO_LARGE_HTML = "HTML too large to extract"
log = logging.getLogger(__name__)


class ExtractArticles(beam.PTransform):
    """SourceDocuments → Articles, plus a ``rejects`` output.

    Takes one PCollection, or a dict {source name: PCollection}: each source is then extracted in
    the step that read it (``ExtractText<Source>``, a Flatten before extraction would hold raw
    pages between stages) and its articles stay apart, ``articles`` being a dict {source name:
    PCollection} too, so the next step can also run where they were made (a Flatten of whole
    articles is a stage boundary that FnApiRunner holds in memory). ``filters`` (the archive
    filters on language and publication time) drop articles right after extraction. ``workers``:
    HTML extraction processes per worker process, by default one per usable core (``ExtractArticle``).
    """

    def __init__(
        self,
        run: RunContext,
        min_words: int = DEFAULT_MIN_WORDS,
        budget_s: float = DEFAULT_EXTRACTION_BUDGET_S,
        filters: ArchiveFilters | None = None,
        workers: int | None = None,
    ):
        super().__init__()
        self._run = run
        self._min_words = min_words
        self._budget_s = budget_s
        self._filters = filters
        self._workers = workers

    def expand(self, documents):
        if not isinstance(documents, dict):
            return self._extract(documents, "")
        results = {name: self._extract(docs, name) for name, docs in documents.items()}
        return ExtractOutputs(
            articles={name: r.articles for name, r in results.items()},
            rejects=[r.rejects for r in results.values()] | "AllExtractRejects" >> beam.Flatten(),
        )

    def _extract(self, documents, source: str) -> ExtractOutputs:
        extracted = documents | f"ExtractText{source}" >> beam.ParDo(
            ExtractArticle(self._run, self._min_words, self._budget_s, self._workers)
        ).with_outputs(REJECTED, main="articles")
        articles = extracted.articles
        if self._filters is not None and self._filters.filters_articles:
            articles = articles | f"FilterArticles{source}" >> FilterArticles(self._filters)
        return ExtractOutputs(articles, extracted[REJECTED])


class ExtractOutputs(NamedTuple):
    """Articles (a PCollection, or {source name: PCollection}) and the rejects of every source."""

    articles: beam.PCollection | dict[str, beam.PCollection]
    rejects: beam.PCollection


class ExtractArticle(beam.DoFn):
    """Runs ``extract_article`` on several documents at once and routes rejects aside.

    Each document is extracted in a thread of this worker, its HTML by the process's shared
    ``ExtractionPool`` (``workers`` extraction processes, by default one per usable core, each page
    within ``budget_s``): trafilatura runs in the pool while this process cleans, identifies the
    language of and passes on the pages already extracted. Results leave in input order, each in
    its own input's window and timestamp; at most ``ExtractionPool.concurrency`` documents wait at once,
    and a bundle ends with every one of its documents emitted.
    """

    def __init__(
        self,
        run: RunContext,
        min_words: int,
        budget_s: float = DEFAULT_EXTRACTION_BUDGET_S,
        workers: int | None = None,
    ):
        self._run = run
        self._min_words = min_words
        self._budget_s = budget_s
        self._workers = workers
        self._articles = counters.ARTICLES_EXTRACTED.metric()
        self._pool: ExtractionPool | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[Future, SourceDocument, WindowedValue]] = deque()

    def setup(self) -> None:
        tune_allocator()  # once per worker process
        prewarm.wait()  # a load the process started early (pipeline/startup.py) ends first: the model loads once
        identify_language("warm up the language model once per worker")
        self._pool = ExtractionPool.shared(self._workers or usable_cores(), self._budget_s)
        self._threads = ThreadPoolExecutor(self._pool.concurrency, thread_name_prefix="newsbeam-extract")

    def teardown(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
        if self._pool is not None:
            self._pool.release()

    def start_bundle(self) -> None:
        self._pending = deque()

    def process(self, document: SourceDocument, element=beam.DoFn.WindowedValueParam) -> Iterator:
        assert self._threads is not None and self._pool is not None
        future = self._threads.submit(extract_article, document, self._run, self._min_words, self._pool)
        self._pending.append((future, document, element))
        yield from self._emit_done(wait_for_first=len(self._pending) > self._pool.concurrency)

    def finish_bundle(self) -> Iterator:
        while self._pending:
            yield from self._emit_done(wait_for_first=True)

    def _emit_done(self, wait_for_first: bool) -> Iterator:
        """The results at the head of the queue that are ready (the first one waited for if asked)."""
        while self._pending and (wait_for_first or self._pending[0][0].done()):
            future, document, element = self._pending.popleft()
            wait_for_first = False
            yield self._output(future.result(), document, element)

    def _output(self, result: Article | Reject, document: SourceDocument, element: WindowedValue):
        source = source_of(document)
        if isinstance(result, Article):
            self._articles.inc()
            counters.ARTICLES_EXTRACTED_FROM.of(source).inc()
            progress.note("articles extracted")
        else:
            counters.REJECTS_AT_EXTRACTION_FROM.of(source).inc()
            progress.note("extraction rejects")
        routed = set_rejects_aside(result, STAGE)
        if isinstance(routed, beam.pvalue.TaggedOutput):
            return beam.pvalue.TaggedOutput(routed.tag, element.with_value(routed.value))
        return element.with_value(routed)


def source_of(document: SourceDocument) -> str:
    """The summary's source: the document's own ``accounted_as`` ('warc', 'sitemap'), else 'feed' for feed
    entries and their pages, 'seed' for seed files and records."""
    if document.accounted_as:
        return document.accounted_as
    return "feed" if document.kind in (PAGE, ENTRY_TEXT) else "seed"


@dataclass(frozen=True)
class Content:
    """What one extraction found, before the input's own fields are applied."""

    paragraphs: tuple[str, ...]
    text_source: str
    title: str | None = None
    published: dt.datetime | None = None
    date_source: str | None = None
    published_precision: str | None = None
    date_problem: str | None = None
    """Why the date found in the content was refused (out of range, impossible)."""
    authors: tuple[str, ...] = ()
    source: str | None = None
    url: str | None = None
    description: str | None = None
    image_url: str | None = None
    section: str | None = None
    keywords: tuple[str, ...] = ()
    markdown: str | None = None
    """trafilatura's Markdown of the page (HTML only)."""

    @cached_property
    def word_count(self) -> int:
        return sum(map(word_count, self.paragraphs))


@dataclass(frozen=True)
class Dating:
    """The publication time an article gets, where it came from, and the dates that were refused."""

    published: dt.datetime | None
    date_source: str | None
    precision: str | None
    problems: tuple[str, ...]
    given: dt.datetime | None
    """The time the feed entry or record gave, when it was usable."""


def extract_article(
    document: SourceDocument,
    run: RunContext,
    min_words: int = DEFAULT_MIN_WORDS,
    extractor: BudgetedExtractor | None = None,
) -> Article | Reject:
    """Clean text plus metadata for one document; a reject when too little text remains.

    A fetched page that fails, runs over the time budget of ``extractor`` or yields fewer than
    ``min_words`` falls back to the feed entry's own text (``text_source`` says which was used).
    Without an ``extractor`` HTML is extracted in this process, with no time budget.
    """
    content = usable_content(document, min_words, extractor)
    refused = refusal(document, content, run, min_words)
    if refused is not None:
        return refused
    assert isinstance(content, Content)
    return build_article(document, content, dating(document, content), run)


def usable_content(
    document: SourceDocument, min_words: int, extractor: BudgetedExtractor | None
) -> Content | str | TooSlow:
    """The document's own content, or the feed entry's text when the page gave nothing usable."""
    content = extract_content(document, extractor)
    use_fallback = document.fallback_text and (not isinstance(content, Content) or content.word_count < min_words)
    if use_fallback:
        return _from_entry_text(document.fallback_text, document.fallback_source)
    return content


def refusal(
    document: SourceDocument, content: Content | str | TooSlow, run: RunContext, min_words: int
) -> Reject | None:
    """The reject for content that can't become an article (too slow, failed, too large, too short), else None."""
    if isinstance(content, TooSlow):
        return run.reject(document.item_uri, STAGE, "too_slow", str(content), document.body)
    if isinstance(content, str):
        reason = "too_large" if content.startswith(TOO_LARGE_HTML) else "extraction_failed"
        return run.reject(document.item_uri, STAGE, reason, content, document.body, **document.reject_fields())
    if content.word_count < min_words:
        return run.reject(
            document.item_uri,
            STAGE,
            "too_little_text",
            f"{content.word_count} words after cleaning, fewer than {min_words}",
            document.body,
            **document.reject_fields(),
        )
    return None


def dating(document: SourceDocument, content: Content) -> Dating:
    """The input's own date when it is usable, else the date found in the content; every refused date named."""
    given = read_iso_time(document.published)
    if given.problem:
        log.warning(
            "%s: published refused (%s); using the date found in the content, if any", document.item_uri, given.problem
        )
    given_problem = given.problem or document.published_problem
    problems = [f"{document.published_by}: {given_problem}"] if given_problem else []
    if content.date_problem:
        problems.append(f"{content.date_source}: {content.date_problem}")
    if given.at:
        return Dating(given.at, document.published_by, given.precision, tuple(problems), given.at)
    return Dating(content.published, content.date_source, content.published_precision, tuple(problems), None)


def build_article(document: SourceDocument, content: Content, dated: Dating, run: RunContext) -> Article:
    """The article row: the input's fields win over the content's, ids and hashes from the clean text."""
    text = "\n\n".join(content.paragraphs)
    content_hash = stable_hash(normalise_for_hash(text))
    url = canonical_url(content.url) or canonical_url(document.url)
    names = site_names(document.source, content.source, urls=(document.url, content.url))
    language, confidence = language_of(text)
    published = dated.published
    return Article(
        article_id=stable_hash("url", url) if url else stable_hash("text", content_hash),
        url=url,
        source_uri=document.source_uri,
        entry_id=document.entry_id,
        source=site_name(content.source, document.source, document.feed_title, content.url or document.url),
        title=headline(document, content),
        description=document.description or content.description,
        text=text,
        text_markdown=content.markdown,
        authors=clean_authors(document.authors or content.authors, names),
        image_url=document.image_url or content.image_url,
        section=document.section or content.section,
        keywords=document.keywords or content.keywords,
        published_at=published,
        date_source=dated.date_source if published else None,
        published_precision=dated.precision if published else None,
        date_problem="; ".join(dated.problems) or None,
        feed_published_at=dated.given,
        page_published_at=content.published,
        language=language,
        language_confidence=confidence,
        word_count=word_count(text),
        content_hash=content_hash,
        text_source=content.text_source,
        ingested_at=run.started_at,
        run_id=run.run_id,
        fetched_at=as_utc(document.fetched_at),
        warc_record_id=document.warc_record_id,
        warc_target_uri=document.warc_target_uri,
    )


def headline(document: SourceDocument, content: Content) -> str | None:
    """The title without the site name that its own giver declares.

    A feed entry's title loses only the feed's names (its title and host): on a link blog the
    entry's link points at what the headline is about ("Mnml – A Mac Client for Medium"), so
    the linked host is never taken for a site name. A page's or record's title loses the names
    the page declares (og:site_name, the input's source) and the page's own host.
    """
    if document.title and document.entry_id:
        return strip_site_name(document.title, site_names(document.source, urls=(document.source_uri,)))
    if document.title:
        return strip_site_name(document.title, site_names(document.source, content.source, urls=(document.url,)))
    page_url = content.url or document.url
    return strip_site_name(content.title, site_names(document.source, content.source, urls=(page_url,)))


def extract_content(document: SourceDocument, extractor: BudgetedExtractor | None = None) -> Content | str | TooSlow:
    """The document's own text and metadata, or why there is none."""
    if document.kind in (HTML, PAGE):
        return _from_html(document.body, document.url, "page" if document.kind == PAGE else "html", extractor)
    if document.kind == ENTRY_TEXT:
        return _from_entry_text(document.body, document.fallback_source)
    return _from_plain_text(document.body)


def _from_plain_text(body: str) -> Content:
    parsed = parse_plain_text(body)
    day = parsed.published
    found = within_window(_midnight_utc(day), day.isoformat(), DAY) if day else PublicationTime()
    return Content(parsed.paragraphs, "plain_text", title=parsed.title, date_source="text_header", **_dated(found))


def _from_entry_text(text: str, text_source: str | None) -> Content:
    return Content(tuple(clean_paragraphs(split_paragraphs(text))), text_source or "feed_content")


def _from_html(
    body: str | bytes, url: str | None, text_source: str, extractor: BudgetedExtractor | None
) -> Content | str | TooSlow:
    size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
    if size > MAX_PAGE_BYTES:
        return f"{TOO_LARGE_HTML}: {size} bytes of HTML, more than {MAX_PAGE_BYTES}"
    markup = body if size <= MAX_HTML_BYTES else strip_inert_markup(body)  # weigh what extraction reads
    markup_size = len(markup.encode("utf-8", "surrogatepass") if isinstance(markup, str) else markup)
    if markup_size > MAX_HTML_BYTES:
        return (
            f"{TOO_LARGE_HTML}: {size} bytes of HTML, {markup_size} without scripts and styles, "
            f"more than {MAX_HTML_BYTES}"
        )
    extracted = extractor.extract(markup, url) if extractor else run_trafilatura(markup, url)
    if not isinstance(extracted, dict):
        return extracted
    paragraphs = clean_paragraphs(split_paragraphs(extracted["text"]))
    title = headline_seen(extracted["title"], extracted.get("headings", ()))
    if paragraphs and title and normalise_for_hash(paragraphs[0]) == normalise_for_hash(title):
        paragraphs = paragraphs[1:]  # the headline is the title, not body text (as for .txt files)
    return Content(
        tuple(paragraphs),
        text_source,
        title=title,
        date_source="page_metadata",
        **_dated(
            page_time(extracted["date"]) if not extracted.get("date_guess") else coarse_guess(extracted["date_guess"])
        ),
        authors=split_authors(extracted["author"]),
        source=extracted["sitename"],
        url=extracted["url"],
        description=declared_text(extracted.get("description")),
        image_url=declared_image(extracted.get("image"), extracted["url"] or url),
        section=next(iter(declared_keywords(extracted.get("categories"))), None),
        keywords=declared_keywords(extracted.get("tags")),
        markdown=extracted.get("markdown"),
    )


def split_authors(byline: str | None) -> tuple[str, ...]:
    """trafilatura joins authors with '; '."""
    return tuple(name.strip() for name in (byline or "").split(";") if name.strip())


def _dated(found: PublicationTime) -> dict:
    """Content fields of a checked content date."""
    return {"published": found.at, "published_precision": found.precision, "date_problem": found.problem}


def _midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def identify_language(text: str) -> str | None:
    """ISO 639-1 code from py3langid on the start of the text."""
    return language_of(text)[0]


def language_of(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and py3langid's probability for it (0-1, rounded to 4 places), from the start of the text."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if not sample.strip():
        return None, None
    language, probability = _language_identifier().classify(sample)
    return language, round(float(probability), 4)


@lru_cache(maxsize=1)
def _language_identifier():
    """py3langid's model with probabilities normalised over its languages (loaded once per process)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
