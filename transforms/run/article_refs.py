"""Articles travel through dedup and clustering as small refs; bodies wait once and are joined back.

An extracted article gets a ref key (unique within the run) where it was extracted. Its
``ArticleRef`` (ids, ordering fields, story features: no text) goes through the group-bys of
dedup and the ordered story step; the full article waits in one place, compressed (a local
runner holds that wait in memory; zlib level 1 takes ~3× off for ~0.1 ms per article). Those steps end in one
``ArticleVerdict`` per ref (or ``None``: already ingested by an earlier run), and the verdicts,
a few hundred bytes each, reach the bodies as a side input. So no group-by holds an article
body, and the body crosses one stage boundary instead of one per group-by.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import apache_beam as beam

from schemas import Article
from transforms.stories.vectors import ArticleVector

KeyedArticle = tuple[str, Article]
"""(ref key, article)."""
WaitingArticle = tuple[str, bytes]
"""(ref key, compressed article): what waits for the verdicts."""


@dataclass(frozen=True)
class PackedVector:
    """An ArticleVector as pickled bytes: ~5× smaller than the tuples it holds, so the ordered
    story step, which holds every ref of the run at once, unpacks one vector at a time."""

    data: bytes

    @classmethod
    def pack(cls, vector: ArticleVector) -> PackedVector:
        return cls(pickle.dumps(vector, protocol=pickle.HIGHEST_PROTOCOL))

    def unpack(self) -> ArticleVector:
        return pickle.loads(self.data)


def unpacked(vector: ArticleVector | PackedVector) -> ArticleVector:
    return vector.unpack() if isinstance(vector, PackedVector) else vector


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


def compress_body(element: KeyedArticle) -> WaitingArticle:
    ref, article = element
    return ref, zlib.compress(pickle.dumps(article, protocol=pickle.HIGHEST_PROTOCOL), 1)


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


def apply_verdict(element: WaitingArticle, verdicts: Mapping[str, ArticleVerdict | None]) -> Iterator[Article]:
    """The article with its verdict's fields; nothing when it was already ingested (None)."""
    ref, body = element
    article: Article = pickle.loads(zlib.decompress(body))
    if ref not in verdicts:
        raise RuntimeError(f"article {article.article_id} from {article.source_uri} got no verdict")
    verdict = verdicts[ref]
    if verdict is not None:
        yield dataclasses.replace(article, **dataclasses.asdict(verdict))


class JoinVerdicts(beam.PTransform):
    """(ref key, article) pairs → final articles, given the verdicts and the refs already ingested.

    The articles are compressed before they wait for the verdicts (``compress_body``, fused with
    the step that made them) and restored as each verdict is applied.

    A side-input join: the verdicts are small, so they are what the runner materialises.
    """

    def __init__(self, verdicts, already_ingested):
        super().__init__()
        self._verdicts, self._already_ingested = verdicts, already_ingested

    def expand(self, keyed_articles):
        skipped = self._already_ingested | "NoVerdict" >> beam.Map(lambda ref: (ref.ref, None))
        verdicts = (self._verdicts, skipped) | "AllVerdicts" >> beam.Flatten()
        return (
            keyed_articles
            | "CompressBodies" >> beam.Map(compress_body)
            | "ApplyVerdicts" >> beam.FlatMap(apply_verdict, beam.pvalue.AsDict(verdicts))
        )
