"""Refs travel through dedup and clustering; verdicts join back to the bodies without a group-by."""

import pickle

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import article, day
from tests.conftest import fn_api_pipeline
from transforms.dedup.batch import MarkDuplicates
from transforms.dedup.ledger import ARTICLE
from transforms.stories.article_refs import (
    ArticleVerdict,
    JoinVerdicts,
    ParkArticles,
    apply_verdict,
    key_article,
    read_parked,
    write_parked,
)
from transforms.stories.batch import story_ref
from transforms.stories.rules import story_features

BODY = "Флот вернулся в порт после учений в Баренцевом море, сообщили в штабе. " * 40


def test_a_ref_carries_no_text_and_is_much_smaller_than_its_article():
    big = article("big", url="https://x.test/big", text=BODY, title="Флот вернулся", language="ru")
    ref = story_ref(key_article(big))
    assert not hasattr(ref, "text")
    assert (ref.article_id, ref.content_hash, ref.title) == (big.article_id, big.content_hash, big.title)
    assert ref.vector is not None and ref.signature is not None
    assert len(pickle.dumps(ref)) < len(pickle.dumps(big)) / 2
    assert ref.vector.unpack() == story_features(big)[0]


def test_identical_inputs_get_distinct_ref_keys():
    same = article("same")
    assert key_article(same)[0] != key_article(same)[0]


def test_apply_verdict_sets_the_decided_fields_and_drops_already_ingested_articles():
    body = article("body", url="https://x.test/a")
    verdict = ArticleVerdict("new-id", body.article_id, "url", "s1", "Label")
    (tagged,) = apply_verdict(("k", body), {"k": verdict})
    assert (tagged.article_id, tagged.duplicate_of, tagged.duplicate_kind, tagged.story_id, tagged.story_label) == (
        "new-id",
        body.article_id,
        "url",
        "s1",
        "Label",
    )
    assert tagged.text == body.text
    assert list(apply_verdict(("k", body), {"k": None})) == []


def test_an_article_without_a_verdict_is_a_bug_not_a_silent_loss():
    with pytest.raises(RuntimeError, match="got no verdict"):
        list(apply_verdict(("k", article("lost")), {}))


def test_parked_articles_read_back_in_order_and_compressed(tmp_path):
    parked = [key_article(article(f"a{i}", text=BODY, title="Флот", language="ru")) for i in range(3)]
    path = tmp_path / "bundle.parked"
    with path.open("wb") as file:
        for element in parked:
            write_parked(file, element)
    assert list(read_parked(str(path))) == parked
    assert path.stat().st_size < 3 * len(BODY.encode()) / 3  # bodies wait compressed


def test_a_truncated_parked_file_is_an_error_not_fewer_articles(tmp_path):
    path = tmp_path / "bundle.parked"
    with path.open("wb") as file:
        write_parked(file, key_article(article("a", text=BODY)))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="truncated"):
        list(read_parked(str(path)))


def test_duplicates_and_known_articles_come_back_marked_or_skipped_through_refs(tmp_path):
    written = article("old", url="https://x.test/old")
    again = article("again", url="https://x.test/old", text="Ein neuer Text unter einer alten Adresse, schon bekannt.")
    first = article("first", url="https://x.test/new", published=day(1))
    copy = article("copy", url="https://x.test/new", published=day(2), source_uri="/in/copy.txt")
    twin = article("twin", text=first.text, source_uri="/in/twin.txt")
    with fn_api_pipeline() as p:
        parked = p | beam.Create([again, first, copy, twin, twin]) | ParkArticles(str(tmp_path), story_ref)
        known = p | "Ledger" >> beam.Create([(ARTICLE, written.article_id)])
        deduped = parked.refs | MarkDuplicates(known)
        verdicts = deduped.articles | beam.Map(
            lambda r: (r.ref, ArticleVerdict(r.article_id, r.duplicate_of, r.duplicate_kind, "s", None))
        )
        out = parked.files | JoinVerdicts(verdicts, deduped.already_ingested)
        assert_that(
            out | beam.Map(lambda a: (a.source_uri, a.duplicate_of, a.text)),
            equal_to(
                [
                    ("/in/first.txt", None, first.text),
                    ("/in/copy.txt", first.article_id, copy.text),
                    ("/in/twin.txt", first.article_id, first.text),
                    ("/in/twin.txt", first.article_id, first.text),
                ]
            ),
        )
