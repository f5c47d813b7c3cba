"""Near-duplicates: syndicated copies with small edits are found, different reports are not."""

import datetime as dt
import hashlib

import numpy as np

from tests.conftest import SEEDS
from transforms.dedup.near import (
    _PERM_A,
    _PERM_B,
    NUM_PERM,
    SHINGLE_WORDS,
    NearDuplicateIndex,
    minhash,
    shingle_hashes,
    text_signature,
)
from transforms.normalise.cleaning import normalise_for_hash

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


ARABIC = (
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في المدينة لخدمة آلاف المرضى من القرى المجاورة "
    "وقال الوزير إن المشروع استغرق ثلاث سنوات من العمل المتواصل وكلف ملايين الدولارات من الميزانية العامة "
)
HINDI = (
    "राज्य सरकार ने आज नई जल परियोजना की घोषणा की जिससे हजारों गांवों को पीने का साफ पानी मिलेगा "
    "मुख्यमंत्री ने कहा कि परियोजना का काम अगले महीने शुरू होगा और दो साल में पूरा हो जाएगा "
)


def _exact_jaccard(a: str, b: str) -> float:
    def shingles(text):
        words = normalise_for_hash(text).split()
        return {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def _estimate(a: str, b: str) -> float:
    return float(np.mean(np.frombuffer(text_signature(a), np.uint32) == np.frombuffer(text_signature(b), np.uint32)))


def test_the_signature_estimates_the_jaccard_similarity_of_shingles_in_any_script():
    errors = []
    for base in (ORIGINAL, ARABIC * 6, HINDI * 6, OTHER_OUTLET):
        words = base.split()
        for every in (3, 7, 15, 40):  # replace every n-th word: from very different to nearly equal
            edited = " ".join(f"x{i}" if i % every == 0 else w for i, w in enumerate(words))
            errors.append(abs(_estimate(base, edited) - _exact_jaccard(base, edited)))
    assert max(errors) <= 0.2  # 64 permutations: standard error ≤ 0.0625
    assert sum(errors) / len(errors) <= 0.07


def test_signatures_are_fixed_across_processes_and_versions():
    # Saved indexes hold these values: a change of the hash needs a new format (transforms/stories/saved.py).
    assert (
        hashlib.sha256(text_signature(ORIGINAL)).hexdigest()[:16] == "4d28a607b5496b94"
    )  # format 2: script-aware tokens, MurmurHash3
    assert len(text_signature(ORIGINAL)) == NUM_PERM * 4


def test_a_very_long_text_is_hashed_in_blocks_with_the_same_result():
    long_text = " ".join(f"w{i}" for i in range(10_000))
    words = normalise_for_hash(long_text).split()
    hashes = shingle_hashes(words)
    whole = np.min((hashes[:, None] * np.array(_PERM_A)) + np.array(_PERM_B), axis=0) >> np.uint64(32)
    assert np.array_equal(minhash(hashes), whole.astype(np.uint32))
