"""The Beam side of story tagging: parallel vectors, one ordered step, duplicates follow originals."""
import dataclasses

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from transforms.assign_stories import AssignStories, cluster_articles, story_input
from transforms.story_clustering import CatalogStory
from tests.builders import RUN, article, day
from tests.conftest import fn_api_pipeline

ROVER = "Mars rover Perseverance finds organic molecules in Jezero crater rock samples, NASA scientists say."
ROVER_2 = "NASA says the Perseverance rover detected organic molecules in rocks from Mars' Jezero crater."
FOOTBALL = "Striker Tomas Lind signs a four-year contract with Northport United after a record transfer fee."
CATALOG = [CatalogStory("Rover organics", "NASA Perseverance rover on Mars finds organic molecules in Jezero crater rocks.")]


def _articles():
    rover = article("rover", text=ROVER * 3, title="Perseverance finds organic molecules on Mars", published=day(1))
    rover_2 = article("rover2", text=ROVER_2 * 3, title="NASA rover detects organics in Jezero crater", published=day(2))
    football = article("football", text=FOOTBALL * 3, title="Lind joins Northport United", published=day(2))
    copy = dataclasses.replace(
        article("copy", url="https://mirror.test/rover", text=ROVER * 3, published=day(5)), duplicate_of=rover.article_id
    )
    return rover, rover_2, football, copy


def test_duplicates_follow_their_original_and_count_in_the_story():
    rover, rover_2, football, copy = _articles()
    assignments, stories = cluster_articles([story_input(a) for a in (copy, football, rover_2, rover)], CATALOG, RUN)
    assert assignments[copy.article_id] == assignments[rover.article_id] == assignments[rover_2.article_id]
    assert assignments[football.article_id].story_id != assignments[rover.article_id].story_id
    by_label = {s.story_label: s for s in stories}
    assert by_label["Rover organics"].article_count == 3
    assert by_label["Rover organics"].label_source == "catalog"
    assert (by_label["Rover organics"].first_published, by_label["Rover organics"].last_published) == (day(1), day(5))
    assert by_label["Lind joins Northport United"].article_count == 1


def test_the_same_input_in_any_arrival_order_gives_the_same_stories():
    items = [story_input(a) for a in _articles()]
    first, _ = cluster_articles(items, CATALOG, RUN)
    second, _ = cluster_articles(list(reversed(items)), CATALOG, RUN)
    assert first == second


def test_assign_stories_tags_every_article_and_emits_story_rows():
    rover, rover_2, football, copy = _articles()
    with fn_api_pipeline() as p:
        tagged, stories = p | beam.Create([rover, rover_2, football, copy]) | AssignStories(CATALOG, RUN)
        assert_that(
            tagged | beam.Map(lambda a: (a.source_uri, a.story_label)),
            equal_to([
                ("/in/rover.txt", "Rover organics"), ("/in/rover2.txt", "Rover organics"),
                ("/in/copy.txt", "Rover organics"), ("/in/football.txt", "Lind joins Northport United"),
            ]),
            label="articles",
        )
        assert_that(stories | beam.Map(lambda s: (s.story_label, s.article_count)),
                    equal_to([("Rover organics", 3), ("Lind joins Northport United", 1)]), label="stories")
