"""Helpers for the streaming tests: TestStream on the BundleBasedDirectRunner, times, documents, pane files.

Times are minutes after 2024-03-01 10:00 UTC; windows are 10 minutes, the allowed lateness 30
minutes and the dedup horizon 2 hours, unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from pipeline.graph import RunPlan
from pipeline.streaming import StreamingPlan
from transforms.event_time.windows import EventTime
from transforms.run.context import RunContext
from transforms.sources.document import TEXT, SourceDocument

T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
RUN = RunContext("20240301T100000Z-stream", T0)
TIMES = EventTime(window_seconds=600, allowed_lateness_seconds=1800, dedup_horizon_seconds=7200)
FILE_NAME = re.compile(r"part-(\d{8}T\d{6}Z)-(\d{8}T\d{6}Z)-(\d+)-([0-9a-f]{16})\.parquet")
TOPICS = {
    "harbour": "The harbour authority closed the northern quay after storm waves cracked the old sea wall. "
    "Fishing boats were moved to the southern basin while engineers inspect the breakwater and the cranes.",
    "vaccine": "Scientists at the university laboratory reported that the malaria vaccine trial protected "
    "most children. "
    "The clinic enrolled patients in three villages and the research team will publish the data next spring.",
    "rocket": "The private rocket carrying a weather satellite reached orbit after a delayed launch "
    "from the coastal spaceport. "
    "Mission controllers confirmed the solar panels unfolded and the telescope camera sent its first images.",
    "budget": "The county council approved a budget that raises teacher wages and repairs the railway bridge "
    "over the river. "
    "Opposition members argued the tax increase would hurt farmers and small shops in the market towns.",
    "court": "The appeal court overturned the verdict against the factory owner after the jury heard new evidence. "
    "Lawyers for the workers union said they would take the pollution case to the supreme court next year.",
    "festival": "Thousands of visitors filled the old town for the lantern festival as musicians played "
    "in the squares. "
    "Hotels reported record bookings and the museum stayed open until midnight for the parade.",
}


def at(minutes: float) -> Timestamp:
    return Timestamp.from_utc_datetime(T0 + dt.timedelta(minutes=minutes))


def when(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def streaming_pipeline() -> test_pipeline.TestPipeline:
    """TestStream needs the BundleBasedDirectRunner (FnApiRunner cannot run it; DirectRunner tries Prism)."""
    return test_pipeline.TestPipeline(options=PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"]))


def streaming_plan(output: Path, state: Path | None = None, times: EventTime = TIMES, **extra) -> StreamingPlan:
    """A streaming plan writing to ``output`` with its state store at ``state`` (default OUTPUT/_state)."""
    settings = RunPlan(output=str(output), state=str(state or output / "_state"), run=RUN, **extra)
    return StreamingPlan(settings, times=times)


def document(
    topic: str, url: str | None, published: float | None, feed: str = "https://one.test/feed", **extra
) -> SourceDocument:
    """A feed entry's own text, as the feed stage hands it to extraction."""
    return SourceDocument(
        source_uri=feed,
        kind=TEXT,
        body=TOPICS[topic],
        url=url,
        title=extra.pop("title", f"{topic.title()} news"),
        published=when(published).isoformat() if published is not None else None,
        published_by="feed",
        entry_id=f"{feed}#{topic}-{url}-{published}",
        **extra,
    )


def arriving(minutes: float, *items) -> list[TimestampedValue]:
    return [TimestampedValue(item, at(minutes)) for item in items]


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_no_temporary_files(root: Path, table: str = "articles") -> None:
    names = all_files(root / table)
    assert names, "nothing was written"
    assert not [n for n in names if any(part.startswith((".", "_")) for part in n.split("/")) or ".tmp" in n]
    assert all(FILE_NAME.fullmatch(n.rsplit("/", 1)[-1]) for n in names), names


def read_rows(root: Path, table: str, columns: str) -> list[tuple]:
    """(partition, window start HHMM, pane, *columns) for every row, via DuckDB with Hive partitioning."""
    partition = {"articles": "published_date", "rejects": "ingested_date", "story_updates": "window_date"}.get(
        table, "polled_date"
    )
    rows = duckdb.sql(
        f"SELECT CAST({partition} AS VARCHAR), filename, {columns} "
        f"FROM read_parquet('{root}/{table}/*/*.parquet', hive_partitioning=true, filename=true)"
    ).fetchall()
    result = []
    for date, filename, *values in rows:
        start, _, pane, _ = FILE_NAME.fullmatch(filename.rsplit("/", 1)[-1]).groups()
        result.append((date, start[9:13], int(pane), *values))
    return sorted(result, key=repr)


CURRENT_STORIES = """
SELECT * EXCLUDE (rank) FROM (
    SELECT *, row_number() OVER (PARTITION BY story_id ORDER BY updated_at DESC) AS rank
    FROM read_parquet('{root}/story_updates/*/*.parquet', hive_partitioning=true)
) WHERE rank = 1
"""
"""The current state of every story: its latest story_updates row (the query in docs/streaming.md)."""
