"""Outputs of any size for the report's tests, written as the pipeline commits them (Hive by published_date).

``synthetic_output(root, stories=N)`` writes N stories whose labels are in many scripts and of
every length (one longer than a line), spread over about two years, with the largest stories
undated, some articles dated to the day only (midnight UTC, precision 'day'), headline-less seed
texts and JSON Lines records with a URL. Rows are built from the schemas, so every column is typed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from schemas import ARTICLES, STORIES, Article, Story
from transforms.output.rules import records_to_table
from transforms.run.context import stable_hash

RUN_ID = "20250101T000000Z-scale"
INGESTED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2023, 1, 1)
SPAN_DAYS = 700
LABELS = (  # cycled through: scripts and lengths the page must show whole
    "Alder River footbridge opens",
    "Новый мост через реку открыт для пешеходов после долгого ремонта",
    "افتتاح جسر جديد للمشاة فوق النهر",
    "नदी पर पैदल यात्रियों के लिए नया पुल खुला",
    "河上新建人行桥正式开放",
    "สะพานคนเดินแห่งใหม่เปิดให้บริการแล้ว",
    "ISS withdrawal",
    "10 Best river crossings of the decade: how the Alder footbridge, the harbour tunnel and the old ferry "
    "compare after the council's long-awaited transport review of every bridge in the county",
    "Supercalifragilisticexpialidociousandotherlongwordswithoutanyspacesatallthatmustwrap",
)
LEAD = (
    "The council opened the new footbridge over the Alder on Tuesday morning. Hundreds of people crossed it "
    "in the first hour, and the mayor said it would be lit every night until the end of the year."
)


def synthetic_output(root: Path, stories: int, days: Sequence[dt.date] = (), undated: bool = False) -> Path:
    """An output folder with ``stories`` stories (1 to 12 articles each); returns it.

    Dated articles fall on ``days`` (cycled) when given, else over about two years from FIRST_DAY;
    with ``undated`` no article has a date.
    """
    articles: list[Article] = []
    story_rows: list[Story] = []
    for n in range(stories):
        story_id = stable_hash("story", str(n))
        label = f"{LABELS[n % len(LABELS)]} #{n}"
        size = 12 - n % 12 if n < 24 else 1 + n % 3
        undated_story = undated or n in (0, 1)  # the two largest stories have no known date
        rows = []
        for k in range(size):
            day = days[(n + k) % len(days)] if days else FIRST_DAY + dt.timedelta(days=(n * 37 + k * 3) % SPAN_DAYS)
            day_only = k % 3 == 1
            published = (
                None
                if undated_story or k == size - 1 and n % 5 == 0
                else dt.datetime.combine(day, dt.time(0 if day_only else 9 + k % 12, 30 * (not day_only)), dt.UTC)
            )
            kind = k % 4
            url = f"https://news{n % 7}.example.org/{n}/{k}.html" if kind in (0, 1) else None
            source_uri = (
                f"https://feeds.example.org/{n % 3}.xml"
                if kind == 0
                else f"/data/seeds/records-{n}.jsonl#line={k + 1}"
                if kind == 1
                else f"/data/seeds/story-{n}-{k}.txt"
            )
            rows.append(
                Article(
                    article_id=stable_hash("a", f"{n}/{k}"),
                    url=url,
                    source_uri=source_uri,
                    source="Example Wire" if kind == 0 and n % 2 else None,
                    title=None if kind == 2 else f"{label}: report {k}",
                    text=f"{LEAD} ({n}/{k})",
                    published_at=published,
                    date_source="record" if published else None,
                    published_precision=("day" if day_only else "minute") if published else None,
                    word_count=len(LEAD.split()),
                    content_hash=stable_hash("text", f"{n}/{k}"),
                    text_source="plain_text",
                    story_id=story_id,
                    story_label=label,
                    ingested_at=INGESTED,
                    run_id=RUN_ID,
                )
            )
        articles += rows
        dated = [a.published_at for a in rows if a.published_at]
        story_rows.append(
            Story(
                story_id=story_id,
                story_label=label,
                label_source="headline",
                first_published=min(dated) if dated else None,
                last_published=max(dated) if dated else None,
                article_count=len(rows),
                top_terms=("bridge", "river"),
                ingested_at=INGESTED,
                run_id=RUN_ID,
            )
        )
    write_articles(root, articles)
    (root / STORIES.name).mkdir(parents=True)
    table = records_to_table([dataclasses.asdict(s) for s in story_rows], STORIES.arrow_schema)
    pq.write_table(table, root / STORIES.name / "part-0.parquet")
    return root


def write_articles(root: Path, articles: list[Article]) -> None:
    by_partition: dict[str, list[dict]] = defaultdict(list)
    for row in articles:
        by_partition[ARTICLES.partition_dir(row)].append(dataclasses.asdict(row))
    for partition, rows in by_partition.items():
        folder = root / ARTICLES.name / partition
        folder.mkdir(parents=True)
        pq.write_table(records_to_table(rows, ARTICLES.arrow_schema), folder / "part-0.parquet")
