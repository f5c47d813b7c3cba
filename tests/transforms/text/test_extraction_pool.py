"""The extraction pool: pages in batches to several processes, each page still within its time budget."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from schemas import Article
from tests.conftest import fn_api_pipeline
from tests.transforms.text.test_html_worker import RUN
from transforms.sources.document import SourceDocument
from transforms.text import html_worker
from transforms.text.extract import ExtractArticles, extract_article
from transforms.text.html_worker import PAGES_PER_BATCH, ExtractionPool, TooSlow, run_trafilatura

TEXTS = [
    "The harbour council met on Tuesday to discuss the budget for the new ferry terminal.",
    "Городской совет во вторник обсудил бюджет нового паромного терминала и сроки его открытия.",
    "ناقش مجلس المدينة يوم الثلاثاء ميزانية محطة العبارات الجديدة وموعد افتتاحها المتوقع.",
    "नगर परिषद ने मंगलवार को नए फेरी टर्मिनल के बजट और उसके खुलने की तारीख पर चर्चा की।",
    "สภาเมืองประชุมเมื่อวันอังคารเพื่อหารือเรื่องงบประมาณของท่าเรือเฟอร์รี่แห่งใหม่",
    "市议会周二开会讨论新渡轮码头的预算以及预计的开放日期，官员表示明年春天开放。",
]


def page(n: int) -> bytes:
    text = TEXTS[n % len(TEXTS)]
    body = "".join(f"<p>{text} ({n}, paragraph {k})</p>" for k in range(6))
    return f"<html><head><title>Page {n}</title></head><body><article>{body}</article></body></html>".encode()


def wait_until(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def no_prestarted_child():
    """A child prestarted by another test must not change which child a pool starts with."""
    while html_worker._prestarted:
        child, connection = html_worker._prestarted.pop()
        connection.close()
        child.kill()
        child.join(5)


def test_pages_from_many_threads_get_what_in_process_extraction_gives():
    pages = [page(n) for n in range(24)]
    pool = ExtractionPool(2, budget_s=120)
    try:
        with ThreadPoolExecutor(pool.concurrency) as threads:
            results = list(threads.map(lambda body: pool.extract(body, None), pages))
        assert results == [run_trafilatura(body, None) for body in pages]
        assert len(pool._children) == 2  # busy enough for a second process, never more than the size
    finally:
        pool.close()
    assert not pool._children


def test_one_page_starts_one_process_of_a_larger_pool():
    pool = ExtractionPool(4, budget_s=120)
    try:
        assert isinstance(pool.extract(page(1), None), dict)
        assert len(pool._children) == 1
    finally:
        pool.close()


def slow_page() -> bytes:
    """Markup that takes seconds to extract: tens of thousands of tiny nested blocks."""
    cell = "<div><span><a href='#'>x</a></span><p>word word word word</p></div>"
    return ("<html><body>" + cell * 20_000 + "</body></html>").encode()


def extract_in_order(pool: ExtractionPool, bodies: list[bytes]) -> list:
    """Each page queued after the one before, from its own thread; the results in order."""
    results: list = [None] * len(bodies)

    def extract(i: int) -> None:
        results[i] = pool.extract(bodies[i], None)

    threads = []
    for i in range(len(bodies)):
        threads.append(threading.Thread(target=extract, args=(i,)))
        threads[-1].start()
        wait_until(lambda n=i + 1: len(pool._queue) + sum(len(c.batch) for c in pool._children) >= n)
    for thread in threads:
        thread.join(300)
    return results


def test_a_page_over_the_budget_is_too_slow_within_it_and_the_rest_of_its_batch_is_retried(monkeypatch):
    slow = slow_page()
    started = time.monotonic()
    run_trafilatura(slow, None)
    cost = time.monotonic() - started
    spawned = []
    monkeypatch.setattr(html_worker, "_spawn", lambda spawn=html_worker._spawn: spawned.append(spawn()) or spawned[-1])
    bodies = [page(0), slow, page(2), page(3)]
    assert len(bodies) == PAGES_PER_BATCH
    pool = ExtractionPool(1, budget_s=cost / 4)  # the budget is derived from the slow page's measured cost
    try:
        # The four pages queue while the first process starts, and go to it in one batch.
        results = extract_in_order(pool, bodies)
        assert isinstance(results[1], TooSlow) and (results[1].size, results[1].budget_s) == (len(slow), cost / 4)
        assert cost / 4 <= results[1].seconds < cost / 4 + cost / 4  # stopped near the budget, not at the end
        assert [results[0], results[2], results[3]] == [run_trafilatura(b, None) for b in (page(0), page(2), page(3))]
        first, second = (process for process, _ in spawned)
        assert not first.is_alive() and second.is_alive()  # the overrun killed the first; the second did the rest
        assert [c.process for c in pool._children] == [second]
    finally:
        pool.close()


def test_a_process_that_dies_fails_its_page_and_the_pages_after_it_are_extracted():
    slow = slow_page()
    pool = ExtractionPool(1, budget_s=300)
    try:
        pool.extract(page(9), None)
        child = pool._children[0]
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(extract_in_order(pool, [slow, page(1), page(2)])))]
        threads[0].start()
        wait_until(lambda: child.batch and len(child.batch) + len(pool._queue) == 3)
        child.process.kill()  # while it extracts the slow page  # as the kernel's out-of-memory killer would
        threads[0].join(300)
        [(died, *rest)] = results
        assert isinstance(died, str) and died.startswith("extraction process failed: EOFError")
        assert rest == [run_trafilatura(page(n), None) for n in (1, 2)]
    finally:
        pool.close()


def test_a_shared_pool_is_one_per_size_and_budget_and_closes_with_its_last_user():
    first = ExtractionPool.shared(2, 7.0)
    second = ExtractionPool.shared(2, 7.0)
    other = ExtractionPool.shared(1, 7.0)
    assert first is second and other is not first
    first.release()
    assert isinstance(second.extract(page(4), None), dict)
    second.release()
    other.release()
    with pytest.raises(RuntimeError, match="closed"):
        second.extract(page(4), None)
    assert ExtractionPool.shared(2, 7.0) is not first
    ExtractionPool.shared(2, 7.0).release()
    ExtractionPool.shared(2, 7.0).release()


# --- ExtractArticles with the pool: every document out once, in its own window, the same with 1 and N ----------


def documents() -> list[SourceDocument]:
    htmls = [SourceDocument(f"/in/{n}.html", "html", page(n)) for n in range(14)]
    plain = SourceDocument("/in/plain.txt", "text", "Plain title\n\n" + " ".join(TEXTS[:1] * 5))
    empty = SourceDocument("/in/empty.html", "html", b"<html><body></body></html>")
    return [*htmls, plain, empty]


class WithTimestamp(beam.DoFn):
    def process(self, item, timestamp=beam.DoFn.TimestampParam):
        yield item.source_uri, (item.article_id if isinstance(item, Article) else item.reason), int(timestamp)


@pytest.mark.parametrize("workers", [1, 3])
def test_extract_articles_gives_each_document_one_row_in_its_own_timestamp(workers):
    docs = documents()
    expected = [extract_article(doc, RUN) for doc in docs]
    stamped = [(doc.source_uri, r.article_id if isinstance(r, Article) else r.reason) for doc, r in zip(docs, expected)]
    with fn_api_pipeline() as pipeline:
        outputs = (
            pipeline
            | beam.Create(list(enumerate(docs)))
            | beam.Map(lambda item: TimestampedValue(item[1], 1000 + item[0]))  # a timestamp per document
            | ExtractArticles(RUN, workers=workers)
        )
        assert_that(
            (outputs.articles, outputs.rejects) | beam.Flatten() | beam.ParDo(WithTimestamp()),
            equal_to([(uri, what, 1000 + n) for n, (uri, what) in enumerate(stamped)]),
        )
        assert_that(outputs.articles, equal_to([r for r in expected if isinstance(r, Article)]), label="articles")
