"""`python -m pipeline schema` documents every column of every table, straight from schemas/."""

import json

import pyarrow as pa
import pytest

from pipeline.analyst.schema_docs import DOCUMENTED_TABLES, schema_json, schema_markdown, table_doc
from schemas import ARTICLES, FEED_POLLS, SEEN, STORIES, STORY_UPDATES, TABLES
from tests.conftest import run_cli


def test_json_lists_every_column_with_type_nullability_and_description():
    docs = {t["name"]: t for t in json.loads(schema_json())["tables"]}
    assert set(docs) == {t.name for t in (*TABLES, FEED_POLLS, STORY_UPDATES, SEEN)}
    for table in DOCUMENTED_TABLES:
        columns = {c["name"]: c for c in docs[table.name]["columns"] if not c["partition"]}
        assert list(columns) == table.arrow_schema.names
        for field in table.arrow_schema:
            assert columns[field.name]["type"] == str(field.type)
            assert columns[field.name]["nullable"] == field.nullable
            assert columns[field.name]["description"] == field.metadata[b"description"].decode()


def test_partition_column_and_upsert_key_are_documented():
    articles = table_doc(ARTICLES)
    assert articles["partition_column"] == "published_date"
    assert articles["columns"][-1] == {
        "name": "published_date",
        "type": "date32[day]",
        "nullable": True,
        "partition": True,
        "description": ARTICLES.partition.description,
    }
    assert articles["location"] == "OUTPUT/articles/published_date=*/*.parquet"
    assert table_doc(STORIES)["upsert_key"] == "story_id"


def test_markdown_has_a_row_per_column():
    markdown = schema_markdown()
    for table in DOCUMENTED_TABLES:
        assert f"## {table.name}\n" in markdown
        for column in table.columns:
            assert (
                f"| `{column.name}` | `{column.arrow_type}` | {'yes' if column.nullable else 'no'} "
                f"| {column.description.replace('|', chr(92) + '|')} |" in markdown
            )
    assert "| `published_date` (partition) | `date32[day]` | yes |" in markdown
    assert f"| `authors` | `{pa.list_(pa.string())}` | no |" in markdown


@pytest.mark.e2e
def test_cli_prints_markdown_and_json():
    markdown = run_cli("schema").stdout
    assert markdown.startswith("# newsbeam output tables") and "| `story_label` |" in markdown
    assert json.loads(run_cli("schema", "--format", "json").stdout) == json.loads(schema_json())
    assert run_cli("schema", "--format", "xml", check=False).returncode == 2
