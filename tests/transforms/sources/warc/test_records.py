"""WARC records → documents or counted kinds; slicing by record offsets (files written with warcio)."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
from collections import Counter
from dataclasses import replace

import pytest

from schemas import Reject
from tests.builders import RUN
from tests.warc_files import SCRIPT_PAGES, Page, append_cut_record, gzip_whole_file, script_pages, write_warc
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.document import PAGE, SourceDocument
from transforms.sources.warc.records import (
    WarcSlice,
    decode_with_charset,
    is_warc_file,
    read_warc_slice,
    split_warc_file,
)


def read_all(path, filters=ArchiveFilters(), per_slice=100) -> list:
    return [o for piece in split_warc_file(str(path), per_slice) for o in read_warc_slice(piece, RUN, filters)]


def kinds(outcomes) -> Counter:
    return Counter(o for o in outcomes if isinstance(o, str))


@pytest.mark.parametrize("gzipped", [True, False])
def test_every_record_is_a_document_or_counted_by_kind(tmp_path, gzipped):
    path = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    pages = script_pages()
    other = write_warc(path, pages, gzip_records=gzipped)
    outcomes = read_all(path)
    documents = [o for o in outcomes if isinstance(o, SourceDocument)]
    assert [d.url for d in documents] == [p.url for p in pages]
    assert kinds(outcomes) == Counter(other)
    assert len(outcomes) == len(pages) + sum(other.values())
    first = documents[0]
    assert first.kind == PAGE and first.accounted_as == "warc" and first.fetched_at == "2024-03-05T10:00:00+00:00"
    assert first.source_uri.startswith(f"{path}#offset=")


def test_the_http_charset_decodes_a_page_that_does_not_name_its_own(tmp_path):
    path = tmp_path / "cp1251.warc.gz"
    page = script_pages()[-1]
    assert page.charset == "windows-1251"
    write_warc(path, [page], other_records=False)
    (document,) = read_all(path)
    assert isinstance(document.body, str) and "Казани открылась новая городская библиотека" in document.body


def test_a_wrong_or_unknown_charset_leaves_the_bytes_for_detection():
    assert decode_with_charset("Привет".encode(), "x-no-such-codec") == "Привет".encode()
    assert decode_with_charset(b"\xff\xfe\xfa", "utf-8") == b"\xff\xfe\xfa"
    assert decode_with_charset(b"abc", None) == b"abc"


def test_a_file_that_ends_inside_a_record_counts_it_as_truncated(tmp_path):
    path = tmp_path / "cut.warc.gz"
    write_warc(path, script_pages()[:2], other_records=False)
    append_cut_record(path, SCRIPT_PAGES["ja"].encode() * 40)
    outcomes = read_all(path)
    assert sum(isinstance(o, SourceDocument) for o in outcomes) == 2
    assert kinds(outcomes)["truncated"] + sum(isinstance(o, Reject) for o in outcomes) == 1


def test_garbage_in_the_middle_is_one_reject_and_reading_resumes_at_the_next_member(tmp_path):
    path = tmp_path / "broken.warc.gz"
    write_warc(path, script_pages(), other_records=False)
    data = path.read_bytes()
    offsets = [piece.start for piece in split_warc_file(str(path), 1)]
    path.write_bytes(data[: offsets[2]] + b"\x1f\x8b\x08 this is not gzip " * 20 + data[offsets[3] :])
    outcomes = read_all(path, per_slice=100)
    documents = [o for o in outcomes if isinstance(o, SourceDocument)]
    (reject,) = [o for o in outcomes if isinstance(o, Reject)]
    assert len(documents) == len(script_pages()) - 1
    assert reject.reason == "invalid_warc" and reject.stage == "read" and "#offset=" in reject.source_uri


def _members(path) -> list[bytes]:
    data = path.read_bytes()
    offsets = [piece.start for piece in split_warc_file(str(path), 1)] + [len(data)]
    return [data[a:b] for a, b in zip(offsets, offsets[1:])]


def _with_content_length(member: bytes, value: str, gzipped: bool = True) -> bytes:
    record = gzip.decompress(member) if gzipped else member
    record = re.sub(rb"(?m)^Content-Length: \d+", b"Content-Length: " + value.encode(), record, count=1)
    return gzip.compress(record) if gzipped else record


def _damaged_pages(tmp_path, damage, gzipped=True):
    """A file of many pages whose record 11 (of 40) is damaged by ``damage(member) -> bytes``."""
    pages = [replace(page, url=f"{page.url}?n={n}") for n in range(8) for page in script_pages()][:40]
    path = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    write_warc(path, pages, other_records=False, gzip_records=gzipped)
    if gzipped:
        members = _members(path)
    else:
        data = path.read_bytes()
        starts = [m.start() for m in re.finditer(rb"WARC/1\.\d\r\n", data)] + [len(data)]
        members = [data[a:b] for a, b in zip(starts, starts[1:])]
    assert len(members) == len(pages)
    members[11] = damage(members[11])
    path.write_bytes(b"".join(members))
    return path, pages


def _check_accounting(path, pages, reason="damaged_record", lost=1):
    for per_slice in (100, 3, 1):
        outcomes = read_all(path, per_slice=per_slice)
        documents = [o for o in outcomes if isinstance(o, SourceDocument)]
        rejects = [o for o in outcomes if isinstance(o, Reject)]
        assert len(documents) == len(pages) - lost, per_slice
        assert [r.reason for r in rejects] == [reason], per_slice
        assert sorted(d.url for d in documents) == sorted(p.url for i, p in enumerate(pages) if i != 11 or not lost)
    return rejects[0]


@pytest.mark.parametrize("gzipped", [True, False])
@pytest.mark.parametrize("length", ["1000000000000000", "too_long", "too_short", "-5"])
def test_a_lying_content_length_loses_only_its_own_record_and_names_it(tmp_path, gzipped, length):
    def damage(member: bytes) -> bytes:
        record = gzip.decompress(member) if gzipped else member
        declared = int(re.search(rb"Content-Length: (\d+)", record).group(1))
        value = {"too_long": str(declared + 40), "too_short": str(declared - 40)}.get(length, length)
        return _with_content_length(member, value, gzipped)

    path, pages = _damaged_pages(tmp_path, damage, gzipped)
    reject = _check_accounting(path, pages)
    assert pages[11].url in reject.detail and "WARC-Record-ID <urn:uuid:" in reject.detail
    assert reject.page_url == pages[11].url and "#offset=" in reject.source_uri and "Content-Length" in reject.detail


def test_a_corrupt_gzip_member_loses_only_its_own_record_and_names_it(tmp_path):
    def damage(member: bytes) -> bytes:
        middle = len(member) // 2
        return member[:middle] + bytes(b ^ 0x5A for b in member[middle : middle + 64]) + member[middle + 64 :]

    path, pages = _damaged_pages(tmp_path, damage)
    reject = _check_accounting(path, pages)
    assert "gzip member does not decompress" in reject.detail and pages[11].url in reject.detail


def test_junk_between_members_is_skipped_and_every_record_is_read(tmp_path):
    path, pages = _damaged_pages(tmp_path, lambda member: member + b"<junk between members>" * 30)
    reject = _check_accounting(path, pages, reason="invalid_warc", lost=0)
    assert "skipped from offset" in reject.detail


def test_junk_between_records_of_an_uncompressed_file_is_skipped(tmp_path):
    path, pages = _damaged_pages(tmp_path, lambda member: member + b"junk line\r\n" * 30, gzipped=False)
    _check_accounting(path, pages, reason="invalid_warc", lost=0)


def test_a_fifo_named_warc_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.warc"
    os.mkfifo(fifo)
    assert list(split_warc_file(str(fifo))) == [WarcSlice(str(fifo))]
    (reject,) = read_all(fifo)
    assert isinstance(reject, Reject) and reject.reason == "not_a_regular_file" and "FIFO" in reject.detail


def test_not_a_warc_at_all_is_one_reject(tmp_path):
    path = tmp_path / "notes.warc"
    path.write_text("just some notes\n")
    (reject,) = read_all(path)
    assert isinstance(reject, Reject) and reject.reason == "invalid_warc"


def test_a_missing_file_is_one_reject(tmp_path):
    (reject,) = read_all(tmp_path / "gone.warc.gz")
    assert isinstance(reject, Reject) and reject.reason == "invalid_warc"


@pytest.mark.parametrize("per_slice", [1, 2, 3, 7, 100])
def test_slices_cover_every_record_exactly_once(tmp_path, per_slice):
    path = tmp_path / "crawl.warc.gz"
    other = write_warc(path, script_pages())
    slices = list(split_warc_file(str(path), per_slice))
    total = len(script_pages()) + sum(other.values())
    assert len(slices) == -(-total // per_slice)
    assert all(a.stop == b.start for a, b in zip(slices, slices[1:])) and slices[-1].stop is None
    whole = [repr(o) for o in read_warc_slice(WarcSlice(str(path)), RUN)]
    assert [repr(o) for o in read_all(path, per_slice=per_slice)] == whole


def test_a_warc_gzipped_as_one_stream_is_read_as_one_slice(tmp_path):
    plain = tmp_path / "crawl.warc"
    write_warc(plain, script_pages(), gzip_records=False)
    whole = tmp_path / "crawl.warc.gz"
    gzip_whole_file(plain, whole)
    assert len(list(split_warc_file(str(whole), 2))) == 1
    assert sum(isinstance(o, SourceDocument) for o in read_all(whole, per_slice=2)) == len(script_pages())


def test_filters_drop_records_before_extraction(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    pages = [
        Page("https://www.bbc.co.uk/news/1", SCRIPT_PAGES["ru"].encode()),
        Page("https://news.example/2", SCRIPT_PAGES["ru"].encode()),
        Page("https://bbc.co.uk.evil.example/3", SCRIPT_PAGES["ru"].encode()),
        Page("https://bbc.co.uk/old", SCRIPT_PAGES["ru"].encode(), date="2023-12-31T23:59:59Z"),
    ]
    write_warc(path, pages, other_records=False)
    filters = ArchiveFilters(sites=("bbc.co.uk",), since=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    outcomes = read_all(path, filters)
    assert [o.url for o in outcomes if isinstance(o, SourceDocument)] == ["https://www.bbc.co.uk/news/1"]
    assert kinds(outcomes) == Counter({"filtered_site": 2, "filtered_fetch_date": 1})


def test_helpers():
    assert is_warc_file("a/CC-NEWS-2024.warc.gz") and is_warc_file("x.WARC") and not is_warc_file("x.html.gz")


def test_a_payload_stored_with_its_content_encoding_is_decoded_and_a_broken_one_rejected(tmp_path):
    import gzip
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "encoded.warc.gz"
    html = SCRIPT_PAGES["hi"].encode()
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for name, payload in (("good", gzip.compress(html)), ("bad", b"\x1f\x8b\x08\x00 not really gzip")):
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                f"https://hi.example/{name}", "response", payload=io.BytesIO(payload), http_headers=http
            )
            writer.write_record(record)
    good, bad = read_all(path)
    assert isinstance(good, SourceDocument) and "दिल्ली में नया सार्वजनिक पुस्तकालय" in good.body
    assert isinstance(bad, Reject) and bad.reason == "invalid_compression" and bad.source_uri.startswith(str(path))


def test_directories_and_globs_of_warc_files_are_inputs(tmp_path):
    from transforms.sources.seeds import expand_inputs

    (tmp_path / "crawl" / "2024").mkdir(parents=True)
    for name in ("a.warc.gz", "b.warc", "2024/c.warc.gz"):
        write_warc(tmp_path / "crawl" / name, script_pages()[:1], other_records=False)
    (tmp_path / "crawl" / "notes.md").write_text("not an input")
    found = expand_inputs([str(tmp_path / "crawl")])
    assert [p.rsplit("/", 1)[1] for p in found] == ["c.warc.gz", "a.warc.gz", "b.warc"]
    assert all(is_warc_file(p) for p in found)
    assert expand_inputs([str(tmp_path / "crawl" / "*.warc.gz")]) == [str(tmp_path / "crawl" / "a.warc.gz")]


def test_documents_and_damage_rejects_carry_the_warc_provenance(tmp_path):
    path, pages = _damaged_pages(tmp_path, lambda member: _with_content_length(member, "-5"))
    outcomes = read_all(path)
    documents = [o for o in outcomes if isinstance(o, SourceDocument)]
    assert all(d.warc_record_id.startswith("<urn:uuid:") for d in documents)
    assert [d.warc_target_uri for d in documents] == [d.url for d in documents]
    assert all(d.fetched_at == "2024-03-05T10:00:00+00:00" for d in documents)
    (reject,) = [o for o in outcomes if isinstance(o, Reject)]
    assert reject.warc_target_uri == pages[11].url and reject.warc_record_id.startswith("<urn:uuid:")
    assert reject.fetched_at == dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC)


def test_credentials_in_a_warc_target_uri_are_redacted_in_the_provenance(tmp_path):
    path = tmp_path / "secret.warc.gz"
    write_warc(path, [replace(script_pages()[0], url="http://user:secret@news.example/a")], other_records=False)
    (document,) = read_all(path)
    assert document.warc_target_uri == "http://***@news.example/a"
