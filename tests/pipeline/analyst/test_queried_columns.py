"""Every column an analyst command reads exists in ``schemas/``: each query is bound by DuckDB against
views typed from the schemas (an output with no files), and each column list the report reads
is checked against the table's schema. A renamed column fails here, not as a warning in front
of a user."""

from __future__ import annotations

import pytest

from pipeline.analyst import feed_health, story_explorer
from pipeline.analyst.query import connect
from pipeline.analyst.report import data as report
from schemas import TABLES
from schemas.tables import ARTICLES, FEED_POLLS, REJECTS, STORIES


@pytest.fixture
def schema_views(tmp_path):
    """A DuckDB connection whose views are the schemas' tables, empty."""
    return connect(str(tmp_path))


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (feed_health.FAILING_SINCE_SQL, []),
        (story_explorer.STORY_SQL, ["s", "s", "s"]),
        (story_explorer.STORY_ARTICLES_SQL, ["s"]),
    ],
    ids=["feeds: failing since", "stories: one story", "stories: its articles"],
)
def test_every_analyst_query_binds_against_the_schemas(schema_views, sql, params):
    assert schema_views.execute(sql, params).fetchall() == []


def test_the_story_list_binds_against_the_schemas(schema_views):
    assert story_explorer.list_stories(schema_views, search="moon")[1] == []


def test_a_query_naming_a_column_the_schemas_lack_fails_here(schema_views):
    with pytest.raises(Exception, match="status"):  # the check itself can fail
        schema_views.execute(feed_health.FAILING_SINCE_SQL.replace("http_status", "status")).fetchall()


@pytest.mark.parametrize(
    ("spec", "columns"),
    [
        (ARTICLES, report.ARTICLE_COLUMNS),
        (STORIES, report.STORY_COLUMNS),
        (REJECTS, report.REJECT_COLUMNS),
        (FEED_POLLS, report.POLL_COLUMNS),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_every_column_the_report_reads_is_in_its_table(spec, columns):
    declared = {c.name for c in spec.columns} | ({spec.partition.name} if spec.partition else set())
    assert set(columns) <= declared, set(columns) - declared
    assert spec in TABLES
