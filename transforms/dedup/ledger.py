"""The seen-items ledger: which articles, texts, feed entries and rejects earlier runs handled.

It lives in the state store as a small Parquet table (``STATE/seen/``) and is committed in the
same step as the run's output tables, so the data and the ledger never disagree. A run reads
it as a PCollection of (kind, key) pairs and joins against it; nothing is held in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas import Article, SeenKey
from transforms.run.context import RunContext
from transforms.run.counters import Counter

ARTICLE, CONTENT, ENTRY, REJECT = "article", "content", "entry", "reject"
FORGOTTEN, FORGOTTEN_CONTENT = "forgotten", "forgotten_content"
"""Article ids and text hashes removed by a takedown (``python -m pipeline forget``); a later copy of the text
must not bring it back. The article's own article, content and entry keys stay in the ledger too."""


class ReadSeenKeys(beam.PTransform):
    """Ledger files → (kind, key) pairs."""

    def __init__(self, files: Sequence[str]):
        super().__init__()
        self._files = list(files)

    def expand(self, pbegin):
        return pbegin | "ListLedgerFiles" >> beam.Create(self._files) | "ReadLedger" >> beam.FlatMap(read_seen_keys)


class DropKnown(beam.PTransform):
    """Drops items whose key of ``kind`` is in the ledger; counts them with ``counter``."""

    def __init__(self, known, kind: str, key_of: Callable, counter: Counter):
        super().__init__()
        self._known, self._kind, self._key_of, self._counter = known, kind, key_of, counter

    def expand(self, items):
        return (
            {
                "new": items | "KeyItems" >> beam.Map(lambda item: (self._key_of(item), item)),
                "known": keys_of_kind(self._known, self._kind),
            }
            | "GroupWithLedger" >> beam.CoGroupByKey()
            | "KeepUnseen" >> beam.FlatMap(_unseen, self._counter)
        )


def keys_of_kind(known, kind: str):
    """The ledger keys of one kind, shaped for a CoGroupByKey: (key, None)."""
    return known | f"Only{kind.title()}Keys" >> beam.FlatMap(lambda pair: [(pair[1], None)] if pair[0] == kind else [])


def _unseen(element, counter: Counter) -> Iterator:
    _, grouped = element
    new = list(grouped["new"])
    if new and any(True for _ in grouped["known"]):
        counter.inc(len(new))
        return
    yield from new


class RecordSeenKeys(beam.PTransform):
    """Written articles, written rejects and skipped known articles → ledger rows for this run."""

    def __init__(self, run: RunContext):
        super().__init__()
        self._run = run

    def expand(self, pcolls):
        written_articles, rejects, skipped_articles = pcolls
        run_id = self._run.run_id
        return (
            written_articles | "ArticleKeys" >> beam.FlatMap(article_keys, run_id),
            skipped_articles | "SkippedEntryKeys" >> beam.FlatMap(entry_keys, run_id),
            rejects | "RejectKeys" >> beam.Map(lambda r: SeenKey(kind=REJECT, key=r.reject_id, run_id=run_id)),
        ) | "AllSeenKeys" >> beam.Flatten()


def article_keys(article: Article, run_id: str) -> Iterable[SeenKey]:
    """An article is known by its id, its text hash and (for feeds) its entry id."""
    yield SeenKey(kind=ARTICLE, key=article.article_id, run_id=run_id)
    yield SeenKey(kind=CONTENT, key=article.content_hash, run_id=run_id)
    yield from entry_keys(article, run_id)


def entry_keys(article: Article, run_id: str) -> Iterable[SeenKey]:
    if article.entry_id:
        yield SeenKey(kind=ENTRY, key=article.entry_id, run_id=run_id)


def read_seen_keys(path: str) -> Iterator[tuple[str, str]]:
    """(kind, key) pairs of one ledger file, read through Beam's FileSystems."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle, columns=["kind", "key"])
    yield from zip(table.column("kind").to_pylist(), table.column("key").to_pylist())
