"""Articles travel through dedup and clustering as small refs; bodies wait in files and are joined back.

Where an article is extracted it gets a ref key (unique within the run) and is parked: written,
compressed, into a file of its bundle under the run's staging folder (``OUTPUT/_staging-RUN/
parked/``, removed by the commit like every staged file). Only its ``ArticleRef`` (ids, ordering
fields, story features: no text) goes on through the group-bys of dedup and the ordered story
step, and only the parked file's name reaches the join. Those steps end in one
``ArticleVerdict`` per ref (or ``None``: already ingested by an earlier run); the verdicts, a few
hundred bytes each, reach the parked files as a side input, and each file is read back once,
in order. So no group-by holds an article body and no runner keeps bodies in memory while
they wait (FnApiRunner holds every element that crosses a stage boundary): peak memory no
longer grows with the number of articles in a run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from schemas import Article
from transforms.output.files import ensure_dir
from transforms.output.layout import PARKED_FOLDER
from transforms.stories.vectors import ArticleVector, PackedVector

KeyedArticle = tuple[str, Article]
"""(ref key, article)."""
PARKED = "parked"
_LENGTH_BYTES = 4


@dataclass(frozen=True)
class ArticleRef:
    """What dedup and the ordered story step need of one article; never its text."""

    ref: str
    article_id: str
    content_hash: str
    source_uri: str
    published_at: dt.datetime | None
    entry_id: str | None
    title: str | None
    vector: PackedVector | None = None  # story features, computed where the text is
    signature: bytes | None = None  # MinHash of the text (near-duplicates), None for short texts
    duplicate_of: str | None = None
    duplicate_kind: str | None = None


@dataclass(frozen=True)
class ArticleVerdict:
    """The fields dedup and the story step decided for one article."""

    article_id: str
    duplicate_of: str | None
    duplicate_kind: str | None
    story_id: str | None
    story_label: str | None


def key_article(article: Article) -> KeyedArticle:
    """The article with a fresh ref key: unique even for two identical inputs."""
    return uuid.uuid4().hex, article


def article_ref(ref: str, article: Article, vector: ArticleVector | None, signature: bytes | None) -> ArticleRef:
    return ArticleRef(
        ref=ref,
        article_id=article.article_id,
        content_hash=article.content_hash,
        source_uri=article.source_uri,
        published_at=article.published_at,
        entry_id=article.entry_id,
        title=article.title,
        vector=None if vector is None else PackedVector.pack(vector),
        signature=signature,
        duplicate_of=article.duplicate_of,
        duplicate_kind=article.duplicate_kind,
    )


def apply_verdict(element: KeyedArticle, verdicts: Mapping[str, ArticleVerdict | None]) -> Iterator[Article]:
    """The article with its verdict's fields; nothing when it was already ingested (None)."""
    ref, article = element
    if ref not in verdicts:
        raise RuntimeError(f"article {article.article_id} from {article.source_uri} got no verdict")
    verdict = verdicts[ref]
    if verdict is not None:
        yield dataclasses.replace(article, **dataclasses.asdict(verdict))


def write_parked(file: BinaryIO, element: KeyedArticle) -> None:
    """Appends one (ref key, article) record: its length, then the pickled pair compressed (zlib level 1)."""
    record = zlib.compress(pickle.dumps(element, protocol=pickle.HIGHEST_PROTOCOL), 1)
    file.write(len(record).to_bytes(_LENGTH_BYTES, "big"))
    file.write(record)


def read_parked(path: str) -> Iterator[KeyedArticle]:
    """The (ref key, article) records of one parked file, in order, one at a time."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
        while header := file.read(_LENGTH_BYTES):
            size = int.from_bytes(header, "big")
            record = file.read(size)
            if len(header) != _LENGTH_BYTES or len(record) != size:
                raise RuntimeError(f"parked article file {path} is truncated (a record of {size} bytes)")
            yield pickle.loads(zlib.decompress(record))


def parked_folder(staging: str) -> str:
    return FileSystems.join(staging, PARKED_FOLDER)


class ParkedArticles(NamedTuple):
    refs: beam.PCollection  # ArticleRef per article, for dedup and the story step
    files: beam.PCollection  # the names of the files the bodies wait in


class ParkArticles(beam.PTransform):
    """Articles (one PCollection, or {source: PCollection}) → their refs, and the files their bodies wait in.

    Each source is parked in the step that extracted it: a Flatten of whole articles would be a
    stage boundary that a local runner holds in memory. ``make_ref`` turns a (ref key, article)
    pair into its ``ArticleRef`` (with the story features, computed here, where the text is).
    """

    def __init__(self, staging: str, make_ref: Callable[[KeyedArticle], ArticleRef]):
        super().__init__()
        self._folder, self._make_ref = parked_folder(staging), make_ref

    def expand(self, articles):
        by_source = articles if isinstance(articles, dict) else {"": articles}
        parked = [
            pcoll
            | f"Park{name}" >> beam.ParDo(ParkBodies(self._folder, self._make_ref)).with_outputs(PARKED, main="refs")
            for name, pcoll in by_source.items()
        ]
        return ParkedArticles(
            refs=[p.refs for p in parked] | "AllRefs" >> beam.Flatten(),
            files=[p[PARKED] for p in parked] | "AllParkedFiles" >> beam.Flatten(),
        )


class ParkBodies(beam.DoFn):
    """Writes each article of a bundle into one parked file; emits its ref, and the file's name at the end."""

    def __init__(self, folder: str, make_ref: Callable[[KeyedArticle], ArticleRef]):
        self._folder, self._make_ref = folder, make_ref

    def setup(self) -> None:
        ensure_dir(self._folder)

    def start_bundle(self) -> None:
        self._path: str | None = None
        self._file: Any = None

    def process(self, article: Article) -> Iterator[ArticleRef]:
        element = key_article(article)
        if self._file is None:
            self._path = FileSystems.join(self._folder, f"{uuid.uuid4().hex}.parked")
            self._file = FileSystems.create(self._path, compression_type=CompressionTypes.UNCOMPRESSED)
        write_parked(self._file, element)
        yield self._make_ref(element)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._file is not None:
            self._file.close()
            parked = WindowedValue(self._path, GlobalWindow().max_timestamp(), [GlobalWindow()])
            yield beam.pvalue.TaggedOutput(PARKED, parked)
        self._path, self._file = None, None


class JoinVerdicts(beam.PTransform):
    """Parked files → final articles, given the verdicts and the refs already ingested.

    A side-input join: the verdicts are small, so they are what the runner materialises; each
    parked file is read once, record by record, and its articles come out with their verdicts.
    """

    def __init__(self, verdicts, already_ingested):
        super().__init__()
        self._verdicts, self._already_ingested = verdicts, already_ingested

    def expand(self, parked_files):
        skipped = self._already_ingested | "NoVerdict" >> beam.Map(lambda ref: (ref.ref, None))
        verdicts = (self._verdicts, skipped) | "AllVerdicts" >> beam.Flatten()
        return (
            parked_files
            | "SpreadParkedFiles" >> beam.Reshuffle()
            | "ReadParked" >> beam.FlatMap(read_parked)
            | "ApplyVerdicts" >> beam.FlatMap(apply_verdict, beam.pvalue.AsDict(verdicts))
        )
