"""The progress line on long runs: throttled per worker, in pipeline order; shown by a real CLI run."""

import os
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import REPO, SEEDS
from transforms.run.progress import Progress, Snapshot, progress_message, terminal_line


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
    assert progress.add("articles extracted") == (
        "progress after 10s: 3 pages fetched, 2 articles extracted; 2 of 3 documents read so far handled (66%),"
        " 0.2/s, ETA 5s"
    )
    clock.now += 9
    assert progress.add("pages fetched") is None
    clock.now += 1
    assert (
        progress.add("rows staged in articles", 2)
        == "progress after 20s: 4 pages fetched, 2 articles extracted, 2 rows staged in articles;"
        " 2 of 4 documents read so far handled (50%), 0.1/s, ETA 20s"
    )


def test_kinds_are_listed_in_pipeline_order_and_zeros_left_out():
    counts = Counter({"rows staged in articles": 5, "documents read": 7, "extraction rejects": 0, "stories touched": 1})
    assert (
        progress_message(counts, 3.4)
        == "progress after 3s: 7 documents read, 5 rows staged in articles, 1 stories touched"
    )


@pytest.mark.e2e
def test_a_cli_run_off_a_terminal_logs_progress_lines(tmp_path):
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


def test_the_line_names_the_hosts_still_being_fetched_busiest_first_and_counts_the_rest():
    clock = FakeClock()
    progress = Progress(interval=0, clock=clock)
    progress.begin()
    for host, n in (("a.example", 10), ("b.example", 4), ("c.example", 2), ("d.example", 1), ("e.example", 1)):
        progress.fetching(host, n)
    for host, n in (("a.example", 3), ("b.example", 1), ("e.example", 1)):
        progress.fetched(host, n)
    clock.now += 5
    snapshot = progress.snapshot()
    assert progress_message(snapshot).endswith("; fetching a.example 3/10, b.example 1/4, c.example 0/2 (+1 host)")
    assert terminal_line(snapshot) == "[5s] fetching a.example 3/10, b.example 1/4, c.example 0/2 (+1 host)"


def test_the_terminal_line_has_read_extracted_staged_rate_eta_and_the_plans_totals():
    snapshot = Snapshot(
        elapsed=80,
        counts={
            "seed files read": 120,
            "documents read": 1786,
            "articles extracted": 400,
            "extraction rejects": 16,
            "rows staged in articles": 380,
        },
        totals={"seed files": 201},
    )
    assert terminal_line(snapshot) == (
        "[1m 20s] read 1786 · extracted 400 + 16 rejected (23%) · staged 380 · 5.2/s · ETA 4m 23s · seed files 120/201"
    )
    assert len(terminal_line(snapshot, width=40)) == 40 and terminal_line(snapshot, width=40).endswith("…")
    assert progress_message(snapshot) == (
        "progress after 80s: 1786 documents read, 400 articles extracted, 16 extraction rejects,"
        " 380 rows staged in articles; 416 of 1786 documents read so far handled (23%), 5.2/s, ETA 4m 23s;"
        " seed files 120/201"
    )


def test_with_a_ticker_the_ticker_logs_and_only_when_something_moved(monkeypatch, caplog):
    import logging
    import time

    from transforms.run import progress

    monkeypatch.setattr(progress, "PROGRESS_EVERY_SECONDS", 0.05)
    caplog.set_level(logging.INFO, logger="newsbeam.progress")
    progress.start({"seed files": 2})
    try:
        progress.note("seed files read")
        progress.note("documents read", 3)
        time.sleep(0.3)
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and lines[0].endswith(": 3 documents read; seed files 1/2"), lines
        progress.note("articles extracted", 3)
    finally:
        progress.finish()  # logs the last counts
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "3 of 3 documents read so far handled (100%)" in lines[1], lines
    progress.start()
    progress.finish()
    assert len(caplog.records) == 2, "a new run starts afresh, and nothing moved"
