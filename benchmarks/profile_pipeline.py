"""Where a pipeline run spends its CPU time, per stage, against the extraction limit.

    python -m benchmarks.profile_pipeline [--pages N] [--profile FILE]   # profiles a fresh run
    python -m benchmarks.profile_pipeline --profile FILE --no-run          # re-reads a saved profile

Runs ``python -m benchmarks.profiled_run`` (``python -m pipeline run`` with a cProfile profiler on
CPU time in every thread: FnApiRunner runs bundles on the main thread, the extraction step
extracts documents in threads of its own) with one HTML extraction process
(``--extraction-workers=1``), and splits the profile into stages by *entry time*: for each stage
(a module or package), the cumulative time of calls that enter it from outside it. What the main
thread runs outside bundle processing is start-up (imports, option parsing, graph construction,
runner planning); what is inside bundles or in the extraction threads but in no stage is Beam's
own per-element and per-bundle work and the threads' own (queueing pages for the extraction
process). trafilatura runs in the extraction process: its row is that process's CPU time (its
imports included). cProfile inflates pure-Python code (many small calls) more than C code (lxml,
pyarrow), so read the shares as an upper bound for the Python-heavy stages.
"""

from __future__ import annotations

import argparse
import json
import pstats
import sys
import tempfile
from pathlib import Path

from benchmarks.corpus import base_pages, write_pages
from benchmarks.measure import check_ok, run_measured

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("read seed files (transforms/sources/seeds.py)", ("/transforms/sources/seeds.py",)),
    ("trafilatura.bare_extraction (the limit's work)", ("/site-packages/trafilatura/",)),
    ("text cleaning (transforms/normalise/cleaning.py)", ("/transforms/normalise/cleaning.py",)),
    ("language identification (py3langid, model load included)", ("/site-packages/py3langid/",)),
    ("story vectors (transforms/stories/vectors.py)", ("/transforms/stories/vectors.py",)),
    (
        "near-duplicate MinHash (transforms/dedup/near.py, mmh3 + numpy)",
        ("/transforms/dedup/near.py", "/site-packages/mmh3"),
    ),
    (
        "story clustering (transforms/stories/clusterer.py, active.py)",
        ("/transforms/stories/clusterer.py", "/transforms/stories/active.py"),
    ),
    ("story index save (transforms/stories/saved.py)", ("/transforms/stories/saved.py",)),
    (
        "dedup and seen ledger (transforms/dedup/batch.py, ledger.py)",
        ("/transforms/dedup/batch.py", "/transforms/dedup/ledger.py"),
    ),
    (
        "article refs: bodies parked in files (story features computed there, also counted above), verdicts applied"
        " (transforms/stories/article_refs.py)",
        ("/transforms/stories/article_refs.py",),
    ),
    ("Parquet writing + commit (transforms/output/tables.py)", ("/transforms/output/tables.py",)),
    ("pickling between stages (pickle/dill)", ("_pickle.dumps", "_pickle.loads", "/site-packages/dill/")),
)
BUNDLES = ("sdk_worker.py", "process_bundle")
INSIDE_ARTICLE_REFS = (
    "story vectors (transforms/stories/vectors.py)",
    "near-duplicate MinHash (transforms/dedup/near.py, mmh3 + numpy)",
)
"""Rows whose time the article refs row also counts (the story features are computed where bodies are parked)."""


def _name(func: tuple) -> str:
    filename, _, function = func
    return f"{filename}:{function}" if filename != "~" else function


def _in(func: tuple, markers: tuple[str, ...]) -> bool:
    return any(marker in _name(func) for marker in markers)


def entry_seconds(stats: dict, markers: tuple[str, ...]) -> float:
    """Cumulative seconds of calls into functions matching ``markers`` from functions of no stage.

    Calls from another stage (text cleaning called by story vectors) stay with the caller's
    stage, so the stages don't overlap; so do generator expressions run by a builtin (``sum(...)``),
    already inside their stage's time.
    """
    every_stage = tuple(m for _, stage in STAGES for m in stage)
    total = 0.0
    for func, (_, _, _, _, callers) in stats.items():
        if not _in(func, markers) or func[2] == "<module>":
            continue
        total += sum(edge[3] for caller, edge in callers.items() if caller[0] != "~" and not _in(caller, every_stage))
    return total


def breakdown(profile: Path) -> list[tuple[str, float]]:
    """(stage, CPU seconds) rows: each stage, the rest, the extraction process, the total, then start-up (on the
    main thread outside bundles; it overlaps the stages whose set-up runs there)."""
    merged = pstats.Stats(str(profile))
    main_thread = pstats.Stats(str(profile) + ".main")
    children = json.loads(Path(str(profile) + ".children").read_text())["cpu_s"]
    stats, total = merged.stats, merged.total_tt  # type: ignore[attr-defined]
    bundles = sum(
        v[3]
        for k, v in main_thread.stats.items()  # type: ignore[attr-defined]
        if k[0].endswith(BUNDLES[0]) and k[2] == BUNDLES[1]
    )
    startup = main_thread.total_tt - bundles  # type: ignore[attr-defined]
    staged = [(label, entry_seconds(stats, markers)) for label, markers in STAGES]
    return [
        *staged,
        (
            "everything else: start-up (imports, options, graph, planning), Beam inside bundles (per-element "
            "dispatch, coders, fusion breaks), the extraction threads' own work",
            total - sum(s for label, s in staged if label not in INSIDE_ARTICLE_REFS),
        ),
        ("trafilatura in the HTML extraction process (its imports included)", children),
        ("total (profiled)", total + children),
        ("of which outside bundles on the main thread: start-up, DoFn set-up (model loads)", startup),
    ]


def markdown(rows: list[tuple[str, float]], pages: int) -> str:
    total = dict(rows)["total (profiled)"]
    lines = [
        f"| where the CPU time goes ({pages} pages, 1 extraction process, cProfile) | CPU s | share | CPU ms/page |",
        "|---|---|---|---|",
    ]
    lines += [f"| {label} | {s:.1f} | {100 * s / total:.0f}% | {1000 * s / pages:.1f} |" for label, s in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=None, help="first N pages of the corpus (default: all)")
    parser.add_argument("--profile", type=Path, default=None, help="where to keep the cProfile output")
    parser.add_argument("--no-run", action="store_true", help="only read --profile")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsbeam-profile-") as tmp:
        work = Path(tmp)
        profile = args.profile or work / "pipeline.prof"
        pages = len(base_pages(args.pages))
        if not args.no_run:
            pages = write_pages(base_pages(args.pages), work / "pages")
            measured = run_measured(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.profiled_run",
                    str(profile),
                    "run",
                    "--input",
                    str(work / "pages"),
                    "--output",
                    str(work / "out"),
                    "--catalog",
                    "",
                    "--extraction-workers=1",
                ]
            )
            check_ok(measured, "profiled pipeline run")
            print(f"profiled run: {measured.wall_s:.1f} s wall, {measured.cpu_s:.1f} s CPU", file=sys.stderr)
        print(markdown(breakdown(profile), pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
