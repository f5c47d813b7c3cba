"""Read seed files (.txt, .html/.htm, .jsonl, each optionally .gz) into source documents.

Every file or JSON Lines record becomes a ``SourceDocument`` or a rejects row with a reason.
Paths go through Beam's FileSystems, so local paths, globs and object-store URIs all work.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from schemas import Reject
from transforms.run import counters, progress
from transforms.run.context import REJECTED, RunContext, set_rejects_aside
from transforms.sources.document import SourceDocument
from transforms.sources.listing import UNREADABLE, InputProblem, list_inputs, open_regular_file

STAGE = "read"
MAX_FILE_BYTES = 32 * 1024 * 1024
"""Cap on one decompressed .txt/.html file or one JSON Lines record."""
MAX_JSONL_BYTES = 64 * MAX_FILE_BYTES
"""Cap on one decompressed JSON Lines file: 2 GiB."""
log = logging.getLogger(__name__)
FORMATS = {".txt": "text", ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".warc": "warc"}
"""'warc' files are listed here but read by ``transforms.sources.warc``, not as seed files."""
TEXT_KEYS = ("text", "maintext", "plaintext")
"""Where a record's plain text is read, first found wins: ours, news-please's, Fundus's."""
DATE_KEYS = ("published", "date_publish", "publishing_date", "date")
"""Where a record's publication time is read, first found wins: ours, news-please's, Fundus's, a plain 'date'."""
RECORD_KEYS = ("url", "title", *TEXT_KEYS, "html", *DATE_KEYS, "source", "description", "image_url", "section")
"""The string fields a record may carry (null or absent when unknown)."""
LIST_KEYS = ("authors", "keywords", "topics")
"""Fields given as a list of strings or one string with ';' between the values ('topics': Fundus's keywords)."""
NOT_PUBLICATION_DATES = frozenset(
    {"date_download", "date_modify", "date_modified", "modified", "updated", "crawl_date", "fetched_at", "timestamp"}
)
"""Date-like keys known not to be the publication time (news-please's download and modification dates, …)."""
DATE_LIKE_KEY = re.compile(r"date|time|publi|created|issued", re.IGNORECASE)


class InputNotFound(ValueError):
    """An --input path or glob that matches no readable file."""


class ReadSeedFiles(beam.PTransform):
    """Files (already expanded by ``expand_inputs``) → SourceDocuments, plus a ``rejects`` output."""

    def __init__(self, paths: list[str], run: RunContext):
        super().__init__()
        self._paths = paths
        self._run = run

    def expand(self, pbegin):
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._paths)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFile" >> beam.ParDo(ReadSeedFile(self._run)).with_outputs(REJECTED, main="documents")
        )


class ReadSeedFile(beam.DoFn):
    """Reads one file; emits its documents, and rejects tagged ``rejects``."""

    def __init__(self, run: RunContext):
        self._run = run
        self._documents = counters.SEED_DOCUMENTS.metric()
        self._files = counters.SEED_FILES_READ.metric()

    def process(self, path: str) -> Iterator:
        self._files.inc()  # reconciled against the files listed by the plan
        for item in read_seed_file(path, self._run):
            if isinstance(item, SourceDocument):
                self._documents.inc()
                progress.note("documents read")
            yield set_rejects_aside(item, STAGE)
        progress.note("seed files read")  # once its last document is out: "seed files 120/201"


def expand_inputs(patterns: Iterable[str]) -> list[str]:
    """Expand directories (recursively) and globs to a sorted list of seed files (``listing.list_inputs``).

    Inside a directory only known formats count; a file named explicitly is read whatever its
    suffix (an unknown suffix becomes a reject); a path that exists is never read as a glob.
    Raises InputNotFound for a pattern with no match.
    """
    found: set[str] = set()
    for pattern in map(_absolute, patterns):
        chosen = list_inputs(pattern, _is_seed_file)
        if not chosen:
            raise InputNotFound(
                f"--input {pattern!r} matches no seed file (.txt, .html, .htm, .jsonl, .warc, optionally .gz)"
            )
        found.update(chosen)
    return sorted(found)


def _absolute(pattern: str) -> str:
    """Local paths become absolute, so source_uri and reject ids don't depend on the working directory."""
    if FileSystems.get_scheme(pattern) is not None:
        return pattern
    absolute = os.path.abspath(pattern)
    return absolute + "/" if pattern.endswith("/") else absolute


def _is_seed_file(relative_path: str) -> bool:
    """A known format, and no hidden or underscore folder or file on the way (.git/, _staging-…/)."""
    hidden = any(part.startswith((".", "_")) for part in relative_path.split("/") if part)
    return not hidden and seed_format(relative_path) is not None


def seed_format(path: str) -> str | None:
    """'text', 'html', 'jsonl' or 'warc' from the suffix (after an optional .gz), else None."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(".gz"):
        name = name[:-3]
    dot = name.rfind(".")
    return FORMATS.get(name[dot:]) if dot >= 0 else None


def read_seed_file(path: str, run: RunContext) -> Iterator[SourceDocument | Reject]:
    """All documents of one file, or rejects that say what was wrong."""
    fmt = seed_format(path)
    if fmt is None:
        yield run.reject(
            path, STAGE, "unsupported_format", "expected .txt, .html, .htm or .jsonl (optionally .gz)", path
        )
        return
    try:
        raw = open_regular_file(path)
    except InputProblem as problem:
        yield run.reject(path, STAGE, problem.reason, problem.detail, b"")
        return
    with raw:
        compressed = path.lower().endswith(".gz")
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        done = 0  # items yielded: a failure after them rejects only the rest of the file
        try:
            items = _read_jsonl(path, stream, run) if fmt == "jsonl" else [_read_whole_file(path, fmt, stream, run)]
            for item in items:
                done += 1
                yield item
        except (gzip.BadGzipFile, EOFError, zlib.error) as err:
            yield run.reject(path, STAGE, "invalid_compression", _after(done, err), _leading_bytes(path))
        except OSError as err:  # a read error: the disk, the network file system, a file that vanished
            yield run.reject(path, STAGE, UNREADABLE, _after(done, err), b"")


def _after(items: int, err: Exception) -> str:
    where = f" after {items} records" if items else ""
    return f"{type(err).__name__}{where}: {err}"


def _leading_bytes(path: str, limit: int = 65536) -> bytes:
    """The start of the raw file, as evidence for a reject id (empty when it can't be read again)."""
    try:
        with open_regular_file(path) as raw:
            return raw.read(limit)
    except (InputProblem, OSError):
        return b""


def read_at_most(stream, limit: int, chunk: int = 2**20) -> bytes:
    """Up to ``limit`` bytes, read in chunks: ``read(limit)`` would allocate ``limit`` bytes for every file."""
    parts, size = [], 0
    while size < limit and (part := stream.read(min(chunk, limit - size))):
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _read_whole_file(path: str, fmt: str, stream, run: RunContext) -> SourceDocument | Reject:
    data = read_at_most(stream, MAX_FILE_BYTES + 1)
    if not data.strip():
        return run.reject(path, STAGE, "empty_file", f"{len(data)} bytes, no content", data)
    if len(data) > MAX_FILE_BYTES:
        return run.reject(path, STAGE, "too_large", f"more than {MAX_FILE_BYTES} bytes", data[:65536])
    if fmt == "html":
        return SourceDocument(path, "html", data, fetched_at=file_mtime(path))
    text = decode_text(data)
    if text is None:
        return run.reject(path, STAGE, "undecodable", "not text in any detectable encoding", data)
    return SourceDocument(path, "text", text, fetched_at=file_mtime(path))


def file_mtime(path: str) -> str | None:
    """A file's modification time (UTC, ISO-8601): the ``fetched_at`` of what was read from it; None if unknown."""
    try:
        if FileSystems.get_scheme(path) is None:
            seconds = os.stat(path).st_mtime
        else:
            seconds = FileSystems.last_updated(path)
    except (OSError, ValueError, NotImplementedError):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def _read_jsonl(path: str, stream, run: RunContext) -> Iterator[SourceDocument | Reject]:
    records = number = 0
    unread = UnreadDateKeys()
    try:
        for number, line in enumerate(_bounded_lines(stream), start=1):
            if isinstance(line, int):
                records += 1
                yield run.reject(
                    f"{path}#line={number}", STAGE, "too_large", f"record longer than {MAX_FILE_BYTES} bytes", str(line)
                )
            elif line.strip():
                records += 1
                yield record_to_document(f"{path}#line={number}", line, run, unread)
    except FileTooLarge:
        records += 1
        yield run.reject(
            f"{path}#line={number + 1}",
            STAGE,
            "too_large",
            f"file longer than {MAX_JSONL_BYTES} bytes: records from line {number + 1} on are not read",
            str(number),
        )
    finally:
        unread.warn(path)
    if records == 0:
        yield run.reject(path, STAGE, "empty_file", "no records", b"")


class UnreadDateKeys:
    """Date-like keys a file's records carry that newsbeam does not read: one warning per file names them."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        """Key → number of records carrying it."""
        self.first: str | None = None
        """The first record that carries one (its source_uri)."""

    def add(self, keys: list[str], source_uri: str) -> None:
        for key in keys:
            self.keys[key] = self.keys.get(key, 0) + 1
        if keys and self.first is None:
            self.first = source_uri

    def message(self, path: str) -> str | None:
        if not self.keys:
            return None
        counted = ", ".join(f"{key!r} ({n} record{'s' if n > 1 else ''})" for key, n in sorted(self.keys.items()))
        return (
            f"{path}: date-like key not read as the publication time: {counted}, first in {self.first}; "
            f"newsbeam reads {', '.join(DATE_KEYS)} (rename the key to one of them, or the articles stay undated)"
        )

    def warn(self, path: str) -> None:
        message = self.message(path)
        if message:
            log.warning("%s", message)


def unread_date_keys(record: dict) -> list[str]:
    """The record's keys that look like a date but are neither read (``DATE_KEYS``) nor known to be another date."""
    return [
        key
        for key in record
        if isinstance(key, str)
        and key not in DATE_KEYS
        and key.lower() not in NOT_PUBLICATION_DATES
        and DATE_LIKE_KEY.search(key)
        and record[key] not in (None, "")
    ]


class FileTooLarge(Exception):
    """A JSON Lines file longer than ``MAX_JSONL_BYTES`` (decompressed)."""


def _bounded_lines(stream) -> Iterator[bytes | int]:
    """Lines of a binary stream; a line over the cap is skipped and yielded as its length.

    Stops with ``FileTooLarge`` after ``MAX_JSONL_BYTES``, so no file (a growing one, a
    decompression bomb of newlines) can keep a worker reading forever.
    """
    reader = io.BufferedReader(stream) if not hasattr(stream, "peek") else stream
    total = 0
    while True:
        line = reader.readline(MAX_FILE_BYTES + 1)
        total += len(line)
        if total > MAX_JSONL_BYTES:
            raise FileTooLarge(total)
        if not line:
            return
        if len(line) > MAX_FILE_BYTES and not line.endswith(b"\n"):
            skipped = len(line)
            while line and not line.endswith(b"\n"):
                line = reader.readline(MAX_FILE_BYTES)
                skipped += len(line)
            yield skipped
            continue
        yield line


def record_to_document(
    source_uri: str, line: bytes, run: RunContext, unread: UnreadDateKeys | None = None
) -> SourceDocument | Reject:
    """One JSON Lines record → a document; keys other than ``RECORD_KEYS`` and ``LIST_KEYS`` are ignored
    (date-like ones are noted in ``unread``, for the file's warning)."""
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return run.reject(source_uri, STAGE, "invalid_json", str(err), line)
    problem = record_problem(record)
    if problem:
        return run.reject(source_uri, STAGE, "invalid_record", problem, line)
    if unread is not None:
        unread.add(unread_date_keys(record), source_uri)
    document = _record_document(source_uri, record)
    if document is None:
        keys = ", ".join(map(repr, (*TEXT_KEYS, "html")))
        return run.reject(source_uri, STAGE, "missing_text", f"record has none of {keys}", line)
    return document


def record_problem(record: object) -> str | None:
    """Why a parsed record can't be read (not an object, a field of the wrong type), or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    wrong = [k for k in RECORD_KEYS if record.get(k) is not None and not isinstance(record[k], str)]
    if wrong:
        return f"not a string: {', '.join(wrong)}"
    wrong = [k for k in LIST_KEYS if record_authors(record.get(k)) is None]
    if wrong:
        return f"not a string or a list of strings: {', '.join(wrong)}"
    return None


def _record_document(source_uri: str, record: dict) -> SourceDocument | None:
    """The document of a checked record: its text (first of ``TEXT_KEYS``), else its HTML; None with neither."""
    fields = {k: _string_field(record, k) for k in ("url", "title", "source", "description", "image_url", "section")}
    fields["published"] = next(filter(None, (_string_field(record, k) for k in DATE_KEYS)), None)
    lists = {key: record_authors(record.get(key)) or () for key in LIST_KEYS}
    text = next((record[k] for k in TEXT_KEYS if record.get(k) and record[k].strip()), None)
    kind, body = ("text", text) if text else ("html", record.get("html"))
    if not body or not body.strip():
        return None
    keywords = lists["keywords"] or lists["topics"]
    return SourceDocument(source_uri, kind, body, authors=lists["authors"], keywords=keywords, **fields)


def _string_field(record: dict, key: str) -> str | None:
    return (record.get(key) or "").strip() or None


def record_authors(value: object) -> tuple[str, ...] | None:
    """A record's ``authors`` (or another list field): a list of names, or one string (names separated by ';');
    None when neither."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return None
    names = (" ".join(name.split()) for name in value)
    return tuple(dict.fromkeys(name for name in names if name))


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else the encoding charset_normalizer detects; None if not text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        # Western text is by far the most common non-UTF-8 case; full detection confuses it with Baltic pages.
        best = from_bytes(data, cp_isolation=["cp1252"]).best() or from_bytes(data).best()
        if best is None:
            return None
        text = str(best)
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    return None if controls > len(text) // 100 else text
