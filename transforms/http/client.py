"""HTTP fetching for feeds, article pages and robots.txt: one urllib3 client with guard rails.

Every network, HTTP or content problem comes back as a ``FetchResult`` whose ``error`` names the
reason and whose ``detail`` explains it; only programming errors raise. The guard rails, all set
in ``FetchPolicy``:

- http and https only;
- no loopback, private, link-local, multicast or reserved destinations (SSRF), checked on every
  redirect hop; the connection goes to the address that was checked, so a second DNS answer
  cannot swap it (DNS rebinding);
- redirects followed by hand, up to a cap, with loop detection and the permanent target reported;
- connect, between-bytes and whole-response timeouts; the whole-response deadline covers connect,
  status line, headers and body alike: a watchdog shuts the socket down when it passes, so a
  server that drips its headers a byte at a time is cut off like one that drips its body;
- caps on the raw body and on the body after gzip/deflate decoding (zip bombs).

Beside it: ``addresses`` (SSRF rules, the politeness key, credential redaction), ``robots``
(``RobotsCache``, robots.txt per origin) and ``pacing`` (``HostPacer``, requests spaced per host).
None imports Beam: the DoFns in ``polite`` wrap these pieces.
"""

from __future__ import annotations

import email.utils
import http.client
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Self
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from transforms.http.addresses import is_public_address, redact_credentials, resolve_host

USER_AGENT = "newsbeam/0.1 (+https://github.com/newsbeam/newsbeam)"

# FetchResult.error reasons.
HTTP_STATUS = "http_status"
"""The final response was neither 2xx nor 304."""
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
INVALID_RESPONSE = "invalid_response"
"""The server's reply was not HTTP we accept: a bad status line, too many or too long headers."""
INCOMPLETE_BODY = "incomplete_body"
"""The body ended before its Content-Length (or its last chunk): a lie or a dropped connection."""
TOO_LARGE = "too_large"
INVALID_COMPRESSION = "invalid_compression"
REDIRECT_LOOP = "redirect_loop"
TOO_MANY_REDIRECTS = "too_many_redirects"
UNSUPPORTED_SCHEME = "unsupported_scheme"
PRIVATE_ADDRESS = "private_address"
INVALID_URL = "invalid_url"
DNS_ERROR = "dns_error"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
_READ_CHUNK = 64 * 1024

Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) → IP address strings; raises OSError (socket.gaierror) when the name doesn't resolve."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and identity for every request a fetcher makes."""

    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    """Longest wait for the next bytes."""
    total_timeout: float = 60.0
    """Wall clock for the whole ``get``, redirects included."""
    max_body_bytes: int = 10 * 2**20
    """Raw bytes on the wire."""
    max_decoded_bytes: int = 50 * 2**20
    """Bytes after gzip/deflate decoding."""
    max_redirects: int = 5
    allow_private_network: bool = False


@dataclass(frozen=True)
class FetchResult:
    """What one ``HttpFetcher.get`` saw. ``error`` is None on success (2xx or 304)."""

    url: str
    """As requested."""
    final_url: str
    """The last URL requested (or refused), after redirects."""
    status: int | None
    """Status of the last response; None when that URL gave none."""
    headers: Mapping[str, str]
    """Headers of the last response, names lower-cased."""
    body: bytes
    """Decoded body; b"" on 304 and on every error."""
    permanent_url: str | None
    """Where the leading chain of 301/308 redirects leads; None if the first hop was not permanent."""
    error: str | None
    detail: str = ""
    retry_after: float | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A fetch problem (``reason`` is one of the error constants) raised by the pieces under
    ``HttpFetcher.get``, which turns it into ``FetchResult.error``; ``get`` itself never raises it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class HttpFetcher:
    """GETs URLs under a ``FetchPolicy``; thread-safe, pools connections per checked address.

    ``resolver`` and ``address_allowed`` are seams for tests; the defaults are the system resolver
    and ``is_public_address``.
    """

    def __init__(
        self,
        policy: FetchPolicy = FetchPolicy(),
        *,
        resolver: Resolver | None = None,
        address_allowed: Callable[[str], bool] | None = None,
    ):
        self.policy = policy
        self._resolve = resolver or resolve_host
        self._address_allowed = address_allowed or is_public_address
        self._pools = urllib3.PoolManager(num_pools=32, maxsize=8, block=False, retries=False)
        self._pools.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """Fetch ``url``, following redirects; conditional when ``etag``/``last_modified`` are given;
        ``extra_headers`` (a ``Range``, say) are sent on every hop."""
        started = time.monotonic()
        deadline = started + self.policy.total_timeout
        headers = _request_headers(self.policy, etag=etag, last_modified=last_modified, accept=accept)
        headers.update(extra_headers or {})
        redirects = _RedirectChain(url, self.policy.max_redirects)
        response_headers: dict[str, str] = {}
        current, status, body = url, None, b""
        watchdog = _Watchdog(deadline)
        try:
            while True:
                status, response_headers = None, {}  # until this hop answers
                response = self._open(current, headers, deadline)
                status, response_headers = response.status, _lowercase_headers(response.headers)
                complete = False
                try:
                    target = redirects.follow(current, response.status, response.headers.get("location"))
                    if target is None:
                        body = self._final_body(response, deadline)
                        complete = not watchdog.fired
                        break
                finally:
                    _release(response, complete=complete)
                current = target
            if watchdog.fired:  # the body "ended" because the watchdog shut the socket
                raise FetchError(TIMEOUT, f"exceeded total_timeout {self.policy.total_timeout}s reading the body")
            error, detail = None, ""
        except FetchError as failure:
            if watchdog.fired and failure.reason != TIMEOUT:  # whatever the cut socket looked like
                failure = FetchError(TIMEOUT, f"exceeded total_timeout {self.policy.total_timeout}s ({failure.detail})")
            body, error, detail = b"", failure.reason, redact_credentials(failure.detail)
        finally:
            watchdog.disarm()
        return FetchResult(
            url=url,
            final_url=current,
            status=status,
            headers=response_headers,
            body=body,
            permanent_url=redirects.permanent_url,
            error=error,
            detail=detail,
            retry_after=parse_retry_after(response_headers.get("retry-after")),
            elapsed=time.monotonic() - started,
        )

    def close(self) -> None:
        """Close pooled connections; the fetcher opens new ones if used again."""
        self._pools.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self, url: str, headers: Mapping[str, str], deadline: float) -> urllib3.BaseHTTPResponse:
        """Send one GET to the checked address of ``url``; the response body is not read yet."""
        target = _parse_target(url)
        address = self._checked_address(target)
        remaining = _remaining(deadline, self.policy)
        pool_kwargs = (
            {"server_hostname": target.host, "assert_hostname": target.host} if target.scheme == "https" else None
        )
        pool = self._pools.connection_from_host(address, target.port, target.scheme, pool_kwargs=pool_kwargs)
        timeout = urllib3.Timeout(
            connect=min(self.policy.connect_timeout, remaining), read=min(self.policy.read_timeout, remaining)
        )
        try:
            return pool.urlopen(
                "GET",
                target.request_uri,
                headers={**headers, "Host": target.host_header},
                redirect=False,
                retries=False,
                timeout=timeout,
                preload_content=False,
                decode_content=False,
                release_conn=False,
                assert_same_host=False,
            )
        except (HTTPError, OSError) as exc:
            raise _transport_failure(exc, deadline, f"GET {url}") from exc

    def _checked_address(self, target: _Target) -> str:
        """The address to connect to, after refusing non-public ones (unless the policy allows them)."""
        try:
            addresses = list(self._resolve(target.host, target.port))
        except (OSError, UnicodeError) as exc:
            raise FetchError(DNS_ERROR, f"cannot resolve {target.host}: {exc}") from exc
        if not addresses:
            raise FetchError(DNS_ERROR, f"{target.host} resolves to no address")
        if not self.policy.allow_private_network:
            refused = [address for address in addresses if not self._address_allowed(address)]
            if refused:
                raise FetchError(PRIVATE_ADDRESS, f"{target.host} resolves to non-public address {refused[0]}")
        return addresses[0]

    def _final_body(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        if response.status == 304:
            return b""
        if not 200 <= response.status < 300:
            raise FetchError(HTTP_STATUS, f"HTTP {response.status} {response.reason or ''}".rstrip())
        return _read_body(response, self.policy, deadline)


_WATCHED = threading.local()
"""The ``_Watchdog`` of the ``get`` running on this thread (fetch threads each run their own)."""


class _Watchdog:
    """The whole-response deadline of one ``get``: at the deadline it shuts down the socket in use.

    Socket timeouts only bound each wait for the next bytes, so a server sending one byte of its
    status line or headers every few seconds would never be cut. The connections of the pool
    report to the watchdog of their thread whenever they connect, send or read a response head,
    and a timer thread shuts their socket down at the deadline; the blocked read then fails and
    ``get`` reports ``timeout``.
    """

    def __init__(self, deadline: float):
        self.fired = False
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        self._previous = getattr(_WATCHED, "watchdog", None)
        _WATCHED.watchdog = self

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.fired:
                _shut(connection)

    def disarm(self) -> None:
        self._timer.cancel()
        _WATCHED.watchdog = self._previous

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._connection is not None:
                _shut(self._connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


def _report_to_watchdog(connection: HTTPConnection) -> None:
    watchdog = getattr(_WATCHED, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(connection)


class _WatchedConnectionMixin:
    """Reports the connection to this thread's ``_Watchdog`` before each step that can block."""

    def connect(self) -> None:
        _report_to_watchdog(self)  # type: ignore[arg-type]  # mixed into an HTTPConnection
        super().connect()  # type: ignore[misc]
        _report_to_watchdog(self)  # type: ignore[arg-type]  # the socket exists now: cut it at once if the deadline passed meanwhile

    def request(self, *args, **kwargs):
        _report_to_watchdog(self)
        return super().request(*args, **kwargs)

    def getresponse(self, *args, **kwargs):
        _report_to_watchdog(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@dataclass
class _RedirectChain:
    """The redirects of one ``get``: loop detection, the cap, and the leading permanent target."""

    url: str
    max_redirects: int
    permanent_url: str | None = None
    _followed: int = 0
    _all_permanent: bool = True
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._seen.add(_without_fragment(self.url))

    def follow(self, current: str, status: int, location: str | None) -> str | None:
        """The next URL to request, or None when this response is the final one."""
        if status not in REDIRECT_STATUSES or not location:
            return None
        target = _without_fragment(urljoin(current, _header_text(location).strip()))
        self._all_permanent = self._all_permanent and status in PERMANENT_REDIRECTS
        if self._all_permanent:
            self.permanent_url = target
        if target in self._seen:
            raise FetchError(REDIRECT_LOOP, f"{current} redirects back to {target}")
        if self._followed >= self.max_redirects:
            raise FetchError(TOO_MANY_REDIRECTS, f"more than {self.max_redirects} redirects; next was {target}")
        self._followed += 1
        self._seen.add(target)
        return target


@dataclass(frozen=True)
class _Target:
    """The parts of a URL a request needs."""

    scheme: str
    host: str
    """Without IPv6 brackets; what the resolver, SNI and certificate check see."""
    port: int
    request_uri: str
    host_header: str


def _parse_target(url: str) -> _Target:
    """Split an http(s) URL for a request; raises FetchError(INVALID_URL / UNSUPPORTED_SCHEME)."""
    try:
        scheme = urlsplit(url).scheme.lower()
        parsed = urllib3.util.parse_url(url.strip())
    except (ValueError, LocationParseError) as exc:
        raise FetchError(INVALID_URL, f"cannot parse {url!r}: {exc}") from exc
    if not scheme:
        raise FetchError(INVALID_URL, f"no scheme in {url!r}")
    if scheme not in DEFAULT_PORTS:
        raise FetchError(UNSUPPORTED_SCHEME, f"{scheme!r} is not http or https")
    if not parsed.host:
        raise FetchError(INVALID_URL, f"no host in {url!r}")
    default_port = DEFAULT_PORTS[scheme]
    port = parsed.port or default_port
    host_header = parsed.host if port == default_port else f"{parsed.host}:{port}"
    return _Target(scheme, parsed.host.strip("[]"), port, parsed.request_uri, host_header)


def _request_headers(
    policy: FetchPolicy, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
) -> dict[str, str]:
    """The headers every request sends, plus the conditional validators and Accept when given."""
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"}
    if accept:
        headers["Accept"] = accept
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read_body(response: urllib3.BaseHTTPResponse, policy: FetchPolicy, deadline: float) -> bytes:
    """Stream and decode the body within the policy's size caps and the request deadline."""
    declared = _content_length(response.headers.get("content-length"))
    if declared is not None and declared > policy.max_body_bytes:
        raise FetchError(TOO_LARGE, f"Content-Length {declared} exceeds max_body_bytes {policy.max_body_bytes}")
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), policy.max_decoded_bytes)
    received = 0
    while True:
        _limit_next_wait(response, min(policy.read_timeout, _remaining(deadline, policy)))
        try:
            chunk = response.read1(_READ_CHUNK, decode_content=False)
        except ProtocolError as exc:
            raise FetchError(INCOMPLETE_BODY, f"body ended after {received} bytes: {exc}") from exc
        except (HTTPError, OSError) as exc:
            raise _transport_failure(exc, deadline, f"reading the body after {received} bytes") from exc
        if not chunk:
            return decoder.finish()
        received += len(chunk)
        if received > policy.max_body_bytes:
            raise FetchError(TOO_LARGE, f"body exceeds max_body_bytes {policy.max_body_bytes}")
        decoder.feed(chunk)


class BodyDecoder:
    """Incremental identity/gzip/deflate decoding that stops as soon as ``limit`` bytes are passed."""

    def __init__(self, content_encoding: str, limit: int):
        self._coding = content_encoding.strip().lower()
        if self._coding in ("", "identity"):
            self._inflater = None
        elif self._coding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._coding == "deflate":
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError(INVALID_COMPRESSION, f"unsupported Content-Encoding {content_encoding!r}")
        self._limit = limit
        self._decoded = bytearray()
        self._fed = False

    def feed(self, data: bytes) -> None:
        first, self._fed = not self._fed, True
        if self._inflater is None:
            self._append(data)
            return
        while data:
            try:
                self._append(self._inflater.decompress(data, self._limit - len(self._decoded) + 1))
            except zlib.error as exc:
                if first and self._coding == "deflate":  # servers often send raw deflate without the zlib header
                    first, self._inflater = False, zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError(INVALID_COMPRESSION, f"{self._coding} body does not decode: {exc}") from exc
            data = self._inflater.unused_data if self._inflater.eof else b""
            if not data.startswith(b"\x1f\x8b") or self._coding not in ("gzip", "x-gzip"):
                return  # trailing bytes after the stream are ignored, as browsers do
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member

    def finish(self) -> bytes:
        if self._inflater is not None and self._fed and not self._inflater.eof:
            raise FetchError(INVALID_COMPRESSION, f"{self._coding} stream is truncated")
        return bytes(self._decoded)

    def _append(self, data: bytes) -> None:
        self._decoded += data
        if len(self._decoded) > self._limit:
            raise FetchError(TOO_LARGE, f"decoded body exceeds max_decoded_bytes {self._limit}")


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _remaining(deadline: float, policy: FetchPolicy) -> float:
    """Seconds left before the total timeout; raises FetchError(TIMEOUT) when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(TIMEOUT, f"exceeded total_timeout {policy.total_timeout}s")
    return left


def _limit_next_wait(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Bound the next socket read, so a stalled read cannot outlive the total timeout."""
    sock = getattr(response.connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _transport_failure(exc: Exception, deadline: float, doing: str) -> FetchError:
    if isinstance(exc, NewConnectionError):
        return FetchError(CONNECTION_ERROR, f"{doing}: cannot connect: {exc}")
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
        which = "total_timeout" if time.monotonic() >= deadline else "connect/read timeout"
        return FetchError(TIMEOUT, f"{doing}: {which}: {exc}")
    cause = exc.args[1] if isinstance(exc, ProtocolError) and len(exc.args) > 1 else None
    if isinstance(cause, http.client.HTTPException) and not isinstance(cause, ConnectionError):
        return FetchError(INVALID_RESPONSE, f"{doing}: {type(cause).__name__}: {cause}")
    return FetchError(CONNECTION_ERROR, f"{doing}: {type(exc).__name__}: {exc}")


def _release(response: urllib3.BaseHTTPResponse, *, complete: bool) -> None:
    """Give the connection back to the pool; close it first unless the body was read to the end."""
    if not complete:
        response.close()
    response.release_conn()


def _header_text(value: str) -> str:
    """Header values arrive decoded as Latin-1; raw non-ASCII bytes in them (a Location) are UTF-8 in practice."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _without_fragment(url: str) -> str:
    return url.partition("#")[0]


def _lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased; repeated headers joined with ', '."""
    return {name.lower(): headers[name] for name in headers}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None when absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    now = now or datetime.now(UTC)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
