"""The page's charts as inline SVG: the story timeline on a true time scale and each story's small timeline."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from pipeline.analyst.report.data import UNDATED, StoryView
from pipeline.analyst.report.formatting import esc, plural, readable_day

TIMELINE_STORIES = 15
"""Stories in the main timeline."""
TRACK_WIDTH, TRACK_HEIGHT, TRACK_PAD, UNDATED_WIDTH = 640, 26, 14, 56
MINI_WIDTH, MINI_HEIGHT = 320, 36


def time_scale(first: dt.date, last: dt.date, left: float, right: float) -> Callable[[dt.date], float]:
    """Day → x, linear in time (a gap of ten days is ten times a gap of one); one day sits in the middle."""
    span = (last - first).days
    if span == 0:
        return lambda day: (left + right) / 2
    return lambda day: left + (right - left) * (day - first).days / span


def axis_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    """Readable tick days between ``first`` and ``last``: every day, week, month or year, about 2–10 of them."""
    span = (last - first).days
    if span <= 10:
        return [first + dt.timedelta(days=i) for i in range(span + 1)]
    if span <= 70:
        start = first + dt.timedelta(days=(7 - first.weekday()) % 7)  # Mondays
        return [start + dt.timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]
    step = 1 if span <= 300 else 3 if span <= 900 else 12
    ticks: list[dt.date] = []
    year, month = first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, month - 12
        tick = dt.date(year, month, 1)
        if tick > last:
            return ticks or [first, last]
        if (tick.month - 1) % step == 0:
            ticks.append(tick)


def _dated_span(stories: Sequence[StoryView]) -> tuple[dt.date, dt.date] | None:
    days = [dt.date.fromisoformat(d) for s in stories for d in s.per_day if d != UNDATED]
    return (min(days), max(days)) if days else None


def _track(
    story: StoryView,
    span: tuple[dt.date, dt.date] | None,
    undated: bool,
    width: int,
    height: int,
    peak: int,
    css_class: str = "cell",
) -> list[str]:
    """Bubbles of one story on a shared scale: dated days on a time axis, undated articles in a grey column."""
    right = width - (UNDATED_WIDTH if undated else 0) - TRACK_PAD
    x_of = time_scale(*span, TRACK_PAD, right) if span else (lambda day: right / 2)
    parts = []
    for day, count in sorted(story.per_day.items()):
        x = width - UNDATED_WIDTH / 2 if day == UNDATED else x_of(dt.date.fromisoformat(day))
        radius = max(2.5, (height / 2 - 2) * math.sqrt(count / peak))
        colour = "#8a96a3" if day == UNDATED else "#1f6fb4"
        when = "no known date" if day == UNDATED else readable_day(day)
        parts.append(
            f'<circle class="{css_class}" data-story-id="{esc(story.story_id)}" data-day="{day}" data-count="{count}" '
            f'cx="{x:.1f}" cy="{height / 2:.1f}" r="{radius:.1f}" fill="{colour}" fill-opacity="0.8">'
            f"<title>{esc(story.label)} · {when}: {plural(count, 'article')}</title></circle>"
        )
    return parts


def timeline_html(stories: Sequence[StoryView], limit: int = TIMELINE_STORIES) -> str:
    """The main timeline: one row per story (label as wrapping HTML, never clipped), bubbles on a true time scale."""
    shown = [s for s in stories if s.per_day][:limit]
    if not shown:
        return '<p class="empty">No articles with a story yet.</p>'
    span = _dated_span(shown)
    undated = any(UNDATED in s.per_day for s in shown)
    peak = max(max(s.per_day.values()) for s in shown)
    axis = [
        f'<svg class="axis" xmlns="http://www.w3.org/2000/svg" width="{TRACK_WIDTH}" height="34" '
        f'viewBox="0 0 {TRACK_WIDTH} 34" role="img" aria-label="time axis">'
    ]
    if span:
        x_of = time_scale(*span, TRACK_PAD, TRACK_WIDTH - (UNDATED_WIDTH if undated else 0) - TRACK_PAD)
        for tick in axis_ticks(*span):
            x = x_of(tick)
            axis.append(
                f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="6" stroke="#8a96a3"/>'
                f'<text class="tick" data-day="{tick.isoformat()}" x="{x:.1f}" y="20" text-anchor="middle" '
                f'font-size="11" fill="#4a5561">{readable_day(tick)}</text>'
            )
    if undated:
        axis.append(
            f'<text class="tick" x="{TRACK_WIDTH - UNDATED_WIDTH / 2:.1f}" y="20" text-anchor="middle" '
            f'font-size="11" fill="#8a96a3">undated</text>'
        )
    axis.append("</svg>")
    rows = [f'<div class="tl-label"></div><div class="tl-track">{"".join(axis)}</div><div></div>']
    for story in shown:
        total = sum(story.per_day.values())
        track = _track(story, span, undated, TRACK_WIDTH, TRACK_HEIGHT, peak)
        rows.append(
            f'<div class="tl-label story-label"><a href="#story-{esc(story.story_id)}">{esc(story.label)}</a></div>'
            f'<div class="tl-track"><svg xmlns="http://www.w3.org/2000/svg" width="{TRACK_WIDTH}" '
            f'height="{TRACK_HEIGHT}" viewBox="0 0 {TRACK_WIDTH} {TRACK_HEIGHT}">'
            f'<line x1="0" y1="{TRACK_HEIGHT / 2}" x2="{TRACK_WIDTH}" y2="{TRACK_HEIGHT / 2}" stroke="#e3e7eb"/>'
            f"{''.join(track)}</svg></div>"
            f'<div class="tl-total story-total" data-story-id="{esc(story.story_id)}">{plural(total, "article")}</div>'
        )
    return f'<div id="timeline" class="timeline">{"".join(rows)}</div>'


def story_chart(story: StoryView) -> str:
    """A story's small timeline on its own dated span (undated articles in the grey column)."""
    span = _dated_span([story])
    peak = max(story.per_day.values()) if story.per_day else 1
    return (
        f'<svg class="mini" xmlns="http://www.w3.org/2000/svg" width="{MINI_WIDTH}" height="{MINI_HEIGHT}" '
        f'viewBox="0 0 {MINI_WIDTH} {MINI_HEIGHT}" role="img" aria-label="articles per day">'
        f"{''.join(_track(story, span, UNDATED in story.per_day, MINI_WIDTH, MINI_HEIGHT, peak, 'mini-cell'))}</svg>"
    )


def story_span(story: StoryView) -> tuple[dt.date, dt.date] | None:
    """The first and last day a story's dated articles were published."""
    return _dated_span([story])
