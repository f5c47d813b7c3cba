"""End to end: articles in unspaced scripts through ``python -m pipeline run`` (CLI subprocess, Parquet read back).

Chinese and Japanese articles were rejected as ``too_little_text`` because words were counted by
spaces; story vectors and near-duplicate shingles were built from the same split.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli
from transforms.normalise.tokens import CHARACTERS_PER_WORD, word_tokens

# Two reports of one event (different outlets, different wording), an unrelated report, in Chinese.
CHINESE_QUAKE_A = (
    "新华社成都3月5日电 记者从四川省地震局获悉，5日凌晨2时14分，"
    "四川省甘孜藏族自治州泸定县发生5.8级地震，震源深度12公里。"
    "地震发生后，四川省启动地震应急三级响应，省消防救援总队派出120名救援人员赶赴泸定县开展搜救工作。"
    "据泸定县应急管理局初步统计，地震造成3人受伤，部分老旧房屋出现裂缝，暂无人员死亡报告。"
    "成都、雅安等地震感明显，不少市民在睡梦中被惊醒。中国地震台网中心专家表示，此次地震属于鲜水河断裂带活动，"
    "后续发生更大地震的可能性较小，但仍需防范余震。"
)
CHINESE_QUAKE_B = (
    "中新网3月5日电 据中国地震台网正式测定，3月5日2时14分在四川甘孜州泸定县发生5.8级地震，震源深度12千米。"
    "泸定县应急管理局表示，地震已造成3人受伤，伤者已被送往医院救治，部分农房墙体开裂。"
    "四川省消防救援总队第一时间调派救援力量前往震中，省应急管理厅启动三级应急响应。"
    "雅安、成都等地居民反映震感强烈。地震专家分析认为，本次地震与鲜水河断裂带活动有关，需警惕余震。"
)
CHINESE_UNRELATED = (
    "人民网北京3月5日电 国家统计局今天发布数据显示，今年前两个月全国社会消费品零售总额同比增长5.5%，"
    "其中餐饮收入增长最快。统计局新闻发言人表示，随着促消费政策持续发力，居民消费意愿明显回升，"
    "汽车、家电等大宗商品销售稳步增长，网上零售额保持较快增速，消费市场总体呈现回暖态势。"
    "专家预计，今年消费对经济增长的贡献率将进一步提高，服务消费将成为新的增长点。"
)
JAPANESE = (
    "政府は5日の閣議で、物価高対策を柱とする総合経済対策を決定した。財政支出は約21兆円で、"
    "電気・ガス料金の負担軽減策を来年春まで延長するほか、低所得世帯への給付金を盛り込んだ。"
    "首相は記者団に対し「国民生活を守るため、あらゆる手段を講じる」と述べた。"
    "経済対策の裏付けとなる補正予算案は今月下旬に国会へ提出される見通しで、与党は年内の成立を目指す。"
    "一方、野党からは「選挙目当てのばらまきだ」との批判も出ており、財源の確保が今後の焦点となる。"
    "民間の試算では、対策による実質国内総生産の押し上げ効果は1.2%程度とされる。"
)
JAPANESE_SYNDICATED = JAPANESE.replace("と述べた。", "と強調した。") + "（共同）"


def records() -> list[dict]:
    return [
        {
            "url": "https://xinhua.example.cn/quake",
            "title": "四川泸定发生5.8级地震",
            "text": CHINESE_QUAKE_A,
            "published": "2025-03-05T03:00:00+08:00",
        },
        {
            "url": "https://chinanews.example.cn/quake",
            "title": "四川甘孜州泸定县5.8级地震 3人受伤",
            "text": CHINESE_QUAKE_B,
            "published": "2025-03-05T04:10:00+08:00",
        },
        {
            "url": "https://people.example.cn/retail",
            "title": "前两个月社会消费品零售总额增长5.5%",
            "text": CHINESE_UNRELATED,
            "published": "2025-03-05T10:00:00+08:00",
        },
        {
            "url": "https://nikkei.example.jp/policy",
            "title": "総合経済対策を閣議決定",
            "text": JAPANESE,
            "published": "2025-03-05T12:00:00+09:00",
        },
        {
            "url": "https://kyodo-partner.example.jp/policy",
            "title": "総合経済対策を閣議決定",
            "text": JAPANESE_SYNDICATED,
            "published": "2025-03-05T13:00:00+09:00",
        },
    ]


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cjk")
    (folder / "in").mkdir()
    lines = "\n".join(json.dumps(record, ensure_ascii=False) for record in records())
    (folder / "in" / "articles.jsonl").write_text(lines + "\n", encoding="utf-8")
    run_cli("run", "--input", str(folder / "in"), "--output", str(folder / "out"), "--catalog", "")
    return folder / "out"


def rows(output: Path) -> dict[str, dict]:
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{output}/articles/*/*.parquet', hive_partitioning=true)")
    return {row["url"]: row for row in (dict(zip(relation.columns, values)) for values in relation.fetchall())}


def test_chinese_and_japanese_articles_are_not_rejected_and_have_sensible_word_counts(output):
    articles = rows(output)
    assert len(articles) == 5
    rejects = duckdb.sql(f"SELECT count(*) FROM read_parquet('{output}/rejects/*/*.parquet')").fetchall()
    assert rejects == [(0,)]  # the rejects table exists (a zero-row file) and holds no row
    for record in records():
        row = articles[record["url"]]
        characters = len(word_tokens(record["text"]))
        # Counted as a segmenter would: about 1.7 characters per word, never the 1-5 "words" a space split gives.
        assert characters / 2.5 < row["word_count"] <= characters / CHARACTERS_PER_WORD["cjk"] + 5
        assert row["word_count"] >= 20 > len(record["text"].split())
        assert row["language"] in ("zh", "ja")


def test_two_chinese_reports_of_one_event_share_a_story_and_the_unrelated_one_does_not(output):
    articles = rows(output)
    quake_a = articles["https://xinhua.example.cn/quake"]
    quake_b = articles["https://chinanews.example.cn/quake"]
    retail = articles["https://people.example.cn/retail"]
    assert quake_a["story_id"] == quake_b["story_id"] != retail["story_id"]


def test_a_syndicated_japanese_copy_is_a_near_duplicate(output):
    articles = rows(output)
    original = articles["https://nikkei.example.jp/policy"]
    copy = articles["https://kyodo-partner.example.jp/policy"]
    assert (copy["duplicate_of"], copy["duplicate_kind"]) == (original["article_id"], "near")
    assert copy["story_id"] == original["story_id"]
