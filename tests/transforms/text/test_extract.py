"""Tests for transforms.text.extract: plain text and HTML extraction, metadata precedence, ids, rejects,
the PTransform."""

from __future__ import annotations

import dataclasses
import datetime as dt

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas import Article, Reject
from tests.conftest import REPO
from tests.world_pages import undated_world_page
from transforms.run.context import RunContext, stable_hash
from transforms.sources.document import SourceDocument
from transforms.text.extract import (
    ExtractArticles,
    extract_article,
    identify_language,
    split_authors,
)

SEEDS = REPO / "seeds"
RUN = RunContext.start(dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC))
UTC = dt.UTC

ENGLISH = (
    "The city council approved a new transport budget on Monday evening after a debate that lasted "
    "more than six hours, and officials said the first new buses would arrive in January."
)
OTHER_ENGLISH = (
    "Heavy rain flooded several streets in the old town overnight, and the fire brigade pumped water "
    "out of dozens of basements while residents moved their cars to higher ground."
)
FRENCH = (
    "Le gouvernement a présenté mardi un projet de loi visant à réformer le système des retraites. "
    "Selon le ministre du Travail, la réforme permettra de garantir l'équilibre financier du régime, "
    "tandis que les syndicats appellent à une journée de grève nationale la semaine prochaine."
)
ARTICLE_PARAGRAPHS = [
    "The city council approved a new transport budget on Monday evening after "
    "a debate that lasted more than six hours in the main chamber.",
    "Under the plan, bus services in the northern districts will run every "
    "ten minutes during the morning and evening peaks from next year.",
    "Council leader Maria Lopez said the investment would cut journey times "
    "for thousands of commuters who currently wait up to half an hour.",
    "Opposition members argued that the money should have gone to repairing "
    "roads, which they described as being in a dangerous state of neglect.",
    "The budget also sets aside funds for two hundred new bicycle parking "
    "spaces near the central railway station and the university campus.",
    "Local business owners welcomed the decision, saying that better buses "
    "would bring more customers into the town centre on quiet weekdays.",
    "A public consultation on the exact routes will open next month and "
    "is expected to run until the end of the summer school holidays.",
    "Transport campaigners said they were cautiously optimistic but would watch "
    "closely to make sure the promised services actually arrive on time.",
    "The first new buses are due to enter service in January, according "
    "to a detailed timetable published alongside the budget documents.",
    "Officials estimate that the changes will remove around four thousand "
    "car journeys from the roads of the city every single working day.",
    "Residents of the eastern suburbs, which are not covered by the first phase, "
    "asked the council to publish a date for their own improvements.",
    "The mayor promised a second phase within two years if passenger numbers "
    "rise as forecast and the national government matches the funding.",
    "Ticket prices will stay frozen until at least the spring, although the council "
    "warned that fares could rise slightly once the new routes open.",
]
NAV_TEXT = "Sport results navigation link"
FOOTER_TEXT = "Copyright Example News Group, all rights reserved, subscribe to our newsletter"


def article_page(published: str = "2024-03-05T10:00:00+02:00") -> bytes:
    """A news page: metadata in <head>, ~300 words in <article>, nav and footer boilerplate around it."""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in ARTICLE_PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Council approves transport budget</title>
<meta name="author" content="Jane Doe; John Smith">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="https://WWW.Example.com/news/council-budget?utm_source=rss#top">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">{NAV_TEXT}</a></li></ul></nav>
<article><h1>Council approves transport budget</h1>
{paragraphs}
</article>
<footer><p>{FOOTER_TEXT}.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>""".encode()


def seed(prefix: str) -> SourceDocument:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return SourceDocument(str(path), "text", path.read_text(encoding="utf-8"))


def text_doc(text: str, uri: str = "/in/doc.txt", **fields) -> SourceDocument:
    return SourceDocument(uri, "text", text, **fields)


def extract(document: SourceDocument, min_words: int = 20) -> Article:
    article = extract_article(document, RUN, min_words)
    assert isinstance(article, Article), article
    return article


def rejected(document: SourceDocument, min_words: int = 20) -> Reject:
    reject = extract_article(document, RUN, min_words)
    assert isinstance(reject, Reject), reject
    return reject


def fn_api_pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


# --- plain text seeds ------------------------------------------------------------


def test_seed_002_date_header_becomes_midnight_utc():
    article = extract(seed("002"))
    assert (article.published_at, article.date_source) == (dt.datetime(2022, 7, 26, tzinfo=UTC), "text_header")
    assert not article.text.startswith("date")


def test_seed_002_metadata():
    article = extract(seed("002"))
    assert article.title is None
    assert article.url is None
    assert article.language == "en"
    assert article.text_source == "plain_text"
    assert article.authors == ()
    assert (article.run_id, article.ingested_at) == (RUN.run_id, RUN.started_at)


def test_seed_002_word_count_and_text_based_id():
    article = extract(seed("002"))
    # Words, not whitespace-separated chunks: a free-standing "—" is not a word.
    assert article.word_count == sum(any(c.isalnum() for c in w) for w in article.text.split()) == 493
    assert article.article_id == stable_hash("text", article.content_hash)
    assert "\n\n" in article.text


def test_seed_004_title_is_its_first_line():
    document = seed("004")
    article = extract(document)
    assert (
        article.title
        == document.body.splitlines()[0]
        == "International Space Station: Russia will leave the ISS after 2024"
    )
    assert not article.text.startswith("International Space Station:")


def test_seed_without_date_header_has_no_date():
    article = extract(seed("000"))
    assert (article.published_at, article.date_source) == (None, None)


# --- records: url, published, ids -----------------------------------------------


def test_record_published_with_offset_is_converted_to_utc():
    article = extract(text_doc(ENGLISH, published="2024-03-05T10:00:00+02:00"))
    assert article.published_at == dt.datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    assert article.date_source == "record"


def test_record_published_wins_over_text_header():
    article = extract(text_doc("date 2022-07-26 " + ENGLISH, published="2024-03-05"))
    assert (article.published_at, article.date_source) == (dt.datetime(2024, 3, 5, tzinfo=UTC), "record")


def test_invalid_record_published_gives_no_date():
    article = extract(text_doc(ENGLISH, published="last Tuesday"))
    assert (article.published_at, article.date_source) == (None, None)


def test_invalid_record_published_falls_back_to_the_text_header():
    article = extract(text_doc("date 2022-07-26 " + ENGLISH, published="last Tuesday"))
    assert (article.published_at, article.date_source) == (dt.datetime(2022, 7, 26, tzinfo=UTC), "text_header")


def test_html_headline_is_the_title_not_the_first_paragraph(html_article):
    assert html_article.title == "Council approves transport budget"
    assert html_article.text.startswith(ARTICLE_PARAGRAPHS[0])


def test_record_url_is_canonicalised():
    url = "https://WWW.Example.COM/news/story?id=7&utm_source=twitter&utm_medium=social#comments"
    article = extract(text_doc(ENGLISH, url=url))
    assert article.url == "https://www.example.com/news/story?id=7"


def test_record_title_and_source_are_carried():
    article = extract(text_doc(ENGLISH, title="Budget passes", source="Example News"))
    assert (article.title, article.source) == ("Budget passes", "Example News")


def test_article_id_comes_from_url():
    url = "https://example.com/news/story?utm_source=rss"
    first = extract(text_doc(ENGLISH, "/in/a.jsonl#line=1", url=url))
    second = extract(text_doc(OTHER_ENGLISH, "/in/b.jsonl#line=9", url=url + "#top"))
    assert first.article_id == second.article_id == stable_hash("url", "https://example.com/news/story")
    assert first.content_hash != second.content_hash


def test_without_url_equal_text_gives_equal_ids():
    first = extract(text_doc(ENGLISH, "/in/a.txt"))
    second = extract(text_doc(ENGLISH, "/in/b.txt"))
    assert (first.article_id, first.content_hash) == (second.article_id, second.content_hash)


def test_without_url_different_text_gives_different_ids():
    assert extract(text_doc(ENGLISH)).article_id != extract(text_doc(OTHER_ENGLISH)).article_id


def test_invalid_record_url_falls_back_to_text_id():
    article = extract(text_doc(ENGLISH, url="ftp://example.com/story"))
    assert article.url is None
    assert article.article_id == stable_hash("text", article.content_hash)


# --- HTML --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html_article() -> Article:
    return extract(SourceDocument("/in/page.html", "html", article_page()))


def test_html_text_keeps_article_paragraphs(html_article):
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in html_article.text


def test_html_text_drops_nav_and_footer(html_article):
    assert NAV_TEXT not in html_article.text
    assert "Copyright" not in html_article.text
    assert "Privacy policy" not in html_article.text


def test_html_metadata_comes_from_the_page(html_article):
    assert html_article.title == "Council approves transport budget"
    assert html_article.authors == ("Jane Doe", "John Smith")
    assert html_article.url == "https://www.example.com/news/council-budget"
    assert html_article.article_id == stable_hash("url", "https://www.example.com/news/council-budget")
    assert html_article.published_at.date() == dt.date(2024, 3, 5)
    assert html_article.date_source == "page_metadata"


def test_html_article_kind_and_counts(html_article):
    assert html_article.text_source == "html"
    assert html_article.language == "en"
    assert html_article.word_count == len(html_article.text.split())
    assert html_article.word_count >= sum(len(p.split()) for p in ARTICLE_PARAGRAPHS)


def test_html_record_metadata_wins_over_page_but_the_canonical_url_wins_over_the_record_url():
    document = SourceDocument(
        "/in/r.jsonl#line=3",
        "html",
        article_page().decode("utf-8"),
        url="https://example.com/other",
        title="Record title",
        published="2024-01-01",
    )
    article = extract(document)
    assert (article.url, article.title) == ("https://www.example.com/news/council-budget", "Record title")
    assert (article.published_at, article.date_source) == (dt.datetime(2024, 1, 1, tzinfo=UTC), "record")
    assert article.feed_published_at == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert article.page_published_at == dt.datetime(2024, 3, 5, 8, tzinfo=UTC)


def test_html_published_time_keeps_time_and_offset():
    article = extract(SourceDocument("/in/page.html", "html", article_page("2024-03-05T01:00:00+02:00")))
    assert article.published_at == dt.datetime(2024, 3, 4, 23, 0, tzinfo=UTC)


def test_html_without_main_text_is_extraction_failed():
    reject = rejected(SourceDocument("/in/empty.html", "html", b"<html><head></head><body></body></html>"))
    assert (reject.stage, reject.reason, reject.source_uri) == ("extract", "extraction_failed", "/in/empty.html")


# --- rejects and language ---------------------------------------------------------


def test_too_little_text_is_rejected():
    reject = rejected(text_doc("Short note about nothing much.", "/in/short.txt"))
    assert (reject.stage, reject.reason, reject.source_uri) == ("extract", "too_little_text", "/in/short.txt")
    assert reject.detail == "5 words after cleaning, fewer than 20"


def test_a_feed_page_with_too_little_text_names_the_entry_and_the_page():
    page = SourceDocument(
        "https://news.example.kr/rss",
        "page",
        b"<html><body><p>\xeb\x8b\xa8\xec\x8b\xa0 \xea\xb8\xb0\xec\x82\xac.</p></body></html>",
        url="https://news.example.kr/a/1",
        title="\ub2e8\uc2e0",
        entry_id="e1",
    )
    reject = rejected(page)
    assert (reject.reason, reject.source_uri) == ("too_little_text", "https://news.example.kr/rss#entry=e1")
    assert (reject.entry_id, reject.entry_title, reject.page_url, reject.entry_link) == (
        "e1",
        "\ub2e8\uc2e0",
        "https://news.example.kr/a/1",
        None,
    )
    assert rejected(text_doc("Short note about nothing much.")).entry_id is None  # not a feed entry


def test_min_words_boundary():
    ten_words = "one two three four five six seven eight nine ten."
    assert extract(text_doc(ten_words), min_words=10).word_count == 10
    assert rejected(text_doc(ten_words), min_words=11).reason == "too_little_text"


def test_extract_reject_id_is_stable_across_runs():
    other_run = RunContext.start(dt.datetime(2030, 1, 1, tzinfo=UTC))
    document = text_doc("Too short.", "/in/short.txt")
    assert extract_article(document, RUN).reject_id == extract_article(document, other_run).reject_id


def test_french_paragraph_is_identified_as_french():
    assert extract(text_doc(FRENCH)).language == "fr"


@pytest.mark.parametrize(("text", "expected"), [(ENGLISH, "en"), (FRENCH, "fr"), ("   \n", None)])
def test_identify_language(text, expected):
    assert identify_language(text) == expected


# --- split_authors, canonical URLs of pages -------------------------------------


def test_articles_told_apart_only_by_a_valueless_parameter_are_not_one_url():
    canonical = "https://WWW.Example.com/news/council-budget?utm_source=rss#top"
    pages = [
        extract(SourceDocument(f"/in/{n}.html", "html", article_page().decode().replace(canonical, f"{url}{n}")))
        for url in ["https://example.com/article.php?"]
        for n in (12345, 12346)
    ]
    assert [a.url for a in pages] == ["https://example.com/article.php?12345", "https://example.com/article.php?12346"]
    assert pages[0].article_id != pages[1].article_id  # the dedup by URL keys on the canonical URL (article_id)


@pytest.mark.parametrize(
    ("byline", "expected"),
    [("Jane Doe; John Smith", ("Jane Doe", "John Smith")), (" Jane Doe ;; ", ("Jane Doe",)), ("", ()), (None, ())],
)
def test_split_authors(byline, expected):
    assert split_authors(byline) == expected


# --- ExtractArticles ----------------------------------------------------------------


def test_extract_articles_routes_articles_and_rejects():
    documents = [
        seed("002"),
        text_doc("Too short to keep.", "/in/short.txt"),
        SourceDocument("/in/empty.html", "html", b"<html><body></body></html>"),
        text_doc(FRENCH, "/in/fr.jsonl#line=1", url="https://example.fr/retraites?utm_source=x"),
    ]
    with fn_api_pipeline() as pipeline:
        outputs = pipeline | beam.Create(documents) | ExtractArticles(RUN)
        assert_that(
            outputs.articles | beam.Map(lambda a: (a.source_uri, a.url, a.language, a.published_at, a.run_id)),
            equal_to(
                [
                    (documents[0].source_uri, None, "en", dt.datetime(2022, 7, 26, tzinfo=UTC), RUN.run_id),
                    ("/in/fr.jsonl#line=1", "https://example.fr/retraites", "fr", None, RUN.run_id),
                ]
            ),
            label="articles",
        )
        assert_that(
            outputs.rejects | beam.Map(lambda r: (r.source_uri, r.stage, r.reason)),
            equal_to(
                [
                    ("/in/short.txt", "extract", "too_little_text"),
                    ("/in/empty.html", "extract", "extraction_failed"),
                ]
            ),
            label="rejects",
        )


def test_extract_articles_passes_min_words():
    ten_words = "one two three four five six seven eight nine ten."
    with fn_api_pipeline() as pipeline:
        outputs = pipeline | beam.Create([text_doc(ten_words)]) | ExtractArticles(RUN, min_words=10)
        assert_that(outputs.articles | beam.Map(lambda a: a.word_count), equal_to([10]), label="articles")
        assert_that(outputs.rejects, equal_to([]), label="rejects")


# --- publication dates: refused with a reason, never a crash or a shifted date ------------


@pytest.mark.parametrize(
    ("published", "problem"),
    [
        ("9999-12-31T23:00:00-05:00", "out_of_range"),  # raised OverflowError and stopped the run
        ("0001-01-01T00:00:00+05:00", "out_of_range"),
        ("9999-01-01", "out_of_range"),  # was stored as year 9999
        ("1850-06-01T12:00:00Z", "out_of_range"),
        ("2024-02-30", "impossible"),  # was dropped without a word
    ],
)
def test_a_refused_record_date_leaves_published_null_and_says_why(published, problem):
    article = extract(SourceDocument("mem://records.jsonl#line=1", "text", ENGLISH, published=published))
    assert (article.published_at, article.date_source, article.published_precision) == (None, None, None)
    assert article.date_problem.startswith(f"record: {problem}: {published!r}")


def test_an_out_of_range_text_header_date_is_refused():
    article = extract(SourceDocument("mem://old.txt", "text", f"date 1850-01-01\n\n{ENGLISH}"))
    assert article.published_at is None
    assert article.date_problem.startswith("text_header: out_of_range: '1850-01-01'")


def test_a_feed_date_refused_by_the_feed_parser_keeps_its_reason():
    document = SourceDocument(
        "mem://feed.xml",
        "entry",
        ENGLISH,
        published=None,
        published_by="feed",
        published_problem="published impossible",
    )
    article = extract(document)
    assert article.published_at is None and article.date_problem == "feed: published impossible"


@pytest.mark.parametrize(
    ("published", "precision"),
    [("2024-01-05", "day"), ("2024-01-05T10:20+01:00", "minute"), ("2024-01-05T10:20:30+01:00", "second")],
)
def test_published_precision_says_what_the_input_gave(published, precision):
    article = extract(SourceDocument("mem://records.jsonl#line=1", "text", ENGLISH, published=published))
    assert (article.published_precision, article.date_source, article.date_problem) == (precision, "record", None)


def test_a_text_header_date_has_day_precision():
    assert extract(seed("002")).published_precision == "day"


# --- titles: only the names the title's giver declares are stripped --------------------------

LINK_BLOG = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Daring Links</title><link>https://links.example.net/</link>
<item><title>Mnml \xe2\x80\x93 A Mac Client for Medium</title><link>https://mnml.app/</link>
<guid>https://links.example.net/1</guid><description>Mnml is a small app.</description></item>
<item><title>Show HN: Tilepieces \xe2\x80\x93 An open source editor for static sites</title>
<link>https://tilepieces.net/docs</link><guid>https://links.example.net/2</guid></item>
<item><title>Phish - Coventry Live (1997)</title><link>https://phish.in/1997-07-01</link>
<guid>https://links.example.net/3</guid></item>
<item><title>\xd0\x9d\xd0\xbe\xd0\xb2\xd1\x8b\xd0\xb9 \xd1\x80\xd0\xb5\xd0\xbb\xd0\xb8\xd0\xb7 | Daring Links</title>
<link>https://habr.example.ru/post</link><guid>https://links.example.net/4</guid></item>
</channel></rss>"""


def _link_blog_titles() -> list[str | None]:
    from transforms.sources.feeds.parsing import parse_feed

    feed = parse_feed(LINK_BLOG, {"content-type": "application/rss+xml"}, "https://links.example.net/feed.xml")
    titles = []
    for entry in feed.entries:
        document = SourceDocument(
            entry.feed_url,
            "entry",
            ENGLISH,
            url=entry.link,
            title=entry.title,
            source=entry.source,
            entry_id=entry.entry_id,
            published_by="feed",
        )
        titles.append(extract(document).title)
    return titles


def test_a_link_blog_entry_title_keeps_the_linked_products_name():
    """The linked host names what the headline is about; only the feed's own name is a site name."""
    assert _link_blog_titles() == [
        "Mnml – A Mac Client for Medium",
        "Show HN: Tilepieces – An open source editor for static sites",
        "Phish - Coventry Live (1997)",
        "Новый релиз",  # the feed's own title is stripped, in any script
    ]


def test_a_page_title_loses_its_own_site_name_and_host():
    html = (
        "<html><head><title>Council approves transport budget | Gazeta Example</title>"
        '<meta property="og:site_name" content="Gazeta Example"></head><body><article>'
        + "".join(f"<p>{p}</p>" for p in ARTICLE_PARAGRAPHS)
        + "</article></body></html>"
    )
    article = extract(SourceDocument("/in/a.html", "html", html, url="https://gazeta.example.com/a"))
    assert article.title == "Council approves transport budget"


@pytest.mark.parametrize("code", ["zh", "ar", "hi", "ru", "th"])
def test_a_copyright_year_is_not_a_publication_day(code):
    page = undated_world_page(code, "© 2023 Example News Group")
    article = extract(SourceDocument(f"/in/{code}.html", "html", page))
    assert article.published_at is None
    assert "only a year in the page text (2023-01-01)" in article.date_problem


def test_a_month_mentioned_in_the_text_is_not_a_publication_day():
    page = undated_world_page("ru", "Example News Group")
    page = page.replace(b"</article>", "<p>Итоги за 07/2023 опубликованы в архиве.</p></article>".encode())
    article = extract(SourceDocument("/in/ru.html", "html", page))
    assert article.published_at is None and "only a month" in article.date_problem


@pytest.mark.parametrize(
    "declaration",
    [
        b'<meta property="article:published_time" content="2024-01-01T09:30:00+00:00">',
        b'<meta name="date" content="2024-03-01">',
    ],
)
def test_a_first_of_the_month_the_page_declares_is_kept(declaration):
    page = undated_world_page("ru", "© 2023 Example News Group").replace(b"</head>", declaration + b"</head>")
    article = extract(SourceDocument("/in/ru.html", "html", page))
    assert article.published_at is not None and article.published_at.day == 1
    assert article.date_problem is None


def feed_page(site_meta: str = "") -> SourceDocument:
    """An aggregator feed's entry whose fetched page may declare its own site name."""
    page = article_page().decode("utf-8").replace("<title>", f"{site_meta}<title>")
    return SourceDocument(
        "https://agg.example.net/feed.xml",
        "page",
        page.encode("utf-8"),
        url="https://www.example.com/news/council-budget",
        title="Council approves transport budget",
        source="Aggregator Daily",
        feed_title="Aggregator Daily",
        entry_id="e1",
        published_by="feed",
    )


def test_a_feed_entry_takes_the_pages_site_name_never_the_feeds_title():
    declared = extract(feed_page('<meta property="og:site_name" content="Example Courier">'))
    assert declared.source == "Example Courier"
    assert extract(feed_page()).source == "example.com"  # no name declared: trafilatura gives the page's host


def test_an_aggregated_items_own_source_is_kept():
    document = dataclasses.replace(feed_page(), source="Example Wire")  # the item's <source>, not the feed's title
    assert extract(document).source == "Example Wire"
