"""All benchmarks in one run: ratios measured side by side, absolute numbers, the machine.

    python -m benchmarks.run            # quick (make bench): aims at < 5 min on 2 idle cores
    python -m benchmarks.run --full     # make bench-full: whole corpus, 100× memory, 1M clustering

Writes the results as Markdown to ``benchmarks/RESULTS.md`` and prints them. Every pipeline run
is a fresh ``python -m pipeline run`` process on FnApiRunner; inputs live in a temporary folder.

| | quick | full |
|---|---|---|
| extraction pages | the corpus (711 pages); limit best of 2 | the corpus 4× (copies with new URLs); limit best of 3 |
| feeds | default delay at 1/4/16 hosts, 0.05 s at 16; 4 items/host | both delays at 1/4/16/64 hosts; 8 items/host |
| clustering (``clustering.py --scale-once``) | 10k, 20k | 10k, 100k, 1M |
| memory (copies of the corpus's first pages) | 50 pages × 1, 100 | 50 pages × 1, 10, 100 |
| WARC (``benchmarks/warc.py``) | one WARC; news-please, bare loop, 1 / all extractors; 5k/50k records | same |

Memory: 50 distinct pages, then 5,000 (copies with new URLs and a new opening sentence, so
none is removed as an exact duplicate). The first lines printed are the key ratios,
each with its figure from this run: pipeline ÷ library loop with and without start-up, two
workers ÷ one, peak RSS 100× ÷ 1×, start-up seconds (a 1-page run, command to exit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from benchmarks.corpus import base_pages, corpus_source, replicate
from benchmarks.extraction import ExtractionResult, measure_extraction
from benchmarks.feeds import FeedRun, measure_feeds
from benchmarks.measure import REPO, bench_env
from benchmarks.memory import MemoryRun, measure_memory
from benchmarks.warc import measure_warc

RESULTS = REPO / "benchmarks" / "RESULTS.md"
LIBRARIES = ("apache-beam", "trafilatura", "pyarrow", "feedparser", "py3langid", "wordfreq")
SMALL_DELAY = 0.05
FEEDS_HEADING = "## Feed throughput over HTTP (loopback hosts, one port each, politeness on)"
CLUSTERING_HEADING = "## Clustering cost growth (`benchmarks/clustering.py --scale-once N`, ordered step)"
KEPT = "Not re-run in this run (``--skip``): the figures of the previous run."
WARC_HEADING = "## WARC: newsbeam against news-please and the bare FastWARC + trafilatura loop (`benchmarks/warc.py`)"


@dataclass(frozen=True)
class Mode:
    name: str
    extraction_copies: int
    limit_runs: int
    feed_runs: tuple[tuple[int, float], ...]  # (hosts, host delay)
    items_per_host: int
    clustering_sizes: tuple[int, ...]
    memory_pages: int | None
    memory_factors: tuple[int, ...]


QUICK = Mode("quick", 1, 2, ((1, 1.0), (4, 1.0), (16, 1.0), (16, SMALL_DELAY)), 4, (10_000, 20_000), 50, (1, 100))
FULL = Mode(
    "full",
    4,
    3,
    tuple((h, d) for d in (1.0, SMALL_DELAY) for h in (1, 4, 16, 64)),
    8,
    (10_000, 100_000, 1_000_000),
    50,
    (1, 10, 100),
)


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    load = os.getloadavg()
    libraries = ", ".join(f"{name} {version(name)}" for name in LIBRARIES)
    return [
        f"- machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {cpu}, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {libraries}",
        f"- load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        "each row's `load` column is the 1-minute load when "
        "it ended (above 2 means other jobs shared the 2 cores: "
        "absolute numbers are then noisy, side-by-side ratios less so)",
    ]


def clustering_scale(sizes: tuple[int, ...]) -> list[dict]:
    """``benchmarks/clustering.py --scale-once N`` per size (a fresh process each, as ``--scale`` does)."""
    results = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "clustering.py"), "--scale-once", str(n)],
            cwd=REPO,
            env=bench_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout))
    return results


def ratio_line(name: str, value: float) -> str:
    return f"| {name} | **{value:.2f}** |"


def key_lines(ex: ExtractionResult, memory: list[MemoryRun]) -> list[str]:
    """The key ratios of this run, first."""
    lines = [
        "## Key figures",
        "",
        "| figure | value |",
        "|---|---|",
        ratio_line("pipeline ÷ library loop, pages/s, with start-up", ex.single_pps / ex.limit_pps),
        ratio_line(
            "pipeline ÷ library loop, pages/s, without start-up",
            ex.marginal_pps / ex.limit_pps,
        ),
        ratio_line("all cores ÷ one extraction process, pages/s", ex.multi_pps / ex.single_pps),
    ]
    largest = max(memory, key=lambda r: r.factor)
    if largest.factor > 1:
        growth = largest.measured.max_rss_mb / memory[0].measured.max_rss_mb
        lines.append(ratio_line(f"peak RSS {largest.factor}× ÷ 1× the input", growth))
    lines += [
        ratio_line("start-up s (1-page run, command to exit)", ex.startup.wall_s),
        "",
    ]
    return lines


def report(
    mode: Mode,
    source: str,
    ex: ExtractionResult,
    feeds: list[FeedRun] | str,
    clusters: list[dict] | str,
    memory: list[MemoryRun],
    seconds: float,
) -> str:
    lines = [
        f"# Benchmark results ({mode.name} mode)",
        "",
        *machine(),
        f"- corpus: {source}",
        f"- whole run: {seconds:.0f} s",
        "",
        *key_lines(ex, memory),
    ]
    lines += [
        "## Extraction throughput (same pages, side by side)",
        "",
        "| ratio | value |",
        "|---|---|",
        ratio_line("(b) pipeline, 1 extraction process / (a) limit, pages/s", ex.single_pps / ex.limit_pps),
        ratio_line("(c) pipeline, all cores / (b) 1 extraction process, pages/s", ex.multi_pps / ex.single_pps),
        ratio_line("(d) FnApiRunner 2 worker processes / (b), pages/s", ex.runner_multi_pps / ex.single_pps),
        ratio_line("(b) without start-up / (a), pages/s", ex.marginal_pps / ex.limit_pps),
        "",
        f"| run ({ex.pages} pages) | wall s | pages/s | CPU s | CPU ms/page "
        "| peak RSS MB (largest process / tree) | load |",
        "|---|---|---|---|---|---|---|",
        f"| (a) limit: read + trafilatura loop (best of {mode.limit_runs}) "
        f"| {ex.limit_s:.1f} | {ex.limit_pps:.1f} | {ex.limit_cpu_s:.1f} "
        f"| {1000 * ex.limit_cpu_s / ex.pages:.0f} | {ex.limit_rss_mb:.0f} | {ex.limit_load:.1f} |",
    ]
    if ex.logic_s is not None:
        lines.append(
            f"| (a') our extract_article loop, no Beam "
            f"| {ex.logic_s:.1f} | {ex.pages / ex.logic_s:.1f} | {ex.logic_cpu_s:.1f} "
            f"| {1000 * ex.logic_cpu_s / ex.pages:.0f} | {ex.logic_rss_mb:.0f} | – |"
        )
    for label, m in (
        ("(b) pipeline run, FnApiRunner, `--extraction-workers=1`", ex.single),
        ("(c) pipeline run, default: one extraction process per core", ex.multi),
        ("(d) pipeline run, `--direct_num_workers=2` multi-processing, 1 extraction process each", ex.runner_multi),
    ):
        lines.append(
            f"| {label} | {m.wall_s:.1f} | {ex.pages / m.wall_s:.1f} | {m.cpu_s:.1f} | {1000 * m.cpu_s / ex.pages:.0f} "
            f"| {m.max_rss_mb:.0f} / {m.tree_rss_mb:.0f} | {m.load:.1f} |"
        )
    s = ex.startup
    lines += [
        f"| pipeline start-up + fixed cost (1 page) | {s.wall_s:.1f} | – | {s.cpu_s:.1f} | – "
        f"| {s.max_rss_mb:.0f} / {s.tree_rss_mb:.0f} | {s.load:.1f} |",
        "",
        f"Without the fixed cost (the 1-page run's wall time subtracted from (b)): {ex.marginal_pps:.1f} pages/s, "
        f"**{ex.marginal_pps / ex.limit_pps:.2f}** of the limit. (b)/(a) in CPU time (less sensitive to other jobs): "
        f"{ex.limit_cpu_s / ex.single.cpu_s:.2f}. (b) uses up to two cores: the runner's own work overlaps the "
        "extraction process's.",
        "",
    ]
    lines += feeds_section(feeds) if isinstance(feeds, list) else [feeds.rstrip("\n"), ""]
    lines += clustering_section(clusters) if isinstance(clusters, list) else [clusters.rstrip("\n"), ""]
    lines += [
        "## Memory (single worker, corpus copies with new URLs)",
        "",
        "| copies | pages | input MB | wall s | pages/s | peak RSS MB (largest process) | tree peak MB | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.factor}× | {r.pages} | {r.input_mb:.0f} | {r.measured.wall_s:.1f} | {r.pages / r.measured.wall_s:.1f} "
        f"| {r.measured.max_rss_mb:.0f} "
        f"| {r.measured.tree_rss_mb:.0f} | {r.measured.load:.1f} |"
        for r in memory
    ]
    lines += [
        "",
        *(
            f"peak RSS {r.factor}× / 1×: **{r.measured.max_rss_mb / memory[0].measured.max_rss_mb:.2f}** "
            f"for {r.input_mb / memory[0].input_mb:.0f}× the input"
            for r in memory[1:]
        ),
    ]
    return "\n".join(lines) + "\n"


def feeds_section(feeds: list[FeedRun]) -> list[str]:
    lines = [
        FEEDS_HEADING,
        "",
        "| hosts | items/host | host delay s | wall s | items/s | politeness floor s | CPU s | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.hosts} | {r.items_per_host} | {r.host_delay} | {r.measured.wall_s:.1f} | {r.items_per_s:.1f} "
        f"| {r.politeness_floor_s:.1f} "
        f"| {r.measured.cpu_s:.1f} | {r.measured.load:.1f} |"
        for r in feeds
    ]
    return [*lines, "", *feed_scaling(feeds), ""]


def clustering_section(clusters: list[dict]) -> list[str]:
    lines = [
        CLUSTERING_HEADING,
        "",
        "| articles | cluster ms/article | vectorize ms/article | active stories | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['articles']:,} | {c['cluster_ms']:.3f} | {c['vectorize_ms']:.3f} | {c['active_stories']} "
        f"| {c['peak_rss_mb']:.0f} |"
        for c in clusters
    ]
    return [
        *lines,
        "",
        f"largest / smallest ms per article: **{clusters[-1]['cluster_ms'] / clusters[0]['cluster_ms']:.2f}**",
        "",
    ]


def kept_section(results: Path, heading: str) -> str:
    """A section of an earlier results file, as it was, marked as not re-run."""
    text = results.read_text() if results.exists() else ""
    start = text.find(heading + "\n")
    if start < 0:
        return f"{heading}\n\nNot run (``--skip``), and no earlier figures in {results.name}.\n"
    end = text.find("\n## ", start + len(heading))
    body = text[start + len(heading) : end if end >= 0 else len(text)].strip("\n")
    body = body.removeprefix(KEPT).strip("\n")  # kept twice: said once
    return f"{heading}\n\n{KEPT}\n\n{body}\n"


def other_sections(results: Path, text: str) -> str:
    """The sections of the results file that other tools write (engines, extraction quality), kept as they were."""
    old = results.read_text() if results.exists() else ""
    parts = old.split("\n## ")[1:]
    kept = [part for part in parts if f"## {part.splitlines()[0]}\n" not in text]
    return "".join("\n## " + part.rstrip("\n") + "\n" for part in kept)


def feed_scaling(feeds: list[FeedRun]) -> list[str]:
    out = []
    for delay in sorted({r.host_delay for r in feeds}, reverse=True):
        runs = sorted((r for r in feeds if r.host_delay == delay), key=lambda r: r.hosts)
        if len(runs) > 1:
            out.append(
                f"items/s at {runs[-1].hosts} hosts / {runs[0].hosts} host(s), delay {delay} s: "
                f"**{runs[-1].items_per_s / runs[0].items_per_s:.2f}**"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole corpus, more hosts, 1M clustering, 100× memory")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="where to write the Markdown (default %(default)s)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("feeds", "clustering", "warc"),
        help="don't run this section; keep its figures from the results file, marked as such",
    )
    args = parser.parse_args(argv)
    mode = FULL if args.full else QUICK
    start = time.perf_counter()
    pages = base_pages()
    step = lambda what: print(f"[{time.perf_counter() - start:6.0f} s] {what}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="newsbeam-bench-") as tmp:
        work = Path(tmp)
        corpus = list(replicate(pages, mode.extraction_copies))
        step(f"extraction: {len(corpus)} pages, limit / 1 extraction process / all cores / 2 runner workers")
        extraction = measure_extraction(corpus, work, limit_runs=mode.limit_runs)
        feeds: list[FeedRun] | str = kept_section(args.results, FEEDS_HEADING)
        if "feeds" not in args.skip:
            feeds = []
            for hosts, delay in mode.feed_runs:
                step(f"feeds: {hosts} hosts, delay {delay} s")
                feeds.append(measure_feeds(pages, work, hosts, mode.items_per_host, delay))
        clusters: list[dict] | str = kept_section(args.results, CLUSTERING_HEADING)
        if "clustering" not in args.skip:
            step(f"clustering: {', '.join(f'{n:,}' for n in mode.clustering_sizes)} articles")
            clusters = clustering_scale(mode.clustering_sizes)
        step(f"memory: {mode.memory_factors} copies")
        memory = measure_memory(pages[: mode.memory_pages], work, mode.memory_factors)
        warc = kept_section(args.results, WARC_HEADING)
        if "warc" not in args.skip:
            step("warc: news-please, bare loop, newsbeam 1 extraction process and all cores; memory, 5k/50k records")
            warc = measure_warc(pages, work)
    text = report(mode, corpus_source(), extraction, feeds, clusters, memory, time.perf_counter() - start)
    text += "\n" + warc
    text += other_sections(args.results, text)
    args.results.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
