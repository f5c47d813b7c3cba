"""transforms.http.client against a real server on 127.0.0.1 (tests.http_server); nothing leaves loopback."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.fault_server import body_drip, header_drip
from tests.http_server import LoopbackServer, RecordedRequest, Reply
from tests.http_server import loopback_server as loopback_server_fixture  # noqa: F401 (registers the fixture)
from transforms.http.addresses import host_of, is_public_address, redact_credentials
from transforms.http.client import (
    CONNECTION_ERROR,
    DNS_ERROR,
    HTTP_STATUS,
    INCOMPLETE_BODY,
    INVALID_COMPRESSION,
    INVALID_URL,
    PRIVATE_ADDRESS,
    REDIRECT_LOOP,
    TIMEOUT,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    UNSUPPORTED_SCHEME,
    USER_AGENT,
    BodyDecoder,
    FetchError,
    FetchPolicy,
    HttpFetcher,
    parse_retry_after,
)
from transforms.http.pacing import HostPacer
from transforms.http.robots import ROBOTS_MISSING, ROBOTS_RULES, ROBOTS_UNREACHABLE, RobotsCache

FAST = FetchPolicy(connect_timeout=1.0, read_timeout=1.0, total_timeout=3.0, allow_private_network=True)


@pytest.fixture
def fetcher():
    with HttpFetcher(FAST) as client:
        yield client


def fetcher_with(**changes) -> HttpFetcher:
    return HttpFetcher(dataclasses.replace(FAST, **changes))


def send_head(sock: socket.socket, *lines: str) -> None:
    sock.sendall(("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode())


# plain responses --------------------------------------------------------------------------------


def test_200_returns_body_headers_and_sends_identity(loopback_server, fetcher):
    loopback_server.route("/a", Reply(200, b"hello", {"Content-Type": "text/plain", "ETag": '"v1"'}))
    result = fetcher.get(loopback_server.url("/a?x=1"), accept="application/rss+xml")
    assert (result.status, result.body, result.error) == (200, b"hello", None)
    assert result.final_url == result.url == loopback_server.url("/a?x=1")
    assert result.headers["content-type"] == "text/plain" and result.headers["etag"] == '"v1"'
    assert result.permanent_url is None and not result.not_modified and result.elapsed > 0
    [request] = loopback_server.requests_to("/a")
    assert request.path == "/a?x=1"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert request.headers["accept"] == "application/rss+xml"
    assert request.headers["host"] == loopback_server.base_url.removeprefix("http://")
    assert "if-none-match" not in request.headers and "if-modified-since" not in request.headers


def test_no_accept_header_unless_asked(loopback_server, fetcher):
    loopback_server.route("/a", Reply(200, b"x"))
    fetcher.get(loopback_server.url("/a"))
    assert "accept" not in loopback_server.requests_to("/a")[0].headers


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: (c := zlib.compressobj(wbits=-zlib.MAX_WBITS)).compress(data) + c.flush()),
        ("gzip", lambda data: gzip.compress(data[:3]) + gzip.compress(data[3:])),
    ],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw", "gzip-two-members"],
)
def test_compressed_bodies_are_decoded(loopback_server, fetcher, encoding, encode):
    text = b"<rss>" + b"news " * 1000 + b"</rss>"
    loopback_server.route("/feed", Reply(200, encode(text), {"Content-Encoding": encoding}))
    result = fetcher.get(loopback_server.url("/feed"))
    assert (result.error, result.body) == (None, text)


def test_conditional_get_sends_validators_and_304_is_success(loopback_server, fetcher):
    def feed(request: RecordedRequest) -> Reply:
        fresh = request.headers.get("if-none-match") == '"v1"'
        return Reply(304) if fresh else Reply(200, b"<rss/>", {"ETag": '"v1"'})

    loopback_server.route("/feed", feed)
    first = fetcher.get(loopback_server.url("/feed"))
    again = fetcher.get(loopback_server.url("/feed"), etag='"v1"', last_modified="Tue, 02 Jan 2024 10:00:00 GMT")
    assert (first.status, first.body) == (200, b"<rss/>")
    assert (again.status, again.body, again.error, again.not_modified) == (304, b"", None, True)
    sent = loopback_server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Tue, 02 Jan 2024 10:00:00 GMT"


# redirects --------------------------------------------------------------------------------------


def redirect(status: int, location: str) -> Reply:
    return Reply(status, headers={"Location": location})


@pytest.mark.parametrize(
    "statuses, permanent",
    [
        ((301,), "/end"),
        ((308,), "/end"),
        ((301, 308, 301), "/end"),
        ((302,), None),
        ((307,), None),
        ((303,), None),
        ((301, 302), "/r1"),
        ((308, 307, 301), "/r1"),
        ((302, 301), None),
    ],
)
def test_permanent_url_follows_the_leading_permanent_redirects(loopback_server, fetcher, statuses, permanent):
    for hop, status in enumerate(statuses):
        nxt = f"/r{hop + 1}" if hop + 1 < len(statuses) else "/end"
        loopback_server.route(f"/r{hop}", redirect(status, loopback_server.url(nxt)))
    loopback_server.route("/end", Reply(200, b"article"))
    result = fetcher.get(loopback_server.url("/r0"))
    assert (result.status, result.body, result.error) == (200, b"article", None)
    assert result.final_url == loopback_server.url("/end")
    assert result.permanent_url == (permanent and loopback_server.url(permanent))


def test_relative_location_is_resolved_against_the_current_url(loopback_server, fetcher):
    loopback_server.route("/news/old", redirect(301, "new?page=2#top"))
    loopback_server.route("/news/new", redirect(302, "/final"))
    loopback_server.route("/final", Reply(200, b"ok"))
    result = fetcher.get(loopback_server.url("/news/old"))
    assert (result.body, result.final_url) == (b"ok", loopback_server.url("/final"))
    assert result.permanent_url == loopback_server.url("/news/new?page=2")
    assert loopback_server.requests_to("/news/new")[0].path == "/news/new?page=2"


def test_utf8_location_is_followed_percent_encoded(loopback_server, fetcher):
    loopback_server.route("/old", redirect(301, "/caf\u00c3\u00a9"))  # the raw UTF-8 bytes of "/café"
    loopback_server.route("/caf%C3%A9", Reply(200, b"menu"))
    result = fetcher.get(loopback_server.url("/old"))
    assert (result.body, result.final_url) == (b"menu", loopback_server.url("/café"))


def test_redirect_loop_is_detected(loopback_server, fetcher):
    loopback_server.route("/a", redirect(302, "/b"))
    loopback_server.route("/b", redirect(302, "/a"))
    result = fetcher.get(loopback_server.url("/a"))
    assert (result.error, result.status, result.body) == (REDIRECT_LOOP, 302, b"")
    assert len(loopback_server.requests) == 2


@pytest.mark.parametrize("hops, error", [(5, None), (6, TOO_MANY_REDIRECTS)])
def test_redirects_are_capped(loopback_server, fetcher, hops, error):
    for hop in range(hops):
        loopback_server.route(f"/r{hop}", redirect(302, f"/r{hop + 1}"))
    loopback_server.route(f"/r{hops}", Reply(200, b"end"))
    result = fetcher.get(loopback_server.url("/r0"))
    assert result.error == error
    assert len(loopback_server.requests) == min(hops, 5) + 1


# statuses and Retry-After ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_status_is_http_status(loopback_server, fetcher, status):
    loopback_server.route("/a", Reply(status, b"error page", {"X-Why": "because"}))
    result = fetcher.get(loopback_server.url("/a"))
    assert (result.error, result.status, result.body) == (HTTP_STATUS, status, b"")
    assert result.headers["x-why"] == "because" and str(status) in result.detail


def test_retry_after_seconds_and_http_date(loopback_server, fetcher):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    loopback_server.route("/busy", Reply(429, headers={"Retry-After": "120"}))
    loopback_server.route("/down", Reply(503, headers={"Retry-After": later}))
    busy, down = fetcher.get(loopback_server.url("/busy")), fetcher.get(loopback_server.url("/down"))
    assert (busy.error, busy.status, busy.retry_after) == (HTTP_STATUS, 429, 120.0)
    assert (down.error, down.status) == (HTTP_STATUS, 503)
    assert 85 <= down.retry_after <= 90


def test_parse_retry_after():
    now = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert parse_retry_after(" 30 ", now) == 30.0
    assert parse_retry_after("Tue, 02 Jan 2024 10:01:30 GMT", now) == 90.0
    assert parse_retry_after("Tue, 02 Jan 2024 09:00:00 GMT", now) == 0.0
    for invalid in (None, "", "soon", "-5", "1.5", "Tue, 99 Foo 2024"):
        assert parse_retry_after(invalid, now) is None


# timeouts, sizes and broken bodies -------------------------------------------------------------


def test_read_timeout_when_the_server_is_silent(loopback_server):
    loopback_server.route("/slow", Reply(200, b"late", delay=1.0))
    with fetcher_with(read_timeout=0.2) as client:
        result = client.get(loopback_server.url("/slow"))
    assert (result.error, result.status) == (TIMEOUT, None)
    assert result.elapsed < 0.8


def test_slow_drip_is_cut_off_by_the_total_timeout(loopback_server):
    def drip(sock: socket.socket, request: RecordedRequest) -> None:
        send_head(sock, "Content-Length: 100")
        for _ in range(100):  # 5 s in all, each byte well within the read timeout
            sock.sendall(b"x")
            time.sleep(0.05)

    loopback_server.raw("/drip", drip)
    with fetcher_with(read_timeout=0.5, total_timeout=0.6) as client:
        result = client.get(loopback_server.url("/drip"))
    assert (result.error, result.status, result.body) == (TIMEOUT, 200, b"")
    assert "total_timeout" in result.detail and result.elapsed < 1.2


# The whole-response deadline covers the head too: the read timeout is set far above the total
# timeout, so only the deadline can cut these; every bound is a multiple of the total timeout.
DEADLINE = dict(read_timeout=30.0, total_timeout=0.8)


def test_a_header_drip_is_cut_at_the_total_timeout(loopback_server):
    hang_ups: list[float] = []
    loopback_server.raw("/head", header_drip(b"<rss/>", every=0.1, hang_ups=hang_ups))
    with fetcher_with(**DEADLINE) as client:
        result = client.get(loopback_server.url("/head"))
    total = DEADLINE["total_timeout"]
    assert (result.error, result.status, result.body) == (TIMEOUT, None, b"")
    assert "total_timeout" in result.detail and result.elapsed < total * 1.5
    deadline = time.monotonic() + total * 2
    while not hang_ups and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hang_ups and hang_ups[0] < total * 2  # the server saw the client hang up


def test_a_body_drip_without_content_length_is_a_timeout_not_a_short_body(loopback_server):
    loopback_server.raw("/body", body_drip(b"<rss>" + b" " * 1000 + b"</rss>", every=0.05))
    with fetcher_with(**DEADLINE) as client:
        result = client.get(loopback_server.url("/body"))
    assert (result.error, result.status, result.body) == (TIMEOUT, 200, b"")
    assert result.elapsed < DEADLINE["total_timeout"] * 1.5


def test_a_silent_accept_is_cut_at_the_total_timeout():
    with socket.socket() as listener:  # the kernel completes the handshake; nobody ever reads or answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        with fetcher_with(**DEADLINE) as client:
            result = client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/feed")
    assert (result.error, result.status) == (TIMEOUT, None)
    assert result.elapsed < DEADLINE["total_timeout"] * 1.5


def test_a_robots_txt_header_drip_is_cut_and_disallows(loopback_server):
    loopback_server.raw("/robots.txt", header_drip(b"User-agent: *\nAllow: /\n", every=0.1))
    with fetcher_with(**DEADLINE) as client:
        started = time.monotonic()
        decision = RobotsCache(client).decide(loopback_server.url("/news/1"))
    assert (decision.allowed, decision.reason) == (False, ROBOTS_UNREACHABLE)
    assert "timeout" in decision.detail and time.monotonic() - started < DEADLINE["total_timeout"] * 1.5


def test_the_deadline_leaves_the_pool_usable(loopback_server):
    loopback_server.raw("/head", header_drip(b"<rss/>", every=0.1))
    loopback_server.route("/ok", Reply(200, b"fine"))
    with fetcher_with(**DEADLINE) as client:
        assert client.get(loopback_server.url("/head")).error == TIMEOUT
        assert [client.get(loopback_server.url("/ok")).body for _ in range(3)] == [b"fine"] * 3


def test_content_length_over_the_cap_is_refused_before_reading(loopback_server):
    def announce_huge(sock: socket.socket, request: RecordedRequest) -> None:
        send_head(sock, f"Content-Length: {10**12}")
        sock.sendall(b"x" * 10)

    loopback_server.raw("/huge", announce_huge)
    with fetcher_with(max_body_bytes=1000) as client:
        result = client.get(loopback_server.url("/huge"))
    assert (result.error, result.status) == (TOO_LARGE, 200)
    assert "Content-Length" in result.detail


def test_endless_body_stops_at_the_cap(loopback_server):
    def endless(sock: socket.socket, request: RecordedRequest) -> None:
        send_head(sock, "Connection: close")
        for _ in range(1000):  # 8 MB at most, so a client that never stops gets a body and fails the test
            sock.sendall(b"x" * 8192)

    loopback_server.raw("/endless", endless)
    with fetcher_with(max_body_bytes=64 * 1024) as client:
        result = client.get(loopback_server.url("/endless"))
    assert (result.error, result.body) == (TOO_LARGE, b"")
    assert "max_body_bytes" in result.detail


@pytest.mark.parametrize("size, error", [(2**20, None), (2**20 + 1, TOO_LARGE)])
def test_decoded_size_cap_stops_a_gzip_bomb(loopback_server, size, error):
    bomb = gzip.compress(b"\0" * size)
    loopback_server.route("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    with fetcher_with(max_body_bytes=len(bomb), max_decoded_bytes=2**20) as client:
        result = client.get(loopback_server.url("/bomb"))
    assert result.error == error
    assert len(result.body) == (size if error is None else 0)


def test_decoded_cap_holds_for_a_large_bomb(loopback_server):
    bomb = gzip.compress(b"\0" * 64 * 2**20)  # ~64 KB on the wire, 64 MB decoded
    loopback_server.route("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    with fetcher_with(max_decoded_bytes=2**20) as client:
        result = client.get(loopback_server.url("/bomb"))
    assert result.error == TOO_LARGE and "max_decoded_bytes" in result.detail


def test_decoder_never_inflates_much_past_the_cap():
    bomb = zlib.compress(b"\0" * 100 * 2**20, 9)  # one ~100 KB chunk that inflates to 100 MB
    decoder = BodyDecoder("deflate", limit=2**20)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="max_decoded_bytes") as raised:
            decoder.feed(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raised.value.reason == TOO_LARGE and peak < 8 * 2**20


def test_body_shorter_than_its_content_length(loopback_server, fetcher):
    def short(sock: socket.socket, request: RecordedRequest) -> None:
        send_head(sock, "Content-Length: 100")
        sock.sendall(b"only ten b")

    loopback_server.raw("/short", short)
    result = fetcher.get(loopback_server.url("/short"))
    assert (result.error, result.status, result.body) == (INCOMPLETE_BODY, 200, b"")


@pytest.mark.parametrize(
    "encoding, body",
    [
        ("gzip", b"this is not gzip"),
        ("gzip", gzip.compress(b"news " * 1000)[:40]),
        ("deflate", b"\xff\xfe not deflate either"),
        ("br", b"\x1b\x00"),
    ],
    ids=["garbage", "truncated-stream", "bad-deflate", "unsupported-encoding"],
)
def test_invalid_compression(loopback_server, fetcher, encoding, body):
    loopback_server.route("/bad", Reply(200, body, {"Content-Encoding": encoding}))
    result = fetcher.get(loopback_server.url("/bad"))
    assert (result.error, result.body) == (INVALID_COMPRESSION, b"")


def test_connection_reset(loopback_server, fetcher):
    def reset(sock: socket.socket, request: RecordedRequest) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    loopback_server.raw("/reset", reset)
    result = fetcher.get(loopback_server.url("/reset"))
    assert (result.error, result.status) == (CONNECTION_ERROR, None)


def test_connection_refused(fetcher):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetcher.get(f"http://127.0.0.1:{port}/")
    assert (result.error, result.status) == (CONNECTION_ERROR, None)


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def test_chunked_body_is_capped_while_streaming_and_the_fetcher_stays_usable(loopback_server):
    loopback_server.route("/big", Reply(200, chunked(*[b"x" * 500] * 10), {"Transfer-Encoding": "chunked"}))
    loopback_server.route("/ok", Reply(200, chunked(b"fi", b"ne"), {"Transfer-Encoding": "chunked"}))
    with fetcher_with(max_body_bytes=1000) as client:
        assert client.get(loopback_server.url("/big")).error == TOO_LARGE
        assert client.get(loopback_server.url("/ok")).body == b"fine"
        assert client.get(loopback_server.url("/big")).error == TOO_LARGE


def test_one_fetcher_serves_many_threads(loopback_server, fetcher):
    loopback_server.route("/a", lambda request: Reply(200, request.path.encode()))
    results: dict[int, bytes] = {}

    def worker(n: int) -> None:
        for k in range(5):
            results[n * 10 + k] = fetcher.get(loopback_server.url(f"/a?{n}-{k}")).body

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n * 10 + k: f"/a?{n}-{k}".encode() for n in range(8) for k in range(5)}


# URLs and SSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, error",
    [
        ("ftp://example.com/feed.xml", UNSUPPORTED_SCHEME),
        ("file:///etc/passwd", UNSUPPORTED_SCHEME),
        ("javascript:alert(1)", UNSUPPORTED_SCHEME),
        ("gopher://127.0.0.1:6379/_INFO", UNSUPPORTED_SCHEME),
        ("//example.com/x", INVALID_URL),
        ("http://", INVALID_URL),
        ("http://[::1/", INVALID_URL),
        ("not a url", INVALID_URL),
    ],
)
def test_bad_urls_are_refused_without_a_request(fetcher, url, error):
    result = fetcher.get(url)
    assert (result.error, result.status, result.url) == (error, None, url)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0"],
)
def test_private_destinations_are_refused(loopback_server, host):
    loopback_server.route("/secret", Reply(200, b"secret"))
    port = loopback_server.base_url.rsplit(":", 1)[1]
    with HttpFetcher(FetchPolicy(connect_timeout=0.5, total_timeout=2)) as guarded:
        result = guarded.get(f"http://{host}:{port}/secret")
    assert (result.error, result.body) == (PRIVATE_ADDRESS, b"")
    assert loopback_server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "2002:a00:1::",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
    ],
)
def test_non_public_addresses(address):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses(address):
    assert is_public_address(address)


def loopback_counts_as_public(address: str) -> bool:
    """Our server stands in for a public site; every other address gets the real rule."""
    return address == "127.0.0.1" or is_public_address(address)


@pytest.mark.parametrize(
    "hop",
    [
        "http://127.0.0.2:{port}/admin",
        "http://[::1]:{port}/admin",
        "http://internal.test:{port}/",
        "http://169.254.169.254:{port}/latest/meta-data/",
        "http://10.0.0.1:{port}/",
        "http://[fe80::1]:{port}/",
    ],
)
def test_every_redirect_hop_is_checked(loopback_server, hop):
    port = int(loopback_server.base_url.rsplit(":", 1)[1])
    loopback_server.route("/start", redirect(301, hop.format(port=port)))

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.3"] if host == "internal.test" else [host]  # nothing listens there

    guarded = HttpFetcher(
        FetchPolicy(connect_timeout=0.5, total_timeout=2), resolver=resolve, address_allowed=loopback_counts_as_public
    )
    result = guarded.get(loopback_server.url("/start"))
    assert (result.error, result.status, result.final_url) == (PRIVATE_ADDRESS, None, hop.format(port=port))
    assert [r.path for r in loopback_server.requests] == ["/start"]


def test_any_private_address_among_the_answers_refuses_the_host(loopback_server):
    loopback_server.route("/a", Reply(200, b"x"))
    mixed = HttpFetcher(
        FetchPolicy(), resolver=lambda host, port: ["127.0.0.1", "10.0.0.1"], address_allowed=loopback_counts_as_public
    )
    assert mixed.get(loopback_server.url("/a")).error == PRIVATE_ADDRESS
    assert loopback_server.requests == []


def test_connects_to_the_checked_address_not_the_name_again(loopback_server):
    """127.0.0.2 has no listener: only a connection to the resolved 127.0.0.1 reaches the server."""
    loopback_server.route("/a", Reply(200, b"x"))
    port = loopback_server.base_url.rsplit(":", 1)[1]
    asked: list[str] = []
    pinned = HttpFetcher(FAST, resolver=lambda host, port: asked.append(host) or ["127.0.0.1"])
    result = pinned.get(f"http://127.0.0.2:{port}/a")
    assert (result.error, result.body, asked) == (None, b"x", ["127.0.0.2"])
    assert loopback_server.requests_to("/a")[0].headers["host"] == f"127.0.0.2:{port}"


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 'localhost' (skips when the openssl CLI is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_to_the_checked_address_verifies_the_url_host(localhost_cert, monkeypatch):
    cert, key = localhost_cert
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # trust our certificate instead of the system store
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LoopbackServer(ssl_context=context) as server:
        server.route("/a", Reply(200, b"secure"))
        port = server.base_url.rsplit(":", 1)[1]
        client = HttpFetcher(FAST, resolver=lambda host, port: ["127.0.0.1"])
        named = client.get(f"https://localhost:{port}/a")
        by_ip = client.get(f"https://127.0.0.1:{port}/a")
        other = client.get(f"https://other.test:{port}/a")
    assert (named.error, named.body) == (None, b"secure")
    assert server.requests_to("/a")[0].headers["host"] == f"localhost:{port}"
    for refused in (by_ip, other):
        assert refused.error == CONNECTION_ERROR and "match" in refused.detail


def test_dns_failure():
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = HttpFetcher(FAST, resolver=no_such_host).get("http://no-such-host.test/feed")
    assert (result.error, result.status) == (DNS_ERROR, None)


def test_host_of():
    assert host_of("HTTP://News.Example.COM:8080/a?b") == "news.example.com:8080"
    assert host_of("https://user:pw@example.com/x") == "example.com"
    assert host_of("http://127.0.0.1:8001/") != host_of("http://127.0.0.1:8002/")
    assert host_of("http://[::1") == ""


# robots.txt ------------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /\n\nUser-agent: newsbeam\nDisallow: /private/\n"


def test_robots_rules_for_our_agent(loopback_server, fetcher):
    loopback_server.route("/robots.txt", Reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    robots = RobotsCache(fetcher)
    assert robots.allowed(loopback_server.url("/news/1"))
    assert not robots.allowed(loopback_server.url("/private/draft"))
    assert robots.decide(loopback_server.url("/private/draft")).reason == ROBOTS_RULES
    assert loopback_server.requests_to("/robots.txt")[0].headers["user-agent"] == USER_AGENT


@pytest.mark.parametrize(
    "reply, allowed, reason",
    [
        (Reply(404), True, ROBOTS_MISSING),
        (Reply(403), True, ROBOTS_MISSING),
        (Reply(500), False, ROBOTS_UNREACHABLE),
        (Reply(503), False, ROBOTS_UNREACHABLE),
        (Reply(429), False, ROBOTS_UNREACHABLE),
    ],
)
def test_robots_status_rules(loopback_server, fetcher, reply, allowed, reason):
    loopback_server.route("/robots.txt", reply)
    decision = RobotsCache(fetcher).decide(loopback_server.url("/news/1"))
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert str(reply.status) in decision.detail


def test_robots_redirect_loop_counts_as_missing(loopback_server, fetcher):
    loopback_server.route("/robots.txt", redirect(301, "/robots.txt"))
    decision = RobotsCache(fetcher).decide(loopback_server.url("/news/1"))
    assert (decision.allowed, decision.reason) == (True, ROBOTS_MISSING)


def test_robots_unreachable_disallows(loopback_server, fetcher):
    loopback_server.raw("/robots.txt", lambda sock, request: sock.close())
    decision = RobotsCache(fetcher).decide(loopback_server.url("/news/1"))
    assert (decision.allowed, decision.reason) == (False, ROBOTS_UNREACHABLE)


def test_robots_fetched_once_per_host(fetcher):
    with LoopbackServer() as first, LoopbackServer() as second:
        first.route("/robots.txt", Reply(200, ROBOTS, delay=0.2))
        second.route("/robots.txt", Reply(404))
        robots = RobotsCache(fetcher)
        threads = [threading.Thread(target=robots.allowed, args=(first.url(f"/news/{n}"),)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert robots.allowed(first.url("/news/x")) and not robots.allowed(first.url("/private/x"))
        assert robots.allowed(second.url("/private/x")) and robots.allowed(second.url("/a"))
        assert len(first.requests_to("/robots.txt")) == 1
        assert len(second.requests_to("/robots.txt")) == 1
        assert [r.path for r in first.requests + second.requests] == ["/robots.txt", "/robots.txt"]


# politeness ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_spaces_starts_to_one_host():
    clock = FakeClock()
    pacer = HostPacer(1.0, clock=clock, sleep=clock.sleep)
    starts = []
    for work in (0.3, 0.0, 2.0, 0.0):
        with pacer.slot("news.example.com"):
            starts.append(clock.now)
            clock.now += work
    assert starts == [0.0, 1.0, 2.0, 4.0]
    assert clock.sleeps == pytest.approx([0.7, 1.0])


def test_pacer_hosts_are_independent():
    clock = FakeClock()
    pacer = HostPacer(5.0, clock=clock, sleep=clock.sleep)
    for host in ("a.example:80", "b.example:80", "a.example:8080", "c.example:80"):
        with pacer.slot(host):
            pass
    assert clock.sleeps == []
    with pacer.slot("A.EXAMPLE:80"):
        pass
    assert clock.sleeps == [5.0]


def test_pacer_allows_one_request_in_flight_per_host():
    pacer = HostPacer(0.0)
    release, holding = threading.Event(), threading.Event()
    entered = {"same": threading.Event(), "other": threading.Event()}

    def hold() -> None:
        with pacer.slot("a.example"):
            holding.set()
            release.wait(5)

    def enter(host: str, key: str) -> None:
        with pacer.slot(host):
            entered[key].set()

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    assert holding.wait(5)
    threads += [threading.Thread(target=enter, args=args) for args in (("a.example", "same"), ("b.example", "other"))]
    for thread in threads[1:]:
        thread.start()
    assert entered["other"].wait(5)
    assert not entered["same"].wait(0.2)
    release.set()
    assert entered["same"].wait(5)
    for thread in threads:
        thread.join()


@pytest.mark.parametrize(
    "text, redacted",
    [
        ("http://user:pass@host/x", "http://***@host/x"),
        ("GET https://u@h.com/ failed", "GET https://***@h.com/ failed"),
        ("HTTP://A:B@H/", "HTTP://***@H/"),
        ("mailto:joe@example.com", "mailto:joe@example.com"),
        ("http://h/p?e=a@b", "http://h/p?e=a@b"),
        ("no url", "no url"),
    ],
)
def test_redact_credentials(text, redacted):
    assert redact_credentials(text) == redacted


def test_credentials_never_reach_the_result_detail(loopback_server):
    port = loopback_server.base_url.rsplit(":", 1)[1]
    with HttpFetcher(FetchPolicy(connect_timeout=0.5, total_timeout=2)) as guarded:
        refused = guarded.get(f"http://reader:s3cret@127.0.0.1:{port}/feed")
    assert refused.error == PRIVATE_ADDRESS and "s3cret" not in refused.detail
    loopback_server.route("/loop", redirect(302, f"http://reader:s3cret@127.0.0.1:{port}/loop"))
    looped = fetcher_with(allow_private_network=True).get(f"http://reader:s3cret@127.0.0.1:{port}/loop")
    assert looped.error == REDIRECT_LOOP and "s3cret" not in looped.detail
    assert loopback_server.requests_to("/loop")[0].headers.get("authorization") is None  # userinfo is never sent either
