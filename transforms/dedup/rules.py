"""The deduplication rules both graphs follow: who is the original, and what a marked copy looks like.

The batch graph (``dedup/batch.py``) groups a run's articles; the streaming graph
(``dedup/streaming.py``) remembers keys within a horizon. Both mark copies with the functions
here, so a copy gets the same id and marks on either path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple

import apache_beam as beam

from schemas import Article
from transforms.run.context import stable_hash

STAGE = "dedup"
URL, TEXT, NEAR = "url", "text", "near"
"""Values of ``duplicate_kind``: same canonical URL, same normalised text, a copy with small edits."""


class DedupOutputs(NamedTuple):
    """What a dedup step hands on."""

    articles: beam.PCollection  # originals and marked duplicates
    already_ingested: beam.PCollection  # written before: by an earlier run (batch), within the horizon (streaming)


def publication_sort_key(article: Article) -> tuple:
    """Earliest dated article first, undated last, ties broken by source."""
    published = article.published_at or dt.datetime.max.replace(tzinfo=dt.UTC)
    return (article.published_at is None, published, article.source_uri)


def same_url_copy_id(original_id: str, copy: Article) -> str:
    """The id of a same-URL copy: it shares its original's base id, so the row needs one of its own."""
    return stable_hash("duplicate", original_id, copy.source_uri, copy.content_hash)


def mark_url_copy(copy: Article, original_id: str) -> Article:
    """A copy with the same canonical URL as ``original_id``: its own id, marked ``duplicate_kind='url'``."""
    return dataclasses.replace(
        copy, article_id=same_url_copy_id(original_id, copy), duplicate_of=original_id, duplicate_kind=URL
    )


def mark_text_copy(copy: Article, original_id: str) -> Article:
    """A copy with the same normalised text as ``original_id``: marked ``duplicate_kind='text'``."""
    return dataclasses.replace(copy, duplicate_of=original_id, duplicate_kind=TEXT)
