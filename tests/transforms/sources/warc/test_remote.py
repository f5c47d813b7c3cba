"""WARC files over http(s): slices read with ranged GETs from a loopback server, equal to the local file,
and under the fetch policy when the server misbehaves (drip, 206 ignoring Range, 503 storm,
unreachable port, cross-host redirect, non-public address)."""

from __future__ import annotations

import re
import socket
import time

from schemas import Reject
from tests.builders import RUN
from tests.fault_server import body_drip, redirect_to, status_storm
from tests.http_server import RecordedRequest, Reply
from tests.warc_files import script_pages, write_warc
from transforms.http.client import FetchPolicy, HttpFetcher
from transforms.sources.document import SourceDocument
from transforms.sources.warc.records import read_warc_slice, split_warc_file
from transforms.sources.warc.remote import HttpRangeReader

LOOPBACK = FetchPolicy(allow_private_network=True, total_timeout=5.0, read_timeout=2.0, connect_timeout=2.0)


def ranged(data: bytes):
    def reply(request: RecordedRequest) -> Reply:
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if not match:
            return Reply(200, data, {"Content-Type": "application/warc"})
        start = int(match.group(1))
        end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
        if start >= len(data):
            return Reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        return Reply(206, data[start : end + 1], headers)

    return reply


def test_slices_over_http_equal_the_local_file(loopback_server, tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, script_pages())
    loopback_server.route("/crawl.warc.gz", ranged(path.read_bytes()))
    url = loopback_server.url("/crawl.warc.gz")

    def read(location: str) -> list:
        outcomes = [
            o for piece in split_warc_file(location, 3, LOOPBACK) for o in read_warc_slice(piece, RUN, policy=LOOPBACK)
        ]
        return [(o.url, o.body) if isinstance(o, SourceDocument) else o for o in outcomes]

    assert read(url) == read(str(path))
    ranges = [r.headers.get("range") for r in loopback_server.requests_to("/crawl.warc.gz")]
    assert all(ranges) and len(ranges) >= 3  # the offset scan, then GETs per slice, each one window


def test_a_server_without_range_support_is_an_error_not_wrong_data(loopback_server):
    loopback_server.route("/plain.warc", Reply(200, b"WARC/1.0\r\n" * 100))
    reader = HttpRangeReader(loopback_server.url("/plain.warc"), LOOPBACK, window=20)
    try:
        reader.read(4)
    except OSError as err:
        assert "max_body_bytes" in str(err) or "HTTP 200" in str(err)
    else:
        raise AssertionError("a 200 to a ranged GET must not be read as the range")
    finally:
        reader.close()


def test_a_missing_remote_file_is_one_reject(loopback_server):
    url = loopback_server.url("/gone.warc.gz")
    (reject,) = list(read_warc_slice(next(split_warc_file(url, policy=LOOPBACK)), RUN, policy=LOOPBACK))
    assert reject.reason == "invalid_warc" and "404" in reject.detail


def read_url(url: str, reader_args: dict | None = None, policy: FetchPolicy = LOOPBACK) -> list:
    """Every outcome of the file at ``url``, read through readers built with ``reader_args``."""
    from transforms.sources.warc import records

    original = records.HttpRangeReader
    records.HttpRangeReader = lambda u, p: original(u, p, **(reader_args or {}))
    try:
        return [o for piece in split_warc_file(url, 3, policy) for o in read_warc_slice(piece, RUN, policy=policy)]
    finally:
        records.HttpRangeReader = original


def test_a_206_that_ignores_range_is_refused_never_read_twice(loopback_server, tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, script_pages(), other_records=False)
    data = path.read_bytes()

    def from_zero(request: RecordedRequest) -> Reply:  # as many bytes as asked for, but always from offset 0
        start, end = map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers["range"]).groups())
        length = min(end - start + 1, len(data))
        return Reply(206, data[:length], {"Content-Range": f"bytes 0-{length - 1}/{len(data)}"})

    loopback_server.route("/crawl.warc.gz", from_zero)
    outcomes = read_url(loopback_server.url("/crawl.warc.gz"), {"window": 1024, "first_wait": 0.0})
    documents = [o for o in outcomes if isinstance(o, SourceDocument)]
    urls = [d.url for d in documents]
    assert len(urls) == len(set(urls))  # no page read twice
    rejects = [o for o in outcomes if isinstance(o, Reject)]
    assert rejects and all(r.reason == "invalid_warc" for r in rejects)
    assert any("Content-Range" in r.detail and "refused" in r.detail for r in rejects)


def test_a_503_storm_is_retried_with_backoff_honouring_retry_after_then_one_reject(loopback_server):
    loopback_server.raw("/busy.warc.gz", status_storm(retry_after="3"))
    waits: list[float] = []
    args = {"attempts": 4, "first_wait": 0.5, "max_wait": 10.0, "sleep": waits.append}
    (reject,) = read_url(loopback_server.url("/busy.warc.gz"), args)
    assert reject.reason == "invalid_warc" and "503" in reject.detail and "after 4 attempt(s)" in reject.detail
    assert waits == [3.0] * 6  # Retry-After (3 s) over the backoff (0.5, 1, 2); the offset scan, then the slice read
    assert len(loopback_server.requests_to("/busy.warc.gz")) >= 4


def test_the_wait_between_attempts_is_bounded_whatever_retry_after_asks(loopback_server):
    loopback_server.raw("/busy.warc.gz", status_storm(retry_after="86400"))
    waits: list[float] = []
    read_url(loopback_server.url("/busy.warc.gz"), {"attempts": 3, "max_wait": 7.0, "sleep": waits.append})
    assert waits == [7.0] * 4  # two attempts' waits, for the offset scan and for the slice read


def test_an_unreachable_port_becomes_one_reject_after_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    waits: list[float] = []
    (reject,) = read_url(f"http://127.0.0.1:{port}/x.warc.gz", {"attempts": 3, "sleep": waits.append})
    assert reject.reason == "invalid_warc" and "connection_error" in reject.detail and waits == [1.0, 2.0] * 2


def test_a_dripping_server_is_cut_at_the_total_deadline(loopback_server):
    loopback_server.raw("/drip.warc.gz", body_drip(b"x" * 400, every=0.3))
    policy = FetchPolicy(allow_private_network=True, total_timeout=1.5, read_timeout=1.0)
    started = time.monotonic()
    (reject,) = read_url(loopback_server.url("/drip.warc.gz"), {"attempts": 1}, policy)
    assert time.monotonic() - started < 10 and reject.reason == "invalid_warc" and "timeout" in reject.detail


def test_a_non_public_address_is_refused_unless_allowed(loopback_server, tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, script_pages(), other_records=False)
    loopback_server.route("/crawl.warc.gz", ranged(path.read_bytes()))
    (reject,) = read_url(loopback_server.url("/crawl.warc.gz"), policy=FetchPolicy())
    assert "private_address" in reject.detail and loopback_server.requests_to("/crawl.warc.gz") == []


def test_a_cross_host_redirect_is_checked_on_its_own_hop(loopback_server):
    loopback_server.raw("/moved.warc.gz", redirect_to("http://127.0.0.2:9/elsewhere.warc.gz"))
    fetcher = HttpFetcher(LOOPBACK, address_allowed=lambda address: address == "127.0.0.1")
    fetcher.policy = FetchPolicy(allow_private_network=False)
    (reject,) = read_url(loopback_server.url("/moved.warc.gz"), {"fetcher": fetcher, "attempts": 1})
    assert "private_address" in reject.detail and "127.0.0.2" in reject.detail


def test_credentials_in_a_warc_url_are_redacted_from_the_reject(loopback_server):
    url = loopback_server.url("/gone.warc.gz").replace("http://", "http://user:secret@")
    (reject,) = read_url(url, {"attempts": 1})
    assert "secret" not in reject.detail + reject.source_uri and "***@" in reject.source_uri
