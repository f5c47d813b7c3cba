"""This checkout against another, side by side: the same ``python -m pipeline run``, its speed and its rows.

    git worktree add ../newsbeam-before main          # or any other checkout of the project
    python -m benchmarks.before_after --before ../newsbeam-before
    python -m benchmarks.before_after --before ../newsbeam-before --corpus wcxb-dev --after-arg=--extraction-workers=1

Each corpus (those of ``../shared/data`` that exist, and the seeds) runs from both checkouts in the
order before, after, after, before, each a fresh process with this interpreter; the table gives the
best wall time of each and its CPU time (the process tree's), and the ratios after ÷ before. The
rows of the first run of each are compared: article ids, URLs, titles, texts, languages, story ids
and labels, duplicate marks, and the rejects' ids and reasons. Exit 1 when any of them differ.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.measure import REPO, Measured, check_ok, run_measured

DATA = REPO.parent / "shared" / "data"
ARTICLE_COLUMNS = (
    "article_id, url, source_uri, title, text, language, content_hash, duplicate_of, duplicate_kind, "
    "story_id, story_label"
)
CORPORA: dict[str, tuple[Path, tuple[str, ...]]] = {
    "seeds": (REPO / "seeds", ()),
    "wcxb-dev": (DATA / "extraction" / "wcxb-dev-articles" / "html", ("--catalog", "")),
    "fundus": (DATA / "extraction" / "fundus" / "html", ("--catalog", "")),
    "fundus-multilingual": (DATA / "extraction" / "fundus-multilingual" / "html", ("--catalog", "")),
    "allsides": (DATA / "clustering" / "allsides_dev.jsonl", ("--catalog", "", "--min-words=1")),
}


@dataclass(frozen=True)
class Side:
    tree: Path
    runs: list[Measured]
    articles: list[tuple]
    rejects: list[tuple]

    @property
    def best(self) -> Measured:
        return min(self.runs, key=lambda m: m.wall_s)


def rows(output: Path) -> tuple[list[tuple], list[tuple]]:
    def read(table: str, columns: str) -> list[tuple]:
        if not list(output.glob(f"{table}/*/*.parquet")):
            return []
        query = f"SELECT {columns} FROM read_parquet('{output}/{table}/*/*.parquet', hive_partitioning=true)"
        return sorted(duckdb.sql(query).fetchall(), key=repr)

    return read("articles", ARTICLE_COLUMNS), read("rejects", "source_uri, stage, reason, reject_id")


def run_once(tree: Path, source: Path, output: Path, extra: tuple[str, ...]) -> Measured:
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(source), "--output", str(output), *extra]
    measured = run_measured(command, cwd=tree)
    check_ok(measured, f"pipeline run from {tree} on {source}")
    return measured


def compare(name: str, before_tree: Path, after_args: tuple[str, ...], work: Path) -> tuple[Side, Side]:
    source, extra = CORPORA[name]
    runs: dict[str, list[Measured]] = {"before": [], "after": []}
    outputs: dict[str, Path] = {}
    for n, side in enumerate(("before", "after", "after", "before")):
        output = work / f"{name}-{side}-{n}"
        tree, args = (before_tree, extra) if side == "before" else (REPO, (*extra, *after_args))
        runs[side].append(run_once(tree, source, output, args))
        outputs.setdefault(side, output)
    before, after = (rows(outputs[side]) for side in ("before", "after"))
    return Side(before_tree, runs["before"], *before), Side(REPO, runs["after"], *after)


def differences(before: list[tuple], after: list[tuple], what: str) -> list[str]:
    gone = [row for row in before if row not in set(after)]
    new = [row for row in after if row not in set(before)]
    lines = [f"  {what} only before: {repr(row)[:300]}" for row in gone[:5]]
    lines += [f"  {what} only after: {repr(row)[:300]}" for row in new[:5]]
    if len(gone) > 5 or len(new) > 5:
        lines.append(f"  … {len(gone)} {what} only before, {len(new)} only after in all")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, type=Path, help="The other checkout (its code runs as is).")
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA), help="Default: every one present.")
    parser.add_argument("--after-arg", action="append", default=[], help="An extra argument for this checkout's runs.")
    args = parser.parse_args(argv)
    names = args.corpus or [name for name, (source, _) in CORPORA.items() if source.exists()]
    table = [
        "| corpus | rows before / after | wall s before / after | CPU s before / after | wall ratio | CPU ratio "
        "| same rows |",
        "|---|---|---|---|---|---|---|",
    ]
    report, same_everywhere = [], True
    with tempfile.TemporaryDirectory(prefix="before-after-") as work:
        for name in names:
            before, after = compare(name, args.before.resolve(), tuple(args.after_arg), Path(work))
            diff = differences(before.articles, after.articles, "articles")
            diff += differences(before.rejects, after.rejects, "rejects")
            same_everywhere &= not diff
            b, a = before.best, after.best
            counts = f"{len(before.articles)}+{len(before.rejects)} / {len(after.articles)}+{len(after.rejects)}"
            table.append(
                f"| {name} | {counts} | {b.wall_s:.1f} / {a.wall_s:.1f} | {b.cpu_s:.1f} / {a.cpu_s:.1f} "
                f"| {a.wall_s / b.wall_s:.2f} | {a.cpu_s / b.cpu_s:.2f} | {'yes' if not diff else 'NO'} |"
            )
            if diff:
                report += [f"{name}:", *diff]
    print("\n".join(table + ([""] + report if report else [])))
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main())
