"""Event time and late data (``transforms/event_time/windows.py``)."""

from __future__ import annotations

import pytest

from tests.builders import article
from tests.stream_builders import TIMES, at, when
from transforms.event_time.windows import EventTime, event_time, is_late


def test_event_time_is_the_publication_time_but_never_after_the_arrival():
    arrived = at(30)
    assert event_time(article("a", published=when(5)), arrived) == at(5)
    assert event_time(article("b", published=when(90)), arrived) == arrived  # a date in the future: a wrong clock
    assert event_time(article("c"), arrived) == arrived


def test_an_article_is_late_once_the_watermark_floor_passed_its_window_end_plus_the_lateness():
    assert not is_late(TIMES, at(5).micros, None)
    assert not is_late(TIMES, at(5).micros, at(39).micros) and is_late(TIMES, at(5).micros, at(40).micros)
    with pytest.raises(ValueError, match="dedup horizon"):
        EventTime(window_seconds=600, allowed_lateness_seconds=3600, dedup_horizon_seconds=4000)
