"""Extraction throughput: the library limit against ``python -m pipeline run``, one extraction process and all cores.

All read the same ``.html`` files from one folder, each in a fresh process:
(a) ``benchmarks.extraction_limit`` (read + trafilatura in a loop; imports excluded),
(b) the pipeline end to end on FnApiRunner with one HTML extraction process (``--extraction-workers 1``;
the runner's own work overlaps it), Parquet writing included,
(c) the same with the default, one extraction process per usable core ("use all my cores"),
(d) FnApiRunner's own multi-processing, two worker processes of one extraction process each, for comparison.
A pipeline start-up figure (the same command on a single page) shows the fixed cost in (b).
The limit runs before (b) and after (c) (and, with ``limit_runs=3``, between them) and its best
time counts: on a shared machine this favours the limit, so the ratios err against the pipeline.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import Page, write_pages
from benchmarks.measure import Measured, check_ok, committed_rows, pipeline_command, run_measured

ONE_WORKER = ("--extraction-workers=1",)
MULTI_PROCESS = ("--direct_running_mode=multi_processing", "--direct_num_workers=2", "--extraction-workers=1")


@dataclass(frozen=True)
class ExtractionResult:
    pages: int
    limit_s: float
    limit_cpu_s: float
    logic_s: float | None
    logic_cpu_s: float | None
    limit_rss_mb: float
    logic_rss_mb: float | None
    limit_load: float
    startup: Measured
    single: Measured
    multi: Measured
    runner_multi: Measured

    @property
    def limit_pps(self) -> float:
        return self.pages / self.limit_s

    @property
    def single_pps(self) -> float:
        return self.pages / self.single.wall_s

    @property
    def marginal_pps(self) -> float:
        """(b)'s pages/s once started: the pages beyond the first over the time beyond the 1-page run."""
        return (self.pages - 1) / max(self.single.wall_s - self.startup.wall_s, 1e-9)

    @property
    def multi_pps(self) -> float:
        return self.pages / self.multi.wall_s

    @property
    def runner_multi_pps(self) -> float:
        return self.pages / self.runner_multi.wall_s


def run_pipeline(input_dir: Path, output: Path, *extra: str) -> Measured:
    """``python -m pipeline run`` over ``input_dir`` into a fresh ``output``; checks nothing vanished."""
    measured = run_measured(
        pipeline_command("--input", str(input_dir), "--output", str(output), "--catalog", "", *extra)
    )
    check_ok(measured, f"pipeline run on {input_dir}")
    rows = committed_rows(output)
    files = sum(1 for _ in input_dir.glob("*.html"))
    if rows.get("articles", 0) + rows.get("rejects", 0) != files:
        raise RuntimeError(f"{files} input pages but {rows} rows: the run lost or invented items")
    return measured


def measure_extraction(pages: list[Page], work: Path, with_logic: bool = True, limit_runs: int = 3) -> ExtractionResult:
    corpus = work / "extraction-pages"
    write_pages(pages, corpus)
    one_page = work / "one-page"
    write_pages(pages[:1], one_page)
    startup = run_pipeline(one_page, work / "out-startup", *ONE_WORKER)
    limits = [run_limit(corpus, with_logic)]
    single = run_pipeline(corpus, work / "out-single", *ONE_WORKER)
    if limit_runs >= 3:
        limits.append(run_limit(corpus))
    multi = run_pipeline(corpus, work / "out-multi")
    runner_multi = run_pipeline(corpus, work / "out-runner-multi", *MULTI_PROCESS)
    if limit_runs >= 2:
        limits.append(run_limit(corpus))
    best, load = min(limits, key=lambda result: result[0]["limit_s"])
    logic = limits[0][0]
    return ExtractionResult(
        len(pages),
        best["limit_s"],
        best["limit_cpu_s"],
        logic.get("logic_s"),
        logic.get("logic_cpu_s"),
        best["limit_rss_mb"],
        logic.get("logic_rss_mb"),
        load,
        startup,
        single,
        multi,
        runner_multi,
    )


def run_limit(corpus: Path, with_logic: bool = False) -> tuple[dict, float]:
    """The limit script's figures, and the load average when it ended."""
    command = [sys.executable, "-m", "benchmarks.extraction_limit", str(corpus)] + (
        ["--with-pipeline-logic"] if with_logic else []
    )
    measured = run_measured(command)
    check_ok(measured, "extraction limit")
    return json.loads(measured.stdout), measured.load
