"""Mark exact duplicates and skip what earlier runs already wrote.

Two articles are exact duplicates when they share a canonical URL (hence a base article_id) or
a content hash. The earliest published (then by source) is the original; the others are kept
and marked ``duplicate_of``. Articles and rejects whose keys are already in the output tables
are dropped and counted, so a rerun over the same input writes nothing twice.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable, Iterator, Sequence

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from schemas import Article, Reject
from transforms.run_context import stable_hash

STAGE = "dedup"
ArticleGroup = tuple[Article, tuple[Article, ...]]
"""An original and the duplicates marked against it."""


class MarkDuplicates(beam.PTransform):
    """Articles → originals and marked duplicates, minus articles already in ``existing_files``."""

    def __init__(self, existing_files: Sequence[str]):
        super().__init__()
        self._existing = list(existing_files)

    def expand(self, articles):
        known = articles.pipeline | "ListWrittenArticles" >> beam.Create(self._existing)
        known_ids = known | "ReadWrittenIds" >> beam.FlatMap(read_column, "article_id")
        known_hashes = known | "ReadWrittenHashes" >> beam.FlatMap(read_column, "content_hash")
        by_url = (
            {"new": articles | "KeyById" >> beam.Map(lambda a: (a.article_id, a)), "known": _as_keys(known_ids, "Ids")}
            | "GroupSameUrl" >> beam.CoGroupByKey()
            | "MarkSameUrl" >> beam.FlatMap(_resolve_by_id)
        )
        return (
            {"new": by_url | "KeyByHash" >> beam.Map(lambda g: (g[0].content_hash, g)), "known": _as_keys(known_hashes, "Hashes")}
            | "GroupSameText" >> beam.CoGroupByKey()
            | "MarkSameText" >> beam.FlatMap(_resolve_by_hash)
        )


class SkipKnownRejects(beam.PTransform):
    """Drops rejects whose reject_id is already in ``existing_files`` (a rerun of the same bad input)."""

    def __init__(self, existing_files: Sequence[str]):
        super().__init__()
        self._existing = list(existing_files)

    def expand(self, rejects):
        known_ids = (
            rejects.pipeline
            | "ListWrittenRejects" >> beam.Create(self._existing)
            | "ReadWrittenRejectIds" >> beam.FlatMap(read_column, "reject_id")
        )
        return (
            {"new": rejects | "KeyByRejectId" >> beam.Map(lambda r: (r.reject_id, r)), "known": _as_keys(known_ids, "RejectIds")}
            | "GroupSameReject" >> beam.CoGroupByKey()
            | "DropRepeated" >> beam.FlatMap(_drop_known_rejects)
        )


def _as_keys(keys, label: str):
    return keys | f"AsKnown{label}" >> beam.Map(lambda key: (key, None))


def _resolve_by_id(element) -> Iterator[ArticleGroup]:
    new = _new_unless_known(element[1], "already_ingested")
    if new:
        yield mark_same_url(new)


def _resolve_by_hash(element) -> Iterator[Article]:
    new = _new_unless_known(element[1], "already_ingested")
    if new:
        articles = mark_same_text(new)
        Metrics.counter(STAGE, "duplicates").inc(sum(1 for a in articles if a.duplicate_of))
        yield from articles


def _drop_known_rejects(element) -> Iterator[Reject]:
    yield from _new_unless_known(element[1], "repeated_rejects")


def _new_unless_known(grouped: dict, counter: str) -> list:
    """The new items of a co-grouped key, or none (counted) when the key is already known."""
    new = list(grouped["new"])
    if new and list(grouped["known"]):
        Metrics.counter(STAGE, counter).inc(sum(1 + len(i[1]) if isinstance(i, tuple) else 1 for i in new))
        return []
    return new


def publication_sort_key(article: Article) -> tuple:
    """Earliest dated article first, undated last, ties broken by source."""
    published = article.published_at or dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return (article.published_at is None, published, article.source_uri)


def mark_same_url(articles: Iterable[Article]) -> ArticleGroup:
    """Articles sharing a base article_id: the first is the original, the rest get ids of their own."""
    original, *copies = sorted(articles, key=publication_sort_key)
    marked = tuple(
        dataclasses.replace(
            copy,
            article_id=stable_hash("duplicate", original.article_id, copy.source_uri, copy.content_hash),
            duplicate_of=original.article_id,
        )
        for copy in copies
    )
    return original, marked


def mark_same_text(groups: Iterable[ArticleGroup]) -> list[Article]:
    """Groups sharing a content hash: the earliest original stays; everything else points at it."""
    ordered = sorted(groups, key=lambda group: publication_sort_key(group[0]))
    (original, first_copies), rest = ordered[0], ordered[1:]
    result = [original, *first_copies]
    for other, copies in rest:
        for article in (other, *copies):
            result.append(dataclasses.replace(article, duplicate_of=original.article_id))
    return result


def read_column(path: str, column: str) -> Iterator[str]:
    """Distinct values of one column of a Parquet file, read through Beam's FileSystems."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle, columns=[column])
    yield from set(table.column(column).to_pylist())
