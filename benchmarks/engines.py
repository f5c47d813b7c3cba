"""Beam's engines side by side: batch pages/s and start-up on each, streaming latency on Prism.

    python -m benchmarks.engines --results benchmarks/RESULTS.md   # make bench-engines (after make engines)

Batch: ``python -m pipeline run`` over the WCXB pages (711) on FnApiRunner (the default) and on
Prism (``--runner=PrismRunner``), in one run, in the order A B B A and the best of each engine's
two runs kept, so both see the same machine load; the start-up figure is the same command on one
page (command to exit), measured the same way. Streaming: ``run --streaming``
on Prism against a loopback feed (poll every 2 s, 4 s windows); items are published one at a
time and each one's latency is from publish to its row being readable in ``articles`` (DuckDB
over the pane files). The figures replace the "Engines" section of the results file.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.corpus import base_pages, write_pages
from benchmarks.extraction import run_pipeline
from benchmarks.measure import REPO, Measured, bench_env
from pipeline.engines import prism_location

SECTION = "## Engines"
STREAM_POLL, STREAM_WINDOW = 2.0, 4.0


@dataclass(frozen=True)
class BatchEngine:
    name: str
    args: tuple[str, ...]


def batch_engines() -> list[BatchEngine]:
    return [
        BatchEngine("FnApiRunner (default)", ()),
        BatchEngine("Prism", ("--runner=PrismRunner", f"--prism_location={prism_location()}")),
    ]


def measure_batch(work: Path, pages: int | None) -> list[tuple[BatchEngine, int, Measured, Measured]]:
    corpus, one = work / "pages", work / "one-page"
    n = write_pages(base_pages(pages), corpus)
    write_pages(base_pages(1), one)
    engines = batch_engines()
    order = [*engines, *reversed(engines)]  # A B B A: each engine once early and once late in the run
    startups: dict[str, list[Measured]] = {e.name: [] for e in engines}
    fulls: dict[str, list[Measured]] = {e.name: [] for e in engines}
    for i, e in enumerate(order):
        startups[e.name].append(run_pipeline(one, work / f"start-{i}", *e.args))
    for i, e in enumerate(order):
        fulls[e.name].append(run_pipeline(corpus, work / f"full-{i}", *e.args))
    return [(e, n, _best(startups[e.name]), _best(fulls[e.name])) for e in engines]


def _best(runs: list[Measured]) -> Measured:
    return min(runs, key=lambda m: m.wall_s)


def article_urls(output: Path) -> set[str]:
    if not any((output / "articles").glob("*/*.parquet")):
        return set()
    sql = f"SELECT url FROM read_parquet('{output}/articles/*/*.parquet', hive_partitioning = true)"
    return {row[0] for row in duckdb.sql(sql).fetchall()}


def measure_streaming(work: Path, items: int) -> tuple[float, list[float]]:
    """Start-up (launch → first row readable) and each later item's publish → readable seconds, on Prism."""
    from tests.engines.feed_site import GrowingFeedSite  # the loopback site of the engines tests

    site, output = GrowingFeedSite(), work / "stream"
    args = ["run", "--streaming", "--feed", site.feed_url, "--output", str(output), "--allow-private-network"]
    args += ["--poll-interval", str(STREAM_POLL), "--window-size", str(STREAM_WINDOW), "--allowed-lateness", "8"]
    args += ["--dedup-horizon", "600", "--snapshot-interval", "30"]
    launched = time.monotonic()
    job = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=REPO, env=bench_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    latencies: list[float] = []
    try:
        first = site.publish("harbour", 0)
        startup = _readable(output, site.server.url(f"/news/{first.slug}"), job, 300) - launched
        topics = ("orchestra", "harbour")
        for n in range(1, items + 1):
            time.sleep(STREAM_POLL * (n % 3) / 3)  # publish at different phases of the poll cycle
            item = site.publish(topics[n % 2], n)
            published = time.monotonic()
            latencies.append(_readable(output, site.server.url(f"/news/{item.slug}"), job, 120) - published)
        os.kill(job.pid, signal.SIGTERM)
        if job.wait(timeout=120) != 0:
            raise RuntimeError(f"the streaming job exited {job.returncode} on SIGTERM")
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        site.close()
    return startup, latencies


def _readable(output: Path, url: str, job: subprocess.Popen, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while url not in article_urls(output):
        if job.poll() is not None:
            raise RuntimeError(f"the streaming job exited {job.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not readable within {timeout:g} s")
        time.sleep(0.1)
    return time.monotonic()


def section(batch: list, stream_startup: float, latencies: list[float], load: tuple[float, float]) -> str:
    lines = [
        SECTION,
        "",
        f"- machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average {load[0]:.2f} at the "
        f"start, {load[1]:.2f} at the end (above 2: other jobs shared the cores; compare the rows side by side)",
        "- batch: `python -m pipeline run --input PAGES --catalog ''` over the WCXB dev pages, the engines "
        "run A B B A in one run, best of two each; start-up is the same command on one page (command to exit)",
        "",
        "| engine (batch) | pages | wall s | pages/s | CPU s (process tree) | start-up s (1 page) |",
        "|---|---|---|---|---|---|",
    ]
    for engine, n, startup, full in batch:
        figures = (n, f"{full.wall_s:.1f}", f"{n / full.wall_s:.1f}", f"{full.cpu_s:.1f}", f"{startup.wall_s:.1f}")
        lines.append(f"| {engine.name} | " + " | ".join(map(str, figures)) + " |")
    (_, n, _, base), (_, _, _, prism) = batch[0], batch[-1]
    lines += [
        "",
        f"Prism ÷ FnApiRunner: pages/s **{base.wall_s / prism.wall_s:.2f}**, CPU s {prism.cpu_s / base.cpu_s:.2f}. "
        "Prism can hand the SDK worker several bundles at once (its threads), FnApiRunner runs them one by one: "
        "on a loaded machine the "
        "wall-time ratio favours the engine with more runnable threads; the CPU ratio is the steadier comparison.",
        "",
        f"Streaming on Prism (`run --streaming`, poll every {STREAM_POLL:g} s, {STREAM_WINDOW:g} s windows, a loopback "
        f"feed): start-up (launch → first article readable) {stream_startup:.1f} s; a new feed item, publish → its "
        f"row readable in `articles`, over {len(latencies)} items: median **{statistics.median(latencies):.1f} s**, "
        f"worst **{max(latencies):.1f} s** (bound: two polls plus the window = {2 * STREAM_POLL + STREAM_WINDOW:g} s "
        "plus processing).",
        "",
    ]
    return "\n".join(lines)


def replace_section(text: str, new: str) -> str:
    """``text`` with its Engines section (up to the next ``## `` heading) replaced by ``new``, or ``new`` appended."""
    if SECTION not in text:
        return text.rstrip("\n") + "\n\n" + new
    before, rest = text.split(SECTION, 1)
    after = rest.split("\n## ", 1)
    return before + new + ("\n## " + after[1] if len(after) > 1 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="results file whose Engines section is replaced")
    parser.add_argument("--pages", type=int, default=None, help="first N corpus pages (default: all)")
    parser.add_argument("--items", type=int, default=12, help="feed items published in the streaming figure")
    args = parser.parse_args(argv)
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        work = Path(tmp)
        batch = measure_batch(work, args.pages)
        stream_startup, latencies = measure_streaming(work, args.items)
    text = section(batch, stream_startup, latencies, (start_load, os.getloadavg()[0]))
    print(text)
    if args.results:
        old = args.results.read_text() if args.results.exists() else ""
        args.results.write_text(replace_section(old, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
