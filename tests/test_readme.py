"""The README stays short and true: size, links that resolve, no figures copied from benchmarks/."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_fits_in_12_kb():
    assert len(README.encode("utf-8")) <= 12 * 1024


def test_every_relative_link_resolves():
    links = [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", README)]
    relative = [t for t in links if t and not re.match(r"[a-z]+://", t)]
    assert relative, "the README links into docs/"
    assert [t for t in relative if not (REPO / t).exists()] == []


def benchmark_figures(text: str) -> set[str]:
    """The decimal figures of three digits or more in a results file's table cells (``| **0.59** |``, ``| 31.9 |``)."""
    cells = re.findall(r"\|\s*\**(\d+\.\d+)\**\s*(?=\|)", text)
    return {f for f in cells if sum(c.isdigit() for c in f) >= 3}


def copied_figures(readme: str) -> list[str]:
    figures = set()
    for name in ("RESULTS.md", "RESULTS_WARC.md"):
        figures |= benchmark_figures((REPO / "benchmarks" / name).read_text(encoding="utf-8"))
    assert len(figures) > 10, "the results files hold figures"
    return sorted(f for f in figures if re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", readme))


def test_no_benchmark_figure_is_copied():
    assert copied_figures(README) == []


def test_the_figure_check_sees_a_copied_table():
    assert copied_figures("| (b) one worker | **0.59** of (a) |\nWARC 2.79× faster") != []


def test_no_task_talk():
    assert not re.search(r"\bissue \d+|\brooms?\b|targets? (?:met|not met)|\((?:not )?met\b", README, re.I)
