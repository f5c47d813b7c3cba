"""Exact duplicates are kept and marked; what earlier runs wrote is skipped."""

import dataclasses

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import article, day
from tests.conftest import fn_api_pipeline
from transforms.dedup.batch import MarkDuplicates, mark_same_text, mark_same_url
from transforms.dedup.ledger import ARTICLE, CONTENT, REJECT


def test_same_url_the_earliest_is_original_and_copies_get_their_own_ids():
    later = article("later", url="https://x.test/a", published=day(3), source_uri="/in/1.txt")
    early = article("early", url="https://x.test/a", published=day(1), source_uri="/in/2.txt")
    undated = article("undated", url="https://x.test/a", source_uri="/in/3.txt")
    original, copies = mark_same_url([later, undated, early])
    assert original == early
    assert [(c.duplicate_of, c.duplicate_kind) for c in copies] == [(early.article_id, "url")] * 2
    assert [c.source_uri for c in copies] == ["/in/1.txt", "/in/3.txt"]
    assert len({original.article_id, *(c.article_id for c in copies)}) == 3


def test_same_text_marks_other_originals_and_their_copies_against_the_first():
    text = "The very same wire story printed by several outlets word for word."
    first = article("first", url="https://a.test/1", text=text, published=day(1))
    second = article("second", url="https://b.test/2", text=text, published=day(2))
    second_copy = dataclasses.replace(
        article("copy", url="https://b.test/2", text=text), duplicate_of=second.article_id
    )
    result = mark_same_text([(second, (second_copy,)), (first, ())])
    assert result[0] == first
    assert {(a.duplicate_of, a.duplicate_kind) for a in result[1:]} == {(first.article_id, "text")}
    assert len(result) == 3


def test_mark_duplicates_marks_within_the_run_and_skips_what_the_ledger_knows():
    written = article("old", url="https://x.test/old")
    same_url_as_written = article("again", url="https://x.test/old", text="A new text for an old URL, still known.")
    same_text_as_written = article("mirror", url="https://mirror.test/old", text=written.text)
    fresh = article("fresh", url="https://x.test/new", published=day(1))
    fresh_copy = article("fresh copy", url="https://x.test/new", published=day(2), source_uri="/in/copy.txt")
    text_twin = article("twin", text=fresh.text, source_uri="/in/twin.txt")

    with fn_api_pipeline() as p:
        known = p | "Ledger" >> beam.Create(
            [(ARTICLE, written.article_id), (CONTENT, written.content_hash), (REJECT, "x")]
        )
        out = (
            p
            | beam.Create([same_url_as_written, same_text_as_written, fresh, fresh_copy, text_twin])
            | MarkDuplicates(known)
        )
        assert_that(
            out.articles | beam.Map(lambda a: (a.source_uri, a.duplicate_of)),
            equal_to(
                [
                    ("/in/fresh.txt", None),
                    ("/in/copy.txt", fresh.article_id),
                    ("/in/twin.txt", fresh.article_id),
                ]
            ),
            label="marked",
        )
        assert_that(
            out.already_ingested | beam.Map(lambda a: a.source_uri),
            equal_to(["/in/again.txt", "/in/mirror.txt"]),
            label="skipped",
        )


def test_a_copy_of_an_earlier_runs_article_under_a_new_url_is_a_marked_row():
    written = article("old", url="https://x.test/old")
    syndicated = article("mirror", url="https://mirror.test/old", text=written.text, published=day(2))
    mirror_of_mirror = article("mirror again", url="https://mirror.test/old", text=written.text, published=day(3))
    rerun = article("old again", url="https://x.test/old")  # the same article id: already ingested

    with fn_api_pipeline() as p:
        known = p | "Ledger" >> beam.Create(
            [(ARTICLE, written.article_id, None), (CONTENT, written.content_hash, written.article_id)]
        )
        out = p | beam.Create([syndicated, mirror_of_mirror, rerun]) | MarkDuplicates(known)
        assert_that(
            out.articles | beam.Map(lambda a: (a.source_uri, a.duplicate_of == written.article_id, a.duplicate_kind)),
            equal_to([("/in/mirror.txt", True, "text"), ("/in/mirror again.txt", False, "url")]),
            label="marked",
        )
        assert_that(
            out.already_ingested | beam.Map(lambda a: a.source_uri), equal_to(["/in/old again.txt"]), label="skipped"
        )
