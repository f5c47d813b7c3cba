"""The page's charts as inline SVG: the story timeline on a true time scale and each story's small timeline.

The timeline is a grid: the story's label (wrapping HTML, never cut), its dated articles on a
time axis shared by every row, its undated articles in a column of their own beside the axis
(headed "undated", apart from the time scale), and its article count. Axis labels are chosen so
that none overlaps another or leaves the axis: the finest step (day, week, month, quarter,
year, …) whose labels fit at their estimated width, the outermost ones kept inside the axis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pipeline.analyst.report.data import UNDATED, StoryView
from pipeline.analyst.report.formatting import esc, plural, readable_day

TIMELINE_STORIES = 15
"""Stories in the main timeline."""
TRACK_WIDTH, TRACK_HEIGHT, TRACK_PAD = 640, 26, 14
UNDATED_WIDTH = 72
"""Width of the undated column (its own grid column, apart from the time axis)."""
AXIS_HEIGHT = 34
MINI_WIDTH, MINI_HEIGHT, MINI_UNDATED = 320, 36, 40
TICK_FONT_PX = 11
TICK_CHAR_PX = 7.2
"""Upper bound of a tick label character's width at TICK_FONT_PX (digits and Latin letters of common sans fonts)."""
TICK_GAP_PX = 14
DATED, GREY = "#1f6fb4", "#8a96a3"


@dataclass(frozen=True)
class Tick:
    day: dt.date
    x: float
    """Where the tick line is (the day's position)."""
    label: str
    label_x: float
    """Centre of the label: the tick's x, moved inwards when the label would leave the axis."""


def time_scale(first: dt.date, last: dt.date, left: float, right: float) -> Callable[[dt.date], float]:
    """Day → x, linear in time (a gap of ten days is ten times a gap of one); one day sits in the middle."""
    span = (last - first).days
    if span == 0:
        return lambda day: (left + right) / 2
    return lambda day: left + (right - left) * (day - first).days / span


def label_width(label: str) -> float:
    return len(label) * TICK_CHAR_PX


def _days(first: dt.date, last: dt.date, step: int, mondays: bool) -> Iterator[dt.date]:
    day = first + dt.timedelta(days=(7 - first.weekday()) % 7) if mondays else first
    while day <= last:
        yield day
        day += dt.timedelta(days=step)


def _months(first: dt.date, last: dt.date, step: int) -> Iterator[dt.date]:
    index = first.year * 12 + first.month - 1 + (first.day > 1)  # the first 1st of a month on or after `first`
    index += -index % step  # months aligned on the step: Jan/Apr/Jul/Oct for quarters
    while (day := dt.date(index // 12, index % 12 + 1, 1)) <= last:
        yield day
        index += step


STEPS: tuple[tuple[str, int], ...] = (
    ("day", 1),
    ("day", 2),
    ("week", 1),
    ("week", 2),
    ("month", 1),
    ("month", 2),
    ("month", 3),
    ("month", 6),
    ("month", 12),
    ("month", 24),
    ("month", 60),
    ("month", 120),
)
"""Tick steps from the finest to the coarsest; the finest whose labels fit is used."""


def _candidates(first: dt.date, last: dt.date, unit: str, step: int) -> list[tuple[dt.date, str]]:
    if unit == "day":
        return [(d, readable_day(d)) for d in _days(first, last, step, mondays=False)]
    if unit == "week":
        return [(d, readable_day(d)) for d in _days(first, last, 7 * step, mondays=True)]
    return [(d, f"{d:%b %Y}" if step < 12 else f"{d.year}") for d in _months(first, last, step)]


def _placed(days: list[tuple[dt.date, str]], x_of: Callable[[dt.date], float], width: float) -> list[Tick] | None:
    """Ticks with their labels kept inside [0, width], or None when two labels would come closer than the gap."""
    ticks = []
    for day, label in days:
        x, half = x_of(day), label_width(label) / 2
        ticks.append(Tick(day, x, label, min(max(x, half), width - half)))
    for a, b in zip(ticks, ticks[1:]):
        if b.label_x - a.label_x < (label_width(a.label) + label_width(b.label)) / 2 + TICK_GAP_PX:
            return None
    return ticks


def axis_ticks(first: dt.date, last: dt.date, width: float = TRACK_WIDTH, pad: float = TRACK_PAD) -> list[Tick]:
    """The finest readable ticks of [first, last] on an axis ``width`` wide: at least one, none overlapping."""
    x_of = time_scale(first, last, pad, width - pad)
    if first == last:
        return _placed([(first, readable_day(first))], x_of, width) or []
    single = None  # a step with one tick that fits, should no step with two or more fit
    for unit, step in STEPS:
        ticks = _placed(_candidates(first, last, unit, step), x_of, width)
        if ticks and len(ticks) >= 2:
            return ticks
        single = single or ticks
    return single or _placed([(first, readable_day(first))], x_of, width) or []


def dated_span(stories: Sequence[StoryView]) -> tuple[dt.date, dt.date] | None:
    """The first and last day any of the stories' dated articles were published."""
    days = [dt.date.fromisoformat(d) for s in stories for d in s.per_day if d != UNDATED]
    return (min(days), max(days)) if days else None


def _radius(count: int, peak: int, height: int) -> float:
    return max(2.5, (height / 2 - 2) * math.sqrt(count / peak))


def _bubble(story: StoryView, day: str, count: int, x: float, height: int, peak: int, css_class: str) -> str:
    colour = GREY if day == UNDATED else DATED
    when = "no known date" if day == UNDATED else readable_day(day)
    return (
        f'<circle class="{css_class}" data-story-id="{esc(story.story_id)}" data-day="{day}" '
        f'data-count="{count}" cx="{x:.1f}" cy="{height / 2:.1f}" r="{_radius(count, peak, height):.1f}" '
        f'fill="{colour}" fill-opacity="0.8"><title>{esc(story.label)} · {when}: {plural(count, "article")}</title>'
        "</circle>"
    )


def dated_bubbles(
    story: StoryView, span: tuple[dt.date, dt.date] | None, width: int, height: int, peak: int, css_class: str = "cell"
) -> list[str]:
    """A story's dated days as bubbles on the shared time scale of ``span``."""
    if span is None:
        return []
    x_of = time_scale(*span, TRACK_PAD, width - TRACK_PAD)
    return [
        _bubble(story, day, count, x_of(dt.date.fromisoformat(day)), height, peak, css_class)
        for day, count in sorted(story.per_day.items())
        if day != UNDATED
    ]


def _svg(width: int, height: int, body: str, css_class: str = "", label: str = "") -> str:
    attributes = f' class="{css_class}"' if css_class else ""
    attributes += f' role="img" aria-label="{label}"' if label else ""
    return (
        f'<svg{attributes} xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{body}</svg>'
    )


def axis_svg(span: tuple[dt.date, dt.date] | None) -> str:
    """The time axis: tick lines at their days, labels that neither overlap nor leave the axis."""
    if span is None:
        body = (
            f'<text class="tick-note" x="{TRACK_WIDTH / 2}" y="20" text-anchor="middle" '
            f'font-size="{TICK_FONT_PX}" fill="{GREY}">no known dates: every article is undated</text>'
        )
        return _svg(TRACK_WIDTH, AXIS_HEIGHT, body, "axis", "time axis")
    parts = []
    for tick in axis_ticks(*span):
        parts.append(
            f'<line x1="{tick.x:.1f}" y1="0" x2="{tick.x:.1f}" y2="6" stroke="{GREY}"/>'
            f'<text class="tick" data-day="{tick.day.isoformat()}" x="{tick.label_x:.1f}" y="20" '
            f'text-anchor="middle" font-size="{TICK_FONT_PX}" fill="#4a5561">{esc(tick.label)}</text>'
        )
    return _svg(TRACK_WIDTH, AXIS_HEIGHT, "".join(parts), "axis", "time axis")


def timeline_html(stories: Sequence[StoryView], limit: int = TIMELINE_STORIES) -> str:
    """The main timeline: one row per story, dated bubbles on a true time scale, undated ones in their own column."""
    shown = [s for s in stories if s.per_day][:limit]
    if not shown:
        return '<p class="empty">No articles with a story yet.</p>'
    span = dated_span(shown)
    undated = any(UNDATED in s.per_day for s in shown)
    peak = max(max(s.per_day.values()) for s in shown)
    columns = f"minmax(160px,1fr) {TRACK_WIDTH}px{f' {UNDATED_WIDTH}px' if undated else ''} max-content"
    undated_head = '<div class="tl-undated tl-head">undated</div>' if undated else ""
    rows = [f'<div class="tl-label"></div><div class="tl-track">{axis_svg(span)}</div>{undated_head}<div></div>']
    line = f'<line x1="0" y1="{TRACK_HEIGHT / 2}" x2="{TRACK_WIDTH}" y2="{TRACK_HEIGHT / 2}" stroke="#e3e7eb"/>'
    for story in shown:
        track = _svg(
            TRACK_WIDTH, TRACK_HEIGHT, line + "".join(dated_bubbles(story, span, TRACK_WIDTH, TRACK_HEIGHT, peak))
        )
        undated_cell = ""
        if undated:
            count = story.per_day.get(UNDATED, 0)
            bubble = _bubble(story, UNDATED, count, UNDATED_WIDTH / 2, TRACK_HEIGHT, peak, "cell") if count else ""
            undated_cell = f'<div class="tl-undated">{_svg(UNDATED_WIDTH, TRACK_HEIGHT, bubble)}</div>'
        total = sum(story.per_day.values())
        rows.append(
            f'<div class="tl-label story-label"><a href="#story-{esc(story.story_id)}">{esc(story.label)}</a></div>'
            f'<div class="tl-track">{track}</div>{undated_cell}'
            f'<div class="tl-total story-total" data-story-id="{esc(story.story_id)}">{plural(total, "article")}</div>'
        )
    return f'<div id="timeline" class="timeline" style="grid-template-columns:{columns}">{"".join(rows)}</div>'


def story_chart(story: StoryView) -> str:
    """A story's small timeline on its own dated span; undated articles beside it, past a dashed rule."""
    span = dated_span([story])
    peak = max(story.per_day.values()) if story.per_day else 1
    count = story.per_day.get(UNDATED, 0)
    dated_width = MINI_WIDTH - (MINI_UNDATED if count else 0)
    parts = dated_bubbles(story, span, dated_width, MINI_HEIGHT, peak, "mini-cell")
    if count:
        parts.append(
            f'<line x1="{dated_width}" y1="2" x2="{dated_width}" y2="{MINI_HEIGHT - 2}" stroke="{GREY}" '
            'stroke-dasharray="3 3"/>'
        )
        parts.append(_bubble(story, UNDATED, count, dated_width + MINI_UNDATED / 2, MINI_HEIGHT, peak, "mini-cell"))
    return _svg(MINI_WIDTH, MINI_HEIGHT, "".join(parts), "mini", "articles per day")
