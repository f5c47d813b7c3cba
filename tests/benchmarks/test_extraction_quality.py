"""The extraction-quality benchmark scores what it claims: script-aware token F1, exact titles, same day, rejects."""

from __future__ import annotations

import datetime as dt

import pytest

from benchmarks.extraction_quality import Found, Page, Truth, measure, same_day, token_f1

UTC = dt.UTC


def test_token_f1_is_bag_of_words_and_per_character_for_cjk():
    assert token_f1("The cat sat", "the cat sat") == 1.0
    assert token_f1("", "the cat") == 0.0
    assert token_f1("東京都", "東京") == pytest.approx(0.8)  # 2 of 3 characters, 2 of 2: P 2/3, R 1
    assert token_f1("a b", "a c") == pytest.approx(0.5)


def test_same_day_accepts_the_utc_or_the_local_day():
    assert same_day(dt.datetime(2025, 1, 12, 23, 30, tzinfo=UTC), "2025-01-13 08:30:00+09:00")
    assert same_day(dt.datetime(2025, 1, 13, tzinfo=UTC), "2025-01-13 08:30:00+09:00")
    assert not same_day(dt.datetime(2025, 1, 14, tzinfo=UTC), "2025-01-13 08:30:00+09:00")
    assert not same_day(None, "2025-01-13") and not same_day(dt.datetime(2025, 1, 13, tzinfo=UTC), "soon")


def test_a_reject_scores_zero_and_is_counted_per_extractor():
    truth = Truth("本文です", title="見出し", authors=frozenset({"jane doe"}), published="2025-01-13")
    page = Page("jp.html", "jp", b"", truth)
    report = measure(
        [page],
        {
            "pipeline": {"jp.html": Found(reject="too_little_text")},
            "other": {"jp.html": Found("本文です", "見出し", ("Jane Doe",), dt.datetime(2025, 1, 13, tzinfo=UTC))},
        },
    )
    assert report["overall"]["pipeline"]["body_f1"] == 0.0
    assert report["overall"]["pipeline"]["rejects"] == {"too_little_text": 1}
    assert report["unspaced_rejected_for_length"] == {"pipeline": ["jp.html"]}
    other = report["overall"]["other"]
    assert (other["body_f1"], other["title_exact"], other["same_day"], other["authors_match"]) == (1.0, 1.0, 1.0, 1.0)
