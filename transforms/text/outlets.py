"""Who published an article: one rule for the ``source`` column and for every command that shows an outlet.

- ``site_name``, at extraction: the name the page itself declares (``og:site_name`` and the like,
  as trafilatura reads it), else the name the input item declares for itself (a news sitemap's
  publication, a JSON Lines record's ``source``, an aggregated feed item's ``<source>``). A
  feed's title is never an outlet: an aggregator's feed would put every article under the
  aggregator, so a feed entry whose page declares no name is left to its URL's host.
- ``outlet``, when a table is read (``report``, ``stories``): that site name, else the host of
  the article's URL (without ``www.``), else ``local files`` (a seed text without a URL).
  ``OUTLET_MACRO`` is the same rule as a DuckDB macro, defined with the views of ``query`` (and
  in ``examples/views.sql``), so SQL reads ``outlet(source, url)``; a test holds the two equal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_FILES = "local files"
"""The outlet of an article with neither a site name nor a web URL (a seed text file)."""


OUTLET_MACRO = (
    "CREATE OR REPLACE MACRO outlet(source, url) AS coalesce(nullif(trim(source), ''), "
    "nullif(regexp_replace(regexp_replace(lower(regexp_extract(url, "
    "'^https?://(?:[^/?#]*@)?(\\[[^\\]/?#]*\\]|[^/?#:@]+)', 1, 'i')), '^\\[|\\]$', '', 'g'), '^www\\.', ''), ''), "
    f"'{LOCAL_FILES}');"
)
"""``outlet`` in DuckDB SQL (trim strips spaces only: site names are already clean text)."""


def site_name(
    page: str | None, item: str | None, feed_title: str | None = None, page_url: str | None = None
) -> str | None:
    """The ``source`` column: what the page declares, else what the item declares unless it is its feed's title.

    A page "name" that is only the page's host (trafilatura's fallback when nothing is declared,
    ``www.example.com`` or ``127.0.0.1:8080``) gives way to a name the item declares, and is kept
    as ``web_host`` gives it otherwise.
    """
    declared = _text(item) if _text(item) != _text(feed_title) else None
    name = _text(page)
    if name and _names_the_host(name, page_url):
        return declared or web_host(page_url)  # the host as every command shows it (no port, no www.)
    return name or declared


def _names_the_host(name: str, url: str | None) -> bool:
    """True when ``name`` is only the URL's host (or host:port), as trafilatura falls back to."""
    host = web_host(url)
    bare = name.lower().removeprefix("www.")
    return host is not None and (bare == host or bare.rsplit(":", 1)[0] == host)


def outlet(source: str | None, url: str | None) -> str:
    """The outlet shown for an article: its site name, else its URL's host, else ``local files``."""
    return _text(source) or web_host(url) or LOCAL_FILES


def web_host(url: str | None) -> str | None:
    """The lower-case host of an http(s) URL (without ``www.``), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host.removeprefix("www.")


def _text(value: str | None) -> str | None:
    return value.strip(" ") or None if value else None
