"""Story tagging as users get it: the CLI as a subprocess, stories read back with DuckDB.

Reports of one event in Chinese and in German share a story while other events in the same
language don't; stories split at first merge once their reports converge, the older id kept
and the other pointing at it, within a run and across runs; the stories table holds the
current label after a later run relabels a story.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb

from tests.conftest import run_cli

DAY = "2024-04-03T08:00:00Z"

ZH_QUAKE = (
    "台湾花莲发生7.4级强烈地震",
    "台湾东部花莲县周三早晨发生7.4级强烈地震，震源深度约15公里。地震造成花莲市多栋建筑倒塌，至少九人死亡，上千人受伤。"
    "台北的捷运一度停驶，全岛多处山区发生落石和山体滑坡。气象部门表示，这是台湾25年来最强的一次地震，未来数日仍可能发生强烈余震。",
)
ZH_QUAKE_2 = (
    "花莲强震已致九人遇难 救援人员搜寻被困者",
    "花莲县周三发生的7.4级地震已造成九人遇难，另有数十人被困在隧道和倒塌的建筑中。救援人员正在花莲山区搜寻被困者，"
    "太鲁阁公园的公路因落石中断。台湾当局说，余震仍在持续，民众应远离山区和受损的建筑。",
)
ZH_BANK = (
    "央行宣布下调存款准备金率",
    "中国人民银行周五宣布，将金融机构存款准备金率下调0.5个百分点，向市场释放长期资金约一万亿元。分析人士认为，"
    "此举旨在支持经济增长，降低企业融资成本，股市和债市对消息反应积极。",
)
DE_STRIKE = (
    "Lokführer legen Bahnverkehr in ganz Deutschland lahm",
    "Die Lokführergewerkschaft GDL hat am Mittwoch einen bundesweiten Streik bei der Deutschen Bahn begonnen. "
    "Im Fernverkehr fallen rund achtzig Prozent der Züge aus, auch im Regionalverkehr und bei den S-Bahnen kommt es "
    "zu massiven Einschränkungen. Die Gewerkschaft fordert eine Senkung der Wochenarbeitszeit auf 35 Stunden bei "
    "vollem Lohnausgleich. Der Streik soll bis Freitagabend dauern.",
)
DE_STRIKE_2 = (
    "GDL-Streik: Pendler stranden an Bahnhöfen",
    "Wegen des Streiks der GDL sind am Mittwoch viele Pendler an den Bahnhöfen gestrandet. Die Deutsche Bahn hat einen "
    "Notfahrplan eingerichtet, doch nur jeder fünfte Fernzug fährt. Gewerkschaftschef Weselsky verteidigte den "
    "Arbeitskampf: Die Bahn müsse die Arbeitszeit der Lokführer senken. Der Streik dauert bis Freitag.",
)
DE_FOOTBALL = (
    "Bayern München gewinnt Spitzenspiel gegen Dortmund",
    "Der FC Bayern München hat das Bundesliga-Spitzenspiel gegen Borussia Dortmund mit 3:1 gewonnen. Harry Kane traf "
    "doppelt, der Tabellenführer baut seinen Vorsprung damit auf sieben Punkte aus. Dortmunds Trainer zeigte sich nach "
    "dem Abpfiff enttäuscht über die Chancenverwertung seiner Mannschaft.",
)

# Made-up words: no language's word list knows them, so each weighs the same, and the geometry
# of the test is the one written here.
FIRST_WORDS = "quexil vantrop zimbral keltrov".split()
SECOND_WORDS = "dravnik sopheld murtak plinzor".split()
OTHER_WORDS = "brontal cessivar dulmog eppravin fostrel gantrix hobrand ixelpo jurnak kovrest lumbrid mesquon".split()


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _record(name: str, title: str | None, text: str, published: str = DAY) -> dict:
    record = {"url": f"https://news.example.org/{name}", "text": text, "published": published, "source": "Example"}
    return {**record, "title": title} if title else record


def _words_text(words: list[str], extra: str) -> str:
    """Three sentences of the words, each in its own order (so that no two texts are near copies of each
    other), and one word of its own."""
    shuffle = random.Random(extra).sample
    return " ".join(" ".join(shuffle(words, len(words))) + "." for _ in range(3)) + f" {extra}."


def _run(seed: Path, out: Path) -> None:
    """One pipeline run; --min-words 1: the made-up-word reports are short."""
    run_cli("run", "--input", str(seed), "--output", str(out), "--catalog", "", "--min-words", "1")


def _stories(out: Path) -> dict[str, tuple[str, str | None]]:
    """story_id -> (story_label, merged_into) from the stories table."""
    rows = duckdb.sql(f"SELECT story_id, story_label, merged_into FROM read_parquet('{out}/stories/*.parquet')")
    return {story_id: (label, merged_into) for story_id, label, merged_into in rows.fetchall()}


def _articles(out: Path) -> dict[str, tuple[str, str, str]]:
    """url name -> (story_id written, story_label written, current story id following merged_into)."""
    rows = duckdb.sql(
        f"SELECT a.url, a.story_id, a.story_label, coalesce(s.merged_into, a.story_id) "
        f"FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) a "
        f"LEFT JOIN read_parquet('{out}/stories/*.parquet') s USING (story_id)"
    ).fetchall()
    return {url.rsplit("/", 1)[1]: (story_id, label, current) for url, story_id, label, current in rows}


def test_reports_of_one_event_share_a_story_in_chinese_and_in_german(tmp_path):
    items = {
        "zh1": ZH_QUAKE,
        "zh2": ZH_QUAKE_2,
        "zh3": ZH_BANK,
        "de1": DE_STRIKE,
        "de2": DE_STRIKE_2,
        "de3": DE_FOOTBALL,
    }
    seed = _write(tmp_path / "multilingual.jsonl", [_record(name, *item) for name, item in items.items()])
    out = tmp_path / "out"  # the Chinese reports are a few hundred characters without spaces: --min-words 1
    _run(seed, out)
    articles = _articles(out)
    languages = dict(duckdb.sql(f"SELECT url, language FROM read_parquet('{out}/articles/*/*.parquet')").fetchall())
    assert {url.rsplit("/", 1)[1][:2] + ":" + lang for url, lang in languages.items()} == {"zh:zh", "de:de"}
    story = {name: row[0] for name, row in articles.items()}
    assert story["zh1"] == story["zh2"] != story["zh3"]
    assert story["de1"] == story["de2"] != story["de3"]
    assert len(set(story.values())) == 4


def test_split_stories_merge_the_older_id_kept_within_a_run_and_across_runs(tmp_path):
    others = [_record(f"other{i}", None, _words_text(OTHER_WORDS[2 * i : 2 * i + 2] * 2, f"zz{i}")) for i in range(6)]
    first = [  # the first report an hour before the second: its story is the older one
        _record("first", None, _words_text(FIRST_WORDS, "alpha"), "2024-04-03T07:00:00Z"),
        _record("second", None, _words_text(SECOND_WORDS, "beta")),
    ]
    bridges = [
        _record(f"bridge{k}", None, _words_text(FIRST_WORDS + SECOND_WORDS, f"gamma{k}"), f"2024-04-03T1{k}:00:00Z")
        for k in range(6)
    ]
    out = tmp_path / "out"
    _run(_write(tmp_path / "day1.jsonl", others + first), out)
    day1 = _articles(out)
    assert day1["first"][0] != day1["second"][0]  # two stories so far

    _run(_write(tmp_path / "day2.jsonl", bridges), out)
    articles, stories = _articles(out), _stories(out)
    older, newer = day1["first"][0], day1["second"][0]
    assert stories[newer][1] == older and stories[older][1] is None  # the younger id points at the older one
    assert stories[newer][0] == stories[older][0]  # and carries its current label
    assert {articles[f"bridge{k}"][0] for k in range(6)} == {older}  # this run's articles get the older id
    assert articles["second"][0] == newer and articles["second"][2] == older  # earlier rows followed in one step
    assert len({row[2] for name, row in articles.items() if not name.startswith("other")}) == 1
    assert len({row[2] for name, row in articles.items() if name.startswith("other")}) == 6  # the others stay apart


def test_the_stories_table_holds_the_current_label_after_a_later_run_relabels(tmp_path):
    out = tmp_path / "out"
    day1 = [_record("opening", "Quexil vantrop summit opens", _words_text(FIRST_WORDS, "alpha"))]
    _run(_write(tmp_path / "day1.jsonl", day1), out)
    ((story_id, first_label, _),) = _articles(out).values()
    assert first_label == "Quexil vantrop summit opens"

    accord = FIRST_WORDS[:2] + SECOND_WORDS
    day2 = [
        _record(f"accord{k}", "Dravnik sopheld murtak plinzor accord signed", _words_text(accord, f"beta{k}"))
        for k in range(3)
    ]
    _run(_write(tmp_path / "day2.jsonl", day2), out)
    articles, stories = _articles(out), _stories(out)
    assert {row[0] for row in articles.values()} == {story_id}
    assert stories[story_id] == ("Dravnik sopheld murtak plinzor accord signed", None)  # the current label
    assert articles["opening"][1] == first_label  # an article row keeps the label it was written with
    current = duckdb.sql(
        f"SELECT DISTINCT s.story_label FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) a "
        f"JOIN read_parquet('{out}/stories/*.parquet') s ON s.story_id = a.story_id"
    ).fetchall()
    assert current == [("Dravnik sopheld murtak plinzor accord signed",)]


def test_the_seed_story_stays_whole_beside_undated_pages_whose_only_year_is_a_copyright_line(tmp_path):
    """A copyright year read as 1 January of that year would date these pages years after seed 002 and close
    its story before the undated seeds come: the five reports would split."""
    from tests.conftest import SEEDS
    from tests.world_pages import undated_world_page

    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in SEEDS.glob("*.txt"):
        (inputs / seed.name).write_bytes(seed.read_bytes())
    for code in ("zh", "ar", "hi"):
        (inputs / f"{code}.html").write_bytes(undated_world_page(code, "© 2026 Example News"))
    out = tmp_path / "out"
    run_cli("run", "--input", str(inputs), "--output", str(out))
    rows = duckdb.sql(
        f"SELECT source_uri, story_id, published_at, date_problem FROM read_parquet('{out}/articles/**/*.parquet')"
    ).fetchall()
    seeds = {story for uri, story, _, _ in rows if uri.endswith(".txt")}
    pages = [(published, problem) for uri, _, published, problem in rows if uri.endswith(".html")]
    assert len(rows) == 8 and len(seeds) == 1, rows
    assert all(published is None and "only a year" in problem for published, problem in pages), pages
