"""Small row builders for tests."""

from __future__ import annotations

import datetime as dt

from schemas import Article
from transforms.run.context import RunContext, stable_hash

RUN = RunContext("20240101T000000Z-test", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def article(
    name: str,
    *,
    url: str | None = None,
    text: str | None = None,
    published: dt.datetime | None = None,
    source_uri: str | None = None,
    **extra,
) -> Article:
    """An extracted article (no duplicate/story fields yet) with ids derived like extract does."""
    text = text or f"Text of {name}, long enough to be an article about {name}."
    content_hash = stable_hash(text)
    return Article(
        article_id=stable_hash("url", url) if url else stable_hash("text", content_hash),
        url=url,
        source_uri=source_uri or f"/in/{name}.txt",
        text=text,
        published_at=published,
        word_count=len(text.split()),
        content_hash=content_hash,
        text_source="plain_text",
        ingested_at=RUN.started_at,
        run_id=RUN.run_id,
        **extra,
    )


def day(n: int) -> dt.datetime:
    return dt.datetime(2024, 3, n, 12, tzinfo=dt.UTC)
