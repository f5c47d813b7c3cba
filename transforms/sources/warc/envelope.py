"""Walking a WARC file record by record so that damage never hides the readable records after it.

Each entry of a file is checked before FastWARC parses it: in a ``.warc.gz`` every gzip member
is decompressed on its own (its end is where the next member starts); each record's
``Content-Length`` must be a non-negative integer that ends the record exactly at its
``\\r\\n\\r\\n`` and at the start of the next record (or the member's or file's end). An entry that
fails is reported as damaged — naming its offset, and its ``WARC-Target-URI`` and
``WARC-Record-ID`` when its header could be read — and the walk resumes at the next gzip member
(the next ``1f 8b 08`` whose member starts with ``WARC/``) or, in an uncompressed file, at the
next line starting ``WARC/1.``. Plain logic, no Beam.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
MEMBER_CAP = 32 << 20
"""A gzip member up to this size (decompressed) is checked record by record in memory; a larger one
(a whole file gzipped as one stream, or one huge record) is streamed to FastWARC unchecked."""
HEADER_CAP = 1 << 20
"""A WARC header block longer than this is damage."""
CHUNK = 1 << 16
HEAD_KEPT = 1 << 14


@dataclass(frozen=True)
class Entry:
    """One readable stretch of a file starting at ``offset``: ``stream`` holds whole WARC records for
    FastWARC; or damage: ``problem`` says why, ``headers`` what could be read of the record."""

    offset: int
    stream: Any = None  # a binary reader: BytesIO, or a window or gzip member of the file (RawIOBase)
    problem: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    record: bool = True
    """False for damage that is not a record (junk between members, a file that is no WARC)."""


class _Member(io.RawIOBase):
    """The decompressed bytes of the one gzip member that starts at ``offset`` of ``raw``."""

    def __init__(self, raw: BinaryIO, offset: int):
        super().__init__()
        self._raw, self._inflater, self._pending = raw, zlib.decompressobj(16 + zlib.MAX_WBITS), b""
        self._consumed = offset
        self.end: int | None = None
        self.cut = False
        self.head = b""
        """The first bytes decompressed (what a damaged member's header said, if it got that far)."""
        raw.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and self.end is None:
            chunk = self._raw.read(CHUNK)
            if not chunk:
                self.cut = True  # the file ends inside this member: what came so far is all there is
                return 0
            self._consumed += len(chunk)
            step = 128 if len(self.head) < HEAD_KEPT else len(chunk)  # small steps keep what precedes damage
            for at in range(0, len(chunk), step):
                piece = chunk[at : at + step]
                output = self._inflater.decompress(piece)
                if len(self.head) < HEAD_KEPT:
                    self.head += output[: HEAD_KEPT - len(self.head)]
                self._pending += output
                if self._inflater.eof:
                    self.end = self._consumed - len(chunk) + at + len(piece) - len(self._inflater.unused_data)
                    break
        data, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        buffer[: len(data)] = data
        return len(data)


def warc_entries(raw: BinaryIO, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
    """Every entry from ``start`` up to (not including) ``stop``; raises only OSError from ``raw``."""
    raw.seek(0)
    gzipped = raw.read(3) == GZIP_MAGIC  # the file's first bytes say, wherever the slice starts
    walk = _gzip_entries if gzipped else _plain_entries
    for entry in walk(raw, start):
        if stop is not None and entry.offset >= stop:
            return
        yield entry


def _gzip_entries(raw: BinaryIO, offset: int) -> Iterator[Entry]:
    while True:
        raw.seek(offset)
        magic = raw.read(3)
        if not magic:
            return
        if magic != GZIP_MAGIC:
            following = _next_member(raw, offset + 1)
            yield Entry(offset, problem=_skipped(offset, following, "bytes that are not a gzip member"), record=False)
            if following is None:
                return
            offset = following
            continue
        member = _Member(raw, offset)
        try:
            data = _read_up_to(member, MEMBER_CAP + 1)
        except (zlib.error, EOFError) as err:
            following = _next_member(raw, offset + 1)
            head = _partial_head(member)  # a record when its header was readable; else bytes of no known record
            yield Entry(offset, problem=f"gzip member does not decompress: {err}", headers=head, record=bool(head))
            if following is None:
                return
            offset = following
            continue
        if len(data) > MEMBER_CAP:  # too big to check in memory: FastWARC reads the member as it comes
            try:
                _read_up_to(member, None)  # to find where it ends
            except (zlib.error, EOFError) as err:
                head = _partial_head(member)
                yield Entry(offset, problem=f"gzip member does not decompress: {err}", headers=head, record=bool(head))
                following = _next_member(raw, offset + 1)
                if following is None:
                    return
                offset = following
                continue
            if member.end is None:  # cut by the file's end
                yield Entry(offset, stream=_Window(raw, offset, _size(raw) or offset))
                return
            end: int = member.end
            yield Entry(offset, stream=_Window(raw, offset, end))
            offset = end
            continue
        if member.cut:  # the file ends inside the record: FastWARC reads what there is (counted as truncated)
            yield (
                Entry(offset, stream=io.BytesIO(data))
                if data.startswith(b"WARC/")
                else Entry(offset, problem="the file ends inside a gzip member", record=False)
            )
            return
        problem, headers = check_records(data)
        yield Entry(offset, problem=problem, headers=headers) if problem else Entry(offset, stream=io.BytesIO(data))
        offset = member.end  # type: ignore[assignment]  # set: the member was read to its end


def _plain_entries(raw: BinaryIO, offset: int) -> Iterator[Entry]:
    size = _size(raw)
    while size is None or offset < size:
        raw.seek(offset)
        head = raw.read(HEADER_CAP)
        if not head:
            return
        end = head.find(b"\r\n\r\n")
        headers = parse_headers(head[: end if end >= 0 else len(head)])
        problem = None if head.startswith(b"WARC/") else "no WARC header here"
        length, body_end = None, 0
        if not problem:
            if end < 0:
                problem = "the WARC header does not end"
            else:
                length, problem = content_length(headers)
        if problem is None and length is not None:
            body_end = offset + end + 4 + length
            if size is not None and body_end + 4 > size:
                tail = b""  # never seek past the end (a huge Content-Length would fail the read itself)
            else:
                raw.seek(body_end)
                tail = raw.read(4)
            if tail != b"\r\n\r\n":
                problem = f"Content-Length {length} does not end the record at a record boundary"
            else:
                size_of = body_end + 4 - offset
                window = _Window(raw, offset, body_end + 4)
                yield Entry(offset, stream=io.BytesIO(window.read()) if size_of <= MEMBER_CAP else window)
                offset = body_end + 4
                continue
        following = _next_line(raw, offset + 1, WARC_MAGIC)
        is_record = head.startswith(b"WARC/")
        if is_record and length is not None and following is None and size is not None and body_end + 4 > size:
            yield Entry(offset, stream=_Window(raw, offset, size))  # the file ends inside its last record: truncated
            return
        yield Entry(
            offset,
            problem=problem if is_record else _skipped(offset, following, problem),
            headers=headers,
            record=is_record,
        )
        if following is None:
            return
        offset = following


def check_records(data: bytes) -> tuple[str | None, dict[str, str]]:
    """None when ``data`` is whole WARC records end to end; else the first problem and that record's headers."""
    position = 0
    while position < len(data):
        if not data.startswith(b"WARC/", position):
            return f"no WARC header at byte {position} of the gzip member", {}
        end = data.find(b"\r\n\r\n", position, position + HEADER_CAP)
        headers = parse_headers(data[position : end if end >= 0 else position + 4096])
        if end < 0:
            return "the WARC header does not end", headers
        length, problem = content_length(headers)
        if problem or length is None:
            return problem, headers
        body_end = end + 4 + length
        if body_end + 4 > len(data):
            return f"Content-Length {length} runs past the end of its gzip member", headers
        if data[body_end : body_end + 4] != b"\r\n\r\n":
            return f"Content-Length {length} does not end at the record's end", headers
        position = body_end + 4
    return None, {}


def content_length(headers: dict[str, str]) -> tuple[int | None, str | None]:
    value = headers.get("content-length", "").strip()
    if not value.isdigit():
        return None, f"Content-Length {value!r} is not a non-negative integer"
    return int(value), None


def parse_headers(block: bytes) -> dict[str, str]:
    """WARC header fields (names lower-cased) of a header block, as far as it reads."""
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            headers[name.decode("latin-1").strip().lower()] = value.decode("utf-8", "replace").strip()
    return headers


def _partial_head(member: _Member) -> dict[str, str]:
    """What a damaged member decompressed to before the damage, as headers."""
    if not member.head.startswith(b"WARC/"):
        return {}
    end = member.head.find(b"\r\n\r\n")
    return parse_headers(member.head[: end if end >= 0 else len(member.head)])


def _read_up_to(stream: Any, limit: int | None) -> bytes:  # any binary reader
    parts, total = [], 0
    while limit is None or total < limit:
        chunk = stream.read(CHUNK if limit is None else min(CHUNK, limit - total))
        if not chunk:
            break
        if limit is not None:
            parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _next_member(raw: BinaryIO, offset: int) -> int | None:
    """The next offset at or after ``offset`` where a gzip member decompressing to a WARC record starts."""
    while (candidate := _find(raw, offset, GZIP_MAGIC)) is not None:
        try:
            if _Member(raw, candidate).read(5) == b"WARC/":
                return candidate
        except (zlib.error, EOFError):
            pass
        offset = candidate + 1
    return None


def _next_line(raw: BinaryIO, offset: int, marker: bytes) -> int | None:
    """The next offset at or after ``offset`` where a line starts with ``marker``."""
    while (found := _find(raw, offset, b"\n" + marker)) is not None:
        return found + 1
    return None


def _find(raw: BinaryIO, offset: int, needle: bytes) -> int | None:
    raw.seek(offset)
    carry, base = b"", offset
    while chunk := raw.read(1 << 20):
        window = carry + chunk
        found = window.find(needle)
        if found >= 0:
            return base + found
        carry = window[-(len(needle) - 1) :]
        base += len(window) - len(carry)
    return None


def _skipped(offset: int, following: int | None, what: str | None) -> str:
    until = f"up to offset {following}" if following is not None else "to the end of the file"
    return f"{what}: skipped from offset {offset} {until}"


def _size(raw: BinaryIO) -> int | None:
    try:
        return raw.seek(0, io.SEEK_END)
    except (OSError, io.UnsupportedOperation):
        return None


class _Window(io.RawIOBase):
    """Bytes ``start``..``stop`` of ``raw`` as a seekable file of its own."""

    def __init__(self, raw: BinaryIO, start: int, stop: int):
        super().__init__()
        self._raw, self._start, self._stop, self._position = raw, start, stop, start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: self._start, io.SEEK_CUR: self._position, io.SEEK_END: self._stop}[whence]
        self._position = min(max(base + offset, self._start), self._stop)
        return self.tell()

    def readinto(self, buffer) -> int:
        self._raw.seek(self._position)
        data = self._raw.read(max(0, min(len(buffer), self._stop - self._position)))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)
