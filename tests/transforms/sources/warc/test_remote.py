"""WARC files over http(s): slices read with ranged GETs from a loopback server, equal to the local file."""

from __future__ import annotations

import re

from tests.builders import RUN
from tests.http_server import RecordedRequest, Reply
from tests.warc_files import script_pages, write_warc
from transforms.sources.document import SourceDocument
from transforms.sources.warc.records import read_warc_slice, split_warc_file
from transforms.sources.warc.remote import HttpRangeReader


def ranged(data: bytes):
    def reply(request: RecordedRequest) -> Reply:
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", ""))
        if not match:
            return Reply(200, data, {"Content-Type": "application/warc"})
        start = int(match.group(1))
        headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        return Reply(206, data[start:], headers)

    return reply


def test_slices_over_http_equal_the_local_file(loopback_server, tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, script_pages())
    loopback_server.route("/crawl.warc.gz", ranged(path.read_bytes()))
    url = loopback_server.url("/crawl.warc.gz")

    def read(location: str) -> list:
        outcomes = [o for piece in split_warc_file(location, 3) for o in read_warc_slice(piece, RUN)]
        return [(o.url, o.body) if isinstance(o, SourceDocument) else o for o in outcomes]

    assert read(url) == read(str(path))
    ranges = [r.headers.get("range") for r in loopback_server.requests_to("/crawl.warc.gz")]
    assert ranges[0] is None and len([r for r in ranges if r]) >= 3  # the offset scan, then one GET per later slice


def test_a_server_without_range_support_is_an_error_not_wrong_data(loopback_server):
    loopback_server.route("/plain.warc", Reply(200, b"WARC/1.0\r\n" * 100))
    reader = HttpRangeReader(loopback_server.url("/plain.warc"))
    assert reader.read(4) == b"WARC"
    reader.seek(50)
    try:
        reader.read(4)
    except OSError as err:
        assert "HTTP 200" in str(err)
    else:
        raise AssertionError("a 200 to a ranged GET must not be read as the range")
    finally:
        reader.close()


def test_a_missing_remote_file_is_one_reject(loopback_server):
    (reject,) = list(read_warc_slice(next(split_warc_file(loopback_server.url("/gone.warc.gz"))), RUN))
    assert reject.reason == "invalid_warc" and "404" in reject.detail
