"""Streaming deduplication: keyed state that remembers each URL and text for a horizon of event time.

``DedupWithinHorizon`` keeps, per canonical URL (the base ``article_id``) and then per content
hash, the first article seen. Within the horizon — ``--dedup-horizon`` of event time after
that first article — later articles with the same key are *kept and marked*, as in the batch
graph: a same-URL copy gets an id of its own (the batch formula: original id, source, text
hash) and ``duplicate_of``/``duplicate_kind='url'``; an original with a known text gets
``duplicate_of``/``duplicate_kind='text'``. The very same item again (same URL, source and
text: a re-delivery) would repeat a row id, so it goes to the ``already_ingested`` output instead
and is counted (``dedup.already_seen``). The marks and ids come from ``dedup/rules.py``, the
batch graph's rules. An event-time timer at the horizon clears the key's
state; an article with that key after it is a new original.

The first one *seen* is the original (arrival order), not the earliest published as in batch:
a stream cannot wait for an earlier copy that may never come. Near-duplicates (copies with
small edits) are found by the story step, with the batch graph's MinHash index
(``stories/streaming.py``).

``DropRepeats`` is the plain form: the first item per key passes, repeats are counted and
dropped while the key is remembered; each repeat extends the memory (feed entries stay known
as long as the feed keeps listing them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.typehints import KV
from apache_beam.utils.timestamp import Timestamp

from schemas import Article
from transforms.dedup.rules import DedupOutputs, mark_text_copy, mark_url_copy, same_url_copy_id
from transforms.event_time.windows import MICROS
from transforms.run import counters

ALREADY_SEEN = "already_seen"
REPEATS = "repeats"


class DedupWithinHorizon(beam.PTransform):
    """Articles → originals and marked duplicates; re-deliveries to ``already_ingested`` (``dedup.already_seen``)."""

    def __init__(self, horizon_seconds: float):
        super().__init__()
        self._horizon_micros = round(horizon_seconds * MICROS)

    def expand(self, articles):
        by_url = (
            articles
            | "KeyByUrl" >> beam.Map(lambda a: (a.article_id, a)).with_output_types(KV[str, Any])
            | "MarkSameUrl" >> beam.ParDo(MarkSameUrl(self._horizon_micros)).with_outputs(ALREADY_SEEN, main="articles")
        )
        marked = (
            by_url.articles
            | "KeyByText" >> beam.Map(lambda a: (a.content_hash, a)).with_output_types(KV[str, Any])
            | "MarkSameText" >> beam.ParDo(MarkSameText(self._horizon_micros))
        )
        return DedupOutputs(marked, by_url[ALREADY_SEEN])


class MarkSameUrl(beam.DoFn):
    """Per base article id: the first article is the original; later ones are marked or, if re-delivered, set aside."""

    ORIGINAL = ReadModifyWriteStateSpec("original", StrUtf8Coder())
    SIGHTINGS = BagStateSpec("sightings", StrUtf8Coder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, horizon_micros: int):
        self._horizon_micros = horizon_micros
        self._originals = counters.STREAM_ORIGINALS.metric()
        self._duplicates = counters.STREAM_DUPLICATES_BY_URL.metric()
        self._already_seen = counters.STREAM_ALREADY_SEEN.metric()

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        original_state=beam.DoFn.StateParam(ORIGINAL),
        sightings_state=beam.DoFn.StateParam(SIGHTINGS),
        expire=beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator:
        _, article = element
        original = original_state.read()
        if original is None:
            original_state.write(article.article_id)
            sightings_state.add(same_url_copy_id(article.article_id, article))
            expire.set(Timestamp(micros=timestamp.micros + self._horizon_micros))
            self._originals.inc()
            yield article
            return
        sighting = same_url_copy_id(original, article)
        if sighting in set(sightings_state.read()):
            self._already_seen.inc()
            yield beam.pvalue.TaggedOutput(ALREADY_SEEN, article)
            return
        sightings_state.add(sighting)
        self._duplicates.inc()
        yield mark_url_copy(article, original)

    @on_timer(EXPIRE)
    def forget(
        self, original_state=beam.DoFn.StateParam(ORIGINAL), sightings_state=beam.DoFn.StateParam(SIGHTINGS)
    ) -> None:
        original_state.clear()
        sightings_state.clear()
        counters.STREAM_URLS_FORGOTTEN.inc()


class MarkSameText(beam.DoFn):
    """Per content hash: the first article owns the text; later originals with it are marked against the owner."""

    OWNER = ReadModifyWriteStateSpec("owner", StrUtf8Coder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, horizon_micros: int):
        self._horizon_micros = horizon_micros
        self._duplicates = counters.STREAM_DUPLICATES_BY_TEXT.metric()

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        owner_state=beam.DoFn.StateParam(OWNER),
        expire=beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator[Article]:
        _, article = element
        owner = owner_state.read()
        if owner is None:
            owner_state.write(article.duplicate_of or article.article_id)  # a duplicate's text belongs to its original
            expire.set(Timestamp(micros=timestamp.micros + self._horizon_micros))
            yield article
        elif article.duplicate_of is None and article.article_id != owner:
            self._duplicates.inc()
            yield mark_text_copy(article, owner)
        else:
            yield article  # a same-URL copy keeps its link to its original

    @on_timer(EXPIRE)
    def forget(self, owner_state=beam.DoFn.StateParam(OWNER)) -> None:
        owner_state.clear()
        counters.STREAM_TEXTS_FORGOTTEN.inc()


class DropRepeats(beam.PTransform):
    """Items → the first item per key; repeats within the horizon are counted with ``counter`` and
    dropped, or with ``repeats=True`` handed on as a second output (``.items``, ``.repeats``)."""

    def __init__(
        self, key_of: Callable[[Any], str], horizon_seconds: float, counter: counters.Counter, repeats: bool = False
    ):
        super().__init__()
        self._key_of, self._horizon_micros, self._counter = key_of, round(horizon_seconds * MICROS), counter
        self._repeats = repeats

    def expand(self, items):
        key_of = self._key_of
        kept = (
            items
            | "KeyItems" >> beam.Map(lambda item: (key_of(item), item)).with_output_types(KV[str, Any])
            | "KeepFirstSighting"
            >> beam.ParDo(KeepFirstSighting(self._horizon_micros, self._counter)).with_outputs(REPEATS, main="items")
        )
        return kept if self._repeats else kept.items


class KeepFirstSighting(beam.DoFn):
    EXPIRES_AT = ReadModifyWriteStateSpec("expires_at", VarIntCoder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, horizon_micros: int, counter: counters.Counter):
        self._horizon_micros = horizon_micros
        self._repeats = counter.metric()

    def process(
        self,
        element,
        timestamp=beam.DoFn.TimestampParam,
        expires_state=beam.DoFn.StateParam(EXPIRES_AT),
        expire=beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator:
        _, item = element
        expires_at = expires_state.read()
        remember_until = timestamp.micros + self._horizon_micros
        if expires_at is None or remember_until > expires_at:
            expires_state.write(remember_until)
            expire.set(Timestamp(micros=remember_until))
        if expires_at is not None:
            self._repeats.inc()
            yield beam.pvalue.TaggedOutput(REPEATS, item)
            return
        yield item

    @on_timer(EXPIRE)
    def forget(self, expires_state=beam.DoFn.StateParam(EXPIRES_AT)) -> None:
        expires_state.clear()
