"""The run summary reconciles counters and the run record, per source, and fails loudly when it can't."""

import dataclasses
import json
import re

import pytest

from pipeline.run_record import RunRecord
from pipeline.summary import (
    FEEDS,
    SEED,
    SUMMARY_SUFFIX,
    AccountingError,
    RunSummary,
    SourceFigures,
    command_prefix,
    format_summary,
    record_summary,
    summarise,
)

RECORD = RunRecord.from_json(
    {
        "run_id": "r1",
        "started_at": "2024-05-01T00:00:00+00:00",
        "rows": {"articles": 7, "stories": 2, "rejects": 4},
        "files": [
            {"table": "articles", "root": "out", "relative_path": f"articles/part-{i}.parquet", "rows": 1}
            for i in range(3)
        ],
    }
)


def with_rows(**rows: int) -> RunRecord:
    return dataclasses.replace(RECORD, rows={**RECORD.rows, **rows})


TOTALS = {
    # seed: 6 documents + 1 empty file; 5 articles and 1 too short at extraction
    "read.documents": 6,
    "read.rejected_empty_file": 1,
    "extract.seed_articles": 5,
    "extract.seed_rejects": 1,
    # feeds: 2 polled (1 failed: 1 row), 6 entries: 1 already seen, 1 without text, 4 documents → 3 articles + 1 reject
    "feeds.status_200": 1,
    "feeds.status_http_status": 1,
    "feeds.feed_rejected_http_500": 1,
    "feeds.entries": 6,
    "feeds.entries_already_seen": 1,
    "feeds.rejected_no_text": 1,
    "extract.feed_articles": 3,
    "extract.feed_rejects": 1,
    "extract.articles": 8,
    "extract.rejected_too_little_text": 2,
    # dedup: 1 already ingested, 1 exact duplicate; stories: 1 near duplicate; 1 reject repeated from an earlier run
    "dedup.duplicates": 1,
    "dedup.already_ingested": 1,
    "stories.near_duplicates": 1,
    "dedup.repeated_rejects": 1,
}


def test_inputs_are_originals_duplicates_already_ingested_and_rejects():
    summary = summarise(RECORD, TOTALS, "out/")
    assert summary.reconciled and summary.mismatches == ()
    assert summary.inputs == 13
    assert (summary.articles, summary.originals, summary.duplicates, summary.already_ingested) == (
        7,
        5,
        2,
        2,
    )
    assert summary.rejects == 4 and summary.rejects_written == 4
    assert summary.inputs == summary.originals + summary.duplicates + summary.already_ingested + summary.rejects


def test_per_source_breakdown():
    sources = summarise(RECORD, TOTALS, "out/").sources
    assert sources[SEED] == SourceFigures(
        inputs=7, documents=6, articles_extracted=5, rejects=2, rejects_before_extraction=1, rejects_at_extraction=1
    )
    assert sources[FEEDS].inputs == 6 and sources[FEEDS].documents == 4
    assert (sources[FEEDS].already_seen, sources[FEEDS].rejects, sources[FEEDS].articles_extracted) == (
        1,
        2,
        3,
    )
    assert (sources[FEEDS].feeds_polled, sources[FEEDS].feeds_failed) == (2, 1)


def test_a_lost_seed_document_names_the_source_and_figures():
    lost = {**TOTALS, "extract.seed_articles": 4, "extract.articles": 7}  # one seed document never left extraction
    with pytest.raises(AccountingError) as caught:
        summarise(with_rows(articles=6), lost, "out/")
    message = str(caught.value)
    assert "source seed: inputs 7 != articles extracted 4 + already seen 0 + rejects 2 (= 6)" in message
    assert "source feeds" not in message and caught.value.summary.reconciled is False


def test_a_lost_feed_entry_and_a_missing_row_are_both_reported():
    lost = {**TOTALS, "feeds.entries": 7}
    with pytest.raises(AccountingError) as caught:
        summarise(with_rows(articles=6), lost, "out/")
    assert len(caught.value.mismatches) == 2
    assert caught.value.mismatches[0].startswith(
        "source feeds: inputs 7 != articles extracted 3 + already seen 1 + rejects 2 (= 6)"
    )
    assert caught.value.mismatches[1] == "dedup: articles extracted 8 != article rows written 6 + already ingested 1"


def test_rejects_rows_must_match_item_and_feed_rejects():
    with pytest.raises(
        AccountingError, match=r"rejects table: rows written 3 != item rejects 4 \+ failed feeds 1 - repeated 1 \(= 4\)"
    ):
        summarise(with_rows(rejects=3), TOTALS, "out/")


def test_extraction_counters_must_agree_across_sources():
    with pytest.raises(AccountingError, match="extraction: extract.articles 9 != sum over sources 8"):
        summarise(with_rows(articles=8), {**TOTALS, "extract.articles": 9}, "out/")


def test_empty_run_reconciles():
    assert summarise(RunRecord.from_json({"run_id": "r0"}), {}, "out/").reconciled


def test_record_summary_writes_json_even_when_it_does_not_reconcile(tmp_path):
    summary = record_summary(RECORD, TOTALS, str(tmp_path))
    written = json.loads((tmp_path / "_runs" / f"r1{SUMMARY_SUFFIX}").read_text())
    assert written["reconciled"] is True and RunSummary.from_json(written) == summary
    bad = dataclasses.replace(RECORD, run_id="r2")
    with pytest.raises(AccountingError):
        record_summary(bad, {**TOTALS, "read.documents": 7}, str(tmp_path))
    assert json.loads((tmp_path / "_runs" / f"r2{SUMMARY_SUFFIX}").read_text())["reconciled"] is False
    assert not [p for p in (tmp_path / "_runs").iterdir() if p.name.startswith(".")]


def test_format_names_the_tables_and_a_query_that_reads_current_labels():
    text = format_summary(summarise(RECORD, TOTALS, "out/"))
    assert "out/articles" in text and "out/stories" in text and "out/rejects" in text
    assert f'{command_prefix()} query --output out "SELECT story_label' in text
    assert "reconciled        yes" in text


def test_counters_only_when_verbose_and_one_per_line():
    summary = summarise(RECORD, TOTALS, "out/")
    assert "dedup.duplicates" not in format_summary(summary)
    verbose = format_summary(summary, verbose=True).splitlines()
    assert "    dedup.duplicates = 1" in verbose
    assert max(map(len, verbose)) < 140


def test_reject_wording_says_rows_and_repeats_apart():
    text = format_summary(summarise(RECORD, TOTALS, "out/"))
    line = next(line for line in text.splitlines() if line.lstrip().startswith("rejected items"))
    assert line.split()[2] == "4"
    assert "4 new rows in out/rejects" in line and "1 already there from an earlier run" in line
    assert "1 of the rows for failed or refused feeds" in line


def test_summary_and_record_round_trip_through_json():
    summary = summarise(RECORD, TOTALS, "out/")
    assert RunSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary
    assert RunRecord.from_json(json.loads(json.dumps(RECORD.to_json()))) == RECORD
    assert "kind" in RECORD.to_json() and "removed" not in RECORD.to_json()


def test_the_start_line_counts_each_source_it_will_read():
    from types import SimpleNamespace

    from pipeline.summary import start_line

    warc_only = SimpleNamespace(files=[], warc_files=["a.warc.gz"], sitemaps=[], feeds=[])
    assert start_line("r1", warc_only, "out") == "run r1: 1 WARC file → out"
    mixed = SimpleNamespace(files=["a.txt", "b.jsonl"], warc_files=[], sitemaps=["s1", "s2"], feeds=["f"])
    assert start_line("r2", mixed, "out") == "run r2: 2 seed files, 2 sitemaps, 1 feed due → out"
    nothing = SimpleNamespace(files=[], warc_files=[], sitemaps=[], feeds=[])
    assert start_line("r3", nothing, "out") == "run r3: nothing to read → out"


def test_seed_items_say_how_many_files_they_came_from():
    text = format_summary(dataclasses.replace(summarise(RECORD, TOTALS, "out/"), files_listed=2))
    assert re.search(r"seed items +\d+ from 2 files = ", text)
