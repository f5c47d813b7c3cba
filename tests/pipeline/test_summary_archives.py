"""The run summary's WARC and sitemap sources: every record and entry accounted for, mismatches named."""

from __future__ import annotations

import pytest

from pipeline.run_record import RunRecord
from pipeline.summary import SITEMAPS, WARC, AccountingError, RunSummary, format_summary, summarise

RECORD = RunRecord.from_json(
    {"run_id": "r2", "started_at": "2024-05-01T00:00:00+00:00", "rows": {"articles": 6, "stories": 3, "rejects": 5}}
)
TOTALS = {
    # WARC: 20 records = 8 documents + 9 not articles + 2 filtered + 1 undecodable page; one slice unreadable
    "warc.records": 20,
    "warc.documents": 8,
    "warc.skipped_request": 6,
    "warc.skipped_metadata": 1,
    "warc.skipped_http_404": 1,
    "warc.skipped_truncated": 1,
    "warc.filtered_site": 2,
    "warc.rejected_invalid_compression": 1,
    "warc.file_rejected_invalid_warc": 1,
    "extract.warc_articles": 7,
    "extract.warc_rejects": 1,
    # sitemaps: 5 entries = 1 already seen + 1 filtered by date + 1 failed page + 2 documents; 1 sitemap failed
    "sitemaps.entries": 5,
    "sitemaps.entries_already_seen": 1,
    "sitemaps.filtered_fetch_date": 1,
    "sitemaps.rejected_http_404": 1,
    "sitemaps.sitemap_rejected_invalid_sitemap": 1,
    "extract.sitemap_articles": 2,
    "extract.sitemap_rejects": 0,
    "extract.articles": 9,
    "extract.rejected_too_little_text": 1,
    # after extraction: 2 dropped by --language, 1 already ingested; 7 + 2 - 2 - 1 = 6 rows
    "filter.articles_language": 2,
    "dedup.already_ingested": 1,
}


def test_every_record_and_entry_is_accounted_for():
    summary = summarise(RECORD, TOTALS, "out/")
    assert summary.reconciled, summary.mismatches
    warc, sitemaps = summary.sources[WARC], summary.sources[SITEMAPS]
    assert (warc.inputs, warc.skipped, warc.filtered, warc.rejects, warc.failed) == (20, 9, 2, 2, 1)
    assert warc.documents == 8 and warc.by_kind["skipped_request"] == 6
    assert (sitemaps.inputs, sitemaps.already_seen, sitemaps.documents, sitemaps.failed) == (5, 1, 2, 1)
    assert summary.filtered == 2 + 1 + 2 and summary.already_ingested == 1 + 1
    text = format_summary(summary)
    assert "WARC records    20 = 7 articles + 2 rejected + 2 filtered + 9 not articles" in text
    assert "request 6" in text and "sitemap entries 5 = 2 articles" in text
    again = RunSummary.from_json(summary.to_json())
    assert again.sources[WARC].by_kind == warc.by_kind and again.filtered == summary.filtered


@pytest.mark.parametrize(
    ("counter", "message"),
    [
        ("warc.skipped_request", "source warc: inputs 20"),
        ("filter.articles_language", "+ filtered"),
        ("warc.file_rejected_invalid_warc", "unreadable WARC slices and failed sitemaps"),
    ],
)
def test_a_lost_record_is_named(counter, message):
    totals = {**TOTALS, counter: TOTALS[counter] - 1}
    with pytest.raises(AccountingError, match="does not reconcile") as caught:
        summarise(RECORD, totals, "out/")
    assert any(message in mismatch for mismatch in caught.value.mismatches), caught.value.mismatches
