"""The run summary reconciles counters and the run record."""
from pipeline.summary import format_summary, summarise

RECORD = {"run_id": "r1", "rows": {"articles": 4, "stories": 2, "rejects": 1}, "files": [{}, {}, {}]}
TOTALS = {
    "read.documents": 6, "read.rejected_empty_file": 1, "extract.articles": 5, "extract.rejected_too_little_text": 1,
    "dedup.duplicates": 1, "dedup.already_ingested": 1, "dedup.repeated_rejects": 1,
}


def test_inputs_are_documents_plus_read_rejects():
    summary = summarise(RECORD, TOTALS, "out/")
    assert summary["inputs"] == 7
    assert summary["rejects"] == 2 and summary["rejects_written"] == 1
    assert (summary["articles"], summary["duplicates"], summary["already_ingested"]) == (4, 1, 1)
    assert summary["inputs"] == summary["articles"] + summary["already_ingested"] + summary["rejects"]


def test_format_names_the_tables_and_a_query():
    text = format_summary(summarise(RECORD, TOTALS, "out/"))
    assert "out/articles" in text and "out/stories" in text and "out/rejects" in text
    assert "read_parquet('out/articles/*/*.parquet', hive_partitioning=true)" in text
    assert "dedup.duplicates=1" in text
