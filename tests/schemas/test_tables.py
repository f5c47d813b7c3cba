"""schemas/ is the single source of truth: every column typed, described, and derivable."""

import dataclasses

import pyarrow as pa
import pytest

from schemas import ARTICLES, REJECTS, SEEN, STORIES, TABLES
from schemas.columns import column_specs
from schemas.tables import HIVE_NULL_PARTITION, PROVENANCE, Article

REQUIRED_ARTICLE_COLUMNS = {
    "article_id",
    "url",
    "source_uri",
    "source",
    "title",
    "text",
    "authors",
    "published_at",
    "date_source",
    "language",
    "word_count",
    "content_hash",
    "duplicate_of",
    "story_id",
    "story_label",
    "ingested_at",
    "run_id",
    "description",
    "image_url",
    "section",
    "keywords",
    "text_markdown",
    "language_confidence",
    "fetched_at",
    "warc_record_id",
    "warc_target_uri",
}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_column_has_a_description(table):
    for field in table.arrow_schema:
        assert len(field.metadata[b"description"]) > 10, field.name
    if table.partition:
        assert table.partition.description


def test_articles_has_the_required_columns_and_types():
    schema = ARTICLES.arrow_schema
    assert REQUIRED_ARTICLE_COLUMNS <= set(schema.names)
    assert schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("ingested_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("authors").type == pa.list_(pa.string())
    assert not schema.field("article_id").nullable
    assert schema.field("duplicate_of").nullable


def test_partition_columns_stay_out_of_the_files():
    assert "published_date" not in ARTICLES.arrow_schema.names
    assert "ingested_date" not in REJECTS.arrow_schema.names
    assert STORIES.partition is None


def test_partition_dir_uses_utc_date_and_hive_null():
    import datetime as dt

    base = dict(
        article_id="a",
        source_uri="f",
        text="t",
        word_count=1,
        content_hash="h",
        text_source="plain_text",
        ingested_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        run_id="r",
    )
    late_evening = dt.datetime(2022, 7, 26, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert ARTICLES.partition_dir(Article(**base, published_at=late_evening)) == "published_date=2022-07-27"
    assert ARTICLES.partition_dir(Article(**base, published_at=None)) == f"published_date={HIVE_NULL_PARTITION}"


def test_undeclared_field_is_refused():
    @dataclasses.dataclass
    class Loose:
        x: int

    with pytest.raises(TypeError, match="column"):
        column_specs(Loose)


def test_a_column_without_a_description_is_refused():
    from schemas.columns import column

    @dataclasses.dataclass(frozen=True)
    class Undocumented:
        x: str = column(pa.string(), "")

    @dataclasses.dataclass(frozen=True)
    class Vague:
        x: str = column(pa.string(), "an id")

    for record_type in (Undocumented, Vague):
        with pytest.raises(ValueError, match="needs a description"):
            column_specs(record_type)


@pytest.mark.parametrize("table", [*TABLES, SEEN], ids=lambda t: t.name)
def test_every_table_describes_its_rows(table):
    assert len(table.description) > 20


@pytest.mark.parametrize("table", [ARTICLES, REJECTS], ids=lambda t: t.name)
def test_provenance_columns_are_the_one_shared_list(table):
    fields = {field.name: field for field in table.arrow_schema}
    for spec in PROVENANCE:
        assert fields[spec.name] == spec.arrow_field()
        assert fields[spec.name].metadata == spec.arrow_field().metadata


def test_new_content_columns_have_their_types():
    schema = ARTICLES.arrow_schema
    assert schema.field("keywords").type == pa.list_(pa.string()) and not schema.field("keywords").nullable
    assert schema.field("language_confidence").type == pa.float32()
    for name in ("description", "image_url", "section", "text_markdown"):
        assert schema.field(name).type == pa.string() and schema.field(name).nullable
