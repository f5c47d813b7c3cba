"""The report as a browser lays it out: no timeline label clipped or overlapping, at 5, 500 and 5,000 stories.

Outputs are written directly as the pipeline commits them (``report_outputs.synthetic_output``:
labels in six scripts, one longer than a line and one unbreakable word, the largest stories
undated, day-only dates, headline-less texts), over spans from one day to three decades. Headless
Chromium lays out each page; the boxes of every axis tick, the undated column's head, every story
label and every article count are read back from the DOM and checked: inside their SVG or cell,
inside the timeline and the page, and no two overlapping. Screenshots are kept in pytest's tmp
dir (paths printed) and must show the dated (blue) and undated (grey) bubbles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.analyst.report import write_report
from pipeline.analyst.report.charts import DATED, GREY, TRACK_PAD, TRACK_WIDTH, axis_ticks, label_width
from tests.pipeline.analyst.browser import chromium_or_skip, label_boxes, label_problems, pixels_like, screenshot
from tests.pipeline.analyst.report_outputs import LABELS, synthetic_output

pytestmark = pytest.mark.slow

SPANS = {
    "one day": [dt.date(2024, 3, 1)],
    "ten days": [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(11)],
    "a month edge beside the undated column": [dt.date(2024, 1, 20), dt.date(2024, 5, 1)],
    "three decades": [dt.date(1995, 6, 1), dt.date(2024, 11, 30)],
}


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """report.html of outputs with 5, 500 and 5,000 stories over two years, and 5 stories over other spans."""
    root = tmp_path_factory.mktemp("report-layout")
    pages = {f"{n} stories": Path(write_report(str(synthetic_output(root / f"s{n}", n)))) for n in (5, 500, 5000)}
    for name, days in SPANS.items():
        pages[name] = Path(write_report(str(synthetic_output(root / name.replace(" ", "-"), 5, days))))
    pages["no known dates"] = Path(write_report(str(synthetic_output(root / "undated", 5, undated=True))))
    return pages


@pytest.mark.parametrize("case", ["5 stories", "500 stories", "5000 stories", *SPANS, "no known dates"])
@pytest.mark.parametrize("width", [1280, 1100])
def test_no_timeline_label_is_clipped_or_overlaps(chromium, reports, case, width):
    measured = label_boxes(chromium, reports[case], width=width)
    kinds = [label["cls"] for label in measured["labels"]]
    assert kinds.count("tl-label story-label") == min(15, int(case.split()[0]) if "stories" in case else 5)
    assert "tl-undated tl-head" in kinds  # the largest stories are undated: their column has its head
    if case == "no known dates":  # the axis says so instead of standing empty
        assert [label["text"] for label in measured["labels"] if label["cls"] == "tick-note"] == [
            "no known dates: every article is undated"
        ]
    else:
        assert any(k == "tick" for k in kinds), "the time axis has no labels"
    assert label_problems(measured) == []
    whole = {label["text"].split(" #")[0] for label in measured["labels"] if label["cls"] == "tl-label story-label"}
    assert whole <= set(LABELS)  # every label whole, in every script


@pytest.mark.parametrize("case", ["5 stories", "500 stories", "5000 stories", "ten days", "no known dates"])
def test_screenshot_shows_dated_and_undated_bubbles(chromium, reports, case, tmp_path_factory):
    target = tmp_path_factory.mktemp("report-screenshots") / f"{case.replace(' ', '-')}.png"
    screenshot(chromium, reports[case], target)
    print(f"report screenshot: {target}")
    if case != "no known dates":
        assert pixels_like(target, _rgb(DATED)) > 30, "no dated bubbles in the screenshot"
    assert pixels_like(target, _rgb(GREY), tolerance=12) > 30, "no undated bubbles in the screenshot"


def test_the_label_checks_catch_an_overlap_and_a_clipped_label():
    box = {"left": 0, "right": 50, "top": 0, "bottom": 10}
    clip = {"left": 0, "right": 640, "top": 0, "bottom": 34}
    label = {"cls": "tick", "text": "1 Apr 2024", "box": box, "clip": clip, "overflow": False}
    measured = {"viewport": 1280, "timeline": clip, "labels": [label, {**label, "box": {**box, "left": 40}}]}
    assert any("overlaps" in p for p in label_problems(measured))
    cut = {**label, "box": {**box, "left": 600, "right": 660}}
    assert any("clipped" in p for p in label_problems({**measured, "labels": [cut]}))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 2)),
        (dt.date(2024, 2, 25), dt.date(2024, 3, 8)),
        (dt.date(2023, 12, 30), dt.date(2024, 2, 2)),
        (dt.date(2022, 1, 1), dt.date(2024, 12, 31)),
        (dt.date(1990, 1, 1), dt.date(2026, 12, 1)),
    ],
)
def test_axis_ticks_fit_at_their_estimated_width(first, last):
    ticks = axis_ticks(first, last)
    assert ticks and all(first <= t.day <= last for t in ticks)
    assert all(label_width(t.label) / 2 <= t.label_x <= TRACK_WIDTH - label_width(t.label) / 2 for t in ticks)
    assert all(abs(t.label_x - t.x) <= label_width(t.label) / 2 for t in ticks)  # a label stays over its tick
    assert all(TRACK_PAD <= t.x <= TRACK_WIDTH - TRACK_PAD for t in ticks)
    for a, b in zip(ticks, ticks[1:]):
        assert b.label_x - a.label_x >= (label_width(a.label) + label_width(b.label)) / 2
    assert all(t.label.endswith(str(t.day.year)) for t in ticks)
