-- newsbeam: example DuckDB queries over the pipeline's output.
--
-- OUTPUT is a placeholder for the output folder (out/, s3://bucket/news, ...). Run them all with
--   sed 's#OUTPUT#out#g' examples/queries.sql | duckdb
-- Each query starts with a "-- name:" line; tests/pipeline/analyst/test_queries.py runs every one against the
-- seeds' output. Partition columns (published_date, ingested_date) come from the folder names
-- (hive_partitioning=true); an unknown date reads as NULL.

-- name: articles_per_story_per_day
-- Articles per story per day (duplicates included; originals counted apart), with the story's current label.
SELECT
    a.story_id,
    coalesce(any_value(s.story_label), any_value(a.story_label)) AS story_label,
    a.published_date,
    count(*) AS articles,
    count(*) FILTER (WHERE a.duplicate_of IS NULL) AS originals
FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true) AS a
LEFT JOIN read_parquet('OUTPUT/stories/*.parquet') AS s USING (story_id)
GROUP BY a.story_id, a.published_date
ORDER BY story_label, a.published_date NULLS LAST;

-- name: top_sources_per_story
-- The five sources with most articles in each story (source NULL: seed files without a site name).
WITH per_source AS (
    SELECT story_id, coalesce(source, '(unknown)') AS source, count(*) AS articles
    FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true)
    GROUP BY ALL
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY story_id ORDER BY articles DESC, source) AS rank
    FROM per_source
)
SELECT s.story_label, r.rank, r.source, r.articles
FROM ranked AS r JOIN read_parquet('OUTPUT/stories/*.parquet') AS s USING (story_id)
WHERE r.rank <= 5
ORDER BY s.article_count DESC, s.story_label, r.rank;

-- name: duplicate_rate_per_source
-- Share of each source's articles that are copies of another article (same URL, same text, or near-copy).
SELECT
    coalesce(source, '(unknown)') AS source,
    count(*) AS articles,
    count(duplicate_of) AS duplicates,
    count(*) FILTER (WHERE duplicate_kind = 'near') AS near_duplicates,
    round(count(duplicate_of) / count(*), 3) AS duplicate_rate
FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true)
GROUP BY ALL
ORDER BY duplicate_rate DESC, articles DESC, source;

-- name: articles_missing_a_date
-- Articles with no known publication date (they sit in published_date=__HIVE_DEFAULT_PARTITION__).
SELECT article_id, coalesce(source, '(unknown)') AS source, title, source_uri, text_source, story_id
FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true)
WHERE published_date IS NULL
ORDER BY source_uri;

-- name: missing_date_rate_per_source
-- How often each source comes without a date, and where the dated ones got their date.
SELECT
    coalesce(source, '(unknown)') AS source,
    count(*) AS articles,
    count(*) FILTER (WHERE published_date IS NULL) AS undated,
    round(count(*) FILTER (WHERE published_date IS NULL) / count(*), 3) AS missing_date_rate,
    count(*) FILTER (WHERE date_source IN ('feed', 'record')) AS dated_by_feed_or_record,
    count(*) FILTER (WHERE date_source IN ('page_metadata', 'text_header')) AS dated_from_the_text
FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true)
GROUP BY ALL
ORDER BY missing_date_rate DESC, source;

-- name: stories_overview
-- The stories table: one row per story, largest first.
SELECT story_label, label_source, article_count, first_published, last_published, top_terms[1:5] AS top_terms, story_id
FROM read_parquet('OUTPUT/stories/*.parquet')
ORDER BY article_count DESC, story_label;

-- name: rejects_by_reason
-- Input items that did not become articles, by stage and reason, with one example each.
SELECT stage, reason, count(*) AS rejects, min(ingested_date) AS first_day, max(ingested_date) AS last_day,
       min(source_uri) AS example_source, min(detail) AS example_detail
FROM read_parquet('OUTPUT/rejects/*/*.parquet', hive_partitioning = true, union_by_name = true)
GROUP BY stage, reason
ORDER BY rejects DESC, stage, reason;

-- name: articles_with_current_story_label
-- Each article with its story's current label. articles.story_label is the label the story had when the
-- article was written; a later run can relabel the story, and only the stories table has the new label.
SELECT
    a.published_date,
    coalesce(a.source, '(unknown)') AS source,
    a.title,
    coalesce(s.story_label, a.story_label) AS story_label,
    a.story_label AS label_at_ingestion,
    a.url,
    a.story_id
FROM read_parquet('OUTPUT/articles/*/*.parquet', hive_partitioning = true) AS a
LEFT JOIN read_parquet('OUTPUT/stories/*.parquet') AS s USING (story_id)
ORDER BY a.published_date DESC NULLS LAST, source, a.title;

-- name: feed_health
-- Per feed, over all its polls (feed_polls: one row per poll): the last outcome, failures in a row,
-- new entries, and the articles and rejects its entries gave.
SELECT
    feed_url,
    count(*) AS polls,
    max(polled_at) AS last_polled,
    arg_max(coalesce(error, CASE WHEN not_modified THEN '304 not modified' ELSE CAST(http_status AS VARCHAR) END),
            polled_at) AS last_status,
    arg_max(consecutive_failures, polled_at) AS failures_in_a_row,
    arg_max(next_attempt_at, polled_at) AS next_attempt_at,
    sum(new_entries) AS new_entries,
    sum(articles) AS articles,
    sum(rejects) AS rejects,
    round(avg(latency_seconds), 3) AS mean_latency_seconds
FROM read_parquet('OUTPUT/feed_polls/*/*.parquet', hive_partitioning = true)
GROUP BY feed_url
ORDER BY failures_in_a_row DESC, feed_url;

-- name: failed_feed_entries
-- Feed entries that did not become articles, one row per try (attempt), newest first: what the entry was,
-- the page requested, why it failed, and whether that try was the last (gave_up). union_by_name reads
-- rejects files written before these columns existed (their values read as NULL).
SELECT ingested_at, entry_title, entry_link, page_url, reason, attempt, gave_up, detail
FROM read_parquet('OUTPUT/rejects/*/*.parquet', hive_partitioning = true, union_by_name = true)
WHERE attempt IS NOT NULL
ORDER BY ingested_at DESC, entry_link, attempt DESC;
