"""Batch and streaming agree: the same 200 dated articles through ``python -m pipeline run`` and the streaming graph.

200 dated articles from ``../shared/data/clustering/allsides_dev.jsonl`` (the earliest 170, plus 10
same-URL copies, 10 same-text copies at other URLs and 10 near copies with an edited sentence,
each published an hour after its original) are written as one JSON Lines file. The batch run reads
it through the CLI; the streaming graph gets the same documents in publication order (TestStream,
one-day windows, the watermark following the dates). Both give the same story of every article
(B3-F1 1.0 between the two partitions, and the very same story ids), the same duplicate marks
(every exact copy, and the near copies MinHash finds — the same ones on both paths),
and the streaming story updates' current state equals the batch stories table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest
from apache_beam.testing import test_stream
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from pipeline.streaming import streaming_stages
from tests.conftest import SHARED_DATA, run_cli
from tests.stream_builders import CURRENT_STORIES, RUN, streaming_pipeline, streaming_plan
from transforms.event_time.windows import EventTime
from transforms.sources.seeds import read_seed_file

ALLSIDES = SHARED_DATA / "clustering" / "allsides_dev.jsonl"
DAY = 86_400.0
TIMES = EventTime(window_seconds=DAY, allowed_lateness_seconds=3600, dedup_horizon_seconds=7 * DAY)
ARTICLE_COLUMNS = "article_id, story_id, duplicate_of, duplicate_kind"
STORY_COLUMNS = "story_id, story_label, label_source, first_published, last_published, article_count, top_terms"


def host_name(source: str | None) -> str:
    """A valid host name from an outlet's name ("CNN (Online News)" → "cnn-online-news")."""
    return re.sub(r"[^a-z0-9]+", "-", (source or "news").lower()).strip("-")


def dated_articles_with_copies(path: Path, originals: int = 170, copies: int = 10) -> list[dict]:
    """Records: the earliest dated originals, then same-URL, same-text and near copies, in publication order."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    dated = sorted(
        (r for r in rows if r.get("date") and len(r["text"].split()) > 80), key=lambda r: (r["date"], r["id"])
    )
    records = [
        {
            "url": f"https://{host_name(r['source'])}.example/{r['id']}",
            "title": r["title"],
            "text": r["text"],
            "published": r["date"] + "Z",
            "source": r["source"],
        }
        for r in dated[:originals]
    ]

    def later(record: dict, **changes) -> dict:
        published = dt.datetime.fromisoformat(record["published"]) + dt.timedelta(hours=1)
        return {**record, "published": published.isoformat().replace("+00:00", "Z"), **changes}

    step = originals // (3 * copies)
    picked = records[::step][: 3 * copies]
    extra = [later(r, source="Wire copy") for r in picked[:copies]]  # same URL, another source
    extra += [later(r, url=r["url"] + "/syndicated") for r in picked[copies : 2 * copies]]  # same text
    extra += [
        later(r, url=r["url"] + "/edited", text=r["text"] + " This story has been updated with more details.")
        for r in picked[2 * copies :]
    ]  # near copies
    return sorted(records + extra, key=lambda r: r["published"])


def bcubed_f1(left: dict[str, str], right: dict[str, str]) -> float:
    """B3-F1 between two partitions of the same items (item → cluster)."""
    groups_left, groups_right = defaultdict(set), defaultdict(set)
    for item, cluster in left.items():
        groups_left[cluster].add(item)
    for item, cluster in right.items():
        groups_right[cluster].add(item)
    precision = recall = 0.0
    for item in left:
        same_left, same_right = groups_left[left[item]], groups_right[right[item]]
        overlap = len(same_left & same_right)
        precision += overlap / len(same_right)
        recall += overlap / len(same_left)
    precision, recall = precision / len(left), recall / len(left)
    return 2 * precision * recall / (precision + recall)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(not ALLSIDES.exists(), reason="needs ../shared/data/clustering/allsides_dev.jsonl")
def test_the_same_dated_articles_give_the_same_stories_and_duplicates_in_batch_and_streaming(tmp_path):
    records = dated_articles_with_copies(ALLSIDES)
    assert len(records) == 200
    seeds = tmp_path / "in" / "articles.jsonl"
    seeds.parent.mkdir()
    seeds.write_text("".join(json.dumps(r) + "\n" for r in records))

    batch_out = tmp_path / "batch"
    run_cli("run", "--input", str(seeds), "--output", str(batch_out), "--catalog", "")
    batch = duckdb.sql(f"SELECT {ARTICLE_COLUMNS} FROM read_parquet('{batch_out}/articles/*/*.parquet')").fetchall()
    batch_stories = duckdb.sql(
        f"SELECT {STORY_COLUMNS} FROM read_parquet('{batch_out}/stories/*.parquet') ORDER BY story_id"
    ).fetchall()

    stream_out = tmp_path / "stream"
    documents = list(read_seed_file(str(seeds), RUN))
    stream, watermark = test_stream.TestStream(), None
    for document in documents:  # in publication order; each arrives when it is published
        arrival = Timestamp.from_utc_datetime(dt.datetime.fromisoformat(document.published))
        if arrival != watermark:
            stream, watermark = stream.advance_watermark_to(arrival), arrival
        stream = stream.add_elements([TimestampedValue(document, arrival)])
    with streaming_pipeline() as p:
        streaming_stages(p | stream.advance_watermark_to_infinity(), streaming_plan(stream_out, times=TIMES))
    streamed = duckdb.sql(f"SELECT {ARTICLE_COLUMNS} FROM read_parquet('{stream_out}/articles/*/*.parquet')").fetchall()
    current = duckdb.sql(
        f"SELECT {STORY_COLUMNS} FROM ({CURRENT_STORIES.format(root=stream_out)}) ORDER BY story_id"
    ).fetchall()

    assert len(batch) == len(streamed) == 200
    story_of_batch, story_of_stream = {r[0]: r[1] for r in batch}, {r[0]: r[1] for r in streamed}
    assert bcubed_f1(story_of_batch, story_of_stream) == 1.0
    assert story_of_batch == story_of_stream  # the very same ids: both derive from the founding article
    marks = sorted(r[2:] + (r[0],) for r in batch if r[2])
    assert marks == sorted(r[2:] + (r[0],) for r in streamed if r[2])
    kinds = Counter(kind for _, kind, _ in marks)
    # Every exact copy is marked; near copies are found through MinHash LSH candidates, which are
    # probabilistic (an estimated similarity over the threshold can still miss its band), so most, not all.
    assert kinds["url"] == kinds["text"] == 10 and kinds["near"] >= 5
    assert current == batch_stories
