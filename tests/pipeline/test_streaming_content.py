"""The streaming graph writes the content columns too: a page's declared metadata, its Markdown and the language
confidence, and a record's own description, read back with DuckDB and pyarrow."""

from __future__ import annotations

import dataclasses

import pyarrow.dataset as ds
from apache_beam.testing import test_stream

from pipeline.streaming import streaming_stages
from schemas import ARTICLES
from tests.stream_builders import arriving, at, document, read_rows, streaming_pipeline, streaming_plan
from tests.world_pages import declared, world_page
from transforms.sources.document import PAGE


def test_streamed_articles_carry_the_content_columns(tmp_path):
    meta = declared("ar")
    page = dataclasses.replace(
        document("harbour", meta["url"], 1, title=None), kind=PAGE, body=world_page("ar"), published=None
    )
    record = dataclasses.replace(
        document("budget", "https://x.test/budget", 2), description="A lead the feed entry gave"
    )
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(2, page))
        .add_elements(arriving(3, record))
        .advance_watermark_to_infinity()
    )
    p = streaming_pipeline()
    streaming_stages(p | stream, streaming_plan(tmp_path))
    p.run().wait_until_finish()

    columns = "url, description, image_url, section, keywords, text_markdown, language, language_confidence"
    rows = {r[3]: r[4:] for r in read_rows(tmp_path, "articles", columns)}
    description, image_url, section, keywords, markdown, language, confidence = rows[meta["url"]]
    assert (description, image_url, section, list(keywords)) == (
        meta["description"],
        meta["image_url"],
        meta["section"],
        list(meta["keywords"]),
    )
    assert f"## {meta['subheading']}" in markdown
    assert language == "ar" and 0.5 < confidence <= 1
    assert rows["https://x.test/budget"][0] == "A lead the feed entry gave"
    assert rows["https://x.test/budget"][4] is None  # text, not HTML: no Markdown
    schema = ds.dataset(tmp_path / "articles", format="parquet", partitioning="hive").schema
    assert all(schema.field(c.name).type == c.arrow_type for c in ARTICLES.columns)
