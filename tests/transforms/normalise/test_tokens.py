"""The script-aware tokenizer: words where scripts use spaces, characters where they don't."""

from __future__ import annotations

import math

import pytest

from transforms.normalise.tokens import CHARACTERS_PER_WORD, has_unspaced_script, terms, word_count, word_tokens

JAPANESE = "政府は昨日の閣議で、物価高対策を柱とする総合経済対策を決定した。"
CHINESE = "国务院总理在第十四届全国人民代表大会第二次会议上作政府工作报告。"
THAI = "ธนาคารแห่งประเทศไทยคาดว่าเศรษฐกิจจะขยายตัวร้อยละ 2.8 ในปีนี้"


def test_spaced_scripts_split_on_word_characters():
    assert word_tokens("Hello, world! It's 3.5% — OK?") == ["Hello", "world", "It's", "3.5", "OK"]
    assert word_tokens("A since-deleted post, 1,200 times (U.S.)") == [
        "A",
        "since-deleted",
        "post",
        "1,200",
        "times",
        "U.S",
    ]
    assert word_tokens("Привет, мир") == ["Привет", "мир"]
    assert word_tokens("서울시는 3일 발표했다") == ["서울시는", "3일", "발표했다"]


def test_combining_marks_stay_inside_words():
    # ``re``'s \w splits Devanagari at every vowel sign and virama: "हिन्दी" became four pieces.
    assert word_tokens("हिन्दी भाषा में") == ["हिन्दी", "भाषा", "में"]
    assert word_tokens("قالت وكالة ناسا") == ["قالت", "وكالة", "ناسا"]
    assert word_tokens("Ελλάδα και Κύπρος") == ["Ελλάδα", "και", "Κύπρος"]


def test_unspaced_scripts_give_one_token_per_character():
    assert word_tokens("東京都") == ["東", "京", "都"]
    assert word_tokens("コーヒー") == ["コ", "ー", "ヒ", "ー"]
    # A Thai consonant keeps its tone mark and vowel sign: "ว่" is one grapheme.
    assert word_tokens("กว่า") == ["ก", "ว่", "า"]


def test_mixed_script_text_keeps_latin_acronyms_and_numbers_whole():
    assert word_tokens("NASAは2024年に") == ["NASA", "は", "2024", "年", "に"]


def test_word_count_of_spaced_text_is_the_number_of_words():
    assert word_count("The quick brown fox jumps over 13 lazy dogs.") == 9


@pytest.mark.parametrize(
    ("text", "kind"),
    [(JAPANESE, "cjk"), (CHINESE, "cjk"), (THAI.replace(" 2.8 ", ""), "southeast_asian")],
)
def test_word_count_of_unspaced_text_uses_the_documented_characters_per_word(text, kind):
    characters = len(word_tokens(text))
    assert characters > 20
    assert word_count(text) == math.ceil(characters / CHARACTERS_PER_WORD[kind])


def test_space_splitting_undercounts_what_word_count_counts():
    article = " ".join([JAPANESE] * 10)
    assert len(article.split()) == 10
    assert word_count(article) >= 10 * len(JAPANESE) / 2


def test_terms_pair_unspaced_characters_into_bigrams_within_a_run():
    assert terms("新型コロナ") == ["新型", "型コ", "コロ", "ロナ"]
    # Punctuation ends a run: no bigram spans "。".
    assert terms("感染。確認") == ["感染", "確認"]
    assert terms("NASAは2024年に") == ["NASA", "は", "2024", "年に"]


def test_a_single_character_run_is_a_term_of_its_own():
    assert terms("日") == ["日"]
    assert terms("") == []


def test_terms_of_spaced_text_are_its_words_split_at_inner_joiners():
    assert terms("Reuters reported 5 deaths") == word_tokens("Reuters reported 5 deaths")
    assert terms("A since-deleted post, it's 1,200") == ["A", "since", "deleted", "post", "it", "s", "1", "200"]


def test_has_unspaced_script():
    assert has_unspaced_script(CHINESE) and has_unspaced_script(THAI)
    assert not has_unspaced_script("서울시는 3일 발표했다 Привет")


SPACED_SAMPLES = [
    "It's a since-deleted post: 3.5% of 1,200 U.S. voters -- 'quoted' ’tis _under_score_ naïve café",
    "Роскосмос заявил, что выйдет из проекта МКС после 2024-го года.",
    "قالت وكالة الفضاء الروسية إن روسيا ستنسحب من محطة الفضاء الدولية بعد 2024.",
    "रूस ने कहा कि वह 2024 के बाद अंतरराष्ट्रीय अंतरिक्ष स्टेशन छोड़ देगा।",
    "Η Ρωσία θα αποχωρήσει από τον Διεθνή Διαστημικό Σταθμό μετά το 2024.",
    "러시아는 2024년 이후 국제우주정거장에서 탈퇴한다고 밝혔다.",
]


@pytest.mark.parametrize("text", SPACED_SAMPLES)
def test_spaced_text_fast_path_agrees_with_the_mixed_script_scan(text):
    """A spaced text takes a one-regex path; appending one unspaced character forces the general scan."""
    mixed = text + " 中"
    assert terms(mixed) == [*terms(text), "中"]
    assert word_tokens(mixed) == [*word_tokens(text), "中"]
    assert word_count(mixed) == word_count(text) + 1
