"""Article URLs: one canonical form for every source and for extraction.

``canonical_url`` is the URL a row carries (and its id is hashed from): http(s) only, without
credentials, tracking parameters or fragment. Its normalisation is courlan's, except that a
query parameter without a value is kept.

courlan's ``normalize_url`` drops ``?12345`` and ``?r123``; on many sites such a parameter IS the
article's id, and dropping it gives distinct articles one URL (then marked copies of each other).
Every normalisation of an article URL goes through ``normalize_url`` here, trafilatura's too.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urldefrag, urlsplit

__all__ = ["canonical_url", "keep_valueless_parameters_in_trafilatura", "normalize_url"]

VALID_HOST = re.compile(r"(?:[\w-]+\.)+[\w-]+|\[[0-9a-fA-F:.]+\]|[0-9.]+")


def canonical_url(url: str | None) -> str | None:
    """courlan-normalised http(s) URL without credentials, tracking parameters or fragment; None if not a web URL.

    Validity is checked here rather than with courlan.check_url, a crawler filter that refuses
    valid article URLs (/gallery/, /page/, .pdf, upper-case schemes).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or not VALID_HOST.fullmatch(host):
        return None
    normalised = urlsplit(urldefrag(normalize_url(url.strip())).url)
    return normalised._replace(netloc=normalised.netloc.rpartition("@")[2]).geturl()  # credentials never reach a row


def normalize_url(url: str | SplitResult, strict: bool = False, language: str | None = None, **kwargs) -> str:
    """courlan's ``normalize_url`` (same signature), with the valueless query parameters put back, sorted."""
    import courlan
    from courlan.clean import TRACKERS_RE

    query = (url if isinstance(url, SplitResult) else urlsplit(url)).query
    normalised = urlsplit(courlan.normalize_url(url, strict, language, **kwargs))
    valueless = sorted(
        {
            name
            for name, _, value in (part.partition("=") for part in query.split("&"))
            if name and not value and not TRACKERS_RE.search(unquote_plus(name).lower())
        }
    )
    if strict or not valueless:
        return normalised.geturl()
    kept = [normalised.query] if normalised.query else []
    return normalised._replace(path=normalised.path or "/", query="&".join(kept + valueless)).geturl()


def keep_valueless_parameters_in_trafilatura() -> None:
    """trafilatura's canonical-link reading normalises with courlan's function: make it use ours."""
    import trafilatura.metadata

    trafilatura.metadata.normalize_url = normalize_url  # type: ignore[assignment]  # same call shape, wider signature
