"""Streaming dedup (keyed state within a horizon): TestStream on the BundleBasedDirectRunner."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import article
from tests.stream_builders import TIMES, TOPICS, arriving, at, streaming_pipeline, when
from transforms.dedup import rules
from transforms.dedup.batch import mark_same_url
from transforms.dedup.streaming import DedupWithinHorizon


def test_dedup_marks_within_the_horizon_and_forgets_when_the_watermark_passes_it():
    first = article("first", url="https://x.test/a", text=TOPICS["harbour"], published=when(1), source_uri="/feed/one")
    copy = article("copy", url="https://x.test/a", text=TOPICS["harbour"], published=when(50), source_uri="/feed/two")
    twin = article("twin", url="https://y.test/b", text=TOPICS["harbour"], published=when(60), source_uri="/feed/three")
    again = dataclasses.replace(first)  # the same item delivered again
    after = article(
        "after", url="https://x.test/a", text=TOPICS["harbour"], published=when(200), source_uri="/feed/four"
    )
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(1, first))
        .advance_watermark_to(at(40))
        .add_elements(arriving(50, copy))  # another window, same URL: marked
        .add_elements(arriving(60, twin, again))  # same text: marked; the same item: set aside
        .advance_watermark_to(at(190))  # 10:01 + 2 h passed: URL and text forgotten
        .add_elements(arriving(200, after))
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        out = p | stream | DedupWithinHorizon(TIMES.dedup_horizon_seconds)
        assert_that(
            out.articles | beam.Map(lambda a: (a.source_uri, a.article_id, a.duplicate_of, a.duplicate_kind)),
            equal_to(
                [
                    ("/feed/one", first.article_id, None, None),
                    ("/feed/two", rules.same_url_copy_id(first.article_id, copy), first.article_id, "url"),
                    ("/feed/three", twin.article_id, first.article_id, "text"),
                    ("/feed/four", after.article_id, None, None),  # after the horizon: a new original (documented)
                ]
            ),
            label="marked",
        )
        assert_that(
            out.already_ingested | beam.Map(lambda a: a.source_uri), equal_to(["/feed/one"]), label="already_seen"
        )


def test_a_same_url_copy_gets_the_same_id_in_batch_and_streaming():
    original = article("o", url="https://x.test/a", text=TOPICS["court"], published=when(1), source_uri="/feed/one")
    copy = article("c", url="https://x.test/a", text=TOPICS["court"] + " Updated.", source_uri="/feed/two")
    _, (batch_copy,) = mark_same_url([original, copy])
    assert batch_copy == rules.mark_url_copy(copy, original.article_id)
    assert batch_copy.article_id not in (original.article_id, copy.article_id)
