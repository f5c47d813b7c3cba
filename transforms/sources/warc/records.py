"""WARC records → source documents, without Beam: slicing a file by record offsets, and reading one slice.

Read with FastWARC (about 2× faster than warcio on gzipped WARCs; ``benchmarks/warc.py``). A file
is cut into slices of ``RECORDS_PER_SLICE`` records at the record offsets (each record of a
``.warc.gz`` is its own gzip member, so a reader can seek to it); each slice is read on its own,
record by record, so memory does not grow with the file and one big file spreads across workers.

Every ``response`` record with HTTP status 200 and an HTML body becomes a ``SourceDocument``
(its ``WARC-Target-URI``, ``WARC-Date`` as the fetch time, the body decoded with the HTTP charset
when that works). Every other record yields its kind (``request``, ``metadata``, ``revisit``,
``warcinfo``, ``not_html``, ``http_404``, ``truncated``, …) for the run's counters; records the
archive filters drop yield ``filtered_site`` or ``filtered_fetch_date``. A damaged record is a
reject naming it, and reading goes on at the next record (``envelope.py``); a file that cannot be
read at all yields one reject saying where reading stopped.
"""

from __future__ import annotations

import codecs
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from schemas import Reject
from transforms.http.addresses import redact_credentials
from transforms.http.client import FetchPolicy
from transforms.normalise.dates import parse_published
from transforms.run.context import RunContext
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.document import MAX_PAGE_BYTES, PAGE, SourceDocument
from transforms.sources.listing import (
    DANGLING_SYMLINK,
    NOT_A_REGULAR_FILE,
    SYMLINK_LOOP,
    UNREADABLE,
    InputProblem,
    open_regular_file,
)
from transforms.sources.warc.envelope import Entry, warc_entries
from transforms.sources.warc.remote import HttpRangeReader, is_http_url

STAGE = "read"
SOURCE = "warc"
"""The run summary's name for documents read from WARC files."""
RECORDS_PER_SLICE = 100
"""Records per unit of work: ~100 pages × tens of ms of extraction is seconds of work per slice,
enough to pay for one open-and-seek, small enough to keep two or two hundred workers busy."""
WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
TRUNCATED, NOT_HTML, NOT_HTTP, NO_TARGET_URI = "truncated", "not_html", "not_http", "no_target_uri"
INVALID_WARC = "invalid_warc"
"""Reason of the reject for a file or stretch of bytes that is no WARC record (counted per stretch, not per record)."""
FILE_REASONS = (INVALID_WARC, NOT_A_REGULAR_FILE, DANGLING_SYMLINK, SYMLINK_LOOP, UNREADABLE)
"""Rejects for a file or a stretch of bytes, not for one record: counted apart from records."""
DAMAGED_RECORD = "damaged_record"
"""Reason of the reject for a record whose gzip member or Content-Length is broken (counted as a record)."""
FILTERED = "filtered_"
"""Prefix of the kinds the archive filters drop: 'filtered_site', 'filtered_fetch_date'."""


@dataclass(frozen=True)
class WarcSlice:
    """Records of one file from offset ``start`` up to (not including) offset ``stop`` (None: the end)."""

    path: str
    start: int = 0
    stop: int | None = None


def is_warc_file(path: str) -> bool:
    return path.lower().endswith(WARC_SUFFIXES)


def open_warc(path: str, policy: FetchPolicy = FetchPolicy()) -> BinaryIO:
    """The raw (still gzipped) bytes of a WARC file, seekable: http(s) through ranged GETs, anything
    else (local, ``gs://``, ``s3://``) through Beam's FileSystems."""
    if is_http_url(path):
        return io.BufferedReader(HttpRangeReader(path, policy), buffer_size=1 << 20)
    if FileSystems.get_scheme(path) is None:
        return open_regular_file(path)  # a FIFO, socket or device is refused, never read (a FIFO would block)
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def split_warc_file(
    path: str, records_per_slice: int = RECORDS_PER_SLICE, policy: FetchPolicy = FetchPolicy()
) -> Iterator[WarcSlice]:
    """Slices of ``records_per_slice`` entries (a gzip member, or one record of an uncompressed file),
    cut at entry offsets; never raises. Damaged entries count as entries (their reader rejects
    them); a file that can't be read to the end leaves the rest as one slice whose reader reports it.
    """
    start, count = 0, 0
    try:
        with open_warc(path, policy) as raw:
            for entry in warc_entries(raw):
                if count == records_per_slice:
                    yield WarcSlice(path, start, entry.offset)
                    start, count = entry.offset, 0
                count += 1
    except (
        OSError,
        ValueError,
        InputProblem,
    ):  # unreadable from here on: the slice's reader rejects it with the reason
        pass
    yield WarcSlice(path, start)


RecordOutcome = SourceDocument | Reject | str
"""A document, a reject (the slice could not be read on), or the kind of a record that is not one."""


def read_warc_slice(
    piece: WarcSlice, run: RunContext, filters: ArchiveFilters = ArchiveFilters(), policy: FetchPolicy = FetchPolicy()
) -> Iterator[RecordOutcome]:
    """Every record of the slice, in order, as a document, a reject or the kind it is counted under.

    Damage (a gzip member that doesn't decompress, a Content-Length that doesn't end its record,
    junk between records) is one reject per damaged entry, and reading resumes after it
    (``envelope.py``); only an error of the file itself (gone, unreachable) stops the slice.
    """
    position = piece.start
    try:
        with open_warc(piece.path, policy) as raw:
            for entry in warc_entries(raw, piece.start, piece.stop):
                position = entry.offset
                if entry.problem is not None:
                    yield damaged_entry(entry, piece.path, run)
                    continue
                assert entry.stream is not None  # an entry without a problem always has its bytes
                for record in ArchiveIterator(entry.stream, parse_http=True, strict_mode=False):
                    yield record_outcome(record, record_uri(piece.path, entry.offset, record.stream_pos), run, filters)
    except InputProblem as problem:  # not a regular file, a dangling symlink, …: refused before reading
        reason = INVALID_WARC if problem.reason == UNREADABLE else problem.reason
        yield run.reject(f"{piece.path}#offset={position}", STAGE, reason, problem.detail, f"{piece.path}:{position}")
    except (OSError, ValueError) as err:  # broken or missing input (FastWARC, gzip, FileSystems): reported as data
        yield run.reject(
            f"{redact_credentials(piece.path)}#offset={position}",
            STAGE,
            INVALID_WARC,
            f"reading stopped at or after offset {position}: {type(err).__name__}: {redact_credentials(str(err))}",
            f"{piece.path}:{position}",
        )


def record_uri(path: str, entry_offset: int, position_in_entry: int) -> str:
    """``FILE#offset=N``: the offset of the record's gzip member or of the record itself; a record
    after the first in one gzip member (a file gzipped as one stream) adds its position there."""
    suffix = f"+{position_in_entry}" if position_in_entry else ""
    return f"{path}#offset={entry_offset}{suffix}"


def damaged_entry(entry: Entry, path: str, run: RunContext) -> Reject:
    """The reject of a damaged record (``damaged_record``, naming it as far as its header reads) or of
    bytes that are no record at all (``invalid_warc``)."""
    target = redact_credentials(entry.headers.get("warc-target-uri", "")) or None
    record_id = entry.headers.get("warc-record-id") or None
    named = "".join(
        f"; {label} {value}" for label, value in (("WARC-Target-URI", target), ("WARC-Record-ID", record_id)) if value
    )
    source_uri = f"{path}#offset={entry.offset}"
    reason = DAMAGED_RECORD if entry.record else INVALID_WARC
    detail = f"{entry.problem} (at offset {entry.offset}{named}); reading resumed at the next record"
    return run.reject(
        source_uri,
        STAGE,
        reason,
        detail,
        f"{path}:{entry.offset}",
        page_url=target,
        fetched_at=entry.headers.get("warc-date"),
        warc_record_id=record_id,
        warc_target_uri=target,
    )


def record_outcome(record: WarcRecord, source_uri: str, run: RunContext, filters: ArchiveFilters) -> RecordOutcome:
    """One record → a document, a reject (a page whose body can't be decoded), or the kind it counts as."""
    kind = record_kind(record)
    if kind:
        return kind
    url = record.headers.get("WARC-Target-URI")
    fetched_at = parse_published(record.headers.get("WARC-Date"))  # ISO-8601 in UTC
    problem = filters.record_problem(url, fetched_at)
    if problem:
        return FILTERED + problem
    body = record.reader.read(MAX_PAGE_BYTES + 1)  # beyond the cap extraction rejects it as too large anyway
    if len(body) < min(record.content_length, MAX_PAGE_BYTES + 1):
        return TRUNCATED  # the file ends inside the record
    encoding = (record.http_headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        try:
            body = decode_content(body, encoding)
        except ValueError as err:
            return run.reject(
                source_uri,
                STAGE,
                "invalid_compression",
                str(err),
                body,
                page_url=redact_credentials(url or "") or None,
                fetched_at=fetched_at,
                warc_record_id=record.record_id or None,
                warc_target_uri=redact_credentials(url or "") or None,
            )
    return SourceDocument(
        source_uri=source_uri,
        kind=PAGE,
        body=decode_with_charset(body, record.http_charset),
        url=url,
        fetched_at=fetched_at.isoformat() if fetched_at else None,
        warc_record_id=record.record_id or None,
        warc_target_uri=redact_credentials(url) if url else None,
        accounted_as=SOURCE,
    )


def record_kind(record: WarcRecord) -> str | None:
    """None for a 200 HTML response; else what the record is: its WARC type, 'http_<status>', 'not_html', …"""
    if record.record_type != WarcRecordType.response:
        return str(record.record_type)  # 'request', 'metadata', 'revisit', 'warcinfo', …
    if record.headers.get("WARC-Truncated"):
        return TRUNCATED
    if not record.is_http or record.http_headers.status_code is None:
        return NOT_HTTP
    if record.http_headers.status_code != 200:
        return f"http_{record.http_headers.status_code}"
    if (record.http_content_type or "").strip().lower() not in HTML_TYPES:
        return NOT_HTML
    if not record.headers.get("WARC-Target-URI"):
        return NO_TARGET_URI
    return None


def decode_content(body: bytes, encoding: str, limit: int = MAX_PAGE_BYTES) -> bytes:
    """A payload stored with its HTTP Content-Encoding (gzip or deflate) decoded; ValueError otherwise."""
    attempts: tuple[int, ...]
    if encoding in ("gzip", "x-gzip"):
        attempts = (16 + zlib.MAX_WBITS,)
    elif encoding == "deflate":
        attempts = (zlib.MAX_WBITS, -zlib.MAX_WBITS)  # servers often send raw deflate without the zlib header
    else:
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    for wbits in attempts:
        try:
            decoded = zlib.decompressobj(wbits).decompress(body, limit + 1)
        except zlib.error as err:
            problem = f"{encoding} body does not decode: {err}"
            continue
        if len(decoded) > limit:
            raise ValueError(f"{encoding} body decodes to more than {limit} bytes")
        return decoded
    raise ValueError(problem)


def decode_with_charset(body: bytes, charset: str | None) -> str | bytes:
    """The body as text when the HTTP charset names a codec that decodes it cleanly; else the bytes,
    for trafilatura to detect the encoding from the page itself (as for an HTML file)."""
    if not charset:
        return body
    try:
        codecs.lookup(charset)
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError, ValueError):
        return body
