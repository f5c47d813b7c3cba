"""Extraction by cost, not weight: inert markup stripped before the size rule; a time budget per page."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from schemas import Article, Reject
from transforms.run.context import RunContext
from transforms.sources.document import SourceDocument
from transforms.text import html_worker
from transforms.text.extract import MAX_HTML_BYTES, extract_article
from transforms.text.html_worker import BudgetedExtractor, TooSlow, strip_inert_markup

RUN = RunContext.start(dt.datetime(2025, 3, 5, 12, 0, tzinfo=dt.UTC))
PARAGRAPHS = [
    f"Paragraph {n}: the harbour council met on Tuesday to discuss the budget for the new ferry terminal, "
    "which officials said would open next spring after two years of delays and rising costs."
    for n in range(12)
]
ARTICLE = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
JSON_LD = json.dumps(
    {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Ferry terminal budget",
        "author": {"@type": "Person", "name": "Ana Ruiz"},
    }
)


def script_heavy_page(megabytes: float) -> bytes:
    """A real-shaped modern page: a short article inside megabytes of hydration JSON, bundles and styles."""
    state = json.dumps({"props": {"items": [{"id": n, "body": "lorem ipsum " * 20} for n in range(4000)]}})
    bundle = "function f(a){return a.map(function(x){return x*2})}" * 2000
    style = ".c{color:#123;margin:0 auto;padding:4px}" * 2000
    head = (
        f'<html lang="en"><head><title>Ferry terminal budget | Harbour Gazette</title>'
        f'<script type="application/ld+json">{JSON_LD}</script><style>{style}</style></head><body>'
    )
    page = f'{head}<nav><a href="/">Home</a></nav><article><h1>Ferry terminal budget</h1>{ARTICLE}</article>'
    filler = ""
    while len(page) + len(filler) < megabytes * 2**20:
        filler += f'<script id="__NEXT_DATA__" type="application/json">{state}</script><script>{bundle}</script>'
    return (page + filler + "<!-- build 123 --></body></html>").encode()


@pytest.fixture(scope="module")
def extractor():
    budgeted = BudgetedExtractor(budget_s=60)
    yield budgeted
    budgeted.close()


def test_strip_inert_markup_keeps_text_and_json_ld_and_drops_scripts_styles_comments():
    page = script_heavy_page(1)
    stripped = strip_inert_markup(page)
    assert b"application/ld+json" in stripped and b"Ana Ruiz" in stripped
    assert b"__NEXT_DATA__" not in stripped and b"<style" not in stripped and b"<!--" not in stripped
    assert all(p.encode() in stripped for p in PARAGRAPHS)
    assert strip_inert_markup(page.decode()) == stripped.decode()


def test_a_3_mib_page_of_mostly_scripts_is_extracted(extractor):
    page = script_heavy_page(3.2)
    assert len(page) > 3 * 2**20 and len(strip_inert_markup(page)) < MAX_HTML_BYTES
    article = extract_article(SourceDocument("big.html", "html", page), RUN, extractor=extractor)
    assert isinstance(article, Article), article
    assert article.text.split("\n\n") == PARAGRAPHS
    assert article.authors == ("Ana Ruiz",)


def test_a_page_within_budget_gives_what_in_process_extraction_gives(extractor):
    page = script_heavy_page(0.5)
    assert extract_article(SourceDocument("p.html", "html", page), RUN, extractor=extractor) == extract_article(
        SourceDocument("p.html", "html", page), RUN
    )


def pathological_page() -> bytes:
    """Markup that is cheap to send and expensive to extract: tens of thousands of tiny nested blocks."""
    cell = "<div><span><a href='#'>x</a></span><p>word word word word</p></div>"
    return ("<html><body>" + cell * 2_000 + "</body></html>").encode()


def test_a_page_over_the_budget_becomes_a_too_slow_reject_with_size_and_time():
    page = pathological_page()
    in_process = time.monotonic()
    extract_article(SourceDocument("slow.html", "html", page), RUN)
    cost = time.monotonic() - in_process
    budgeted = BudgetedExtractor(budget_s=60)
    try:
        budgeted.extract(script_heavy_page(0.1), None)  # the process is up: its start is not part of the wait
        budgeted.budget_s = cost / 10  # the budget is derived from this page's measured cost
        started = time.monotonic()
        result = extract_article(SourceDocument("slow.html", "html", page), RUN, extractor=budgeted)
        waited = time.monotonic() - started
        assert isinstance(result, Reject) and (result.stage, result.reason) == ("extract", "too_slow")
        assert f"{len(page)} bytes" in result.detail and f"more than {budgeted.budget_s:g} s" in result.detail
        assert waited < budgeted.budget_s + cost / 2  # stopped near the budget, not after the whole extraction
        # The next page gets a fresh process and is extracted normally.
        budgeted.budget_s = 60
        assert isinstance(
            extract_article(SourceDocument("ok.html", "html", script_heavy_page(0.1)), RUN, extractor=budgeted), Article
        )
    finally:
        budgeted.close()


def test_too_slow_says_size_budget_and_time():
    assert (
        str(TooSlow(5_000_000, 2.04, 2.0))
        == "extraction of 5000000 bytes of HTML took more than 2 s (stopped at 2.0 s)"
    )


def test_a_too_slow_page_falls_back_to_the_feed_entry_text():
    budgeted = BudgetedExtractor(budget_s=0.05)
    try:
        text = " ".join(PARAGRAPHS)
        document = SourceDocument(
            "feed", "page", pathological_page(), entry_id="e", fallback_text=text, fallback_source="feed_summary"
        )
        article = extract_article(document, RUN, extractor=budgeted)
        assert isinstance(article, Article) and article.text_source == "feed_summary"
    finally:
        budgeted.close()


def test_a_prestarted_child_serves_the_first_extractor_and_later_ones_start_their_own():
    page = b"<html><body><article><p>" + b"Der Zug kam mit zwei Stunden Verspaetung in Hamburg an. " * 5
    page += b"</p></article></body></html>"
    html_worker.prestart()
    prestarted = html_worker._prestarted[0][0]
    first, second = BudgetedExtractor(), BudgetedExtractor()
    try:
        assert isinstance(first.extract(page, None), dict)
        assert first._child is prestarted and not html_worker._prestarted
        assert isinstance(second.extract(page, None), dict)
        assert second._child is not prestarted and second._child.is_alive()
    finally:
        first.close()
        second.close()
    assert not prestarted.is_alive()


def test_page_headings_are_the_h1_texts_in_any_script():
    from transforms.text.html_worker import page_headings

    page = (
        "<html><body><h1 class='x'>Вот <em>заголовок</em> &amp; всё</h1><h1>\n東京で大雪\n</h1><h1> </h1></body></html>"
    )
    assert page_headings(page) == ["Вот заголовок & всё", "東京で大雪"]
    assert page_headings(page.encode()) == ["Вот заголовок & всё", "東京で大雪"]
