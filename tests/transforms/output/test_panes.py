"""Windowed Parquet writes (``transforms/output/panes.py``): TestStream on the BundleBasedDirectRunner."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from schemas import ARTICLES
from tests.builders import article
from tests.stream_builders import TIMES, assert_no_temporary_files, at, read_rows, streaming_pipeline, when
from transforms.output.panes import WriteWindowedParquet


def test_windowed_writes_one_file_per_window_partition_and_pane_and_never_overwrite(tmp_path):
    def row(name, minutes_published):
        return dataclasses.replace(
            article(name, url=f"https://x.test/{name}", published=when(minutes_published)),
            story_id="s",
            story_label="S",
        )

    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements([TimestampedValue(row("a", 1), at(1)), TimestampedValue(row("b", 2), at(2))])
        .add_elements(
            [TimestampedValue(row("yesterday", -11 * 60), at(3))]
        )  # window 10:00, the partition of its publication
        .add_elements([TimestampedValue(row("c", 14), at(14))])
        .advance_watermark_to(at(12))  # window 10:00 → pane 0
        .add_elements([TimestampedValue(row("late", 5), at(5))])
        .advance_watermark_to(at(15))  # the late row waits: a late pane comes a window size after pane 0
        .advance_watermark_to(at(45))  # late pane 1 at 10:20; window 10:00 closed for good at 10:40: state cleared
        .add_elements([TimestampedValue(row("after-close", 6), at(6))])  # nothing upstream stopped it
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        written = p | stream | WriteWindowedParquet(ARTICLES, str(tmp_path), TIMES)
        assert_that(
            written | beam.Map(lambda f: (f.window_start[9:13], f.pane, f.rows)),
            equal_to([("1000", 0, 2), ("1000", 0, 1), ("1000", 1, 1), ("1000", 0, 1), ("1010", 0, 1)]),
        )

    assert_no_temporary_files(tmp_path)
    rows = read_rows(tmp_path, "articles", "source_uri")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("2024-02-29", "1000", 0, "/in/yesterday.txt"),
        ("2024-03-01", "1000", 0, "/in/a.txt"),
        ("2024-03-01", "1000", 0, "/in/after-close.txt"),  # pane numbering restarted, in a file of its own
        ("2024-03-01", "1000", 0, "/in/b.txt"),
        ("2024-03-01", "1000", 1, "/in/late.txt"),
        ("2024-03-01", "1010", 0, "/in/c.txt"),
    ]
    pane_files = sorted(
        tmp_path.glob("articles/published_date=2024-03-01/part-20240301T100000Z-20240301T101000Z-0-*.parquet")
    )
    assert [pq.read_table(f).num_rows for f in pane_files] in ([2, 1], [1, 2])
    parquet = pq.ParquetFile(pane_files[0])
    assert parquet.schema_arrow.equals(ARTICLES.arrow_schema) and "published_date" not in parquet.schema_arrow.names
    assert parquet.schema_arrow.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
