"""The Beam side of story tagging: parallel features, one ordered step, duplicates follow originals."""

import dataclasses
import gzip
import json
import logging
import shutil
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import RUN, article, day
from tests.conftest import REPO, fn_api_pipeline
from transforms.output.layout import STORY_INDEX_FILE
from transforms.output.tables import clear_stale_staging
from transforms.stories.article_refs import JoinVerdicts, ParkArticles
from transforms.stories.batch import AssignStories, story_ref
from transforms.stories.clusterer import CatalogStory
from transforms.stories.rules import assign_stories, story_input
from transforms.stories.saved import (
    StoryIndex,
    load_story_index,
    pending_index_dir,
    save_staged_story_index,
    save_story_index,
    stage_story_index,
)

ROVER = "Mars rover Perseverance finds organic molecules in Jezero crater rock samples, NASA scientists say. "
ROVER_2 = "NASA scientists say the Perseverance rover found organic molecules in Jezero crater rock samples on Mars. "
FOOTBALL = "Striker Tomas Lind signs a four-year contract with Northport United after a record transfer fee. "
CATALOG = [
    CatalogStory("Rover organics", "NASA Perseverance rover on Mars finds organic molecules in Jezero crater rocks.")
]
LONG_ROVER = " ".join(
    f"Paragraph {i}: {ROVER}The team will study sample {i} further in the coming weeks." for i in range(8)
)


def _articles():
    rover = article("rover", text=LONG_ROVER, title="Perseverance finds organic molecules on Mars", published=day(1))
    rover_2 = article(
        "rover2", text=ROVER_2 * 3, title="Perseverance rover finds organic molecules in Mars crater", published=day(2)
    )
    football = article("football", text=FOOTBALL * 3, title="Lind joins Northport United", published=day(2))
    copy = dataclasses.replace(
        article("copy", url="https://mirror.test/rover", text=LONG_ROVER, published=day(5)),
        duplicate_of=rover.article_id,
    )
    return rover, rover_2, football, copy


def test_duplicates_follow_their_original_and_count_in_the_story():
    rover, rover_2, football, copy = _articles()
    assignments, stories = assign_stories(
        [story_input(a) for a in (copy, football, rover_2, rover)], StoryIndex.new(CATALOG), RUN
    )
    assert (
        assignments[copy.article_id].story_id
        == assignments[rover.article_id].story_id
        == assignments[rover_2.article_id].story_id
    )
    assert assignments[football.article_id].story_id != assignments[rover.article_id].story_id
    by_label = {s.story_label: s for s in stories}
    assert by_label["Rover organics"].article_count == 3 and by_label["Rover organics"].label_source == "catalog"
    assert by_label["Lind joins Northport United"].article_count == 1


def test_a_near_copy_is_marked_and_joins_the_story_of_its_original():
    rover = _articles()[0]
    edited = article(
        "edited",
        url="https://syndicate.test/r",
        published=day(2),
        title="Mars organics found",
        text=LONG_ROVER.replace("coming weeks", "weeks ahead", 1) + " Reporting by wire services.",
    )
    assignments, stories = assign_stories([story_input(rover), story_input(edited)], StoryIndex.new(CATALOG), RUN)
    found = assignments[edited.article_id]
    assert (found.duplicate_of, found.duplicate_kind, found.story_id) == (
        rover.article_id,
        "near",
        assignments[rover.article_id].story_id,
    )
    assert [s.article_count for s in stories] == [2]


def test_the_same_input_in_any_arrival_order_gives_the_same_stories():
    items = [story_input(a) for a in _articles()]
    first, _ = assign_stories(items, StoryIndex.new(CATALOG), RUN)
    second, _ = assign_stories(list(reversed(items)), StoryIndex.new(CATALOG), RUN)
    assert first == second


def test_a_later_run_joins_the_saved_story(tmp_path):
    rover, rover_2, football, _ = _articles()
    index = StoryIndex.new(CATALOG)
    first, _ = assign_stories([story_input(rover), story_input(football)], index, RUN)
    save_story_index({}, index.export(), str(tmp_path))
    second, stories = assign_stories([story_input(rover_2)], load_story_index(str(tmp_path), CATALOG), RUN)
    assert second[rover_2.article_id].story_id == first[rover.article_id].story_id
    assert [(s.story_id, s.article_count) for s in stories] == [(first[rover.article_id].story_id, 2)]


def test_assign_stories_tags_every_article_and_emits_story_rows_and_the_index(tmp_path):
    rover, rover_2, football, copy = _articles()
    staged = str(Path(pending_index_dir(str(tmp_path), RUN.run_id)) / STORY_INDEX_FILE)
    with fn_api_pipeline() as p:
        parked = p | beam.Create([rover, rover_2, football, copy]) | ParkArticles(str(tmp_path / "staging"), story_ref)
        out = parked.refs | AssignStories(CATALOG, RUN, str(tmp_path))
        articles = parked.files | JoinVerdicts(out.verdicts, p | "NoneKnown" >> beam.Create([]))
        assert_that(
            articles | beam.Map(lambda a: (a.source_uri, a.story_label, a.duplicate_of)),
            equal_to(
                [
                    ("/in/rover.txt", "Rover organics", None),
                    ("/in/rover2.txt", "Rover organics", None),
                    ("/in/copy.txt", "Rover organics", rover.article_id),
                    ("/in/football.txt", "Lind joins Northport United", None),
                ]
            ),
            label="articles",
        )
        assert_that(
            out.stories | beam.Map(lambda s: (s.story_label, s.article_count)),
            equal_to([("Rover organics", 3), ("Lind joins Northport United", 1)]),
            label="stories",
        )
        assert_that(out.index, equal_to([staged]), label="index")
    assert sorted(json.loads(gzip.decompress(Path(staged).read_bytes()))) == sorted(StoryIndex.new(CATALOG).export())
    save_staged_story_index({}, staged, str(tmp_path), RUN.run_id)
    assert not Path(staged).parent.exists()  # the staging folder goes once the index is in place
    saved = load_story_index(str(tmp_path), CATALOG).clusterer.stories()
    assert sorted(s.story_label for s in saved) == ["Lind joins Northport United", "Rover organics"]


def test_a_copy_of_an_earlier_runs_article_joins_its_story_and_counts_there():
    rover, _, football, copy = _articles()
    index = StoryIndex.new(CATALOG)
    first, _ = assign_stories([story_input(rover), story_input(football)], index, RUN)
    later = dataclasses.replace(copy, duplicate_kind="text")  # marked by dedup against the earlier run's article
    url_copy = dataclasses.replace(
        article("copy2", url="https://mirror.test/rover", text=LONG_ROVER, published=day(6)),
        article_id="copy2-id",
        duplicate_of=later.article_id,
        duplicate_kind="url",
    )
    second, stories = assign_stories([story_input(url_copy), story_input(later)], index, RUN)
    assert second[later.article_id].story_id == second["copy2-id"].story_id == first[rover.article_id].story_id
    (story,) = stories
    assert story.article_count == 3


def test_a_copy_of_an_article_the_index_no_longer_holds_is_clustered_on_its_own():
    _, _, _, copy = _articles()
    assignments, stories = assign_stories([story_input(copy)], StoryIndex.new(CATALOG), RUN)
    assert assignments[copy.article_id].story_id and [s.article_count for s in stories] == [1]


def test_an_index_saved_before_merges_existed_loads(tmp_path):
    rover, rover_2, football, _ = _articles()
    index = StoryIndex.new(CATALOG)
    first, _ = assign_stories([story_input(rover), story_input(football)], index, RUN)
    state = index.export()
    del state["merged_into"]
    for story in state["clusterer"]["stories"]:
        del story["absorbed"]
    save_story_index({}, state, str(tmp_path))
    second, stories = assign_stories([story_input(rover_2)], load_story_index(str(tmp_path), CATALOG), RUN)
    assert second[rover_2.article_id].story_id == first[rover.article_id].story_id
    assert [s.merged_into for s in stories] == [None]


FORMAT_1 = REPO / "tests" / "data" / "story_index" / "format1_story_index.json.gz"
"""Saved by the format-1 code (datasketch signatures) after rover, football and copy of ``_articles``."""


def test_a_format_1_index_is_migrated_on_load_and_its_stories_continue(tmp_path, caplog):
    rover, rover_2, football, _ = _articles()
    shutil.copy(FORMAT_1, tmp_path / "story_index.json.gz")
    with caplog.at_level(logging.WARNING):
        index = load_story_index(str(tmp_path), CATALOG)
    assert "2 near-duplicate signatures of the old hash dropped" in caplog.text
    assert len(index.near_duplicates) == 0
    assert index.duplicate_counts == {"sdf30368b37655666": 1}
    assignments, stories = assign_stories([story_input(rover_2)], index, RUN)
    assert assignments[rover_2.article_id].story_id == "sdf30368b37655666"  # the saved rover story
    assert [(s.story_label, s.article_count) for s in stories] == [("Rover organics", 3)]
    save_story_index({}, index.export(), str(tmp_path))
    saved = json.loads(gzip.decompress((tmp_path / "story_index.json.gz").read_bytes()))
    assert (saved["version"], saved["near_duplicates"]["version"]) == (2, 2)
    again = load_story_index(str(tmp_path), CATALOG)
    assert again.near_duplicates.find(story_input(rover_2).signature).article_id == rover_2.article_id


def test_an_index_of_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="story index version 99"):
        StoryIndex.from_export({"version": 99}, CATALOG)
    state = StoryIndex.new(CATALOG).export()
    with pytest.raises(ValueError, match="migrate it first"):
        StoryIndex.from_export({**state, "near_duplicates": {**state["near_duplicates"], "scheme": "sha1"}}, CATALOG)


def test_an_index_staged_by_a_run_that_died_is_swept_by_the_next_run(tmp_path):
    state = tmp_path / "state"
    staged = Path(stage_story_index(StoryIndex.new(CATALOG), str(state), "dead-run"))
    assert staged.exists()
    clear_stale_staging(str(tmp_path / "out"), str(state))
    assert not staged.parent.exists() and not (state / STORY_INDEX_FILE).exists()  # the old index (none) stays
