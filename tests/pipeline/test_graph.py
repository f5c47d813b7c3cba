"""The batch graph and its plan: a source with nothing to read adds no step; extraction processes per worker."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import build_graph
from pipeline.options import NewsbeamOptions, with_default_runner
from pipeline.plan import PlanError, extraction_workers, plan_run
from tests.conftest import SEEDS
from transforms.run.context import RunContext
from transforms.text.html_worker import usable_cores

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


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--runner=FnApiRunner"], usable_cores()),  # the whole run is this process: one extraction process per core
        (["--runner=FnApiRunner", "--extraction-workers=3"], 3),
        (["--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], 1),
        (["--runner=DataflowRunner"], 1),  # a worker process per core already
        (["--runner=PrismRunner", "--extraction-workers=2"], 2),
    ],
)
def test_extraction_processes_default_to_the_cores_of_a_one_process_run(args, expected):
    assert extraction_workers(PipelineOptions(args)) == expected


def test_zero_extraction_processes_is_refused():
    with pytest.raises(PlanError, match="at least 1"):
        extraction_workers(PipelineOptions(["--extraction-workers=0"]))
