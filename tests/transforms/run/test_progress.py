"""The progress line on long runs: throttled per worker, in pipeline order; shown by a real CLI run."""

import os
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import REPO, SEEDS
from transforms.run.progress import Progress, progress_message


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_message_comes_at_most_once_per_interval_with_the_totals_so_far():
    clock = FakeClock()
    progress = Progress(interval=10, clock=clock)
    assert progress.add("pages fetched", 3) is None  # the first item starts the clock
    clock.now += 4
    assert progress.add("articles extracted") is None
    clock.now += 6
    assert progress.add("articles extracted") == "progress after 10s: 3 pages fetched, 2 articles extracted"
    clock.now += 9
    assert progress.add("pages fetched") is None
    clock.now += 1
    assert (
        progress.add("rows staged in articles", 2)
        == "progress after 20s: 4 pages fetched, 2 articles extracted, 2 rows staged in articles"
    )


def test_kinds_are_listed_in_pipeline_order_and_zeros_left_out():
    counts = Counter({"rows staged in articles": 5, "documents read": 7, "extraction rejects": 0, "stories touched": 1})
    assert (
        progress_message(counts, 3.4)
        == "progress after 3s: 7 documents read, 5 rows staged in articles, 1 stories touched"
    )


@pytest.mark.e2e
def test_a_cli_run_logs_progress_lines(tmp_path):
    env = {**os.environ, "NEWSBEAM_PROGRESS_SECONDS": "0", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--input", str(SEEDS), "--output", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = [line for line in out.stderr.splitlines() if "newsbeam.progress" in line]
    assert any("5 documents read" in line for line in lines), out.stderr[-3000:]
    assert any("5 articles extracted" in line for line in lines), lines


def test_once_documents_are_extracted_the_line_has_the_share_handled_the_rate_and_an_eta():
    counts = Counter({"documents read": 200, "articles extracted": 40, "extraction rejects": 10})
    assert progress_message(counts, 10) == (
        "progress after 10s: 200 documents read, 40 articles extracted, 10 extraction rejects;"
        " 50 of 200 documents read so far handled (25%), 5.0/s, ETA 30s"
    )
    done = Counter({"documents read": 50, "articles extracted": 50})
    assert progress_message(done, 100).endswith("50 of 50 documents read so far handled (100%), 0.5/s")


def test_reset_starts_the_counts_afresh_for_the_next_run(monkeypatch):
    from transforms.run import progress

    monkeypatch.setattr(progress, "PROGRESS_EVERY_SECONDS", 0.0)
    progress.reset()
    progress._WORKER.add("documents read", 5)
    progress.reset()
    assert progress._WORKER.add("documents read", 1).endswith(": 1 documents read")
