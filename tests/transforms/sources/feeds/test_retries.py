"""Failed feed entries: every try a rejects row of its own, numbered, given up after MAX_ENTRY_ATTEMPTS."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas import SeenKey
from tests.builders import RUN
from tests.conftest import fn_api_pipeline
from transforms.dedup.ledger import ATTEMPT, ENTRY, REJECT, reject_keys
from transforms.sources.feeds.retries import MAX_ENTRY_ATTEMPTS, NumberEntryAttempts, entry_id_of, next_attempt

FEED = "https://news.example.jp/rss"


def entry_reject(entry: str = "e1", **fields):
    return RUN.reject(f"{FEED}#entry={entry}", "fetch", "timeout", "no response", entry, **fields)


def test_entry_id_comes_from_the_column_or_the_item_uri():
    assert entry_id_of(entry_reject("abc")) == "abc"  # from '#entry=abc' (extraction rejects)
    assert entry_id_of(entry_reject("x", entry_id="x")) == "x"
    assert entry_id_of(RUN.reject("/seeds/a.txt", "read", "empty_file", "0 bytes")) is None


def test_each_try_has_its_own_id_and_the_last_gives_up():
    tries = [next_attempt(entry_reject(), earlier) for earlier in range(MAX_ENTRY_ATTEMPTS)]
    assert [(t.attempt, t.gave_up) for t in tries] == [(1, False), (2, False), (3, True)]
    assert len({t.reject_id for t in tries}) == 3 and all(t.entry_id == "e1" for t in tries)
    assert "try 1 of 3; a later run tries again" in tries[0].detail and "giving up" in tries[-1].detail
    seed = RUN.reject("/seeds/a.txt", "read", "empty_file", "0 bytes")
    assert next_attempt(seed, 5) == seed  # seed rejects are not retried: unchanged


def test_ledger_keys_count_tries_then_mark_the_entry_handled():
    first, last = next_attempt(entry_reject(), 0), next_attempt(entry_reject(), MAX_ENTRY_ATTEMPTS - 1)
    assert list(reject_keys(first, "r")) == [
        SeenKey(kind=REJECT, key=first.reject_id, run_id="r"),
        SeenKey(kind=ATTEMPT, key="e1", run_id="r"),
    ]
    assert list(reject_keys(last, "r"))[1] == SeenKey(kind=ENTRY, key="e1", run_id="r")


def test_number_entry_attempts_counts_the_ledger_attempts():
    seen = [(ATTEMPT, "e1"), (ATTEMPT, "e1"), (ATTEMPT, "e2"), (REJECT, "e3")]
    rejects = [entry_reject("e1"), entry_reject("e2"), entry_reject("e3"), RUN.reject("/s/b.txt", "read", "x", "y")]
    with fn_api_pipeline() as p:
        numbered = (p | "Rejects" >> beam.Create(rejects)) | NumberEntryAttempts(p | "Seen" >> beam.Create(seen))
        assert_that(
            numbered | beam.Map(lambda r: (r.source_uri.rsplit("=", 1)[-1], r.attempt, r.gave_up)),
            equal_to([("e1", 3, True), ("e2", 2, False), ("e3", 1, False), ("/s/b.txt", None, None)]),
        )
