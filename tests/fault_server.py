"""Network faults on demand, for tests: raw-socket handlers on a ``LoopbackServer`` path.

    server = LoopbackServer()
    server.raw("/feed", FAULTS["reset"])          # the connection is reset after the request
    server.raw("/feed", content_length_lie(feed_bytes, +500))

Every handler gets the socket after the request head was read and gives up within
``MAX_FAULT_SECONDS`` even when the client never hangs up, so a test can't hang on it.
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
from collections.abc import Callable

from tests.http_server import RawHandler, RecordedRequest

MAX_FAULT_SECONDS = 15.0


def _send(sock: socket.socket, data: bytes) -> bool:
    """False once the client has gone."""
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def _head(status: str = "200 OK", *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers, "", ""])).encode("latin-1")


def reset(sock: socket.socket, request: RecordedRequest) -> None:
    """RST instead of a reply (SO_LINGER 0, then close)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def reset_mid_body(body: bytes) -> RawHandler:
    """Headers and half the body, then RST."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(
            sock,
            _head("200 OK", f"Content-Length: {len(body)}", "Content-Type: application/rss+xml")
            + body[: len(body) // 2],
        )
        time.sleep(0.05)
        reset(sock, request)

    return handler


def stall(sock: socket.socket, request: RecordedRequest) -> None:
    """Accept the request and never answer."""
    time.sleep(MAX_FAULT_SECONDS)


def stall_after_headers(sock: socket.socket, request: RecordedRequest) -> None:
    """Headers promising a body, then silence."""
    _send(sock, _head("200 OK", "Content-Length: 5000", "Content-Type: application/rss+xml"))
    time.sleep(MAX_FAULT_SECONDS)


def slow_drip(body: bytes, every: float = 0.2) -> RawHandler:
    """A byte at a time, each well within the read timeout, so only the total timeout stops it."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        if not _send(sock, _head("200 OK", f"Content-Length: {len(body)}", "Content-Type: application/rss+xml")):
            return
        ends = time.monotonic() + MAX_FAULT_SECONDS
        for byte in body:
            if time.monotonic() > ends or not _send(sock, bytes([byte])):
                return
            time.sleep(every)

    return handler


def header_drip(body: bytes, every: float = 0.2, hang_ups: list[float] | None = None) -> RawHandler:
    """The status line and headers a byte at a time, each well within the read timeout, then the body.

    Only a deadline that covers the response head stops it. When the client hangs up, the seconds
    since the request arrived go to ``hang_ups``: the server's own measure of when it was cut off.
    """
    head = _head("200 OK", f"Content-Length: {len(body)}", "Content-Type: application/rss+xml")
    return _dripping(head + body, every, hang_ups)


def body_drip(body: bytes, every: float = 0.2, hang_ups: list[float] | None = None) -> RawHandler:
    """Headers at once (no Content-Length: the body runs to the close), then the body a byte at a time."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        if _send(sock, _head("200 OK", "Content-Type: application/rss+xml", "Connection: close")):
            _dripping(body, every, hang_ups)(sock, request)

    return handler


def _dripping(data: bytes, every: float, hang_ups: list[float] | None) -> RawHandler:
    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        ends = time.monotonic() + MAX_FAULT_SECONDS
        for byte in data:
            if time.monotonic() > ends:
                return
            if not _send(sock, bytes([byte])) or _hung_up(sock):
                if hang_ups is not None:
                    hang_ups.append(time.monotonic() - request.time)
                return
            time.sleep(every)

    return handler


def _hung_up(sock: socket.socket) -> bool:
    """True once the client has closed or shut down its side (it never sends more after the request)."""
    try:
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        finally:
            sock.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True


def truncated(body: bytes) -> RawHandler:
    """The whole Content-Length announced, half the body sent, then the connection closed (FIN)."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(
            sock,
            _head("200 OK", f"Content-Length: {len(body)}", "Content-Type: application/rss+xml")
            + body[: len(body) // 2],
        )
        sock.shutdown(socket.SHUT_RDWR)

    return handler


def content_length_lie(body: bytes, by: int) -> RawHandler:
    """Content-Length off by ``by`` bytes (longer: the connection closes early; shorter: extra bytes follow)."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(sock, _head("200 OK", f"Content-Length: {len(body) + by}", "Content-Type: application/rss+xml") + body)
        sock.shutdown(socket.SHUT_RDWR)

    return handler


def invalid_gzip(body: bytes) -> RawHandler:
    """Content-Encoding gzip over bytes that are not gzip (a valid header, then garbage)."""
    broken = gzip.compress(body)[:10] + b"\x00garbage-not-deflate" * 20

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(
            sock,
            _head(
                "200 OK",
                f"Content-Length: {len(broken)}",
                "Content-Encoding: gzip",
                "Content-Type: application/rss+xml",
            )
            + broken,
        )

    return handler


def redirect_to(location: str, status: str = "302 Found") -> RawHandler:
    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(sock, _head(status, f"Location: {location}", "Content-Length: 0"))

    return handler


def status_storm(status: str = "503 Service Unavailable", retry_after: str | None = "120") -> RawHandler:
    """The same 5xx for every request (a storm), optionally with Retry-After."""
    extra = [f"Retry-After: {retry_after}"] if retry_after else []

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(sock, _head(status, "Content-Length: 5", "Content-Type: text/plain", *extra) + b"storm")

    return handler


def huge_headers(count: int = 500, size: int = 200) -> RawHandler:
    """``count`` headers of ``size`` bytes each (urllib3/http.client refuse more than 100)."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        lines = [f"X-Filler-{i}: {'a' * size}" for i in range(count)]
        _send(sock, _head("200 OK", *lines, "Content-Length: 2") + b"ok")

    return handler


def huge_header_line(size: int = 200_000) -> RawHandler:
    """One header line longer than http.client's 64 KiB limit."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        _send(sock, _head("200 OK", f"X-Huge: {'b' * size}", "Content-Length: 2") + b"ok")

    return handler


def endless_body(chunked: bool = False) -> RawHandler:
    """A body that never ends (until the client hangs up or MAX_FAULT_SECONDS)."""

    def handler(sock: socket.socket, request: RecordedRequest) -> None:
        header = "Transfer-Encoding: chunked" if chunked else "Connection: close"
        block = b"<item><title>x</title></item>" * 2000
        payload = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
        if not _send(
            sock,
            _head("200 OK", header, "Content-Type: application/rss+xml")
            + payload.replace(block, b"<rss><channel>" + block[:-14]),
        ):
            return
        ends = time.monotonic() + MAX_FAULT_SECONDS
        while time.monotonic() < ends and _send(sock, payload):
            pass

    return handler


FAULTS: dict[str, Callable[..., RawHandler] | RawHandler] = {
    "reset": reset,
    "stall": stall,
    "stall_after_headers": stall_after_headers,
    "huge_headers": huge_headers(),
    "huge_header_line": huge_header_line(),
    "endless_body": endless_body(),
    "endless_chunked_body": endless_body(chunked=True),
    "storm_503": status_storm(),
    "storm_500": status_storm("500 Internal Server Error", None),
}
"""Faults that need no body; the others are factories taking the body they spoil."""
