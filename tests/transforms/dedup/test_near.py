"""Near-duplicates: syndicated copies with small edits are found, different reports are not."""

import datetime as dt

from tests.conftest import SEEDS
from transforms.dedup.near import NearDuplicateIndex, text_signature

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ORIGINAL = (SEEDS / "000_04a131f1f6c22f90.txt").read_text()
SYNDICATED = (
    ORIGINAL.replace("officials announced Tuesday", "officials said on Tuesday").replace(
        "With Post wires", "Reporting by our wire partners"
    )
    + "\nThis article has been updated."
)
OTHER_OUTLET = (SEEDS / "001_56db16ce61149816.txt").read_text()


def test_an_edited_copy_is_found_and_another_outlets_report_is_not():
    index = NearDuplicateIndex()
    index.add("orig", "story-1", text_signature(ORIGINAL), T0)
    hit = index.find(text_signature(SYNDICATED))
    assert (hit.article_id, hit.story_id) == ("orig", "story-1") and hit.similarity >= 0.8
    assert index.find(text_signature(OTHER_OUTLET)) is None


def test_short_texts_have_no_signature():
    assert text_signature("Too short to compare as a near duplicate of anything.") is None


def test_articles_leave_the_index_after_the_window():
    index = NearDuplicateIndex(window=dt.timedelta(days=7))
    index.add("orig", "s", text_signature(ORIGINAL), T0)
    index.expire(T0 + dt.timedelta(days=6))
    assert len(index) == 1
    index.expire(T0 + dt.timedelta(days=8))
    assert len(index) == 0 and index.find(text_signature(SYNDICATED)) is None


def test_state_round_trip_finds_the_same_copies():
    index = NearDuplicateIndex()
    index.add("orig", "s", text_signature(ORIGINAL), T0)
    index.add("other", "s2", text_signature(OTHER_OUTLET), T0)
    restored = NearDuplicateIndex.from_state(index.export_state())
    assert len(restored) == 2
    assert restored.find(text_signature(SYNDICATED)).article_id == "orig"
    assert restored.export_state() == index.export_state()
