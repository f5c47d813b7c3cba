"""robots.txt per origin, parsed with protego: allowed, missing (4xx) or unreachable (5xx, errors)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from protego import Protego

from transforms.http.client import (
    HTTP_STATUS,
    REDIRECT_LOOP,
    TOO_MANY_REDIRECTS,
    FetchError,
    FetchResult,
    HttpFetcher,
    _parse_target,
)

ROBOTS_RULES = "robots_rules"
"""The decision comes from the site's robots.txt rules."""
ROBOTS_MISSING = "robots_missing"
"""robots.txt answered 4xx (or redirected too often): everything is allowed."""
ROBOTS_UNREACHABLE = "robots_unreachable"
"""robots.txt answered 5xx or 429, or could not be fetched: nothing is allowed."""


@dataclass(frozen=True)
class RobotsDecision:
    allowed: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class _RobotsFile:
    """One origin's robots.txt: rules to consult, or a fixed decision when there are none."""

    rules: Protego | None
    fixed: RobotsDecision | None = None


class RobotsCache:
    """robots.txt per scheme://host:port, fetched once through the fetcher and kept for the object's life.

    2xx: the rules for our product token; 4xx: allow all; 5xx, 429 and fetch errors: disallow.
    Thread-safe: concurrent questions about one origin wait for a single fetch.
    """

    def __init__(self, fetcher: HttpFetcher):
        self._fetcher = fetcher
        self._agent = _product_token(fetcher.policy.user_agent)
        self._files: dict[str, _RobotsFile] = {}
        self._origin_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        return self.decide(url).allowed

    def decide(self, url: str) -> RobotsDecision:
        """Whether ``url`` may be fetched, with the reason (``ROBOTS_*``) and a detail."""
        origin = origin_of(url)
        if origin is None:
            return RobotsDecision(False, ROBOTS_UNREACHABLE, f"no http(s) origin in {url!r}")
        robots = self._file_for(origin)
        if robots.fixed is not None:
            return robots.fixed
        if robots.rules is not None and not robots.rules.can_fetch(url, self._agent):
            return RobotsDecision(False, ROBOTS_RULES, f"disallowed for {self._agent} by {origin}/robots.txt")
        return RobotsDecision(True, ROBOTS_RULES, f"allowed by {origin}/robots.txt")

    def _file_for(self, origin: str) -> _RobotsFile:
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            if origin not in self._files:
                self._files[origin] = _robots_file(self._fetcher.get(f"{origin}/robots.txt", accept="text/plain"))
            return self._files[origin]


def _robots_file(result: FetchResult) -> _RobotsFile:
    """Interpret a robots.txt fetch as RFC 9309 says: rules, allow-all (4xx) or disallow-all."""
    if result.error is None:
        return _RobotsFile(Protego.parse(result.body.decode("utf-8", errors="replace")))
    if (
        result.error == HTTP_STATUS
        and result.status is not None
        and 400 <= result.status < 500
        and result.status != 429
    ):
        return _RobotsFile(None, RobotsDecision(True, ROBOTS_MISSING, f"robots.txt answered HTTP {result.status}"))
    if result.error in (REDIRECT_LOOP, TOO_MANY_REDIRECTS):
        return _RobotsFile(None, RobotsDecision(True, ROBOTS_MISSING, f"robots.txt: {result.detail}"))
    what = f"HTTP {result.status}" if result.error == HTTP_STATUS else f"{result.error}: {result.detail}"
    return _RobotsFile(None, RobotsDecision(False, ROBOTS_UNREACHABLE, f"robots.txt unreachable ({what})"))


def origin_of(url: str) -> str | None:
    """'scheme://host[:port]' with the default port left out; None for non-http(s) or host-less URLs."""
    try:
        target = _parse_target(url)
    except FetchError:
        return None
    return f"{target.scheme}://{target.host_header}"


def _product_token(user_agent: str) -> str:
    """The name robots.txt groups match against: 'newsbeam' in 'newsbeam/0.1 (+https://…)'."""
    words = user_agent.split()
    return words[0].split("/", 1)[0] if words else ""
