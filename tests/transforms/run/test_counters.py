"""Counter names live in transforms.run.counters: stages count through it and the summary reads it."""

from __future__ import annotations

import ast
import json

import pytest

from tests.conftest import REPO, SEEDS, run_cli
from transforms.run import counters

NAMESPACES = {counters.READ, counters.EXTRACT, counters.FEEDS, counters.DEDUP, counters.STORIES, counters.WINDOW}
COUNTERS_MODULE = REPO / "transforms" / "run" / "counters.py"


def _calls_to_metrics_counter(path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "counter"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "Metrics"
    ]


def test_no_stage_names_a_beam_counter_itself():
    """Every Metrics.counter call is in counters.py, so a stage can't count under a name the summary doesn't read."""
    offenders = {
        str(path.relative_to(REPO)): lines
        for root in ("transforms", "pipeline")
        for path in (REPO / root).rglob("*.py")
        if path != COUNTERS_MODULE and (lines := _calls_to_metrics_counter(path))
    }
    assert offenders == {}


def test_no_counter_name_is_spelled_out_in_the_summary():
    source = (REPO / "pipeline" / "summary.py").read_text()
    dotted = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.count(".") == 1
        and node.value.split(".")[0]
        in {counters.READ, counters.EXTRACT, counters.FEEDS, counters.DEDUP, counters.STORIES}
    ]
    assert dotted == []


def test_families_sum_their_members_only():
    totals = {"feeds.status_200": 2, "feeds.status_304": 1, "feeds.feed_rejected_http_404": 1, "read.rejected_empty": 3}
    assert counters.FEED_STATUS.total(totals) == 3
    assert counters.FEEDS_NOT_MODIFIED.read(totals) == 1
    assert counters.FEEDS_FAILED.total(totals) == 1
    assert counters.item_rejects(totals) == 3
    assert counters.ARTICLES_EXTRACTED_FROM.of("seed").key == "extract.seed_articles"


@pytest.mark.e2e
def test_every_counter_the_summary_reads_is_counted_by_a_real_run(tmp_path):
    """The seeds plus a blank file: the counters the seed accounting reads are all present in the run's totals."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "blank.txt").write_text("")
    out = tmp_path / "out"
    run_cli("run", "--input", str(SEEDS), "--input", str(extra), "--output", str(out))
    (path,) = (out / "_runs").glob("*.summary.json")
    totals = json.loads(path.read_text())["counters"]
    for counter in (
        counters.SEED_DOCUMENTS,
        counters.ARTICLES_EXTRACTED,
        counters.ARTICLES_EXTRACTED_FROM.of("seed"),
        counters.STORIES_TOUCHED,
        counters.ROWS_WRITTEN.of("articles"),
    ):
        assert counter.read(totals) > 0, counter.key
    assert (
        counters.rejected(counters.READ).total(totals) + counters.REJECTS_AT_EXTRACTION_FROM.of("seed").read(totals)
        == 1
    )
