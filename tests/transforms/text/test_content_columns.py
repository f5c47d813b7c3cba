"""The content columns extraction fills from what a page declares: description, image_url, section, keywords,
text_markdown and language_confidence, in the world's scripts and on real pages."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from schemas import Article
from tests.world_pages import WORLD, declared, world_page
from transforms.run.context import RunContext
from transforms.sources.document import SourceDocument
from transforms.text.extract import extract_article, language_of
from transforms.text.metadata import declared_image, declared_keywords, declared_text

RUN = RunContext.start(dt.datetime(2024, 3, 6, 12, 0, tzinfo=dt.UTC))
FUNDUS_MULTILINGUAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "extraction"
FUNDUS_MULTILINGUAL = FUNDUS_MULTILINGUAL / "fundus-multilingual"


def extract(document: SourceDocument) -> Article:
    article = extract_article(document, RUN)
    assert isinstance(article, Article), article
    return article


def page(code: str, **fields) -> SourceDocument:
    return SourceDocument(f"/in/{code}.html", "html", world_page(code), **fields)


@pytest.mark.parametrize("code", sorted(WORLD))
def test_what_the_page_declares_reaches_the_article(code):
    article = extract(page(code))
    meta = declared(code)
    assert article.description == meta["description"]
    assert article.image_url == meta["image_url"]  # relative og:image made absolute against the page
    assert article.section == meta["section"]
    assert article.keywords == meta["keywords"]
    assert article.language == code
    assert 0.5 < article.language_confidence <= 1.0


@pytest.mark.parametrize("code", sorted(WORLD))
def test_markdown_keeps_the_structure_of_the_page(code):
    meta = declared(code)
    article = extract(page(code))
    assert f"## {meta['subheading']}" in article.text_markdown
    assert f"- {WORLD[code][1][2]}" in article.text_markdown
    assert WORLD[code][1][0] in article.text_markdown
    assert "Copyright Example News" not in article.text_markdown  # the same extraction as the text


def test_a_record_s_own_fields_win_over_the_page():
    document = page("ru", description="Из записи", image_url="https://cdn.example.org/r.jpg", section="Город")
    article = extract(document)
    assert (article.description, article.image_url, article.section) == (
        "Из записи",
        "https://cdn.example.org/r.jpg",
        "Город",
    )
    assert article.keywords == declared("ru")["keywords"]  # not given by the record: the page's


def test_plain_text_has_no_markdown_or_page_fields_but_a_language_confidence():
    article = extract(SourceDocument("/in/th.txt", "text", "\n\n".join(WORLD["th"][1])))
    assert article.text_markdown is None
    assert (article.description, article.image_url, article.section, article.keywords) == (None, None, None, ())
    assert article.language == "th" and article.language_confidence > 0.5


def test_a_page_that_declares_nothing_leaves_the_columns_empty():
    body = world_page("ar").decode()
    for line in ('<meta name="description"', '<meta property="og:image"', '<meta property="article:section"'):
        body = "\n".join(row for row in body.splitlines() if not row.startswith(line))
    body = "\n".join(row for row in body.splitlines() if not row.startswith('<meta name="keywords"'))
    article = extract(SourceDocument("/in/ar.html", "html", body.encode()))
    assert (article.description, article.image_url, article.section, article.keywords) == (None, None, None, ())


def test_language_confidence_is_lower_for_mixed_text():
    russian = "\n\n".join(WORLD["ru"][1])
    mixed = " ".join(WORLD["ru"][1][0].split()[:6] + WORLD["hi"][1][0].split()[:6] + WORLD["ar"][1][0].split()[:6])
    assert language_of(russian)[1] > language_of(mixed)[1]
    assert language_of("   ") == (None, None)


@pytest.mark.parametrize(
    ("image", "page_url", "expected"),
    [
        ("/img/a.jpg", "https://example.org/news/1", "https://example.org/img/a.jpg"),
        ("//cdn.example.org/a.jpg", "https://example.org/news/1", "https://cdn.example.org/a.jpg"),
        ("https://user:secret@cdn.example.org/a.jpg", None, "https://cdn.example.org/a.jpg"),
        ("data:image/png;base64,AAAA", "https://example.org/", None),
        ("img/a.jpg", None, None),
        ("   ", "https://example.org/", None),
        (None, "https://example.org/", None),
    ],
)
def test_declared_image(image, page_url, expected):
    assert declared_image(image, page_url) == expected


def test_declared_keywords_split_comma_lists_and_keep_each_once():
    assert declared_keywords(["Politik, Wahlen", "wahlen", "  Берлин  ", ""]) == ("Politik", "Wahlen", "Берлин")
    assert declared_keywords(None) == ()
    assert declared_text("  lead \n text ") == "lead text" and declared_text(3) is None


@pytest.mark.skipif(not FUNDUS_MULTILINGUAL.is_dir(), reason="development data not present")
def test_real_pages_in_many_languages_give_clean_content_columns():
    truth = json.loads((FUNDUS_MULTILINGUAL / "ground_truth.json").read_text(encoding="utf-8"))
    articles = []
    for path in sorted((FUNDUS_MULTILINGUAL / "html").glob("*.html.gz")):
        url = truth.get(path.name.removesuffix(".gz"), {}).get("url")
        result = extract_article(SourceDocument(str(path), "html", gzip.decompress(path.read_bytes()), url=url), RUN)
        if isinstance(result, Article):
            articles.append(result)
    assert len(articles) >= 60
    described = [a for a in articles if a.description]
    assert len(described) >= 0.8 * len(articles)
    assert all(a.description == " ".join(a.description.split()) for a in described)
    images = [a.image_url for a in articles if a.image_url]
    assert len(images) >= 0.8 * len(articles)
    assert all(image.startswith(("http://", "https://")) for image in images)
    assert all(all(k and k == k.strip() and "," not in k for k in a.keywords) for a in articles)
    assert all(a.language_confidence is not None and 0 < a.language_confidence <= 1 for a in articles)
