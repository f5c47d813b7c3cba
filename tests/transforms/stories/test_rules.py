"""The phases of ``assign_stories``, each on its own (the whole function is tested through both graphs)."""

import dataclasses

import pytest

from tests.builders import RUN, article, day
from transforms.dedup.rules import NEAR
from transforms.stories.rules import (
    StoryInput,
    Tagging,
    assign_stories,
    follow_merges,
    settle,
    story_input,
    tag_copies,
    tag_originals,
    vector_of,
)
from transforms.stories.saved import StoryIndex

QUAKE = " ".join(
    f"Absatz {i}: Ein Erdbeben der Stärke 6,1 erschütterte am Morgen die Küste bei Izmir, teilten die Behörden "
    f"mit. Die Helfer suchen in Bezirk {i} weiter nach Verschütteten."
    for i in range(8)
)
QUAKE_EDITED = QUAKE.replace("weiter nach Verschütteten.", "noch nach Verschütteten.", 1) + " Mit Agenturmaterial."
TOKYO = "東京都は来年度から公立小学校の給食費を無償化する方針を固めた。関係者によると予算は約二百億円になる。" * 6


def _inputs():
    quake = article("quake", text=QUAKE, title="Erdbeben bei Izmir", published=day(2), language="de")
    edited = article("edited", text=QUAKE_EDITED, title="Erdbeben bei Izmir", published=day(3), language="de")
    tokyo = article("tokyo", text=TOKYO, title="給食費を無償化", published=day(1), language="ja")
    return quake, edited, tokyo


def test_originals_are_tagged_in_publication_order_and_a_near_copy_joins_its_original():
    quake, edited, tokyo = _inputs()
    tagging = tag_originals([story_input(a) for a in (edited, quake, tokyo)], StoryIndex.new(()), RUN)
    assert tagging.near == {edited.article_id: (quake.article_id, tagging.story_of[quake.article_id])}
    assert tagging.story_of[edited.article_id] == tagging.story_of[quake.article_id]
    assert tagging.story_of[tokyo.article_id] != tagging.story_of[quake.article_id]
    assert tagging.gained == {tagging.story_of[quake.article_id]: 1}


def test_a_copy_of_a_copy_of_an_earlier_article_follows_it_whatever_the_input_order():
    quake, _, _ = _inputs()
    index = StoryIndex.new(())
    first, _ = assign_stories([story_input(quake)], index, RUN)
    copy = dataclasses.replace(article("copy", url="https://mirror.test/q", text=QUAKE), duplicate_of=quake.article_id)
    copy_of_copy = dataclasses.replace(
        article("copy2", url="https://mirror2.test/q", text=QUAKE), duplicate_of=copy.article_id
    )
    inputs = [story_input(copy_of_copy), story_input(copy)]  # the copy of the copy comes first
    tagging = Tagging()
    tag_copies(inputs, tagging, index)
    story = first[quake.article_id].story_id
    assert tagging.story_of == {copy.article_id: story, copy_of_copy.article_id: story}
    assert tagging.gained == {story: 2}


def test_settle_counts_the_gained_duplicates_and_gives_a_near_copy_its_mark():
    quake, edited, _ = _inputs()
    index = StoryIndex.new(())
    tagging = tag_originals([story_input(quake), story_input(edited)], index, RUN)
    follow_merges(tagging, index)
    assignments, rows = settle(tagging, index, RUN)
    story = tagging.story_of[quake.article_id]
    assert assignments[edited.article_id].duplicate_of == quake.article_id
    assert assignments[edited.article_id].duplicate_kind == NEAR
    assert assignments[quake.article_id].duplicate_kind is None
    assert index.duplicate_counts == {story: 1}
    assert [(r.story_id, r.article_count) for r in rows] == [(story, 2)]


def test_an_input_without_a_vector_is_refused_by_name():
    with pytest.raises(ValueError, match="lonely"):
        vector_of(StoryInput("lonely", day(1), "a title", None))
