"""The seen-items ledger: keys recorded per run, read back, and used to drop what is known."""

import dataclasses

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from schemas import SEEN
from tests.builders import RUN, article
from tests.conftest import fn_api_pipeline
from transforms.dedup.ledger import ENTRY, REJECT, DropKnown, RecordSeenKeys, article_keys, read_seen_keys
from transforms.output.rules import records_to_table
from transforms.run.counters import Counter


def test_article_keys_are_id_hash_and_entry():
    plain = article("a")
    from_feed = dataclasses.replace(article("b"), entry_id="e1")
    assert [(k.kind, k.key) for k in article_keys(plain, "r")] == [
        ("article", plain.article_id),
        ("content", plain.content_hash),
    ]
    assert ("entry", "e1") in [(k.kind, k.key) for k in article_keys(from_feed, "r")]


def test_ledger_file_round_trip(tmp_path):
    rows = [dataclasses.asdict(k) for k in article_keys(article("a"), RUN.run_id)]
    pq.write_table(records_to_table(rows, SEEN.arrow_schema), tmp_path / "seen.parquet")
    assert list(read_seen_keys(str(tmp_path / "seen.parquet"))) == [
        (r["kind"], r["key"], r["article_id"]) for r in rows
    ]
    assert [r["article_id"] for r in rows] == [None, article("a").article_id]  # the content key names its article


def test_a_ledger_file_without_article_ids_still_reads(tmp_path):
    rows = [dataclasses.asdict(k) for k in article_keys(article("a"), RUN.run_id)]
    old = records_to_table(rows, SEEN.arrow_schema).drop_columns(["article_id"])
    pq.write_table(old, tmp_path / "seen.parquet")
    assert [row[2] for row in read_seen_keys(str(tmp_path / "seen.parquet"))] == [None, None]


def test_a_text_copy_records_its_original_under_the_content_key():
    original = article("a")
    copy = dataclasses.replace(
        article("b", text=original.text), duplicate_of=original.article_id, duplicate_kind="text"
    )
    content = [k for k in article_keys(copy, "r") if k.kind == "content"]
    assert [(k.key, k.article_id) for k in content] == [(original.content_hash, original.article_id)]


def test_drop_known_keeps_only_unseen_items_of_that_kind():
    with fn_api_pipeline() as p:
        known = p | "Known" >> beam.Create([(REJECT, "r1"), (ENTRY, "r2")])
        kept = (
            p
            | "Items" >> beam.Create(["r1", "r2", "r3"])
            | DropKnown(known, REJECT, lambda x: x, Counter("t", "dropped"))
        )
        assert_that(kept, equal_to(["r2", "r3"]))


def test_record_seen_keys_covers_written_rejected_and_skipped_items():
    written = article("w")
    skipped = dataclasses.replace(article("s"), entry_id="entry-s")
    reject = RUN.reject("/in/x.txt", "read", "empty_file", "")
    with fn_api_pipeline() as p:
        keys = (
            p | "W" >> beam.Create([written]),
            p | "R" >> beam.Create([reject]),
            p | "S" >> beam.Create([skipped]),
        ) | RecordSeenKeys(RUN)
        assert_that(
            keys | beam.Map(lambda k: (k.kind, k.key)),
            equal_to(
                [
                    ("article", written.article_id),
                    ("content", written.content_hash),
                    ("reject", reject.reject_id),
                    ("entry", "entry-s"),
                ]
            ),
        )
