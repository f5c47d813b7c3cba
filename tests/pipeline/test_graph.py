"""The batch graph: a source with nothing to read adds no step (fewer steps to build, plan and run)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import build_graph
from pipeline.options import NewsbeamOptions, with_default_runner
from pipeline.plan import plan_run
from tests.conftest import SEEDS
from transforms.run.context import RunContext

SOURCE_STEPS = ("ReadSeedFiles", "ReadFeeds", "ReadWarcFiles", "ReadSitemaps", "FeedPollRows")


def top_level_steps(tmp_path, *args: str) -> set[str]:
    options = with_default_runner(
        PipelineOptions(["--output", str(tmp_path / "out"), "--state", str(tmp_path / "state"), *args])
    )
    p = beam.Pipeline(options=options)
    build_graph(p, plan_run(options.view_as(NewsbeamOptions), RunContext.start()))
    return {t.full_label for t in p.transforms_stack[0].parts}


def test_a_seed_file_run_has_no_feed_warc_or_sitemap_steps(tmp_path):
    steps = top_level_steps(tmp_path, "--input", str(SEEDS))
    assert {s for s in SOURCE_STEPS if s in steps} == {"ReadSeedFiles"}
    assert {"ExtractArticles", "MarkDuplicates", "AssignStories", "WriteTables", "SaveFeedStates"} <= steps


def test_a_feed_run_reads_feeds_and_writes_their_poll_rows(tmp_path):
    steps = top_level_steps(tmp_path, "--feed", "http://127.0.0.1:9/feed.xml", "--catalog", "")
    assert {s for s in SOURCE_STEPS if s in steps} == {"ReadFeeds", "FeedPollRows"}


def test_a_run_with_nothing_to_read_still_has_its_seed_step(tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("")
    steps = top_level_steps(tmp_path, "--feeds", str(feeds), "--catalog", "")
    assert {s for s in SOURCE_STEPS if s in steps} == {"ReadSeedFiles"}
