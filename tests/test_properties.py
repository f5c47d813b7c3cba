"""Property tests (hypothesis): text cleaning, URL canonicalisation, entry identity, the Parquet round trip.

``max_examples`` is kept modest (the whole file runs in well under 30 s on a busy machine);
``derandomize`` makes failures reproducible in CI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from urllib.parse import parse_qsl, urlsplit

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ARTICLES, REJECTS, Article, Reject
from transforms.normalise.cleaning import clean_paragraphs, is_sentence_like, normalise_for_hash, split_paragraphs
from transforms.normalise.urls import canonical_url
from transforms.output.layout import staging_dir
from transforms.output.tables import StageParquetFiles
from transforms.sources.feeds.parsing import entry_id, parse_feed

PROPERTIES = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
WORDS = st.lists(st.text("abcdefghijklmnopqrstuvwxyzÄéß0123456789", min_size=1, max_size=10), min_size=1, max_size=12)


def cleaned(text: str) -> list[str]:
    return clean_paragraphs(split_paragraphs(text))


# --- text cleaning ----------------------------------------------------------------------------


@PROPERTIES
@given(TEXT)
def test_cleaning_is_idempotent(text):
    once = cleaned(text)
    assert cleaned("\n\n".join(once)) == once


@PROPERTIES
@given(TEXT)
def test_cleaned_text_has_no_control_characters_and_no_empty_or_padded_paragraphs(text):
    for paragraph in cleaned(text):
        assert paragraph and paragraph == paragraph.strip() and "  " not in paragraph
        assert not [ch for ch in paragraph if unicodedata.category(ch) == "Cc"], repr(paragraph)


@PROPERTIES
@given(TEXT)
def test_cleaning_keeps_no_two_sentences_with_the_same_hash_form(text):
    # Short unpunctuated lines (table rows, list items) may repeat; sentences may not.
    keys = [normalise_for_hash(p) for p in cleaned(text) if is_sentence_like(p)]
    assert len(keys) == len(set(keys))


@PROPERTIES
@given(TEXT)
def test_hash_normalisation_is_idempotent(text):
    assert normalise_for_hash(normalise_for_hash(text)) == normalise_for_hash(text)


# --- URL canonicalisation ---------------------------------------------------------------------

HOSTS = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}(\.[A-Za-z][A-Za-z0-9-]{0,8}){1,2}", fullmatch=True)
SEGMENTS = st.lists(st.from_regex(r"[A-Za-z0-9_.~-]{1,8}", fullmatch=True), max_size=4)
PARAMS = st.lists(
    st.tuples(
        st.sampled_from(["id", "page", "q", "utm_source", "utm_medium", "utm_campaign", "fbclid", "gclid"]),
        st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
    ),
    max_size=4,
)


@st.composite
def web_urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "HtTpS"]))
    userinfo = draw(st.sampled_from(["", "user:secret@", "admin@"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/" + "/".join(draw(SEGMENTS))
    query = "&".join(f"{k}={v}" for k, v in draw(PARAMS))
    fragment = draw(st.sampled_from(["", "#top", "#section-2"]))
    return f"{scheme}://{userinfo}{draw(HOSTS)}{port}{path}{'?' + query if query else ''}{fragment}"


@PROPERTIES
@given(web_urls())
def test_canonical_url_is_idempotent_lowercase_and_untracked(url):
    canonical = canonical_url(url)
    assert canonical is not None
    assert canonical_url(canonical) == canonical
    parts = urlsplit(canonical)
    assert parts.scheme in ("http", "https") and parts.scheme == parts.scheme.lower()
    assert parts.hostname == urlsplit(url).hostname.lower() and parts.netloc == parts.netloc.lower()
    assert "@" not in parts.netloc and "secret" not in canonical  # credentials never reach a row
    assert not parts.fragment
    assert not [k for k, _ in parse_qsl(parts.query) if k.startswith("utm_") or k in ("fbclid", "gclid")]
    kept = [
        (k, v) for k, v in parse_qsl(urlsplit(url).query) if not k.startswith("utm_") and k not in ("fbclid", "gclid")
    ]
    assert sorted(parse_qsl(parts.query)) == sorted(kept)


@PROPERTIES
@given(st.sampled_from(["ftp", "file", "gopher", "data", "javascript", "mailto"]), HOSTS)
def test_canonical_url_refuses_other_schemes(scheme, host):
    assert canonical_url(f"{scheme}://{host}/x") is None


# --- entry identity ---------------------------------------------------------------------------

FIELD_TEXT = st.from_regex(r"[A-Za-z0-9 ]{1,30}", fullmatch=True).map(str.strip).filter(bool)


@st.composite
def feed_items(draw) -> list[dict]:
    n = draw(st.integers(1, 5))
    guids = draw(st.lists(st.from_regex(r"[a-z0-9]{4,20}", fullmatch=True), min_size=n, max_size=n, unique=True))
    return [
        {
            "guid": guids[i] if draw(st.booleans()) else None,
            "link": f"https://example.org/a/{guids[i]}",
            "title": draw(FIELD_TEXT),
            "description": draw(FIELD_TEXT),
        }
        for i in range(n)
    ]


def rss_with_order(items: list[dict], order: list[str]) -> bytes:
    body = "".join(
        "<item>" + "".join(f"<{k}>{item[k]}</{k}>" for k in order if item.get(k) is not None) + "</item>"
        for item in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://example.org/</link>{body}</channel></rss>'.encode()


@PROPERTIES
@given(feed_items(), st.permutations(["guid", "link", "title", "description"]))
def test_entry_ids_are_stable_across_field_order_and_distinct_for_distinct_entries(items, order):
    feed_url = "https://example.org/feed.xml"
    standard = parse_feed(rss_with_order(items, ["title", "link", "guid", "description"]), {}, feed_url)
    shuffled = parse_feed(rss_with_order(items, order), {}, feed_url)
    ids = [e.entry_id for e in standard.entries]
    assert ids == [e.entry_id for e in shuffled.entries]
    assert len(ids) == len(items) == len(set(ids))
    for item, got in zip(
        items, ids
    ):  # (feedparser resolves a permalink guid against the feed URL, so only these are direct)
        if item["guid"] is None:
            assert got == entry_id(feed_url, None, item["link"], item["title"], item["description"])


@PROPERTIES
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_entry_id_without_guid_or_link_depends_only_on_title_and_content(feed, title, content):
    assert entry_id(feed, None, None, title, content) == entry_id(feed, "", "  ", title, content)
    assert len(entry_id(feed, None, None, title, content)) == 32


# --- Parquet round trip -----------------------------------------------------------------------

OPTIONAL_TEXT = st.none() | TEXT
TIMES = st.none() | st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2200, 1, 1)).map(
    lambda t: t.replace(microsecond=t.microsecond, tzinfo=dt.UTC)
)
INGESTED = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
ARTICLE_ROWS = st.builds(
    Article,
    article_id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    url=OPTIONAL_TEXT,
    source_uri=TEXT,
    entry_id=OPTIONAL_TEXT,
    source=OPTIONAL_TEXT,
    title=OPTIONAL_TEXT,
    text=TEXT,
    authors=st.lists(TEXT, max_size=3).map(tuple),
    published_at=TIMES,
    date_source=OPTIONAL_TEXT,
    feed_published_at=TIMES,
    page_published_at=TIMES,
    language=OPTIONAL_TEXT,
    word_count=st.integers(0, 2**31 - 1),
    content_hash=TEXT,
    text_source=TEXT,
    duplicate_of=OPTIONAL_TEXT,
    duplicate_kind=OPTIONAL_TEXT,
    story_id=OPTIONAL_TEXT,
    story_label=OPTIONAL_TEXT,
    ingested_at=st.just(INGESTED),
    run_id=st.just("r1"),
)
REJECT_ROWS = st.builds(
    Reject,
    reject_id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    source_uri=TEXT,
    stage=TEXT,
    reason=TEXT,
    detail=TEXT,
    ingested_at=st.just(INGESTED),
    run_id=st.just("r1"),
)


def write_and_read(tmp_path, table, rows) -> list:
    """Rows through the writer's staging DoFn, then read back with pyarrow into the record type."""
    root = str(tmp_path / f"round-{len(list(tmp_path.iterdir()))}")
    writer = StageParquetFiles(table, root, "r1")
    writer.setup()
    writer.start_bundle()
    for row in rows:
        writer.process(row)
    staged = list(writer.finish_bundle())
    read = []
    for value in staged:
        path = f"{staging_dir(root, 'r1')}/{value.value.relative_path}"
        for record in pq.read_table(path).to_pylist():
            read.append(table.record_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}))
    assert sum(v.value.rows for v in staged) == len(rows)
    return read


def _key(row) -> str:
    return row.article_id if isinstance(row, Article) else row.reject_id


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(ARTICLE_ROWS, max_size=6, unique_by=lambda a: a.article_id))
def test_articles_survive_the_parquet_round_trip(tmp_path, rows):
    assert sorted(write_and_read(tmp_path, ARTICLES, rows), key=_key) == sorted(rows, key=_key)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(REJECT_ROWS, max_size=6, unique_by=lambda r: r.reject_id))
def test_rejects_survive_the_parquet_round_trip(tmp_path, rows):
    assert sorted(write_and_read(tmp_path, REJECTS, rows), key=_key) == sorted(rows, key=_key)


def test_article_rows_are_partitioned_by_their_utc_date():
    article = Article(
        article_id="a" * 32,
        url=None,
        source_uri="s",
        entry_id=None,
        source=None,
        title=None,
        text="t",
        published_at=dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        date_source=None,
        feed_published_at=None,
        page_published_at=None,
        language=None,
        word_count=1,
        content_hash="h",
        text_source="plain_text",
        duplicate_of=None,
        duplicate_kind=None,
        story_id=None,
        story_label=None,
        ingested_at=INGESTED,
        run_id="r1",
    )
    assert ARTICLES.partition_dir(article) == "published_date=2024-01-02"
    assert (
        ARTICLES.partition_dir(dataclasses.replace(article, published_at=None))
        == "published_date=__HIVE_DEFAULT_PARTITION__"
    )
