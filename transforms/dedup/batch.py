"""Mark exact duplicates and skip what earlier runs already wrote.

Two articles are exact duplicates when they share a canonical URL (hence a base article_id) or
a content hash. The earliest published (then by source) is the original; the others are kept
and marked ``duplicate_of``. Articles whose id is in the seen-items ledger were written by an
earlier run: they go to the ``already_ingested`` output instead, so reruns write nothing twice.
An article with a new id whose text an earlier run wrote (a copy syndicated under a new URL) is
a row: marked ``duplicate_of`` that earlier article (``duplicate_kind`` 'text'), so it joins its
story. Only ledger files older than the content key's ``article_id`` leave such copies skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam

from schemas import Article
from transforms.dedup import rules
from transforms.dedup.ledger import ARTICLE, CONTENT, FORGOTTEN_CONTENT, keys_of_kind
from transforms.dedup.rules import DedupOutputs, publication_sort_key
from transforms.run import counters

ALREADY_INGESTED = "already_ingested"
ArticleGroup = tuple[Article, tuple[Article, ...]]
"""An original and the duplicates marked against it."""


class MarkDuplicates(beam.PTransform):
    """Articles → originals and marked duplicates; known ones to the ``already_ingested`` output."""

    def __init__(self, known):
        super().__init__()
        self._known = known

    def expand(self, articles):
        by_url = (
            {
                "new": articles | "KeyById" >> beam.Map(lambda a: (a.article_id, a)),
                "known": keys_of_kind(self._known, ARTICLE),
            }
            | "GroupSameUrl" >> beam.CoGroupByKey()
            | "MarkSameUrl" >> beam.FlatMap(_resolve_by_id).with_outputs(ALREADY_INGESTED, main="groups")
        )
        by_text = (
            {
                "new": by_url.groups | "KeyByHash" >> beam.Map(lambda g: (g[0].content_hash, g)),
                "known": keys_of_kind(self._known, CONTENT),
                "forgotten": keys_of_kind(self._known, FORGOTTEN_CONTENT),
            }
            | "GroupSameText" >> beam.CoGroupByKey()
            | "MarkSameText" >> beam.FlatMap(_resolve_by_hash).with_outputs(ALREADY_INGESTED, main="articles")
        )
        skipped = (by_url[ALREADY_INGESTED], by_text[ALREADY_INGESTED]) | "AllAlreadyIngested" >> beam.Flatten()
        return DedupOutputs(by_text.articles, skipped)


def _resolve_by_id(element) -> Iterator:
    new, known = _split(element)
    if known:
        yield from _skip(new)
    elif new:
        yield mark_same_url(new)


def _resolve_by_hash(element) -> Iterator:
    _, grouped = element
    groups = list(grouped["new"])
    known = list(grouped["known"])
    if not groups:
        return
    if any(True for _ in grouped.get("forgotten", ())):  # a forget took this text down: it stays down
        articles = [a for original, copies in groups for a in (original, *copies)]
        counters.COPIES_OF_FORGOTTEN.inc(len(articles))
        yield from _skip(articles)
        return
    earlier = sorted(article_id for article_id in known if article_id)
    if earlier:  # an earlier run wrote this text: these are copies of that article
        articles = mark_copies_of_earlier(groups, earlier[0])
        counters.DUPLICATES.inc(sum(1 for a in articles if a.duplicate_of))
        counters.COPIES_OF_EARLIER_RUNS.inc(len(groups))
        yield from articles
    elif known:  # a ledger file from before content keys named their article: the old rule
        yield from _skip([a for original, copies in groups for a in (original, *copies)])
    else:
        articles = mark_same_text(groups)
        counters.DUPLICATES.inc(sum(1 for a in articles if a.duplicate_of))
        yield from articles


def _split(element) -> tuple[list, bool]:
    _, grouped = element
    return list(grouped["new"]), any(True for _ in grouped["known"])


def _skip(articles: list[Article]) -> Iterator:
    counters.ALREADY_INGESTED.inc(len(articles))
    for article in articles:
        yield beam.pvalue.TaggedOutput(ALREADY_INGESTED, article)


def mark_same_url(articles: Iterable[Article]) -> ArticleGroup:
    """Articles sharing a base article_id: the first is the original, the rest get ids of their own."""
    original, *copies = sorted(articles, key=publication_sort_key)
    return original, tuple(rules.mark_url_copy(copy, original.article_id) for copy in copies)


def mark_copies_of_earlier(groups: Iterable[ArticleGroup], earlier_id: str) -> list[Article]:
    """Groups whose text an earlier run wrote as ``earlier_id``: each group's original points at it."""
    result = []
    for original, copies in groups:
        result.append(rules.mark_text_copy(original, earlier_id))
        result.extend(copies)
    return result


def mark_same_text(groups: Iterable[ArticleGroup]) -> list[Article]:
    """Groups sharing a content hash: the earliest original stays; everything else points at it."""
    ordered = sorted(groups, key=lambda group: publication_sort_key(group[0]))
    (original, first_copies), rest = ordered[0], ordered[1:]
    result = [original, *first_copies]
    for other, copies in rest:
        for article in (other, *copies):
            result.append(rules.mark_text_copy(article, original.article_id))
    return result
