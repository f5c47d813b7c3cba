"""One HTML extraction process or several (``--extraction-workers``): the same rows, every item accounted.

Through ``python -m pipeline run`` on the seeds plus HTML pages in several scripts, a copy of one of
them under another URL (a text duplicate) and a page that takes far longer than the extraction
budget (a ``too_slow`` reject with either setting).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SEEDS, run_cli
from tests.e2e.test_languages import CHINESE_QUAKE_A, CHINESE_QUAKE_B, JAPANESE

pytestmark = pytest.mark.e2e

ARABIC = (
    "أعلنت وزارة الصحة يوم الثلاثاء عن افتتاح مستشفى جديد في المدينة يضم ثلاثمئة سرير وقسما للطوارئ يعمل على مدار "
    "الساعة. وقال الوزير إن المستشفى سيخدم أكثر من نصف مليون نسمة في المحافظة وإن العمل فيه سيبدأ الشهر المقبل بعد "
    "اكتمال تدريب الطواقم الطبية والتمريضية على الأجهزة الحديثة التي وصلت الأسبوع الماضي."
)
HINDI = (
    "राज्य सरकार ने मंगलवार को घोषणा की कि शहर में एक नया अस्पताल खोला जाएगा जिसमें तीन सौ बिस्तर और चौबीस घंटे "
    "चलने वाला आपातकालीन विभाग होगा। स्वास्थ्य मंत्री ने कहा कि यह अस्पताल जिले के पांच लाख से अधिक लोगों की सेवा "
    "करेगा और अगले महीने से काम शुरू कर देगा, जब चिकित्सा कर्मचारियों का प्रशिक्षण पूरा हो जाएगा।"
)
RUSSIAN = (
    "Министерство здравоохранения во вторник объявило об открытии в городе новой больницы на триста коек с "
    "круглосуточным отделением неотложной помощи. По словам министра, больница будет обслуживать более полумиллиона "
    "жителей области и начнёт работу в следующем месяце, когда персонал закончит обучение работе с новым оборудованием."
)
THAI = (
    "กระทรวงสาธารณสุขประกาศเมื่อวันอังคารว่าจะเปิดโรงพยาบาลแห่งใหม่ในเมือง ซึ่งมีเตียงผู้ป่วยสามร้อยเตียง "
    "และแผนกฉุกเฉินที่เปิดตลอดยี่สิบสี่ชั่วโมง รัฐมนตรีกล่าวว่าโรงพยาบาลจะให้บริการประชาชนมากกว่าห้าแสนคนในจังหวัด "
    "และจะเริ่มเปิดให้บริการในเดือนหน้า หลังจากเจ้าหน้าที่ได้รับการฝึกอบรมการใช้อุปกรณ์ใหม่เรียบร้อยแล้ว"
)
PAGES = {
    "zh-a": ("四川泸定发生5.8级地震", CHINESE_QUAKE_A),
    "zh-b": ("四川甘孜州泸定县5.8级地震 3人受伤", CHINESE_QUAKE_B),
    "ja": ("総合経済対策を閣議決定", JAPANESE),
    "ar": ("افتتاح مستشفى جديد", ARABIC),
    "hi": ("नया अस्पताल खुलेगा", HINDI),
    "ru": ("В городе откроется новая больница", RUSSIAN),
    "th": ("เปิดโรงพยาบาลแห่งใหม่", THAI),
}
COLUMNS = (
    "article_id, url, source_uri, title, text, language, word_count, content_hash, duplicate_of, duplicate_kind, "
    "story_id, story_label, published_at"
)
BUDGET_S = 2.0


def html_page(slug: str, title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{sentence}</p>" for sentence in text.replace("。", "。\n").splitlines() if sentence)
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="canonical" href="https://news.example.org/{slug}">'
        '<meta property="article:published_time" content="2025-03-05T08:00:00Z"></head>'
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def slow_page() -> str:
    """Cheap to send, slow to extract: tens of thousands of tiny nested blocks (seconds of trafilatura)."""
    cell = "<div><span><a href='#'>x</a></span><p>word word word word</p></div>"
    return "<html><body>" + cell * 50_000 + "</body></html>"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    shutil.copytree(SEEDS, folder / "seeds")
    for slug, (title, text) in PAGES.items():
        (folder / f"{slug}.html").write_text(html_page(slug, title, text), encoding="utf-8")
    copy = html_page("ru", *PAGES["ru"]).replace("news.example.org/ru", "wire.example.net/ru-copy")
    (folder / "ru-copy.html").write_text(copy, encoding="utf-8")
    (folder / "slow.html").write_text(slow_page())
    return folder


def run(inputs: Path, out: Path, workers: int) -> Path:
    run_cli(
        "run",
        "--input",
        str(inputs),
        "--output",
        str(out),
        "--extraction-workers",
        str(workers),
        "--extraction-budget",
        str(BUDGET_S),
    )
    return out


def articles(out: Path) -> list[tuple]:
    query = f"SELECT {COLUMNS} FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) ORDER BY 1, 3"
    return duckdb.sql(query).fetchall()


def rejects(out: Path) -> list[tuple]:
    query = (
        "SELECT source_uri, reason, reject_id, detail FROM "
        f"read_parquet('{out}/rejects/*/*.parquet', hive_partitioning=true) ORDER BY 1"
    )
    return duckdb.sql(query).fetchall()


def test_one_extraction_process_and_three_give_the_same_rows(inputs, tmp_path):
    one = run(inputs, tmp_path / "one", 1)
    three = run(inputs, tmp_path / "three", 3)
    assert articles(one) == articles(three)
    assert [r[:3] for r in rejects(one)] == [r[:3] for r in rejects(three)]  # the detail has the time taken

    rows = articles(one)
    seeds = len(list(SEEDS.glob("*.txt")))
    assert len(rows) == seeds + len(PAGES) + 1  # every page but the slow one is an article
    languages = {row[1].rsplit("/", 1)[-1]: row[5] for row in rows if row[1] and "example" in row[1]}
    assert languages == {"zh-a": "zh", "zh-b": "zh", "ja": "ja", "ar": "ar", "hi": "hi", "ru": "ru", "th": "th"} | {
        "ru-copy": "ru"
    }
    by_url = {row[1]: row for row in rows}
    copy, original = by_url["https://wire.example.net/ru-copy"], by_url["https://news.example.org/ru"]
    marks = {(copy[8], copy[9]), (original[8], original[9])}
    assert marks in ({(None, None), (original[0], "text")}, {(None, None), (copy[0], "text")})  # one kept, one marked

    for out in (one, three):
        [(uri, reason, _, detail)] = [r for r in rejects(out) if r[0].endswith("slow.html")]
        assert reason == "too_slow" and f"more than {BUDGET_S:g} s" in detail
