"""Live local mode: back-to-back runs on one state store; each new feed item written exactly once."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from pipeline.watch import next_run_line
from tests.conftest import REPO, run_cli
from tests.http_server import Reply

pytestmark = pytest.mark.e2e

PARAGRAPH = (
    "Officials at the harbour authority said on {day} that item {n} of the series had been published,"
    " and that more would follow soon."
)


def growing_feed(server, per_poll: int = 2):
    """A feed that has gained `per_poll` more items at every poll."""
    polls = {"n": 0}

    def feed(request):
        polls["n"] += 1
        count = polls["n"] * per_poll
        items = "".join(
            f"<item><title>Harbour item {i}</title><link>{server.url(f'/story/{i}')}</link>"
            f"<guid>{server.url(f'/story/{i}')}</guid></item>"
            for i in range(count)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'
        return Reply(200, body.encode(), {"Content-Type": "application/rss+xml", "ETag": f'"v{polls["n"]}"'})

    server.route("/feed.xml", feed)
    for i in range(40):
        text = "".join(f"<p>{PARAGRAPH.format(day=d, n=i)}</p>" for d in ("Monday", "Tuesday", "Wednesday"))
        server.route(
            f"/story/{i}",
            Reply(
                200,
                f"<html><body><article><h1>Harbour item {i}</h1>{text}</article></body></html>".encode(),
                {"Content-Type": "text/html"},
            ),
        )


def test_watch_writes_each_new_item_exactly_once(loopback_server, tmp_path):
    growing_feed(loopback_server)
    out = tmp_path / "out"
    result = run_cli(
        "watch",
        "--interval",
        "2",
        "--max-runs",
        "3",
        "--feed",
        loopback_server.url("/feed.xml"),
        "--allow-private-network",
        "--host-delay",
        "0",
        "--catalog",
        "",
        "--output",
        str(out),
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert [int(re.search(r"(\d+) new articles", line).group(1)) for line in lines] == [2, 2, 2]
    waits = [line for line in result.stdout.splitlines() if line.startswith("next run at")]
    assert len(waits) == 2 and all(
        re.fullmatch(r"next run at \d\d:\d\d:\d\d UTC \(in \d+s\); Ctrl-C stops", w) for w in waits
    )
    rows = duckdb.sql(
        f"SELECT title, count(*) FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true) GROUP BY 1"
    ).fetchall()
    assert sorted(rows) == sorted((f"Harbour item {i}", 1) for i in range(6))
    assert len(loopback_server.requests_to("/feed.xml")) == 3
    assert all(len(loopback_server.requests_to(f"/story/{i}")) == 1 for i in range(6))


def test_sigterm_stops_cleanly_with_complete_files(loopback_server, tmp_path):
    growing_feed(loopback_server)
    out = tmp_path / "out"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "watch",
            "--interval",
            "1",
            "--feed",
            loopback_server.url("/feed.xml"),
            "--allow-private-network",
            "--host-delay",
            "0",
            "--catalog",
            "",
            "--output",
            str(out),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    assert first.startswith("[1] run "), first
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and "stopped after" in stdout
    assert not [p for p in out.rglob("*") if "_staging-" in str(p) or ".tmp-" in p.name]
    count = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
    ).fetchall()[0][0]
    runs = 1 + sum(1 for line in stdout.splitlines() if line.startswith("["))
    assert count == 2 * runs


def test_next_run_line_says_when_in_clock_time_and_in_minutes():
    now = dt.datetime(2024, 5, 1, 11, 58, 30, tzinfo=dt.UTC)
    assert next_run_line(298.4, now) == "next run at 12:03:28 UTC (in 4m 58s); Ctrl-C stops"
    assert next_run_line(3, now) == "next run at 11:58:33 UTC (in 3s); Ctrl-C stops"
