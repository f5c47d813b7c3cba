"""Streaming story tagging (``transforms/stories/streaming.py``): flushes, a relabel, a restart."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest
from apache_beam.testing import test_stream

from pipeline.streaming import streaming_stages
from schemas import STORIES, STORY_UPDATES
from tests.builders import article
from tests.stream_builders import (
    CURRENT_STORIES,
    RUN,
    TIMES,
    TOPICS,
    arriving,
    at,
    document,
    read_rows,
    streaming_pipeline,
    streaming_plan,
    when,
)
from transforms.stories.rules import story_input
from transforms.stories.saved import StoryIndex, index_path, load_story_index
from transforms.stories.streaming import (
    MAX_WAITS,
    Link,
    Pending,
    WindowedStories,
    batch_to_tag,
    flush_window,
    forget_old,
    with_near_window,
)

LONG = (
    "The regional water board said on Monday that the reservoir above the valley had fallen to its lowest level in "
    "forty years after a dry winter and a hot spring, and that farmers would be asked to cut irrigation by a third "
    "from next week while engineers repair the leaking canal that feeds the treatment plant near the old mill. "
)


HARBOUR_FOLLOW_UP = (
    "Storm waves cracked the harbour sea wall overnight and the northern quay stays closed. The fishing boats "
    "moved to the southern basin, and engineers who inspected the breakwater said the cranes on the quay are safe. "
    "The harbour authority expects the sea wall repairs to take a month."
)


def stories() -> WindowedStories:
    return WindowedStories(with_near_window(StoryIndex.new(()), dt.timedelta(seconds=TIMES.dedup_horizon_seconds)))


def pending(item, minutes: float) -> Pending:
    return Pending(at(minutes).micros, story_input(item))


def test_a_near_copy_in_a_later_window_is_marked_near_and_joins_its_original_story():
    state = stories()
    original = article(
        "o", url="https://x.test/water", text=LONG * 2, title="Reservoir at a 40-year low", published=when(1)
    )
    copy = article("c", url="https://y.test/water", text=LONG * 2 + "Updated.", published=when(25))
    first = flush_window(state, [pending(original, 1)], TIMES, at(10).micros, RUN, at(10).micros)
    second = flush_window(state, [pending(copy, 25)], TIMES, at(30).micros, RUN, at(30).micros)
    [(_, _, a)] = first.assignments
    [(_, copy_id, b)] = second.assignments
    assert copy_id == copy.article_id
    assert (b.story_id, b.duplicate_of, b.duplicate_kind) == (a.story_id, original.article_id, "near")
    assert [(u.story_id, u.article_count, u.pane) for u in second.updates] == [(a.story_id, 2, 0)]


def test_an_article_the_restored_index_holds_is_already_ingested_not_tagged_again():
    state = stories()
    festival = article("f", url="https://x.test/festival", text=TOPICS["festival"], published=when(2))
    flush_window(state, [pending(festival, 2)], TIMES, at(10).micros, RUN, 1)
    relaunched = WindowedStories.restore(state.export(), (), dt.timedelta(seconds=TIMES.dedup_horizon_seconds))
    relaunched.links.clear()  # a new job: only the saved index survives
    copy = dataclasses.replace(
        article("c", url="https://x.test/festival", text=TOPICS["festival"], published=when(3)),
        article_id="copy-id",
        duplicate_of=festival.article_id,
    )  # the relaunched job's dedup saw the re-delivery first, so a copy now points at it
    again = flush_window(relaunched, [pending(copy, 3), pending(festival, 2)], TIMES, at(10).micros, RUN, 2)
    assert again.already_ingested == [(at(2).micros, festival.article_id)]
    [(_, copy_id, assignment)] = again.assignments
    [before] = state.index.clusterer.stories()
    assert (copy_id, assignment.story_id, assignment.duplicate_of) == ("copy-id", before.story_id, festival.article_id)
    assert [(u.story_id, u.article_count) for u in again.updates] == [(before.story_id, 2)]


def test_an_exact_copy_waits_for_its_original_and_is_clustered_on_its_own_when_it_never_comes():
    state = stories()
    original = article("o", url="https://x.test/court", text=TOPICS["court"], published=when(12))
    copy = dataclasses.replace(
        article("c", url="https://x.test/court", text=TOPICS["court"], published=when(3)),
        article_id="copy-id",
        duplicate_of=original.article_id,
    )
    orphan = dataclasses.replace(article("x", text=TOPICS["rocket"]), article_id="orphan", duplicate_of="never")
    first = flush_window(state, [pending(copy, 3), pending(orphan, 4)], TIMES, at(10).micros, RUN, 1)
    assert first.assignments == [] and len(state.waiting) == 2  # the copy came before its original
    second = flush_window(state, [pending(original, 12)], TIMES, at(20).micros, RUN, 2)
    got = {article_id: (a.story_id, a.duplicate_of) for _, article_id, a in second.assignments}
    story = got[original.article_id][0]
    assert got["copy-id"] == (story, original.article_id)
    assert got["orphan"][0] not in (None, story) and got["orphan"][1] == "never"  # as batch: a story of its own
    assert second.given_up == 1 and MAX_WAITS == 2 and state.waiting == []


def test_a_copy_of_a_copy_is_tagged_with_the_root_original_and_one_of_an_unknown_original_waits():
    state = stories()
    state.links = {  # tagged in an earlier flush: an original and a copy of it
        "root": Link("root", "s-1", at(1).micros),
        "earlier": Link("root", "s-1", at(2).micros),
    }
    chained = dataclasses.replace(article("c", text=TOPICS["court"]), article_id="chained", duplicate_of="earlier")
    unknown = dataclasses.replace(article("u", text=TOPICS["rocket"]), article_id="unknown", duplicate_of="nowhere")
    batch, waiting, given_up = batch_to_tag(state, [pending(chained, 5), pending(unknown, 6)])
    assert [(p.item.article_id, p.item.duplicate_of) for p in batch] == [("chained", "root")]
    assert [(p.item.article_id, p.waits) for p in waiting] == [("unknown", 1)] and given_up == 0


def test_links_and_pane_counts_past_the_horizon_and_lateness_are_forgotten_and_panes_count_on():
    state = stories()
    end = at(600).micros
    horizon = TIMES.horizon_micros + TIMES.lateness_micros + TIMES.window_micros
    state.links = {"old": Link("old", "s-1", end - horizon - 1), "recent": Link("recent", "s-2", end - horizon)}
    state.panes = {end - horizon - 1: 3, end: 1}
    assert forget_old(state, TIMES, end) == 1
    assert set(state.links) == {"recent"} and state.panes == {end: 2}


@pytest.mark.slow
def test_the_label_of_a_story_changes_in_a_later_window_and_the_current_state_shows_it(tmp_path):
    """A relabel: the label follows the headline closest to the story's terms, so updates carry the new one."""
    harbour = "harbour"
    stream = (
        test_stream.TestStream()
        .advance_watermark_to(at(0))
        .add_elements(arriving(2, document(harbour, "https://x.test/1", 1, title="Morning briefing")))
        .advance_watermark_to(at(12))
        .add_elements(
            arriving(
                14,
                dataclasses.replace(
                    document(
                        harbour,
                        "https://y.test/2",
                        13,
                        feed="https://two.test/feed",
                        title="Storm waves crack harbour sea wall, quay closed, fishing boats moved",
                    ),
                    body=HARBOUR_FOLLOW_UP,
                ),
            )
        )
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        streaming_stages(p | stream, streaming_plan(tmp_path))
    updates = read_rows(tmp_path, "story_updates", "story_id, story_label, article_count")
    assert len({u[3] for u in updates}) == 1, "both articles are one story"
    assert [(u[1], u[4], u[5]) for u in updates] == [
        ("1000", "Morning briefing", 1),
        ("1010", "Storm waves crack harbour sea wall, quay closed, fishing boats moved", 2),
    ]
    [current] = duckdb.sql(CURRENT_STORIES.format(root=tmp_path)).fetchall()
    assert current[1] == "Storm waves crack harbour sea wall, quay closed, fishing boats moved"
    rows = read_rows(tmp_path, "articles", "url, story_label")
    assert [r[4] for r in rows] == [
        "Morning briefing",
        "Storm waves crack harbour sea wall, quay closed, fishing boats moved",
    ]


@pytest.mark.slow
def test_a_relaunched_job_continues_the_story_ids_from_the_snapshot(tmp_path):
    """Restart continuity: job 1 snapshots the index to the state store; job 2 (new keyed state) loads it."""
    state = tmp_path / "state"

    def job(out, items):
        stream = test_stream.TestStream().advance_watermark_to(at(0))
        for minutes, doc in items:
            stream = stream.add_elements(arriving(minutes, doc))
        with streaming_pipeline() as p:
            streaming_stages(p | stream.advance_watermark_to_infinity(), streaming_plan(out, state))
        return {r[3]: r[4] for r in read_rows(out, "articles", "url, story_id")}

    first = job(
        tmp_path / "one",
        [(2, document("court", "https://x.test/court", 1)), (3, document("festival", "https://x.test/festival", 2))],
    )
    assert index_path(str(state)).endswith("story_index.json.gz") and (state / "story_index.json.gz").exists()
    saved = load_story_index(str(state), ())
    assert {s.story_id for s in saved.clusterer.stories()} == set(first.values())
    second = job(
        tmp_path / "two",
        [
            (5, document("festival", "https://x.test/festival", 2)),  # fetched again by the new job: not written twice
            (30, document("court", "https://y.test/court-again", 29, feed="https://two.test/feed")),
            (31, document("rocket", "https://x.test/rocket", 30)),
        ],
    )
    assert set(second) == {"https://y.test/court-again", "https://x.test/rocket"}  # festival: held by the index
    assert second["https://y.test/court-again"] == first["https://x.test/court"]  # joined yesterday's story
    assert second["https://x.test/rocket"] not in first.values()
    # The near-duplicate window came back too: the same court text at another URL is a near copy of job 1's article.
    near = duckdb.sql(
        f"SELECT duplicate_kind FROM read_parquet('{tmp_path}/two/articles/*/*.parquet') WHERE url LIKE '%court-again'"
    ).fetchall()
    assert near == [("near",)]


def test_a_story_update_row_has_every_stories_column_but_ingested_at_with_the_same_type():
    stories_columns = {c.name: c for c in STORIES.columns if c.name != "ingested_at"}
    updates = {c.name: c for c in STORY_UPDATES.columns}
    for name, column in stories_columns.items():
        assert (updates[name].arrow_type, updates[name].nullable) == (column.arrow_type, column.nullable), name
    assert set(updates) - set(stories_columns) == {"window_start", "window_end", "pane", "updated_at"}
