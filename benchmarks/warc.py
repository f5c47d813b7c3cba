"""WARC throughput and memory, side by side on one WARC file of the benchmark corpus.

    python -m benchmarks.warc             # also part of `make bench`; `make bench-warc` alone

Writes the corpus (``benchmarks.corpus.base_pages``: the 711 WCXB dev pages, else synthetic pages)
as one ``.warc.gz`` of 200 HTML responses (plus a warcinfo record, as CC-NEWS files have), then
runs, each in a fresh process measured from outside (``benchmarks.measure``; imports and start-up
included for every contender):

(a) the bare loop: FastWARC + trafilatura, nothing else (``benchmarks/warc_bare_loop.py``);
(b) news-please's WARC path, ``NewsPlease.from_warc`` over warcio records, in a virtualenv this
    benchmark creates from PyPI (``benchmarks/.venv-newsplease``, git-ignored);
(c) ``python -m pipeline run --input FILE.warc.gz --extraction-workers=1``, FnApiRunner, one HTML
extraction process (the runner's own work overlaps it);
(d) the same with the default, one extraction process per usable core.

Per core = pages per CPU second of the whole process tree (Beam's worker processes included).
Memory: synthetic WARCs of 5,000 and 50,000 records (request, response and metadata per page, as
Common Crawl's main crawls hold; small pages) through the pipeline, (m1) with ``--site`` keeping one
host in 50 (the reader streams every record, few are extracted) and (m2) with every page extracted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import Page, base_pages, corpus_source
from benchmarks.measure import REPO, Measured, check_ok, committed_rows, pipeline_command, run_measured

NEWSPLEASE_VENV = REPO / "benchmarks" / ".venv-newsplease"
NEWSPLEASE_PACKAGES = ("news-please", "warcio")
ONE_WORKER = ("--extraction-workers=1",)
MEMORY_RECORDS = (5_000, 50_000)
MEMORY_HOSTS = 50


@dataclass(frozen=True)
class Contender:
    label: str
    pages: int
    with_text: int
    measured: Measured

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.measured.wall_s

    @property
    def pages_per_cpu_s(self) -> float:
        return self.pages / self.measured.cpu_s

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.measured.cpu_s / self.pages


@dataclass(frozen=True)
class MemoryRun:
    variant: str
    records: int
    pages_extracted: int
    measured: Measured


def write_benchmark_warc(pages: list[Page], path: Path) -> int:
    """The pages as 200 text/html responses (no charset: as often in the wild), after a warcinfo record."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "newsbeam benchmarks"}))
        for i, (name, html) in enumerate(pages):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            url = f"https://site{i % 37}.bench.example/{name.removesuffix('.html')}"
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=http))
    return len(pages)


def write_synthetic_warc(path: Path, records: int, seed: int = 11) -> int:
    """``records`` records, three per page (request, response, metadata), small news-like pages over
    ``MEMORY_HOSTS`` hosts; returns the number of pages."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    from wordfreq import top_n_list

    words = top_n_list("en", 3000)
    rng = random.Random(seed)
    pages = records // 3
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for i in range(pages):
            url = f"https://host{i % MEMORY_HOSTS}.bench.example/news/{i}"
            paragraphs = "".join(
                "<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(25, 45))).capitalize() + ".</p>"
                for _ in range(rng.randint(4, 8))
            )
            html = (
                f"<!doctype html><html><head><meta charset='utf-8'><title>Report {i}</title></head><body>"
                f"<nav><a href='/'>Home</a></nav><article><h1>Report {i}</h1>{paragraphs}</article></body></html>"
            ).encode()
            request = StatusAndHeaders("GET /news HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=request))
            response = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=response)
            )
            metadata = io.BytesIO(f"fetchTimeMs: {rng.randint(20, 900)}\n".encode())
            writer.write_record(
                writer.create_warc_record(
                    url, "metadata", payload=metadata, warc_content_type="application/warc-fields"
                )
            )
    return pages


def ensure_newsplease_venv() -> Path:
    """``benchmarks/.venv-newsplease`` with news-please and warcio from PyPI; its python."""
    python = NEWSPLEASE_VENV / "bin" / "python"
    ready = NEWSPLEASE_VENV / ".installed"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", str(NEWSPLEASE_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *NEWSPLEASE_PACKAGES],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ready.write_text("news-please benchmark venv\n")
    return python


def run_script(label: str, command: list[str]) -> Contender:
    measured = run_measured(command)
    check_ok(measured, label)
    figures = json.loads(measured.stdout.strip().splitlines()[-1])
    return Contender(label, figures["pages"], figures["with_text"], measured)


def run_newsbeam(label: str, warc: Path, output: Path, pages: int, *extra: str) -> Contender:
    measured = run_measured(pipeline_command("--input", str(warc), "--output", str(output), "--catalog", "", *extra))
    check_ok(measured, label)
    summary = _summary(output)
    if not summary["reconciled"] or summary["sources"]["warc"]["documents"] != pages:
        raise RuntimeError(f"{label}: {pages} pages in the WARC, summary says {summary['sources']['warc']}")
    return Contender(label, pages, summary["sources"]["warc"]["articles_extracted"], measured)


def _summary(output: Path) -> dict:
    (path,) = output.glob("_runs/*.summary.json")
    return json.loads(path.read_text())


def measure_throughput(pages: list[Page], work: Path) -> list[Contender]:
    warc = work / "bench.warc.gz"
    n = write_benchmark_warc(pages, warc)
    newsplease = ensure_newsplease_venv()
    return [
        run_script(
            "(a) bare loop: FastWARC + trafilatura", [sys.executable, "benchmarks/warc_bare_loop.py", str(warc)]
        ),
        run_script("(b) news-please from_warc (warcio)", [str(newsplease), "benchmarks/warc_newsplease.py", str(warc)]),
        run_newsbeam("(c) newsbeam, 1 extraction process", warc, work / "out-1", n, *ONE_WORKER),
        run_newsbeam("(d) newsbeam, all cores (the default)", warc, work / "out-2", n),
    ]


def measure_memory(work: Path, sizes: tuple[int, ...] = MEMORY_RECORDS) -> list[MemoryRun]:
    runs = []
    for records in sizes:
        warc = work / f"synthetic-{records}.warc.gz"
        write_synthetic_warc(warc, records)
        for variant, extra in (("m1 --site (1 host in 50)", ("--site", "host7.bench.example")), ("m2 every page", ())):
            output = work / f"out-memory-{records}-{variant[:2]}"
            measured = run_measured(
                pipeline_command("--input", str(warc), "--output", str(output), "--catalog", "", *extra)
            )
            check_ok(measured, f"memory run {variant} {records}")
            rows = committed_rows(output)
            runs.append(MemoryRun(variant, records, rows.get("articles", 0) + rows.get("rejects", 0), measured))
    return runs


def ratio_line(name: str, value: float) -> str:
    return f"| {name} | **{value:.2f}** |"


def report(contenders: list[Contender], memory: list[MemoryRun], source: str, seconds: float) -> str:
    bare, newsplease, one, two = contenders
    load = os.getloadavg()
    per_cpu = one.pages_per_cpu_s
    lines = [
        "## WARC: newsbeam against news-please and the bare FastWARC + trafilatura loop (`benchmarks/warc.py`)",
        "",
        f"- one `.warc.gz` of {one.pages} HTML responses from {source}; every contender a fresh process,"
        f" start-up included; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (above 2: other"
        " jobs shared the 2 cores: absolute figures are noisy, per-CPU-second ratios much less so);"
        f" whole section {seconds:.0f} s",
        "",
        "| ratio | value |",
        "|---|---|",
        ratio_line("(c) 1 extraction process / (b) news-please, pages per CPU s", per_cpu / newsplease.pages_per_cpu_s),
        ratio_line("(c) 1 extraction process / (a) bare loop, pages per CPU s", per_cpu / bare.pages_per_cpu_s),
        ratio_line("(d) all cores / (c) 1 extraction process, pages/s wall", two.pages_per_s / one.pages_per_s),
        "",
        "| run | pages | with text / articles | wall s | pages/s | CPU s | pages per CPU s | CPU ms/page "
        "| peak RSS MB (largest process / tree) | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in contenders:
        m = c.measured
        lines.append(
            f"| {c.label} | {c.pages} | {c.with_text} | {m.wall_s:.1f} | {c.pages_per_s:.1f} | {m.cpu_s:.1f} "
            f"| {c.pages_per_cpu_s:.1f} | {c.cpu_ms_per_page:.0f} | {m.max_rss_mb:.0f} / {m.tree_rss_mb:.0f} "
            f"| {m.load:.1f} |"
        )
    lines += [
        "",
        "Memory: synthetic WARCs, one worker (`python -m pipeline run --input synthetic.warc.gz`)",
        "",
        "| variant | records | pages extracted (articles + rejects) | wall s "
        "| peak RSS MB (largest process / tree) | load |",
        "|---|---|---|---|---|---|",
    ]
    for run in memory:
        m = run.measured
        lines.append(
            f"| {run.variant} | {run.records:,} | {run.pages_extracted:,} | {m.wall_s:.1f} "
            f"| {m.max_rss_mb:.0f} / {m.tree_rss_mb:.0f} | {m.load:.1f} |"
        )
    lines.append("")
    for variant in dict.fromkeys(run.variant for run in memory):
        runs = [run for run in memory if run.variant == variant]
        small, large = runs[0], runs[-1]
        growth = large.measured.max_rss_mb / small.measured.max_rss_mb
        name = f"{variant}: peak RSS {large.records:,} / {small.records:,} records"
        lines.append(ratio_line(name, growth))
    return "\n".join(lines) + "\n"


def measure_warc(pages: list[Page], work: Path, memory_sizes: tuple[int, ...] = MEMORY_RECORDS) -> str:
    """The whole section as Markdown."""
    start = time.perf_counter()
    contenders = measure_throughput(pages, work)
    memory = measure_memory(work, memory_sizes)
    return report(contenders, memory, corpus_source(), time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=None, help="first N pages of the corpus (default: all)")
    parser.add_argument("--memory-records", type=int, nargs="+", default=list(MEMORY_RECORDS))
    parser.add_argument("--results", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsbeam-warc-bench-") as tmp:
        text = measure_warc(base_pages(args.pages), Path(tmp), tuple(args.memory_records))
    if args.results:
        args.results.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
