"""Tests for transforms.normalise.cleaning: each rule with positive and negative cases, then the real seeds."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from tests.conftest import REPO
from transforms.normalise.cleaning import (
    MAX_CAPTION_WORDS,
    PlainTextDocument,
    clean_paragraphs,
    looks_like_headline,
    normalise_for_hash,
    parse_plain_text,
    split_paragraphs,
)
from transforms.normalise.tokens import word_count

SEEDS = REPO / "seeds"

BODY = "The council approved the new budget on Monday after a long debate."
OTHER = "Opposition members said they would challenge the vote in court."


def kept(paragraph: str) -> bool:
    """True when clean_paragraphs keeps this paragraph among real ones."""
    return clean_paragraphs([BODY, paragraph, OTHER]) == [BODY, paragraph, OTHER]


def dropped(paragraph: str) -> bool:
    """True when clean_paragraphs removes exactly this paragraph."""
    return clean_paragraphs([BODY, paragraph, OTHER]) == [BODY, OTHER]


# --- normalise_for_hash -----------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Russia\u2019s decision", "Russia's decision"),
        ("\u201cGood,\u201d he said", '"Good," he said'),
        ("2020\u20132024 \u2014 a plan", "2020-2024 - a plan"),
        ("THE Mayor Said", "the mayor said"),
        ("  lots\tof \n spaces ", "lots of spaces"),
        ("\uff21\uff22\uff23 \ufb01le", "abc file"),  # full-width letters and the fi ligature (NFKC)
        ("a\u00a0b", "a b"),  # no-break space
    ],
)
def test_normalise_for_hash_equates_typographic_variants(left: str, right: str) -> None:
    assert normalise_for_hash(left) == normalise_for_hash(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("The vote passed.", "The vote failed."),
        ("The vote passed.", "The vote passed"),
        ("it's", "its"),
    ],
)
def test_normalise_for_hash_keeps_real_differences(left: str, right: str) -> None:
    assert normalise_for_hash(left) != normalise_for_hash(right)


# --- split_paragraphs -------------------------------------------------------


def test_split_paragraphs_blank_line_and_single_newline_give_same_result() -> None:
    expected = ["First paragraph.", "Second paragraph."]
    assert split_paragraphs("First paragraph.\n\nSecond paragraph.\n") == expected
    assert split_paragraphs("First paragraph.\nSecond paragraph.") == expected
    assert split_paragraphs("First paragraph.\r\n\r\n  \r\nSecond paragraph.") == expected


def test_split_paragraphs_collapses_whitespace_and_skips_empty_lines() -> None:
    assert split_paragraphs("  One \t two   three  \n \n\t\n") == ["One two three"]
    assert split_paragraphs("") == []
    assert split_paragraphs("\n\n   \n") == []


# --- looks_like_headline ----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "International Space Station: Russia will leave the ISS after 2024",
        "Mars rover finds traces of an ancient lake bed",
        "Why the city council voted against the new stadium",
        "iPhone sales slow in China",
    ],
)
def test_looks_like_headline_accepts_headlines(line: str) -> None:
    assert looks_like_headline(line)


@pytest.mark.parametrize(
    "line",
    [
        "Russia will leave the station at the end of 2024, officials announced Tuesday.",
        "Will the rover find water?",
        "Stop the launch!",
        "\u201cWe will leave after 2024.\u201d",
        'He said: "We are done."',
        "Here is what the minister said:",
        "a lower-case line with no capitals",
        " ".join(["Word"] * 21),
        "",
        "   ",
    ],
)
def test_looks_like_headline_rejects_sentences_long_and_lowercase_lines(line: str) -> None:
    assert not looks_like_headline(line)


def test_looks_like_headline_word_limit_is_inclusive() -> None:
    assert looks_like_headline(" ".join(["Word"] * 20))


# --- parse_plain_text: date header ------------------------------------------


def test_date_header_on_its_own_line() -> None:
    doc = parse_plain_text("date 2023-01-15\n\nThe river flooded overnight.\n\nResidents were evacuated.")
    assert doc.published == datetime.date(2023, 1, 15)
    assert doc.paragraphs == ("The river flooded overnight.", "Residents were evacuated.")


def test_date_header_prefixing_first_paragraph_with_leading_whitespace() -> None:
    doc = parse_plain_text("  date 2021-11-03 The river flooded overnight.\nResidents were evacuated.")
    assert doc.published == datetime.date(2021, 11, 3)
    assert doc.paragraphs[0] == "The river flooded overnight."


def test_invalid_date_header_is_kept_as_text() -> None:
    doc = parse_plain_text("date 2022-13-40 The river flooded overnight.\nResidents were evacuated.")
    assert doc.published is None
    assert doc.paragraphs[0] == "date 2022-13-40 The river flooded overnight."


def test_date_header_only_counts_at_start_of_file() -> None:
    doc = parse_plain_text("The river flooded overnight.\ndate 2023-01-15 was the day it began.")
    assert doc.published is None
    assert doc.paragraphs == ("The river flooded overnight.", "date 2023-01-15 was the day it began.")


def test_word_date_without_iso_date_is_not_a_header() -> None:
    doc = parse_plain_text("date night ideas are popular.\nRestaurants agree.")
    assert doc.published is None
    assert doc.paragraphs[0] == "date night ideas are popular."


# --- parse_plain_text: title ------------------------------------------------


def test_headline_first_line_becomes_title_and_leaves_paragraphs() -> None:
    doc = parse_plain_text("Storm closes coastal roads\n\nHeavy rain closed three roads.\n\nCrews are clearing debris.")
    assert doc.title == "Storm closes coastal roads"
    assert doc.paragraphs == ("Heavy rain closed three roads.", "Crews are clearing debris.")


def test_lead_sentence_first_line_is_not_a_title() -> None:
    doc = parse_plain_text("Heavy rain closed three roads.\n\nCrews are clearing debris.")
    assert doc.title is None
    assert doc.paragraphs == ("Heavy rain closed three roads.", "Crews are clearing debris.")


def test_single_line_document_has_no_title() -> None:
    doc = parse_plain_text("Storm closes coastal roads")
    assert doc.title is None
    assert doc.paragraphs == ("Storm closes coastal roads",)


def test_headline_after_date_header_line_is_title() -> None:
    doc = parse_plain_text("date 2020-02-29\nStorm closes coastal roads\nHeavy rain closed three roads.")
    assert (doc.published, doc.title) == (datetime.date(2020, 2, 29), "Storm closes coastal roads")
    assert doc.paragraphs == ("Heavy rain closed three roads.",)


def test_empty_document() -> None:
    assert parse_plain_text("") == PlainTextDocument(title=None, published=None, paragraphs=())


def test_document_is_frozen() -> None:
    doc = parse_plain_text("Heavy rain closed three roads.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.title = "x"  # type: ignore[misc]


# --- clean_paragraphs: duplicates -------------------------------------------


def test_duplicates_with_different_apostrophes_are_dropped_keeping_first() -> None:
    first = "The mayor's office said the plan \u2014 worth $2 million \u2014 was final."
    repeat = "The mayor\u2019s office said the plan - worth $2 million - was final."
    assert clean_paragraphs([first, BODY, repeat, OTHER]) == [first, BODY, OTHER]


def test_duplicate_detection_ignores_case_and_whitespace() -> None:
    assert clean_paragraphs([BODY, "  " + BODY.upper().lower() + " ", BODY.replace(" ", "  ")]) == [BODY]


def test_near_duplicates_are_kept() -> None:
    similar = BODY.replace("Monday", "Tuesday")
    assert clean_paragraphs([BODY, similar]) == [BODY, similar]


# --- clean_paragraphs: photo captions and credit lines ----------------------


@pytest.mark.parametrize(
    "paragraph",
    [
        "Firefighters battle the blaze near the highway on Sunday. AP",
        "The prime minister arrives at the summit in Brussels on March 3, 2023. via REUTERS",
        "Protesters gather outside the parliament building. AFP via Getty Images",
        "Protesters gather outside the parliament building. (Photo: Getty Images)",
        "Protesters gather outside the parliament building (Image credit: Jane Doe)",
        "A rescue dog rests after the search. EPA-EFE",
        "A rescue dog rests after the search. EPA-EFE/YURI KOCHETKOV",
        "A rescue dog rests after the search. Jane Doe/Reuters",
        "A rescue dog rests after the search! Bloomberg via Getty Images",
        "A rescue dog rests after the search. Photograph: Mikhail Ivanov/Sputnik/AFP/Getty Images",
        "Photo by Jane Doe/Reuters",
        "Credit: Jane Doe for The Daily Planet",
        "Image: Shutterstock",
        "AFP via Getty Images",
        "Workers repair the bridge, pictured on Friday",
        "The new hospital wing can be seen above",
        "The crater is seen here from the orbiter",
        "Volunteers in this file photo from 2019",
        "Team members (L-R) Ann Lee, Tom Park and Raj Patel",
    ],
)
def test_photo_captions_and_credit_lines_are_dropped(paragraph: str) -> None:
    assert dropped(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "The minister, pictured last week at the summit, denied the report.",
        "Russia and the United States have worked together on the station, AFP reported.",
        "The ministry declined to comment when asked by Reuters.",
        "Visitors can be seen above the harbour every evening.",
        "The ministry said the hearing would start at 5 p.m. ET",
        "She moved to the U.S. EU officials confirmed this",
        "Shares fell sharply after the report. Investors sold to Bloomberg",
        "Photo booths are popular at weddings, according to a survey.",
        "In this photo essay, our reporter follows a family through the winter.",
        "The AP and Reuters both reported the figure.",
        "New rules for the city centre",
    ],
)
def test_ordinary_paragraphs_are_not_mistaken_for_captions(paragraph: str) -> None:
    assert kept(paragraph)


# --- clean_paragraphs: wire credits and syndication notes -------------------


@pytest.mark.parametrize(
    "paragraph",
    [
        "With Post wires",
        "With wires",
        "With wire services.",
        "\u2014 With files from The Canadian Press",
        "The Associated Press contributed to this report.",
        "Reuters contributed reporting.",
        "Jane Doe and John Roe contributed reporting from Kyiv.",
        "Additional reporting by Ann Lee in Seoul",
        "Reporting by Jane Doe; Editing by John Roe",
        "Writing by Ann Lee Editing by Tom Park",
        "Originally published as Storm closes coastal roads",
        "This story was originally published by The Daily Planet.",
        "This article first appeared on Example News.",
    ],
)
def test_wire_credits_are_dropped(paragraph: str) -> None:
    assert dropped(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "With wires cut, the robot drifted away from the station.",
        "Smith, who contributed reporting to the Times for years, died on Monday.",
        "Reporting by the Guardian revealed the scandal in 2019.",
        "Originally published in 1865, the novel has never been out of print.",
        "Additional reporting by local volunteers, who walked the flooded streets for three days, "
        "helped the council map every damaged home before the insurers arrived on Friday.",
    ],
)
def test_sentences_resembling_wire_credits_are_kept(paragraph: str) -> None:
    assert kept(paragraph)


# --- clean_paragraphs: all-caps cross-headlines -----------------------------


@pytest.mark.parametrize(
    "paragraph",
    [
        "CHINA IS MOSTLY FINISHED WITH CREATING ITS OWN SPACE STATION",
        "READ MORE: FLOODS HIT THE NORTH COAST",
        "WATCH: MAYOR'S 2024 BUDGET SPEECH IN FULL",
    ],
)
def test_all_caps_cross_headlines_are_dropped(paragraph: str) -> None:
    assert dropped(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "NASA and ESA signed the deal with JAXA in the U.S. capital.",
        "BREAKING NEWS",
        "The UN said the WHO and UNICEF would send aid to the DRC.",
        "NATO, EU, UN, OSCE, ASEAN and G7 leaders met.",
        "Russia plans to build its own space station",
    ],
)
def test_acronyms_and_mixed_case_subheadings_are_kept(paragraph: str) -> None:
    assert kept(paragraph)


# --- clean_paragraphs: general behaviour ------------------------------------


def test_clean_paragraphs_keeps_order_and_quotes() -> None:
    paragraphs = [
        "\u201cWe will rebuild,\u201d the mayor said.",
        BODY,
        '"It is a sad day," one resident said.',
        OTHER,
    ]
    assert clean_paragraphs(paragraphs) == paragraphs


def test_clean_paragraphs_is_safe_on_extracted_html_text() -> None:
    extracted = (
        "Heavy rain closed three roads on Monday.\n"
        "Drivers were told to stay home. REUTERS/Jane Doe\n"
        "Crews   are clearing debris.\n"
        "\n"
        "READ MORE ABOUT THE STORM HERE\n"
        "Heavy rain closed three roads on Monday.\n"
        "Reporting by Ann Lee; Editing by Tom Park"
    )
    cleaned = clean_paragraphs(extracted.split("\n"))
    assert cleaned == ["Heavy rain closed three roads on Monday.", "Crews are clearing debris."]
    assert clean_paragraphs(cleaned) == cleaned


# --- real seed documents ----------------------------------------------------


def load_seed(prefix: str) -> PlainTextDocument:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return parse_plain_text(path.read_text(encoding="utf-8"))


ALL_SEEDS = ["000", "001", "002", "003", "004"]

# Real paragraphs per seed, counted by hand; the comment lists what is removed.
EXPECTED_PARAGRAPH_COUNTS = {
    "000": 12,  # 16 lines minus captions "... per hour. AP", "... July 4, 2022. via REUTERS",
    #             "Yuri Borisov (right, ...) ... space station. AP", and "With Post wires"
    "001": 10,  # 12 lines minus "CHINA IS MOSTLY FINISHED ..." and "The Associated Press contributed to this report."
    "002": 19,  # 21 lines minus the repeated "Russia’s decision to withdraw ..." and
    #             "Earth seen from the ISS porthole can be seen above" (date header stripped, line kept)
    "003": 13,  # 13 lines, nothing removed
    "004": 21,  # 23 lines minus the title line and "Originally published as ..."
}


@pytest.mark.parametrize(("prefix", "expected"), EXPECTED_PARAGRAPH_COUNTS.items())
def test_seed_paragraph_counts(prefix: str, expected: int) -> None:
    assert len(load_seed(prefix).paragraphs) == expected


def test_seed_002_date_header_and_duplicate() -> None:
    doc = load_seed("002")
    assert doc.published == datetime.date(2022, 7, 26)
    assert doc.paragraphs[0].startswith("Russia will pull out")
    repeats = [p for p in doc.paragraphs if normalise_for_hash(p).startswith("russia's decision to withdraw")]
    assert len(repeats) == 1
    assert not any("can be seen above" in p for p in doc.paragraphs)


@pytest.mark.parametrize("prefix", ["000", "001", "003", "004"])
def test_seeds_without_date_header_have_no_published(prefix: str) -> None:
    assert load_seed(prefix).published is None


def test_seed_titles() -> None:
    assert load_seed("004").title == "International Space Station: Russia will leave the ISS after 2024"
    assert [load_seed(prefix).title for prefix in ["000", "001", "002", "003"]] == [None] * 4
    assert load_seed("004").paragraphs[0].startswith("Another sign that Russia")


@pytest.mark.parametrize("prefix", ALL_SEEDS)
def test_seeds_have_no_trailing_credits_or_boilerplate(prefix: str) -> None:
    for paragraph in load_seed(prefix).paragraphs:
        assert not paragraph.endswith((" AP", " REUTERS", "via REUTERS")), paragraph
        assert paragraph not in {"With Post wires", "The Associated Press contributed to this report."}
        assert not paragraph.startswith("Originally published as")
        assert not paragraph.startswith("CHINA IS MOSTLY FINISHED")


def test_seed_real_paragraphs_survive() -> None:
    assert "Russia plans to build its own space station" in load_seed("004").paragraphs
    seed_003 = load_seed("003").paragraphs
    assert any(p.endswith("AFP reported.") for p in seed_003)
    assert seed_003[-1].startswith("Phil Larson")
    assert load_seed("000").paragraphs[-1].startswith("NASA, meanwhile, announced")
    assert load_seed("001").paragraphs[-1].startswith("Later that month Russian cosmonaut")


# --- clean_paragraphs: every script, Latin acronyms and numbers inside -------------------

PARAGRAPHS_WITH_LATIN_ACRONYMS = {
    "arabic": "وقالت وكالة NASA إن مهمة ISS ستستمر حتى عام 2030 بتكلفة 4 مليارات دولار",
    "hebrew": "לפי דיווח של NATO ו-EU, כ-1,200 חיילים יוצבו בגבול עד 2025",
    "hindi": "ISRO और NASA ने 2024 में 3 संयुक्त मिशन की घोषणा की, जिसमें GPS उपग्रह शामिल हैं।",
    "chinese": "美国 NASA 与中国 CNSA 在 2024 年签署了 3 项合作协议 WHO 表示欢迎。",
    "japanese": "日本の JAXA と米国の NASA は 2025 年に ISS での共同実験を 3 件行うと発表した。",
    "korean": "삼성전자는 3일 AI 반도체 HBM 생산을 2025년까지 2배로 늘리겠다고 밝혔다 CEO 발표",
    "thai": "ธนาคาร BOT และ IMF คาดว่า GDP ของไทยจะเติบโต 2.8 เปอร์เซ็นต์ ในปี 2024",
    "russian": "По данным МВФ и IMF, ВВП России в 2024 году вырос на 3,6%, сообщает ТАСС со ссылкой на NASA.",
    "greek": "Σύμφωνα με την ΕΛΣΤΑΤ και τον ΟΟΣΑ, το ΑΕΠ αυξήθηκε κατά 2,3% το 2024, ανακοίνωσε η EU.",
}


@pytest.mark.parametrize("script", sorted(PARAGRAPHS_WITH_LATIN_ACRONYMS))
def test_paragraphs_in_every_script_with_latin_acronyms_and_numbers_are_kept(script: str) -> None:
    paragraph = PARAGRAPHS_WITH_LATIN_ACRONYMS[script]
    assert clean_paragraphs([paragraph]) == [paragraph]


def test_issue_example_arabic_paragraph_with_two_acronyms_is_kept() -> None:
    assert clean_paragraphs(["وقالت وكالة NASA إن مهمة ISS ستستمر"]) == ["وقالت وكالة NASA إن مهمة ISS ستستمر"]


@pytest.mark.parametrize(
    "paragraph",
    ["ΕΚΤΑΚΤΟ: ΣΕΙΣΜΟΣ 5,2 ΡΙΧΤΕΡ ΣΤΗΝ ΚΡΗΤΗ", "СРОЧНО: ВЗРЫВ В ЦЕНТРЕ МОСКВЫ 2024", "READ MORE: FIVE THINGS TO KNOW"],
)
def test_all_caps_headlines_of_cased_scripts_are_still_dropped(paragraph: str) -> None:
    assert clean_paragraphs([BODY, paragraph, OTHER]) == [BODY, OTHER]


def test_a_trailing_latin_acronym_after_an_uncased_sentence_is_not_a_credit() -> None:
    paragraph = "وقالت الوكالة إن المهمة ستستمر حتى عام 2030. NASA"
    assert clean_paragraphs([paragraph]) == [paragraph]
    assert clean_paragraphs([BODY, "The mission will go on until 2030. NASA"]) == [BODY]  # cased script: a credit


@pytest.mark.parametrize(
    "line",
    [
        "東京都で新型ウイルスの感染者を確認",
        "国务院发布2024年政府工作报告",
        "مهمة ناسا تستمر حتى 2030",
        "इसरो का नया मिशन",
    ],
)
def test_headlines_in_scripts_without_case_are_recognised(line: str) -> None:
    assert looks_like_headline(line)


@pytest.mark.parametrize(
    "line", ["東京都で新型ウイルスの感染者を確認した。", "مهمة ناسا تستمر حتى 2030؟", "इसरो का नया मिशन।"]
)
def test_sentences_ending_in_other_scripts_full_stops_are_not_headlines(line: str) -> None:
    assert not looks_like_headline(line)


def test_a_chinese_text_file_gets_its_headline_as_title() -> None:
    document = parse_plain_text("国务院发布2024年政府工作报告\n\n新华社北京3月5日电 国务院总理作政府工作报告。")
    assert document.title == "国务院发布2024年政府工作报告"
    assert document.paragraphs == ("新华社北京3月5日电 国务院总理作政府工作报告。",)


# --- rules fire only where their premise holds -------------------------------------------------


def test_repeated_table_rows_and_list_items_are_kept_but_repeated_sentences_are_not() -> None:
    rows = ["Week 1", "Rest day", "Easy jogging 10-20 minutes in zone 2", "Week 2", "Rest day"]
    rows += ["Easy jogging 10-20 minutes in zone 2"]
    assert clean_paragraphs(rows) == rows
    bullets = [
        "- Tuesday. Intense run (60-80 mins):",
        "- Warm up. Easy jogging.",
        "- Tuesday. Intense run (60-80 mins):",
    ]
    assert clean_paragraphs(bullets) == bullets
    quote = "“We will not back down,” the mayor said."
    assert clean_paragraphs([quote, "Other text.", quote]) == [quote, "Other text."]


def test_a_long_paragraph_with_a_caption_cue_is_text() -> None:
    paragraph = (
        "| 1. CORN PLANT Dracaena spp. Low to high light Corn plant is characterized by an upright habit and "
        "strappy foliage in solid green or variegated patterns. It tolerates low light and irregular watering, "
        "which makes it a good office plant. Keep it away from cold drafts and repot every two years. "
        "Water when the top inch of soil is dry, and wipe the leaves now and then so they can breathe. "
        "Pictured: Dracaena fragrans in a ceramic pot |"
    )
    assert word_count(paragraph) > MAX_CAPTION_WORDS
    assert clean_paragraphs([paragraph]) == [paragraph]
    assert clean_paragraphs([BODY, "Pictured: the new ferry at the harbour"]) == [BODY]  # a caption is short


def test_an_all_caps_phrase_after_a_question_is_not_a_trailing_credit() -> None:
    paragraph = "Do you want to work with clients? ACTUARIAL CONSULTING VS. INSURANCE"
    assert clean_paragraphs([paragraph]) == [paragraph]
    assert clean_paragraphs([BODY, "The minister spoke to reporters in Kyiv on Tuesday. REUTERS"]) == [BODY]


def test_a_text_of_one_paragraph_is_never_removed_as_inserted_matter():
    """A snippet or one-line wire item with a caption cue is the article itself (not a caption around one)."""
    snippet = "climate change refugee bid fails file photo resident republic kiribati build seawall block reef"
    assert clean_paragraphs([snippet]) == [snippet]
    assert clean_paragraphs([BODY, snippet, OTHER]) == [BODY, OTHER]  # beside other paragraphs: a caption


# --- a caption is short; a repeat is a layout's double only when it is near its first copy ---------

_LONG_FAQ = (
    "Can I run the dishwasher with a half load? Yes, most models have a half-load or light setting that "
    "uses less water and energy, but a full load is still the most efficient way to wash dishes, so wait "
    "until the racks are full whenever you can and scrape plates instead of rinsing them under the tap "
    "before loading. Photo: Consumer Reports"
)


def test_a_long_paragraph_with_a_credit_glued_to_its_end_keeps_its_text_without_the_credit() -> None:
    assert word_count(_LONG_FAQ) > MAX_CAPTION_WORDS
    assert clean_paragraphs([BODY, _LONG_FAQ, OTHER]) == [
        BODY,
        _LONG_FAQ.removesuffix(" Photo: Consumer Reports"),
        OTHER,
    ]


@pytest.mark.parametrize(
    "paragraph",
    [
        _LONG_FAQ.replace("Photo: Consumer Reports", "AFP via Getty Images"),
        "Москва готовится к зиме: коммунальные службы проверяют отопление в тысячах домов, а жители жалуются на "
        "холодные батареи и задержки с подачей тепла в новых районах, где дома сдали только летом этого года, "
        "и чиновники обещают решить все проблемы до конца месяца, хотя жители уже слышали такие обещания "
        "в прошлом году и не очень им верят, говорят они, и добавляют, что в соседних районах отопление "
        "включили ещё неделю назад, а у них батареи до сих пор едва тёплые по утрам и совсем холодные ночью. "
        "Photo: TASS",
    ],
)
def test_long_paragraphs_ending_in_a_credit_are_text_in_any_script(paragraph: str) -> None:
    assert word_count(paragraph) > MAX_CAPTION_WORDS
    text = paragraph[: paragraph.rindex(".") + 1]
    assert clean_paragraphs([BODY, paragraph, OTHER]) == [BODY, text, OTHER]


def test_a_short_captioned_line_is_still_dropped() -> None:
    assert dropped("Firefighters battle the blaze near the highway on Sunday. Photo: Jane Doe/Reuters")


def test_a_meal_plan_keeps_its_repeated_sentences() -> None:
    plan = [
        "Day 1",
        "Breakfast: porridge with berries and a spoon of honey.",
        "Lunch: lentil soup with wholegrain bread.",
        "Dinner: grilled salmon, rice and steamed broccoli.",
        "Day 2",
        "Breakfast: porridge with berries and a spoon of honey.",
        "Lunch: chicken salad with chickpeas.",
        "Dinner: grilled salmon, rice and steamed broccoli.",
    ]
    assert clean_paragraphs(plan) == plan


def test_an_interview_series_keeps_its_repeated_questions_in_any_script() -> None:
    series = []
    for name, answer in [
        ("Ана", "Я читаю Толстого каждый вечер, это помогает мне думать."),
        ("Борис", "Сейчас я перечитываю Чехова, его рассказы короткие и точные."),
    ]:
        series += [
            name,
            "Какую книгу вы читаете сейчас?",
            answer,
            "Что вы посоветуете молодым авторам?",
            "Писать каждый день.",
        ]
    assert clean_paragraphs(series) == series
    japanese = [
        "質問：今どんな本を読んでいますか？",
        "村上春樹の新作です。",
        "質問：今どんな本を読んでいますか？",
        "夏目漱石です。",
    ]
    japanese[1:1] = ["答えは短いです。"]
    assert clean_paragraphs(japanese) == japanese


def test_a_code_listing_keeps_its_repeated_lines() -> None:
    listing = [
        "type Query {",
        "user(id: ID!): User",
        "}",
        "type Mutation {",
        "createUser(name: String!): User",
        "}",
        "The schema above declares one query and one mutation; each returns a User.",
        "type Subscription {",
        "userCreated: User",
        "}",
        "The schema above declares one query and one mutation; each returns a User.",
    ]
    assert clean_paragraphs(listing) == listing


def test_a_paragraph_doubled_by_the_layout_is_kept_once() -> None:
    caption = "The station seen from a porthole can be seen above"
    assert clean_paragraphs([BODY, OTHER, BODY]) == [BODY, OTHER]
    assert clean_paragraphs([OTHER, BODY, caption, BODY]) == [OTHER, BODY]
    assert clean_paragraphs([BODY, OTHER, "A third line.", BODY]) == [BODY, OTHER, "A third line.", BODY]


def test_a_story_shown_twice_is_kept_once_but_a_refrain_is_not_a_block() -> None:
    story = [BODY, OTHER, "A third paragraph of the story follows here.", "And a fourth one ends it."]
    assert clean_paragraphs([*story, "Related coverage", *story]) == [*story, "Related coverage"]
    refrain = ["Breakfast: porridge with berries.", "Lunch: lentil soup.", "Dinner: grilled fish."]
    week = [*refrain[:2], "Dinner: pasta with tomato sauce.", "Snack: an apple.", "Rest well tonight."]
    week += [refrain[0], "Lunch: chicken salad.", refrain[2]]
    assert clean_paragraphs(week) == week
