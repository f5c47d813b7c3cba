"""The progress of a run through the CLI: redrawn in place on a terminal (a pty), log lines otherwise,
afresh for each watch run, fetches per host, and a start line that counts WARC files and sitemaps."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, SEEDS
from tests.sitemap_site import serve_site
from tests.warc_files import script_pages, write_warc

pytestmark = pytest.mark.e2e


def cli_env(seconds: str) -> dict[str, str]:
    return {**os.environ, "NEWSBEAM_PROGRESS_SECONDS": seconds, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}


def run_cli_logging(*args: str, seconds: str = "0.05") -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO,
        env=cli_env(seconds),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def run_on_a_terminal(*args: str, timeout: float = 600) -> tuple[int, str]:
    """The CLI with a pty as its terminal (stdout and stderr); everything it wrote, and its exit code."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the CLI
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "pipeline", *args], cli_env("10"))
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", errors="replace")


def test_on_a_terminal_one_line_is_redrawn_in_place_and_kept_when_the_run_ends(tmp_path):
    code, screen = run_on_a_terminal("run", "--input", str(SEEDS), "--output", str(tmp_path / "out"))
    assert code == 0, screen[-3000:]
    draws = screen.split("\r\x1b[K")
    assert len(draws) >= 2, screen[-3000:]
    last = draws[-1].split("\r\n", 1)[0]  # the final state, then a newline before the summary
    assert re.fullmatch(r"\[\d+s\] read 5 · extracted 5 \(100%\) · staged \d+ · [\d.]+/s · seed files 5/5", last), last
    assert draws[-1].split("\r\n", 1)[1].startswith("newsbeam run ")
    assert "newsbeam.progress" not in screen, "no log lines on a terminal"


def test_off_a_terminal_each_watch_run_counts_its_own_progress(tmp_path):
    out = tmp_path / "out"
    result = run_cli_logging("watch", "--input", str(SEEDS), "--output", str(out), "--max-runs", "2", "--interval", "0")
    runs = re.split(r"INFO newsbeam: run \S+: ", result.stderr)[1:]
    assert len(runs) == 2, result.stderr[-3000:]
    for run in runs:
        lines = [line for line in run.splitlines() if "newsbeam.progress" in line]
        assert lines and lines[-1].endswith("seed files 5/5"), lines
        assert "5 documents read" in lines[-1] and "10 documents read" not in run, lines[-1]


def test_a_warc_only_run_starts_by_counting_its_warc_files(tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, script_pages())
    result = run_cli_logging("run", "--input", str(warc), "--output", str(tmp_path / "out"))
    assert re.search(r"INFO newsbeam: run \S+: 1 WARC file → ", result.stderr), result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "newsbeam.progress" in line]
    assert lines and re.search(r": \d+ documents read", lines[-1]) and "seed files" not in lines[-1], lines


def test_a_sitemap_run_names_its_sitemaps_and_shows_fetches_per_host(loopback_server, tmp_path):
    serve_site(loopback_server)
    result = run_cli_logging(
        "run",
        "--site",
        loopback_server.base_url,
        "--output",
        str(tmp_path / "out"),
        "--catalog",
        "",
        "--allow-private-network",
        "--host-delay",
        "0.4",
    )
    assert re.search(r"INFO newsbeam: run \S+: 1 sitemap → ", result.stderr), result.stderr[-3000:]
    host = loopback_server.base_url.split("//", 1)[1]
    fetching = re.findall(rf"fetching {re.escape(host)} (\d+)/(\d+)", result.stderr)
    assert fetching, result.stderr[-3000:]
    assert any(int(done) < int(queued) for done, queued in fetching)
