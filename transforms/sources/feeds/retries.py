"""How often a failing feed entry is tried again, and how each try shows in the rejects table.

A feed entry that became a reject (its page failed and it has no text of its own, or extraction
found too little) is not marked as handled: the next run that sees it in the feed tries again.
Each try is a rejects row of its own (``attempt`` 1, 2, …; its id includes the number, so it is
never dropped as a repeat). The ledger keeps one ``attempt`` key per failed try; the try
numbered ``MAX_ENTRY_ATTEMPTS`` has ``gave_up`` true and records the entry as handled, so later
runs skip it (``feeds.entries_already_seen``). Whole feeds are not numbered here: a failing feed
backs off (``state.py``) and every poll is a ``feed_polls`` row.
"""

from __future__ import annotations

import dataclasses

import apache_beam as beam

from schemas import Reject
from transforms.dedup.ledger import ATTEMPT, keys_of_kind
from transforms.run.context import numbered_attempt
from transforms.sources.feeds.health import ENTRY_MARK

MAX_ENTRY_ATTEMPTS = 3
"""Tries per feed entry (over runs) before it is given up."""


def entry_id_of(reject: Reject) -> str | None:
    """The feed entry a reject is about: its ``entry_id``, else the one in an item URI ``FEED#entry=ID``."""
    if reject.entry_id:
        return reject.entry_id
    if ENTRY_MARK in reject.source_uri:
        return reject.source_uri.rsplit(ENTRY_MARK, 1)[1] or None
    return None


def next_attempt(reject: Reject, earlier_attempts: int, max_attempts: int = MAX_ENTRY_ATTEMPTS) -> Reject:
    """A feed entry's reject as its next try (after ``earlier_attempts`` failed ones); other rejects unchanged."""
    entry_id = entry_id_of(reject)
    if entry_id is None:
        return reject
    attempt = earlier_attempts + 1
    gave_up = attempt >= max_attempts
    later = "giving up: later runs skip the entry" if gave_up else "a later run tries again"
    numbered = dataclasses.replace(
        reject, entry_id=entry_id, detail=f"{reject.detail} [try {attempt} of {max_attempts}; {later}]"
    )
    return numbered_attempt(numbered, attempt, gave_up)


class NumberEntryAttempts(beam.PTransform):
    """Rejects → the same rejects, those of feed entries numbered by the ``attempt`` keys in the ledger."""

    def __init__(self, seen, max_attempts: int = MAX_ENTRY_ATTEMPTS):
        super().__init__()
        self._seen, self._max = seen, max_attempts

    def expand(self, rejects):
        of_entries = rejects | "OfEntries" >> beam.Filter(lambda reject: entry_id_of(reject) is not None)
        others = rejects | "OfOtherItems" >> beam.Filter(lambda reject: entry_id_of(reject) is None)
        numbered = (
            {
                "rejects": of_entries | "KeyByEntry" >> beam.Map(lambda reject: (entry_id_of(reject), reject)),
                "attempts": keys_of_kind(self._seen, ATTEMPT),
            }
            | "GroupWithAttempts" >> beam.CoGroupByKey()
            | "Number" >> beam.FlatMap(_numbered, self._max)
        )
        return (numbered, others) | "AllRejects" >> beam.Flatten()


def _numbered(element, max_attempts: int) -> list[Reject]:
    _, grouped = element
    earlier = sum(1 for _ in grouped["attempts"])
    return [next_attempt(reject, earlier, max_attempts) for reject in grouped["rejects"]]
