"""``run --streaming`` on Prism, as a user runs it: a feed on loopback that grows, tables read while the job runs.

The job polls every 2 s into 4 s windows. An item published while it runs must be readable in
``articles`` within two poll intervals plus the window (and some seconds of processing on a
loaded 2-core machine); ``feed_polls``, ``story_updates`` and ``rejects`` panes appear too. SIGTERM
drains it (exit 0, state snapshot written); a relaunch sends conditional GETs, and a new item of an
earlier story gets that story's id, with no article written twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from pipeline.engines import prism_location
from tests.conftest import REPO, engine_or_skip
from tests.engines.feed_site import GrowingFeedSite

POLL, WINDOW = 2.0, 4.0
PROCESSING_SLACK = 6.0
"""Seconds of processing allowed on top of two polls and a window (extraction, pane write, a loaded machine)."""
STARTUP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def prism() -> str:
    return engine_or_skip(prism_location)


def launch(output: Path, feed_url: str) -> subprocess.Popen:
    args = ["run", "--streaming", "--feed", feed_url, "--output", str(output), "--allow-private-network"]
    args += ["--poll-interval", str(POLL), "--window-size", str(WINDOW), "--allowed-lateness", "8"]
    args += ["--dedup-horizon", "120", "--snapshot-interval", "4"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    log = open(output.parent / f"job-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop(job: subprocess.Popen, how: signal.Signals) -> int:
    """Signals the job by its PID and waits for it to drain; kills it (and fails) if it doesn't."""
    os.kill(job.pid, how)
    try:
        return job.wait(timeout=120)
    except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
        pytest.fail(f"the job did not drain within 120 s of {how.name}")


def rows(output: Path, table: str, columns: str = "*") -> list[tuple]:
    """The table's rows as a reader sees them now (no files yet: none)."""
    if not any((output / table).glob("*/*.parquet")):
        return []
    return duckdb.sql(
        f"SELECT {columns} FROM read_parquet('{output}/{table}/*/*.parquet', hive_partitioning = true)"
    ).fetchall()


def wait_for(condition: Callable[[], object], timeout: float, what: str, job: subprocess.Popen) -> float:
    """Seconds until ``condition()`` is truthy; fails on timeout or when the job dies."""
    start = time.monotonic()
    while not condition():
        if job.poll() is not None:
            pytest.fail(f"the job exited ({job.returncode}) while waiting for {what}")
        if time.monotonic() - start > timeout:
            pytest.fail(f"no {what} within {timeout:g} s")
        time.sleep(0.2)
    return time.monotonic() - start


def urls_in_articles(output: Path) -> dict[str, str]:
    return {url.rsplit("/", 1)[-1]: story for url, story in rows(output, "articles", "url, story_id") if url}


def test_streaming_on_prism_serves_fresh_rows_drains_on_sigterm_and_resumes_conditionally(prism, tmp_path):
    site = GrowingFeedSite()
    output = tmp_path / "news"
    job = launch(output, site.feed_url)
    try:
        site.publish("harbour", 0)
        wait_for(lambda: "harbour-0" in urls_in_articles(output), STARTUP_TIMEOUT, "first article", job)

        published = site.publish("orchestra", 0)
        site.publish_broken(0)
        latency = wait_for(lambda: "orchestra-0" in urls_in_articles(output), 60, "new article", job)
        assert latency <= 2 * POLL + WINDOW + PROCESSING_SLACK, f"new item readable after {latency:.1f} s"
        wait_for(
            lambda: any("broken-0" in r[0] for r in rows(output, "rejects", "source_uri || coalesce(detail, '')")),
            60,
            "reject",
            job,
        )
        wait_for(lambda: rows(output, "story_updates"), 60, "story_updates pane", job)
        # the running job polls conditionally: an unchanged feed answers 304, and feed_polls says so
        wait_for(lambda: (304,) in rows(output, "feed_polls", "http_status"), 60, "a 304 poll row", job)
        assert ds.dataset(output / "articles", format="parquet", partitioning="hive").count_rows() >= 2  # pyarrow
        assert published.published > 0

        signalled = time.time()
        assert stop(job, signal.SIGTERM) == 0
        (feed,) = json.loads((output / "_state" / "feeds.json").read_text())["feeds"]
        assert feed["etag"] == '"v3"' and feed["last_status"] == 304, feed  # the validators of the last poll
        last_polled = dt.datetime.fromisoformat(feed["last_polled_at"]).timestamp()
        assert last_polled >= signalled - POLL - 1, "the drain did not write the last snapshot"
        assert (output / "_state" / "story_index.json.gz").is_file()  # the story index, snapshotted too
        stories_before = urls_in_articles(output)

        site.publish("harbour", 1)
        polled_before = len(site.server.requests_to("/feed.xml"))
        job = launch(output, site.feed_url)
        wait_for(lambda: "harbour-1" in urls_in_articles(output), STARTUP_TIMEOUT, "article after relaunch", job)
        first_poll_after_relaunch = site.server.requests_to("/feed.xml")[polled_before]
        assert first_poll_after_relaunch.headers.get("if-none-match") == '"v3"'
        assert "if-modified-since" in first_poll_after_relaunch.headers
        assert stop(job, signal.SIGINT) == 0
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        site.close()

    stories = urls_in_articles(output)
    assert stories["harbour-1"] == stories_before["harbour-0"]  # the relaunch continued the story
    assert stories["orchestra-0"] != stories["harbour-0"]
    ids = [r[0] for r in rows(output, "articles", "article_id")]
    assert len(ids) == len(set(ids)) == 3, ids  # harbour-0, listed again after the relaunch, is not written twice
