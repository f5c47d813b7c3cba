"""Unit tests for story clustering (transforms.stories.clusterer, vectors, active; no Beam)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pickle
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from benchmarks.clustering import synthetic_stream
from tests.conftest import REPO
from transforms.stories.active import sparse_dot
from transforms.stories.clusterer import (
    ArticleVector,
    CatalogStory,
    ClusteringConfig,
    StoryClusterer,
    VectorizerConfig,
    load_catalog,
    publication_order_key,
    vectorize,
)
from transforms.stories.vectors import extract_entities

ROOT = REPO
SEEDS = ROOT / "seeds"
DATA = ROOT.parent / "shared" / "data" / "clustering"
ALLSIDES, GOOGLENEWS = DATA / "allsides_dev.jsonl", DATA / "googlenews_ts.jsonl"

FOOTBALL_TITLE = "Borussia Dortmund sign Norwegian winger Lindqvist in record transfer"
FOOTBALL_TEXT = """Borussia Dortmund have completed the signing of Norwegian winger Eirik Lindqvist
from Rosenborg for a club-record fee believed to be around 48 million euros, the Bundesliga
side confirmed on Friday.

The 21-year-old, who scored 17 goals in the Eliteserien last season, has signed a five-year
contract and will wear the number 11 shirt. Sporting director Sebastian Kehl said the club had
tracked the forward for two seasons and beat several Premier League rivals to his signature.

Lindqvist passed his medical in Dortmund on Thursday and is expected to join the squad for the
pre-season training camp in Bad Ragaz next week. Rosenborg will also receive a sell-on clause
of fifteen percent on any future transfer, according to the Norwegian club's statement."""
ROVER = (
    "NASA's Perseverance rover has found organic molecules in rock samples from Jezero crater on Mars, "
    "scientists said, a step in the search for signs of ancient microbial life on the red planet."
)


def _seed_articles() -> list[tuple[str, str, datetime | None]]:
    """(article id, whole file text, date from a leading 'date YYYY-MM-DD' marker)."""
    articles = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        match = re.match(r"\s*date (\d{4}-\d{2}-\d{2})", text)
        when = datetime.fromisoformat(match.group(1)) if match else None
        articles.append((path.stem, text, when))
    return articles


def _catalog() -> list[CatalogStory]:
    return load_catalog((SEEDS / "stories.toml").read_text(encoding="utf-8"))


def _cluster(articles, catalog=(), config=ClusteringConfig()) -> tuple[StoryClusterer, dict[str, str]]:
    """articles: (id, title, text, date); fed in publication order."""
    clusterer = StoryClusterer(catalog, config)
    ids = {}
    for article_id, title, text, when in sorted(articles, key=lambda a: publication_order_key(a[3], a[0])):
        ids[article_id] = clusterer.add(article_id, vectorize(title, text), when, title)
    return clusterer, ids


def _seed_rows():
    return [(article_id, None, text, when) for article_id, text, when in _seed_articles()]


def _stream(
    n: int, per_day: int = 300, undated_every: int = 0
) -> list[tuple[str, ArticleVector, datetime | None, str]]:
    """(id, vector, date, title) of a synthetic dated stream; every ``undated_every``-th undated."""
    items = []
    for i, (article_id, title, text, when) in enumerate(synthetic_stream(n, per_day)):
        undated = undated_every and i % undated_every == undated_every - 1
        items.append((article_id, vectorize(title, text), None if undated else when, title))
    return items


def _feed(clusterer: StoryClusterer, items) -> list[str]:
    return [clusterer.add(*item) for item in items]


# -- seeds, catalog and labels -------------------------------------------------------------


def test_seed_files_are_five_with_one_dated():
    seeds = _seed_articles()
    assert len(seeds) == 5
    assert [when for _, _, when in seeds if when] == [datetime(2022, 7, 26)]


def test_seeds_form_one_story_labelled_from_catalog():
    clusterer, ids = _cluster(_seed_rows(), _catalog())
    assert len(set(ids.values())) == 1
    (story,) = clusterer.stories()
    assert story.story_label == "ISS withdrawal"
    assert story.label_source == "catalog"
    assert story.article_count == 5
    assert story.first_published == story.last_published == datetime(2022, 7, 26, tzinfo=UTC)
    assert {"roscosmos", "borisov"} <= set(story.top_terms)


def test_unrelated_article_gets_its_own_story_with_its_headline():
    rows = _seed_rows() + [("football-1", FOOTBALL_TITLE, FOOTBALL_TEXT, None)]
    clusterer, ids = _cluster(rows, _catalog())
    assert ids["football-1"] != ids[rows[0][0]]
    by_id = {s.story_id: s for s in clusterer.stories()}
    football = by_id[ids["football-1"]]
    assert (football.story_label, football.label_source) == (FOOTBALL_TITLE, "headline")
    assert football.article_ids == ("football-1",)
    assert by_id[ids[rows[0][0]]].story_label == "ISS withdrawal"


def test_headline_label_is_the_most_representative_title_not_the_first():
    rows = [
        ("r1", "Live: what we know so far", ROVER, datetime(2024, 3, 1, 9)),
        ("r2", "Perseverance rover finds organic molecules in Mars's Jezero crater", ROVER, datetime(2024, 3, 1, 10)),
        ("r3", "Read more", ROVER, datetime(2024, 3, 1, 11)),
    ]
    clusterer, ids = _cluster(rows)
    assert len(set(ids.values())) == 1
    (story,) = clusterer.stories()
    assert (story.story_label, story.label_source) == (rows[1][1], "headline")


def test_untitled_uncatalogued_story_is_labelled_by_key_phrases():
    clusterer, _ = _cluster([("football-1", None, FOOTBALL_TEXT, None)])
    (story,) = clusterer.stories()
    assert story.label_source == "terms"
    phrases = story.story_label.split(" / ")
    assert len(phrases) == ClusteringConfig().label_terms
    assert "eirik lindqvist" in phrases  # the heaviest name, in its fullest form
    assert len({w for p in phrases for w in p.split()}) == sum(len(p.split()) for p in phrases)  # no word twice
    assert not re.fullmatch(r"s[0-9a-f]{16}", story.story_label)


def test_catalog_label_goes_to_one_active_story_at_a_time():
    (a, text_a, _), (b, text_b, _) = _seed_articles()[:2]
    day = datetime(2022, 7, 26)
    apart = ClusteringConfig(similarity_threshold=1.01)  # nothing joins: two stories about the entry
    clusterer, ids = _cluster([(a, None, text_a, day), (b, None, text_b, day + timedelta(hours=1))], _catalog(), apart)
    labels = {s.story_id: s.story_label for s in clusterer.stories()}
    assert len(labels) == 2
    assert labels[ids[a]] == "ISS withdrawal" and labels[ids[b]] != "ISS withdrawal"
    # once the labelled story has left the window, the label is free for a new story
    later = clusterer.add("c", vectorize(None, text_b), day + timedelta(days=90), None)
    assert {s.story_id: s.story_label for s in clusterer.stories()}[later] == "ISS withdrawal"


def test_catalog_label_decided_in_an_earlier_run_is_kept():
    first, _ = _cluster(_seed_rows()[:2], _catalog())
    strict = ClusteringConfig(catalog_threshold=0.99)  # would label nothing today
    second = StoryClusterer.from_state(first.export_state(), _catalog(), strict)
    assert [s.story_label for s in second.stories()] == ["ISS withdrawal"]
    fresh, _ = _cluster(_seed_rows()[:2], _catalog(), strict)
    assert [s.story_label for s in fresh.stories()] != ["ISS withdrawal"]
    assert [s.story_label for s in StoryClusterer.from_state(first.export_state()).stories()] != ["ISS withdrawal"]


# -- joining -------------------------------------------------------------------------------


def _unit(weights: dict[str, float]) -> ArticleVector:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return ArticleVector(tuple(sorted((k, w / norm) for k, w in weights.items())))


def test_an_article_joins_only_a_story_that_stands_out_from_the_others():
    """Five unrelated stories, each sharing one word with the probe: equally close, none stands out."""
    probe = _unit({f"c{i}": 1.0 for i in range(5)})
    cases = {
        "five alike": (5, probe, False),
        "two alike": (2, probe, True),  # fewer than background_rank candidates: no background
        "one closer": (5, _unit({"c0": 3.0, **{f"c{i}": 1.0 for i in range(1, 5)}}), True),
    }
    plain = ClusteringConfig(novelty_power=0.0)  # the background rule alone (story idf: next test)
    for name, (stories, vector, joins) in cases.items():
        clusterer = StoryClusterer(config=plain)
        founded = [clusterer.add(f"s{i}", _unit({f"c{i}": 0.6, f"u{i}": 0.8}), None, None) for i in range(stories)]
        assert len(set(founded)) == stories
        assert (clusterer.add("probe", vector, None, None) in founded) is joins, name


def test_words_that_many_active_stories_share_count_less_and_new_words_more():
    """Six stories share "w"; one has "k". A probe with both is equally close to all seven by
    plain cosine (no story stands out), but "k" is the word that tells stories apart."""
    probe = _unit({"w": 1.0, "k": 1.0})
    joined = {}
    for power in (0.0, ClusteringConfig().novelty_power):
        clusterer = StoryClusterer(config=ClusteringConfig(novelty_power=power))
        shared = [clusterer.add(f"s{i}", _unit({"w": 0.25, f"u{i}": 0.97}), None, None) for i in range(6)]
        k_story = clusterer.add("k", _unit({"k": 0.25, "v": 0.97}), None, None)
        joined[power] = clusterer.add("probe", probe, None, None)
        assert joined[power] not in shared
    assert joined[0.0] != k_story and joined[ClusteringConfig().novelty_power] == k_story
    # words no active story has weigh most: a probe mostly made of them founds a story of its own
    clusterer = StoryClusterer()
    founded = [clusterer.add(f"s{i}", _unit({f"c{i}": 0.6, f"u{i}": 0.8}), None, None) for i in range(2)]
    probe = _unit({"c0": 1.0, **{f"new{i}": 1.0 for i in range(8)}})  # one word of s0, eight no story has
    assert clusterer.add("probe", probe, None, None) not in founded


# -- time ----------------------------------------------------------------------------------


def test_undated_articles_are_never_split_by_time():
    (a, text_a, _), (b, text_b, _) = _seed_articles()[:2]
    dated, undated = datetime(2022, 7, 26), None
    for when_a, when_b in [(dated, undated), (undated, dated), (undated, undated)]:
        _, ids = _cluster([(a, None, text_a, when_a), (b, None, text_b, when_b)])
        assert ids[a] == ids[b]


def test_dated_articles_beyond_the_window_are_split():
    (a, text_a, _), (b, text_b, _) = _seed_articles()[:2]
    start, window = datetime(2022, 7, 26), ClusteringConfig().window_days
    no_decay = ClusteringConfig(decay_per_day=0.0)
    _, near = _cluster(
        [(a, None, text_a, start), (b, None, text_b, start + timedelta(days=window - 0.5))], config=no_decay
    )
    _, far = _cluster(
        [(a, None, text_a, start), (b, None, text_b, start + timedelta(days=window + 0.5))], config=no_decay
    )
    assert near[a] == near[b]
    assert far[a] != far[b]


def test_time_decay_penalises_dated_gaps_only():
    (a, text_a, _), (b, text_b, _) = _seed_articles()[:2]
    start = datetime(2022, 7, 26)
    two_days_later = [(a, None, text_a, start), (b, None, text_b, start + timedelta(days=2))]
    _, decayed = _cluster(two_days_later)
    _, flat = _cluster(two_days_later, config=ClusteringConfig(decay_per_day=0.0))
    _, undated = _cluster([(a, None, text_a, start), (b, None, text_b, None)])
    assert decayed[a] != decayed[b]  # two quiet days cost 2 x decay_per_day of similarity
    assert flat[a] == flat[b] and undated[a] == undated[b]


def test_undated_article_joins_only_a_story_still_active():
    (a, text_a, _), (b, text_b, _), (c, text_c, _) = _seed_articles()[:3]
    start = datetime(2022, 7, 26)
    clusterer, ids = _cluster([(a, None, text_a, start), (b, None, text_b, None)])
    assert ids[a] == ids[b]
    # other news moves the newest date two months on: the ISS story leaves the state
    clusterer.add("football-1", vectorize(FOOTBALL_TITLE, FOOTBALL_TEXT), start + timedelta(days=60), FOOTBALL_TITLE)
    assert ids[a] not in {s["id"] for s in json.loads(clusterer.export_state())["stories"]}
    late = clusterer.add(c, vectorize(None, text_c), None, None)
    assert late != ids[a]  # documented: an undated article cannot reach a story that left the window


# -- ids, determinism, state across runs ---------------------------------------------------


def test_story_ids_are_stable_and_deterministic():
    rows = _seed_rows() + [("football-1", FOOTBALL_TITLE, FOOTBALL_TEXT, None)]
    first_clusterer, first = _cluster(rows, _catalog())
    second_clusterer, second = _cluster(list(reversed(rows)), _catalog())
    assert first == second  # publication_order_key fixes the order, not the caller
    assert first_clusterer.stories() == second_clusterer.stories()
    founder = sorted(rows, key=lambda r: publication_order_key(r[3], r[0]))[0][0]
    assert first[founder] == "s" + hashlib.sha256(founder.encode()).hexdigest()[:16]
    assert first["football-1"] == "s" + hashlib.sha256(b"football-1").hexdigest()[:16]


_STATE_DIGEST = """
import hashlib, sys
sys.path.insert(0, {root!r})
from tests.transforms.stories.test_clusterer import _feed, _stream
from transforms.stories.clusterer import StoryClusterer
clusterer = StoryClusterer()
ids = _feed(clusterer, _stream(1500, undated_every=9))
print(hashlib.sha256(clusterer.export_state() + "|".join(ids).encode()).hexdigest())
"""


@pytest.mark.slow
def test_same_input_gives_the_same_stories_in_any_process():
    """Same stream, same ids and state, whatever the interpreter's string hash seed."""
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _STATE_DIGEST.format(root=str(ROOT))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_similarity_sums_are_exactly_rounded_so_key_order_cannot_matter():
    """Shared keys come out of a set, whose order follows the string hash seed: the dot
    product must not depend on it."""
    rng = random.Random(3)
    for _ in range(200):
        keys = [f"t{rng.randrange(10**6)}" for _ in range(40)]
        a = {k: rng.random() for k in keys}
        b = {k: rng.random() * 10 for k in keys[::2]}
        assert sparse_dot(a, b) == math.fsum(a[k] * b[k] for k in b)


def _with_seeds(items, at: int, when: datetime):
    """The stream with the ISS seed reports inserted at position ``at``, dated ``when``."""
    seeds = [(article_id, vectorize(None, text), when, None) for article_id, text, _ in _seed_articles()]
    return items[:at] + seeds + items[at:]


@pytest.mark.slow
def test_export_then_import_gives_the_same_ids_as_one_run():
    items = _stream(2400, undated_every=7)  # ~8 days at 300 a day: stories retire on the way
    items = _with_seeds(items, 700, items[700][2] or datetime(2024, 1, 3, tzinfo=UTC))
    one_run = StoryClusterer(_catalog())
    expected = _feed(one_run, items)
    for cut in (1, 900, 1777):
        first = StoryClusterer(_catalog())
        ids = _feed(first, items[:cut])
        second = StoryClusterer.from_state(first.export_state(), _catalog())
        ids += _feed(second, items[cut:])
        assert ids == expected
        assert second.export_state() == one_run.export_state()
    assert len(set(expected)) > len(json.loads(one_run.export_state())["stories"])  # some stories retired
    assert "ISS withdrawal" in {s.story_label for s in one_run.stories()}


@pytest.mark.slow
def test_state_holds_only_active_stories_and_stays_bounded():
    config = ClusteringConfig()
    clusterer = StoryClusterer(config=config)
    sizes = []
    for start in range(0, 3000, 1000):
        _feed(clusterer, _stream(3000)[start : start + 1000])
        clusterer.pop_retired()
        sizes.append(len(clusterer.export_state()))
    state = json.loads(clusterer.export_state())
    horizon = state["watermark"] - config.window_days * 86400
    assert state["stories"] and all(s["last"] >= horizon for s in state["stories"])
    assert sizes[2] < 1.3 * sizes[1]  # a longer stream does not mean a bigger state


def test_imported_stories_are_reported_untouched_until_joined():
    rows = _seed_rows()
    first, ids = _cluster(rows[:4] + [("football-1", FOOTBALL_TITLE, FOOTBALL_TEXT, datetime(2022, 7, 26))], _catalog())
    second = StoryClusterer.from_state(first.export_state(), _catalog())
    assert [s.touched for s in second.stories()] == [False, False]
    assert second.touched_stories() == []
    last_id, _, last_text, _ = rows[4][0], None, rows[4][2], None
    joined = second.add(last_id, vectorize(None, last_text), None, None)
    assert joined == ids[rows[0][0]]
    by_id = {s.story_id: s for s in second.stories()}
    iss = by_id[joined]
    assert (iss.touched, iss.article_ids, iss.article_count, iss.story_label) == (True, (last_id,), 5, "ISS withdrawal")
    assert by_id[ids["football-1"]].touched is False
    assert [s.story_id for s in second.touched_stories()] == [joined]
    assert second.add(rows[0][0], vectorize(None, rows[0][2]), None, None) == joined  # re-delivery after import


def test_from_state_rejects_other_data():
    with pytest.raises(ValueError, match="not a story clusterer state"):
        StoryClusterer.from_state(json.dumps({"format": "something else"}).encode())


def test_clusterer_pickles_mid_stream_and_continues_identically():
    items = _stream(600)
    whole = StoryClusterer()
    expected = _feed(whole, items)
    half = StoryClusterer()
    ids = _feed(half, items[:300])
    ids += _feed(pickle.loads(pickle.dumps(half)), items[300:])
    assert ids == expected


def test_adding_an_article_twice_is_idempotent():
    clusterer = StoryClusterer()
    vector = vectorize(FOOTBALL_TITLE, FOOTBALL_TEXT)
    assert clusterer.add("x", vector, None, FOOTBALL_TITLE) == clusterer.add("x", vector, None, FOOTBALL_TITLE)
    assert clusterer.stories()[0].article_ids == ("x",)
    assert clusterer.stories()[0].article_count == 1


# -- cost and memory -----------------------------------------------------------------------


def _probe_cost(articles: int, config: ClusteringConfig) -> tuple[float, float, int]:
    """(stories scored, postings read) per article for the same 200 probe articles after
    ``articles`` undated ones (undated: no story ever leaves), and the active stories."""
    clusterer = StoryClusterer(config=config)
    background = [(a, v, None, t) for a, v, _, t in _stream(articles * 2, per_day=articles // 3)][::2]
    _feed(clusterer, background)
    probes = [(f"probe-{a}", v, None, t) for a, v, _, t in _stream(400, per_day=500)[1::2]]
    scored, reads = clusterer.scored, clusterer._index.reads
    _feed(clusterer, probes)
    return (
        (clusterer.scored - scored) / len(probes),
        (clusterer._index.reads - reads) / len(probes),
        len(clusterer.stories()),
    )


@pytest.mark.slow
def test_candidate_retrieval_does_not_scan_all_stories():
    config = ClusteringConfig()
    scored, reads, active = _probe_cost(3000, config)
    assert active > 900
    assert scored <= config.candidates and reads <= config.query_terms * config.postings_per_term
    assert scored * 50 < active  # a scan would score every active story


def test_candidate_retrieval_cost_stays_flat_as_stories_grow():
    """Every article shares its three heaviest terms with every story: the worst case for
    an index. Ten times the stories read and score exactly as many of them."""
    config = ClusteringConfig(similarity_threshold=1.01)  # nothing joins: one story per article

    def cost(stories: int) -> tuple[float, float]:
        clusterer = StoryClusterer(config=config)
        for i in range(stories + 100):
            if i == stories:
                scored, reads = clusterer.scored, clusterer._index.reads
            shared = [("alpha", 0.6), ("beta", 0.5), ("gamma", 0.4)]
            own = [(f"w{i}-{k}", 0.2) for k in range(8)]
            clusterer.add(f"a{i}", ArticleVector(tuple(sorted(shared + own))), None, None)
        assert len(clusterer.stories()) == stories + 100
        return (clusterer.scored - scored) / 100, (clusterer._index.reads - reads) / 100

    assert cost(300) == cost(3000) == (config.candidates, 3 * config.postings_per_term)


@pytest.mark.slow
def test_capacity_bounds_undated_stories():
    clusterer = StoryClusterer(config=ClusteringConfig(max_active_stories=40))
    items = [(a, v, None, t) for a, v, _, t in _stream(1200, per_day=1200)]
    _feed(clusterer, items)
    assert len(json.loads(clusterer.export_state())["stories"]) == 40
    retired = clusterer.pop_retired()
    assert len(clusterer.stories()) == 40
    assert all(s.touched for s in retired) and len(retired) > 40
    ids = _feed(StoryClusterer(config=ClusteringConfig(max_active_stories=40)), items)
    assert len(retired) + 40 == len(set(ids))  # every story is reported: 40 active, the rest retired


def test_retired_stories_are_reported_once_then_forgotten():
    clusterer = StoryClusterer()
    items = _stream(1500, per_day=150)  # ten days: stories leave the window on the way
    reported: list[str] = []
    for start in range(0, len(items), 500):
        _feed(clusterer, items[start : start + 500])
        retired = clusterer.pop_retired()
        assert all(s.touched for s in retired)
        assert not {s.story_id for s in retired} & {s.story_id for s in clusterer.stories()}
        reported += [a for s in retired for a in s.article_ids]
    assert reported  # some were retired
    reported += [a for s in clusterer.stories() for a in s.article_ids]
    assert sorted(reported) == sorted(item[0] for item in items)  # every article exactly once


# -- vectors -------------------------------------------------------------------------------


def test_publication_order_key():
    aware = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC
    keys = {
        "b": (datetime(2024, 1, 1, 11), "b"),
        "a": (aware, "a"),
        "z": (None, "z"),
        "y": (None, "y"),
        "c": (datetime(2023, 5, 1), "c"),
    }
    order = sorted(keys, key=lambda k: publication_order_key(*keys[k]))
    assert order == ["c", "a", "b", "y", "z"]


def test_load_catalog_parses_entries():
    catalog = load_catalog(
        '[[story]]\nlabel = " A "\ndescription = "d"\nexemplar = "e"\n[[story]]\nlabel="B"\ndescription="x"'
    )
    assert catalog == [CatalogStory("A", "d", "e"), CatalogStory("B", "x")]
    assert load_catalog("") == []
    assert [c.label for c in _catalog()] == ["ISS withdrawal"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[story]\nlabel=", "not valid TOML"),
        ('[[story]]\ndescription = "d"', "'label' is missing"),
        ('[[story]]\nlabel = "A"\ndescription = "  "', "'description' is missing"),
        ('[[story]]\nlabel = 3\ndescription = "d"', "must be a string"),
        ('[[story]]\nlabel = "A"\ndescription = "d"\ndate = "x"', "unknown keys"),
        ('story = "A"', "array of tables"),
        ('[stories]\nlabel = "A"', "unknown top-level keys"),
        ('[[story]]\nlabel="A"\ndescription="d"\n[[story]]\nlabel="A"\ndescription="e"', "duplicate label"),
    ],
)
def test_load_catalog_rejects_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        load_catalog(text)


def test_vectorize_is_normalised_sorted_and_truncated():
    vector = vectorize(FOOTBALL_TITLE, FOOTBALL_TEXT)
    for weights in (vector.terms, vector.title, vector.entities):
        keys = [k for k, _ in weights]
        assert keys == sorted(keys)
        assert math.isclose(sum(w * w for _, w in weights), 1.0, rel_tol=1e-9)
    assert len(vector.terms) <= VectorizerConfig().max_terms
    assert len(vectorize(None, FOOTBALL_TEXT, config=VectorizerConfig(max_terms=5)).terms) == 5
    assert vectorize(FOOTBALL_TITLE, FOOTBALL_TEXT) == vector  # deterministic


def test_vectorize_tokens_and_background_weights():
    weights = dict(vectorize(None, "The 2024 x Zqxvbnmeer the station station 17,000 s").terms)
    assert set(weights) == {"the", "zqxvbnmeer", "station"}  # numbers, 1-char tokens dropped
    assert weights["zqxvbnmeer"] > weights["station"] > weights["the"]  # unknown word: max weight
    assert vectorize(None, "") == ArticleVector(())
    assert vectorize(None, "Borisov Roscosmos", language="xx") == vectorize(None, "Borisov Roscosmos")


def test_vectorize_keeps_title_words_apart_and_boosts_them_in_terms():
    body = "Lindqvist signs for Dortmund. Rosenborg agree the fee."
    plain = dict(vectorize(None, body).terms)
    titled = vectorize("Lindqvist transfer", body)
    assert dict(titled.terms)["lindqvist"] / dict(titled.terms)["dortmund"] > plain["lindqvist"] / plain["dortmund"]
    assert {k for k, _ in titled.title} == {"lindqvist", "transfer"}
    assert vectorize(None, body).title == ()


def test_entities_are_names_acronyms_and_figures_from_original_case():
    found = extract_entities(FOOTBALL_TITLE, FOOTBALL_TEXT)
    assert {"eirik lindqvist", "borussia dortmund", "sebastian kehl", "rosenborg", "#48"} <= set(found)
    assert found["lindqvist"] == 3 and found["dortmund"] == 3  # the Title-Cased headline counts its rare words
    assert not {"the", "friday", "thursday", "signing", "winger"} & set(found)  # sentence starts, days, common words
    assert set(extract_entities(None, "NASA and the ISS said so.")) == {"nasa", "iss"}
    assert extract_entities(None, FOOTBALL_TEXT.lower()) - extract_entities(None, "") == {
        k: v for k, v in extract_entities(None, FOOTBALL_TEXT.lower()).items() if k.startswith("#")
    }  # no case, no names


def test_values_crossing_beam_stages_pickle():
    vector = vectorize(FOOTBALL_TITLE, FOOTBALL_TEXT)
    assert pickle.loads(pickle.dumps(vector)) == vector
    assert pickle.loads(pickle.dumps(_catalog())) == _catalog()


# -- quality -------------------------------------------------------------------------------


def test_bcubed_and_pairwise_metrics():
    import benchmarks.clustering as bench

    gold = {"a": "1", "b": "1", "c": "2"}
    assert bench.bcubed(gold, {"a": "x", "b": "x", "c": "y"}) == (1.0, 1.0, 1.0)
    p, r, _ = bench.bcubed(gold, {"a": "x", "b": "x", "c": "x"})
    assert (round(p, 4), r) == (round(5 / 9, 4), 1.0)
    assert bench.pairwise_f1(gold, {"a": "x", "b": "y", "c": "z"}) == 0.0


@pytest.mark.slow
@pytest.mark.skipif(not ALLSIDES.exists(), reason="shared dev data not available")
def test_allsides_dev_quality_floor():
    import benchmarks.clustering as bench

    result = bench.run(ALLSIDES)
    assert result.articles == 805 and result.gold_stories == 277
    # 0.904 / 0.952 (ties in publication order by a hash, merges on); through the CLI: benchmarks/clustering.py
    assert result.b3_f1 >= 0.90 and result.b3_precision >= 0.92
    assert result.ms_per_article < 1.0
    # each half by time on its own (0.901 / 0.913)
    first, second = (bench.run_rows(half) for half in bench.halves(bench.read_rows(ALLSIDES)))
    assert first.b3_f1 >= 0.88 and second.b3_f1 >= 0.90


@pytest.mark.slow
@pytest.mark.skipif(not GOOGLENEWS.exists(), reason="shared dev data not available")
def test_googlenews_quality_floor():
    import benchmarks.clustering as bench

    result = bench.run(GOOGLENEWS)
    assert result.b3_f1 >= 0.87  # 0.877 with merges (0.855 without; ties by a hash)
    assert result.ms_per_article < 1.0


def test_config_fields_are_plain_values():
    """The state records the configuration as JSON."""
    assert json.loads(json.dumps(dataclasses.asdict(ClusteringConfig()))) == dataclasses.asdict(ClusteringConfig())


# -- second look: merging split stories ----------------------------------------------------


def _split_event(clusterer: StoryClusterer, bridges: int) -> tuple[str, str, list[str]]:
    """Six unrelated stories, then one event whose first two reports share no word (two stories),
    then ``bridges`` reports using both reports' words; returns (first id, second id, bridge ids)."""
    for i in range(6):
        clusterer.add(f"other{i}", _unit({f"o{i}a": 1.0, f"o{i}b": 1.0}), None, f"Other story {i}")
    first = clusterer.add("a", _unit({f"a{j}": 1.0 for j in range(4)}), None, "First report")
    second = clusterer.add("b", _unit({f"b{j}": 1.0 for j in range(4)}), None, "Second report")
    both = _unit({**{f"a{j}": 1.0 for j in range(4)}, **{f"b{j}": 1.0 for j in range(4)}})
    return first, second, [clusterer.add(f"x{k}", both, None, None) for k in range(bridges)]


def test_split_stories_merge_once_their_centroids_converge_and_the_older_id_stays():
    clusterer = StoryClusterer()
    first, second, bridges = _split_event(clusterer, 2)
    assert first != second and clusterer.resolve(second) == second  # not yet close enough
    _, _, later = _split_event(clusterer, 4)  # the same reports again (idempotent), then two more bridges
    assert later[:2] == bridges and clusterer.resolve(second) == first and set(later) == {first}
    by_id = {s.story_id: s for s in clusterer.stories()}
    merged = by_id[second]
    assert (merged.merged_into, merged.story_label, merged.article_count, merged.article_ids) == (
        first,
        by_id[first].story_label,
        1,
        (),
    )
    assert by_id[first].merged == (second,) and set(by_id[first].article_ids) == {"a", "b", "x0", "x1", "x2", "x3"}
    assert clusterer.add("b", _unit({"b0": 1.0}), None, None) == first  # a re-delivered member follows its story
    assert sum(s.merged_into is None for s in by_id.values()) == 7  # the six other stories did not merge


def test_dated_stories_further_apart_than_the_window_never_merge():
    clusterer = StoryClusterer()
    day0 = datetime(2024, 5, 1, tzinfo=UTC)
    clusterer.add("a", _unit({f"a{j}": 1.0 for j in range(4)}), day0, None)
    late = clusterer.add("b", _unit({f"a{j}": 1.0 for j in range(4)}), day0 + timedelta(days=3.5), None)
    clusterer.add("b2", _unit({f"a{j}": 1.0 for j in range(4)}), day0 + timedelta(days=3.6), None)
    assert clusterer.resolve(late) == late and len({s.story_id for s in clusterer.stories()}) == 2


def test_a_merge_carries_across_export_and_import():
    one_run = StoryClusterer()
    expected = _split_event(one_run, 5)
    for cut in (0, 2, 4):  # before the merge, and after it
        first = StoryClusterer()
        ids = _split_event(first, cut)
        second = StoryClusterer.from_state(first.export_state())
        ids = (ids[0], ids[1], ids[2] + [second.add(f"x{k}", _bridge(), None, None) for k in range(cut, 5)])
        assert ids == expected and second.resolve(ids[1]) == ids[0]
        assert second.export_state() == one_run.export_state()
        merged = {s.story_id: s.merged_into for s in second.touched_stories()}
        assert merged[ids[1]] == ids[0]  # the merged story's row is rewritten whenever its absorber is


def _bridge() -> ArticleVector:
    return _unit({**{f"a{j}": 1.0 for j in range(4)}, **{f"b{j}": 1.0 for j in range(4)}})


def test_a_state_saved_before_merges_existed_loads():
    clusterer = StoryClusterer()
    _split_event(clusterer, 1)
    state = json.loads(clusterer.export_state())
    for story in state["stories"]:
        del story["absorbed"]
    assert StoryClusterer.from_state(state).export_state() == clusterer.export_state()


def test_the_second_look_compares_a_bounded_number_of_stories():
    config = ClusteringConfig()
    clusterer = StoryClusterer(config=config)
    _feed(clusterer, _stream(3000))
    assert clusterer.scored / 3000 <= config.candidates + config.merge_candidates
