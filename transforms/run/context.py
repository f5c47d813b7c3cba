"""What every row of one run shares: the run id, its start time, and how rejects are made."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import apache_beam as beam

from schemas import Reject
from transforms.run import counters

REJECTED = "rejects"
"""Tag of the rejects output of every stage that can reject."""


@dataclass(frozen=True)
class RunContext:
    """Identity of one pipeline run, passed to every DoFn that writes rows."""

    run_id: str
    started_at: dt.datetime
    lease_owner: str | None = None
    """Who holds the output's lease for this run (``transforms/output/lease.py``); the commit checks it."""

    @classmethod
    def start(cls, now: dt.datetime | None = None, lease_owner: str | None = None) -> RunContext:
        """A new run id: UTC start time plus a random suffix, sortable by time."""
        now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return cls(f"{now:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}", now, lease_owner)

    def reject(
        self,
        source_uri: str,
        stage: str,
        reason: str,
        detail: str,
        evidence: bytes | str = b"",
        *,
        entry_id: str | None = None,
        entry_link: str | None = None,
        entry_title: str | None = None,
        page_url: str | None = None,
        fetched_at: str | dt.datetime | None = None,
        warc_record_id: str | None = None,
        warc_target_uri: str | None = None,
    ) -> Reject:
        """A rejects row whose id is stable for the same item, stage, reason and input bytes.

        The keyword arguments say what the item was (a feed entry, the page requested for it);
        they don't change the id. Attempts are numbered later (``numbered_attempt``).
        """
        if isinstance(evidence, str):
            evidence = evidence.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(evidence).hexdigest()
        reject_id = stable_hash(source_uri, stage, reason, digest)
        return Reject(
            reject_id=reject_id,
            source_uri=source_uri,
            stage=stage,
            reason=reason,
            detail=detail,
            ingested_at=self.started_at,
            run_id=self.run_id,
            entry_id=entry_id,
            entry_link=entry_link,
            entry_title=entry_title,
            page_url=page_url,
            fetched_at=as_utc(fetched_at),
            warc_record_id=warc_record_id,
            warc_target_uri=warc_target_uri,
        )


def as_utc(value: str | dt.datetime | None) -> dt.datetime | None:
    """An ISO-8601 string or datetime as an aware UTC datetime (naive ones taken as UTC); None when unparsable."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def numbered_attempt(reject: Reject, attempt: int, gave_up: bool) -> Reject:
    """The same reject as try number ``attempt`` of its item: its own id, so every try is a row of its own."""
    return dataclasses.replace(
        reject,
        reject_id=stable_hash(reject.reject_id, "attempt", str(attempt)),
        attempt=attempt,
        gave_up=gave_up,
    )


def stable_hash(*parts: str) -> str:
    """First 32 hex digits of the SHA-256 of the parts, unambiguously joined."""
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]


def set_rejects_aside(item: Any, stage: str) -> Any:
    """In a DoFn: a Reject goes to the ``rejects`` output (counted per reason), anything else to the main one."""
    if isinstance(item, Reject):
        counters.rejected(stage).of(item.reason).inc()
        return beam.pvalue.TaggedOutput(REJECTED, item)
    return item
