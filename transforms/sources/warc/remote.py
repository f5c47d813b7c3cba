"""WARC files over plain HTTPS (Common Crawl's data.commoncrawl.org): a seekable reader on Range requests.

Beam's FileSystems read local paths, ``gs://`` and ``s3://`` but not ``https://``; a slice of a
WARC starts in the middle of the file, so the reader asks for ``Range: bytes=OFFSET-`` and
streams from there, reconnecting at its position when a long download breaks.
"""

from __future__ import annotations

import io

import urllib3

from transforms.http.client import USER_AGENT

RECONNECTS = 3
READ_TIMEOUT = 60.0


def is_http_url(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


class HttpRangeReader(io.RawIOBase):
    """A read-only, seekable file over one URL; each seek starts a new ranged GET on the next read."""

    def __init__(self, url: str, pool: urllib3.PoolManager | None = None):
        super().__init__()
        self._url = url
        self._pool = pool or urllib3.PoolManager(
            retries=urllib3.Retry(total=5, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504)),
            timeout=urllib3.Timeout(connect=20.0, read=READ_TIMEOUT),
            headers={"User-Agent": USER_AGENT},
        )
        self._position = 0
        self._response: urllib3.BaseHTTPResponse | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._position + offset}.get(whence)
        if target is None:
            raise io.UnsupportedOperation("seek from the end of a remote file")
        if target != self._position:
            self._drop_response()
            self._position = target
        return self._position

    def readinto(self, buffer) -> int:
        for attempt in range(RECONNECTS + 1):
            try:
                data = self._open().read(len(buffer))
                break
            except (urllib3.exceptions.HTTPError, OSError):
                self._drop_response()
                if attempt == RECONNECTS:
                    raise
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._drop_response()
        super().close()

    def _open(self) -> urllib3.BaseHTTPResponse:
        if self._response is None:
            headers = {"Range": f"bytes={self._position}-"} if self._position else {}
            response = self._pool.request("GET", self._url, headers=headers, preload_content=False)
            if response.status not in (200, 206) or (self._position and response.status != 206):
                response.release_conn()
                raise OSError(f"{self._url}: HTTP {response.status} for bytes {self._position}-")
            self._response = response
        return self._response

    def _drop_response(self) -> None:
        if self._response is not None:
            self._response.release_conn()
            self._response = None
