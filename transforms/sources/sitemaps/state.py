"""What the pipeline remembers about each sitemap between runs: validators, lastmod, pages handed on.

Kept in ``STATE/sitemaps.json`` (through Beam's FileSystems, written atomically after the run's
commit, like ``feeds.json``). A later run sends the validators (a 304 lists nothing new), skips a
child sitemap whose ``<lastmod>`` in its index has not changed, and fetches only the pages whose
URL, or whose ``lastmod``/news date, it has not handled before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from apache_beam.io.filesystems import FileSystems

from transforms.http.client import FetchResult
from transforms.output.files import CorruptStateFile, read_json, write_json_atomically
from transforms.output.layout import SITEMAPS_FILE

SITEMAPS_WAY_OUT = (
    "Move it aside (mv {path} {path}.unreadable) to start the sitemap states afresh (each sitemap is then"
    " fetched in full once; pages already ingested are still skipped), or restore it from a backup."
)


@dataclass(frozen=True)
class SitemapState:
    """One sitemap's memory; ``pages`` maps each page URL handled to the version (lastmod) handled."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    lastmod: str | None = None  # the <lastmod> its index gave it when it was last read
    last_status: int | None = None
    last_error: str | None = None
    last_fetched_at: dt.datetime | None = None
    pages: Mapping[str, str] = field(default_factory=dict)

    def knows(self, url: str, version: str) -> bool:
        """This page, in this version, was handled by an earlier run."""
        return url in self.pages and (not version or self.pages[url] >= version)


@dataclass(frozen=True)
class HandledPage:
    """A page whose fetch ended for good (a document, or a reject that a retry would not change)."""

    sitemap_url: str
    url: str
    version: str


def after_fetch(state: SitemapState, result: FetchResult, lastmod: str | None, now: dt.datetime) -> SitemapState:
    """Validators and status after one fetch; a failed fetch keeps the old validators but not the lastmod."""
    if result.error:
        return dataclasses.replace(
            state, last_status=result.status, last_error=result.error, last_fetched_at=now, lastmod=None
        )
    return dataclasses.replace(
        state,
        etag=result.headers.get("etag") or (state.etag if result.not_modified else None),
        last_modified=result.headers.get("last-modified") or (state.last_modified if result.not_modified else None),
        lastmod=lastmod,
        last_status=result.status,
        last_error=None,
        last_fetched_at=now,
    )


def unreadable(state: SitemapState, error: str) -> SitemapState:
    """A body that is no sitemap: forget the validators, so a 304 next time can't hide it."""
    return dataclasses.replace(state, etag=None, last_modified=None, lastmod=None, last_error=error)


def with_handled(states: Mapping[str, SitemapState], handled: Iterable[HandledPage]) -> dict[str, SitemapState]:
    """The states with every handled page recorded under its sitemap."""
    pages: dict[str, dict[str, str]] = {}
    for page in handled:
        pages.setdefault(page.sitemap_url, {})[page.url] = page.version
    merged = dict(states)
    for url, new in pages.items():
        old = merged.get(url) or SitemapState(url)
        merged[url] = dataclasses.replace(old, pages={**old.pages, **new})
    return merged


class SitemapStateStore:
    """``STATE/sitemaps.json``: every sitemap's state, keyed by URL."""

    def __init__(self, state_dir: str):
        self.path = FileSystems.join(state_dir.rstrip("/"), SITEMAPS_FILE)

    def load(self) -> dict[str, SitemapState]:
        """Every sitemap's state; raises ``CorruptStateFile`` for a file that doesn't read as one."""
        if not FileSystems.exists(self.path):
            return {}
        try:
            return {url: _from_json(url, value) for url, value in read_json(self.path)["sitemaps"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise CorruptStateFile(self.path, err, SITEMAPS_WAY_OUT) from err

    def save(self, states: Iterable[SitemapState]) -> None:
        write_json_atomically(self.path, {"sitemaps": {s.url: _to_json(s) for s in states}})


def save_sitemap_states(
    record: dict,
    fetched: list[SitemapState],
    handled: list[HandledPage],
    state_dir: str,
    known: dict[str, SitemapState],
) -> dict:
    """After the run's commit: fetched sitemaps' new states and the pages handled; returns ``record``."""
    if fetched or handled:
        merged = {**known}
        for state in fetched:  # a fresh state carries validators; the pages handled before stay
            merged[state.url] = dataclasses.replace(state, pages=known[state.url].pages if state.url in known else {})
        SitemapStateStore(state_dir).save(with_handled(merged, handled).values())
    return record


def _to_json(state: SitemapState) -> dict:
    value = dataclasses.asdict(state)
    value.pop("url")
    value["last_fetched_at"] = state.last_fetched_at.isoformat() if state.last_fetched_at else None
    value["pages"] = dict(state.pages)
    return value


def _from_json(url: str, value: dict) -> SitemapState:
    if not isinstance(value, dict) or not isinstance(value.get("pages", {}), dict):
        raise TypeError(f"the state of {url} is not an object with an object of pages")
    fetched = value.get("last_fetched_at")
    known = {f.name for f in dataclasses.fields(SitemapState)}
    fields = {k: v for k, v in value.items() if k in known and k != "url"}
    fields["last_fetched_at"] = dt.datetime.fromisoformat(fetched) if fetched else None
    return SitemapState(url=url, **fields)
