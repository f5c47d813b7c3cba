"""A real HTTP server on 127.0.0.1 for tests: scripted replies per path, raw sockets for faults.

    server = LoopbackServer()
    server.route("/feed", Reply(200, b"<rss/>"), Reply(304))   # first request, then every later one
    server.raw("/drip", lambda sock, request: ...)                # write (or don't) whatever you like
    fetch(server.url("/feed")); server.requests_to("/feed")[0].headers["user-agent"]

Unknown paths answer 404. The server speaks HTTP/1.1 with keep-alive, so clients pool connections.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before sending anything."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """As sent, query included."""
    headers: dict[str, str]
    """Lower-case names."""
    time: float
    """time.monotonic() on arrival."""


ReplySource = Reply | Callable[[RecordedRequest], Reply]
RawHandler = Callable[[socket.socket, RecordedRequest], None]


class LoopbackServer:
    """ThreadingHTTPServer on 127.0.0.1, an ephemeral port, served from a daemon thread (TLS with ``ssl_context``)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, list[ReplySource]] = {}
        self._raw: dict[str, RawHandler] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        scheme = "https" if ssl_context else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: ReplySource) -> None:
        """Successive requests to ``path`` get successive replies; the last one repeats."""
        if not replies:
            raise ValueError("route needs at least one reply")
        with self._lock:
            self._routes[path] = list(replies)
            self._served[path] = 0

    def raw(self, path: str, handler: RawHandler) -> None:
        """``handler`` owns the socket after the request head is read; the server closes it afterwards."""
        with self._lock:
            self._raw[path] = handler

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if _matches(request.path, path)]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _record(self, request: RecordedRequest) -> Reply | RawHandler:
        with self._lock:
            self.requests.append(request)
            raw = next((h for p, h in self._raw.items() if _matches(request.path, p)), None)
            if raw is not None:
                return raw
            path = next((p for p in self._routes if _matches(request.path, p)), None)
            if path is None:
                return Reply(404, b"not found")
            replies, served = self._routes[path], self._served[path]
            self._served[path] = served + 1
            reply = replies[min(served, len(replies) - 1)]
        return reply if isinstance(reply, Reply) else reply(request)


def _matches(request_path: str, path: str) -> bool:
    """Exact match, or the same path when ``path`` has no query."""
    return request_path == path or ("?" not in path and urlsplit(request_path).path == path)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connects when many client threads start at once
    owner: LoopbackServer

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up mid-reply (timeouts, size caps) are expected in these tests."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _QuietServer

    def do_GET(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, time.monotonic())
        reply = self.server.owner._record(request)
        if not isinstance(reply, Reply):
            self.close_connection = True
            reply(self.connection, request)
            return
        time.sleep(reply.delay)
        self.send_response(reply.status)
        names = {name.lower() for name in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not names & {"content-length", "transfer-encoding"}:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(name="loopback_server")
def loopback_server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server
