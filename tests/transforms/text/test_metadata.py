"""Titles and bylines cleaned of the site's own name, datelines and "By"."""

from __future__ import annotations

import pytest

from transforms.text.metadata import clean_authors, headline_seen, site_names, strip_site_name


@pytest.mark.parametrize(
    ("title", "names", "expected"),
    [
        ("Ziele, Chancen, Risiken | DW | 28.04.2023", site_names("DW.COM"), "Ziele, Chancen, Risiken"),
        ("Was wissen wir? – DW – 13.06.2023", site_names(urls=["https://www.dw.com/de/a-1"]), "Was wissen wir?"),
        ("Diese Grafiken zeigen, wie es steht - WELT", site_names("DIE WELT"), "Diese Grafiken zeigen, wie es steht"),
        (
            "Samsung soll Smartphones zerstören - Golem.de",
            site_names(urls=["https://www.golem.de/n"]),
            "Samsung soll Smartphones zerstören",
        ),
        ("Army raises spectre - Times of India", site_names("The Times of India"), "Army raises spectre"),
        ("Funding round closes | TechCrunch", site_names("TechCrunch"), "Funding round closes"),
        ("TechCrunch | Funding round closes", site_names("TechCrunch"), "Funding round closes"),
        (
            "南海トラフ、一時調査 巨大地震、基準達せず：中日新聞Web",
            site_names("中日新聞Web"),
            "南海トラフ、一時調査 巨大地震、基準達せず",
        ),
        (
            "競技団体のビジネスモデル完全崩壊へ｜日刊ゲンダイDIGITAL",
            site_names("日刊ゲンダイDigital"),
            "競技団体のビジネスモデル完全崩壊へ",
        ),
        (
            "‘흙수저’ 소년공이 쏘아올린 정치 신화 - 매일경제",
            site_names("매일경제"),
            "‘흙수저’ 소년공이 쏘아올린 정치 신화",
        ),
        ("وزير الخارجية يزور القاهرة | الجزيرة نت", site_names("الجزيرة نت"), "وزير الخارجية يزور القاهرة"),
    ],
)
def test_a_leading_or_trailing_site_name_and_its_date_are_stripped(title, names, expected):
    assert strip_site_name(title, names) == expected


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("TechCrunch", site_names("TechCrunch")),  # never the whole title
        ("Berlin - Feuer in Lichterfelde", site_names("Berliner Morgenpost")),  # "Berlin" is not "Berliner"
        ("Election results – 28.04.2023", site_names("DW")),  # a date alone may be the headline's
        ("Vierschanzentournee | Skisprung-Zoff ums Material", site_names("Tageblatt.lu")),
        ("DW-Reporter berichtet aus Kiew", site_names("DW")),  # no separator: nothing to strip
        ("Post-Vac-Syndrom nach COVID-19-Impfung", site_names("Post")),
    ],
)
def test_titles_without_a_site_name_segment_are_kept(title, names):
    assert strip_site_name(title, names) == title


def test_a_title_made_only_of_site_names_keeps_one():
    assert strip_site_name("TechCrunch | DW", site_names("TechCrunch", "DW")) == "TechCrunch"


def test_site_names_include_hosts_and_skip_empty_values():
    assert site_names("Gazette", None, " ", urls=["https://news.example.org/a", None, "not a url"]) == (
        "Gazette",
        "news.example.org",
    )


def test_authors_lose_by_and_the_site_and_places_while_a_person_remains():
    names = site_names("hessenschau.de", urls=["https://www.hessenschau.de/politik/a.html"])
    assert clean_authors(["By Jane Doe", "Hessenschau De", "Germany", "by Jane Doe"], names) == ("Jane Doe",)
    assert clean_authors(["Von Anna Schmidt", "Paris"], names) == ("Anna Schmidt",)


def test_an_organisation_that_is_the_only_byline_is_kept():
    assert clean_authors(["FOCUS online"], site_names("FOCUS online")) == ("FOCUS online",)
    assert clean_authors([], site_names("FOCUS online")) == ()


@pytest.mark.parametrize(
    ("title", "headings", "expected"),
    [
        ("Budget passes after long debate - National | Example News", ["Budget passes after long debate"], None),
        ("Vláda schválila rozpočet na příští rok – Seznam Zprávy", ["Vláda schválila rozpočet na příští rok"], None),
        ("Anleihen: Renditen steigen weiter | Börsen-Zeitung", ["Anleihen: Renditen steigen weiter"], None),
        ("Politik ｜ 東京で大雪、交通機関に乱れ", ["東京で大雪、交通機関に乱れ"], None),
        ("وزير الخارجية يزور القاهرة - أخبار - الجزيرة نت", ["وزير الخارجية يزور القاهرة"], None),
        ("Mnml – A Mac Client for Medium", ["Mnml – A Mac Client for Medium"], "Mnml – A Mac Client for Medium"),
        (
            "Budget passes after long debate | Example News",
            ["Example News"],
            "Budget passes after long debate | Example News",
        ),
        ("Budget passes after long debate | Example News", [], "Budget passes after long debate | Example News"),
    ],
)
def test_the_headline_seen_is_the_title_part_that_the_page_shows_as_its_heading(title, headings, expected):
    assert headline_seen(title, headings) == (expected or headings[0])
