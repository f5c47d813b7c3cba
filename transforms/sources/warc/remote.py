"""WARC files over plain HTTP(S) (Common Crawl's data.commoncrawl.org): a seekable reader on Range requests.

Beam's FileSystems read local paths, ``gs://`` and ``s3://`` but not ``https://``; a slice of a
WARC starts in the middle of the file, so the reader asks for ``Range: bytes=START-END``, one
window of ``WINDOW_BYTES`` at a time. Every window is one ``HttpFetcher.get`` under the run's
``FetchPolicy``, the same client rules as feeds and pages: a total deadline per window,
non-public addresses refused unless ``--allow-private-network``, each redirect hop checked,
credentials redacted from every message. A ``206`` must say, in ``Content-Range``, that it starts
where the reader asked; anything else (a ``200`` to a ranged GET, a range from elsewhere) is
refused, never read as if it were the range (which would read documents twice). ``429``, ``5xx``
and transport failures are retried ``ATTEMPTS`` times with exponential backoff, honouring
``Retry-After`` up to ``MAX_WAIT`` seconds; then the read fails with ``OSError``, which the
WARC reader turns into a reject for that file (the rest of the run goes on; the next run
reads the file again, as nothing of it was committed).
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable

from transforms.http.addresses import redact_credentials
from transforms.http.client import HTTP_STATUS, FetchPolicy, FetchResult, HttpFetcher

WINDOW_BYTES = 8 << 20
ATTEMPTS = 5
FIRST_WAIT = 1.0
MAX_WAIT = 60.0
"""Longest wait between two attempts, whatever Retry-After asks."""
RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


def is_http_url(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


class HttpRangeReader(io.RawIOBase):
    """A read-only, seekable file over one URL, read in ranged windows under a ``FetchPolicy``."""

    def __init__(
        self,
        url: str,
        policy: FetchPolicy = FetchPolicy(),
        *,
        fetcher: HttpFetcher | None = None,
        window: int = WINDOW_BYTES,
        attempts: int = ATTEMPTS,
        first_wait: float = FIRST_WAIT,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__()
        self._url, self._window = url, window
        self._fetcher = fetcher or HttpFetcher(
            FetchPolicy(
                user_agent=policy.user_agent,
                connect_timeout=policy.connect_timeout,
                read_timeout=policy.read_timeout,
                total_timeout=policy.total_timeout,
                max_body_bytes=window,
                max_decoded_bytes=window,
                max_redirects=policy.max_redirects,
                allow_private_network=policy.allow_private_network,
            )
        )
        self._attempts, self._first_wait, self._max_wait, self._sleep = attempts, first_wait, max_wait, sleep
        self._position = 0
        self._size: int | None = None
        self._buffer, self._buffer_start = b"", 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            if self._size is None:
                self._fill(self._position)
            if self._size is None:
                raise io.UnsupportedOperation("seek from the end of a remote file of unknown size")
            target = self._size + offset
        else:
            target = {io.SEEK_SET: offset, io.SEEK_CUR: self._position + offset}[whence]
        self._position = max(0, target)
        return self._position

    def readinto(self, buffer) -> int:
        if self._size is not None and self._position >= self._size:
            return 0
        inside = self._buffer_start <= self._position < self._buffer_start + len(self._buffer)
        if not inside:
            self._fill(self._position)
        start = self._position - self._buffer_start
        data = self._buffer[start : start + len(buffer)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _fill(self, start: int) -> None:
        """Read the window that starts at ``start``; raises OSError when the server won't give it."""
        end = start + self._window - 1
        result = self._get(start, end)
        body = result.body
        if result.status == 206:
            match = _CONTENT_RANGE.fullmatch((result.headers.get("content-range") or "").strip())
            if not match or int(match.group(1)) != start or len(body) != int(match.group(2)) - start + 1:
                raise OSError(
                    f"{self._safe_url}: 206 with Content-Range {result.headers.get('content-range')!r}"
                    f" for bytes {start}-{end} ({len(body)} bytes): refused, not read as the range"
                )
            self._size = int(match.group(3)) if match.group(3) != "*" else None
        elif result.status == 416:
            body, self._size = b"", start  # asked past the end
        elif result.status == 200 and start == 0 and len(body) < self._window:
            self._size = len(body)  # a server without Range support sent the whole (small) file
        else:
            raise OSError(f"{self._safe_url}: HTTP {result.status} for bytes {start}-{end}: not the requested range")
        if self._size is not None and start + len(body) < min(self._size, end + 1):
            raise OSError(f"{self._safe_url}: bytes {start}-{end} came short ({len(body)} bytes)")
        self._buffer, self._buffer_start = body, start

    def _get(self, start: int, end: int) -> FetchResult:
        """One window, with retries and backoff for what a busy server answers."""
        wait = self._first_wait
        for attempt in range(1, self._attempts + 1):
            result = self._fetcher.get(
                self._url, extra_headers={"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
            )
            if result.error is None or (result.error == HTTP_STATUS and result.status == 416):
                return result
            retryable = result.status in RETRYABLE_STATUSES or (result.error != HTTP_STATUS and result.status is None)
            if result.error == "private_address" or not retryable or attempt == self._attempts:
                raise OSError(
                    f"{self._safe_url}: {result.error} for bytes {start}-{end} after {attempt} attempt(s):"
                    f" {redact_credentials(result.detail)}"
                )
            self._sleep(min(self._max_wait, max(wait, result.retry_after or 0.0)))
            wait *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    @property
    def _safe_url(self) -> str:
        return redact_credentials(self._url)

    def close(self) -> None:
        self._buffer = b""
        super().close()
