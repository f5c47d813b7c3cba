"""Memory: peak RSS of single-worker pipeline runs over 1×, 10× (and 100×) the page corpus.

Copies get new URLs and a unique opening sentence (``corpus.replicate``), so every copy is a new
article for dedup and clustering. If memory were bounded by the clustering window and Parquet
row groups, peak RSS would stay nearly flat while the input grows; the ratio shows whether it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import Page, replicate, write_pages
from benchmarks.extraction import run_pipeline
from benchmarks.measure import Measured


@dataclass(frozen=True)
class MemoryRun:
    factor: int
    pages: int
    input_mb: float
    measured: Measured


def measure_memory(pages: list[Page], work: Path, factors: tuple[int, ...]) -> list[MemoryRun]:
    runs = []
    for factor in factors:
        folder = work / f"memory-{factor}x"
        n = write_pages(replicate(pages, factor), folder)
        input_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        runs.append(MemoryRun(factor, n, input_mb, run_pipeline(folder, work / f"out-memory-{factor}x")))
    return runs
