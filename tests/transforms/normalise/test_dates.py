"""Publication times: every failure becomes no time plus a reason, inside a documented window."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.normalise.dates import AHEAD, EARLIEST, page_time, parse_published, read_feed_time, read_iso_time

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "at", "precision"),
    [
        ("2024-01-05", dt.datetime(2024, 1, 5, tzinfo=UTC), "day"),
        ("2024-01-05T10:20+02:00", dt.datetime(2024, 1, 5, 8, 20, tzinfo=UTC), "minute"),
        ("2024-01-05T10:20:30Z", dt.datetime(2024, 1, 5, 10, 20, 30, tzinfo=UTC), "second"),
        ("2024-01-05 10:20:00", dt.datetime(2024, 1, 5, 10, 20, tzinfo=UTC), "second"),  # naive: UTC
    ],
)
def test_iso_times_in_the_window_keep_their_precision(value, at, precision):
    found = read_iso_time(value, NOW)
    assert (found.at, found.precision, found.problem) == (at, precision, None)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("9999-12-31T23:00:00-05:00", "out_of_range"),  # overflows on conversion to UTC
        ("0001-01-01T00:00:00+05:00", "out_of_range"),  # overflows the other way
        ("9999-12-31", "out_of_range"),
        ("1989-12-31T23:59:59Z", "out_of_range"),
        ("2026-01-13T00:00:00Z", "out_of_range"),  # more than two days ahead of NOW
        ("2024-02-30", "impossible"),
        ("2023-02-29T10:00:00Z", "impossible"),
        ("last Tuesday", "unreadable"),
    ],
)
def test_refused_iso_times_give_no_time_and_say_why(value, kind):
    found = read_iso_time(value, NOW)
    assert found.at is None and found.precision is None
    assert found.problem.startswith(f"{kind}: ") and repr(value) in found.problem


def test_the_window_is_inclusive_at_both_ends():
    assert read_iso_time(EARLIEST.isoformat(), NOW).at == EARLIEST
    assert read_iso_time((NOW + AHEAD).isoformat(), NOW).at == NOW + AHEAD


def test_empty_values_are_no_time_and_no_problem():
    assert read_iso_time(None).at is None and read_iso_time("  ").problem is None


@pytest.mark.parametrize(
    ("raw", "at", "precision"),
    [
        ("Tue, 05 Mar 2024 23:30:00 -0800", dt.datetime(2024, 3, 6, 7, 30, tzinfo=UTC), "second"),
        ("Tue, 05 Mar 2024 23:30 GMT", dt.datetime(2024, 3, 5, 23, 30, tzinfo=UTC), "minute"),
        ("2024-03-05", dt.datetime(2024, 3, 5, tzinfo=UTC), "day"),
    ],
)
def test_feed_times_from_the_raw_string(raw, at, precision):
    found = read_feed_time(raw, None, NOW)
    assert (found.at, found.precision) == (at, precision)


@pytest.mark.parametrize(
    ("raw", "normalised_by_feedparser"),
    [
        ("Fri, 30 Feb 2024 10:00:00 GMT", (2024, 3, 1, 10, 0, 0, 4, 61, 0)),
        ("2024-02-30T10:00:00Z", (2024, 3, 1, 10, 0, 0, 4, 61, 0)),
        ("0001-01-01T00:00:00+05:00", (0, 12, 31, 19, 0, 0, 0, 365, 0)),
    ],
)
def test_feed_times_feedparser_shifted_are_refused_not_shifted(raw, normalised_by_feedparser):
    found = read_feed_time(raw, normalised_by_feedparser, NOW)
    assert found.at is None and found.problem


def test_a_feed_time_only_feedparser_understands_is_range_checked():
    assert read_feed_time("2024년 3월 5일", (2024, 3, 5, 0, 0, 0, 1, 65, 0), NOW).at == dt.datetime(
        2024, 3, 5, tzinfo=UTC
    )
    assert read_feed_time("5 mars 1899", (1899, 3, 5, 0, 0, 0, 1, 65, 0), NOW).problem.startswith("out_of_range")
    assert read_feed_time("", None, NOW).problem is None


@pytest.mark.parametrize(
    "raw", ["Mon, 01 Jan 0001 00:00:00 +0500", "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 01 Jan 0099 12:00 -0800"]
)
def test_an_rfc822_year_written_in_full_is_taken_as_written_not_mapped_into_this_century(raw):
    found = read_feed_time(raw, (500, 1, 1, 1, 0, 0, 4, 1, 0), NOW)  # feedparser's own reading: year 500
    assert found.at is None and found.problem.startswith("out_of_range")


def test_a_two_digit_rfc822_year_still_means_this_century():
    assert read_feed_time("Mon, 01 Jan 24 10:00:00 +0000", None, NOW).at == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05T10:00:00+02:00", dt.datetime(2024, 3, 5, 8, 0, tzinfo=dt.UTC)),
        ("2024-03-05T10:00:00Z", dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)),
        ("2024-03-05T10:00:00", dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)),
        (" 2024-03-05 ", dt.datetime(2024, 3, 5, tzinfo=dt.UTC)),
        ("2024-13-01", None),
        ("March 5, 2024", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_published(value, expected):
    assert parse_published(value) == expected


def test_page_time_reads_a_naive_midnight_as_a_day():
    assert page_time("2024-03-05T00:00:00").precision == "day"
    assert page_time("2024-03-05T10:30:00+01:00").precision == "second"
