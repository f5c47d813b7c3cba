"""The seen-items ledger: which articles, texts, feed entries and rejects earlier runs handled.

It lives in the state store as a small Parquet table (``STATE/seen/``) and is committed in the
same step as the run's output tables, so the data and the ledger never disagree. A run reads
it as a PCollection of (kind, key) pairs and joins against it; nothing is held in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas import Article, Reject, SeenKey
from transforms.output.files import CorruptStateFile
from transforms.run.context import RunContext
from transforms.run.counters import Counter

ARTICLE, CONTENT, ENTRY, REJECT, ATTEMPT = "article", "content", "entry", "reject", "attempt"
FORGOTTEN = "forgotten"
"""An article id removed by a takedown (``python -m pipeline forget``); its article, content and entry keys stay."""


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
    """The ledger keys of one kind, shaped for a CoGroupByKey: (key, article_id or None)."""
    return known | f"Only{kind.title()}Keys" >> beam.FlatMap(_key_of_kind, kind)


def _key_of_kind(row: tuple, kind: str) -> list[tuple[str, str | None]]:
    return [(row[1], row[2] if len(row) > 2 else None)] if row[0] == kind else []


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
            rejects | "RejectKeys" >> beam.FlatMap(reject_keys, run_id),
        ) | "AllSeenKeys" >> beam.Flatten()


def article_keys(article: Article, run_id: str) -> Iterable[SeenKey]:
    """An article is known by its id, its text hash (with the article that text is the original of) and its entry id."""
    yield SeenKey(kind=ARTICLE, key=article.article_id, run_id=run_id)
    original = article.duplicate_of if article.duplicate_kind == "text" else article.article_id
    yield SeenKey(kind=CONTENT, key=article.content_hash, run_id=run_id, article_id=original)
    yield from entry_keys(article, run_id)


def reject_keys(reject: Reject, run_id: str) -> Iterable[SeenKey]:
    """A reject is known by its id; a failed try of a feed entry also counts as an attempt, or, on the
    last try, marks the entry as handled so later runs skip it."""
    yield SeenKey(kind=REJECT, key=reject.reject_id, run_id=run_id)
    if reject.entry_id and reject.attempt is not None:
        yield SeenKey(kind=ENTRY if reject.gave_up else ATTEMPT, key=reject.entry_id, run_id=run_id)


def entry_keys(article: Article, run_id: str) -> Iterable[SeenKey]:
    if article.entry_id:
        yield SeenKey(kind=ENTRY, key=article.entry_id, run_id=run_id)


def read_seen_keys(path: str) -> Iterator[tuple[str, str, str | None]]:
    """(kind, key, article_id) of every row of one ledger file, read through Beam's FileSystems.

    ``article_id`` is None except for content keys (and for them too in files older than that column).
    """
    try:
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle)
        kinds, keys = table.column("kind").to_pylist(), table.column("key").to_pylist()
    except (OSError, ValueError, KeyError, pa.ArrowException) as err:
        raise CorruptStateFile(path, err, LEDGER_WAY_OUT) from err
    ids = table.column("article_id").to_pylist() if "article_id" in table.column_names else [None] * len(keys)
    yield from zip(kinds, keys, ids)


def check_ledger_files(paths: Sequence[str]) -> None:
    """Raises ``CorruptStateFile`` for a ledger file whose Parquet footer doesn't read or lacks kind/key."""
    for path in paths:
        try:
            with FileSystems.open(path) as handle:
                schema = pq.read_schema(handle)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise CorruptStateFile(path, err, LEDGER_WAY_OUT) from err
        missing = {"kind", "key"} - set(schema.names)
        if missing:
            raise CorruptStateFile(path, f"no column {', '.join(sorted(missing))}", LEDGER_WAY_OUT)


LEDGER_WAY_OUT = (
    "Move it out of the ledger folder (mv {path} {path}.unreadable), or restore it from a backup."
    " The items it recorded (its run id is in its name) are then no longer known: reading the same"
    " inputs again writes them again."
)
