"""HTML extraction under a time budget: trafilatura in a child process that is replaced when a page overruns.

trafilatura and lxml run in C for long stretches, so a pathological page cannot be interrupted
inside the process that reads it, and a thread left running would keep burning the worker's
CPU. ``BudgetedExtractor`` hands each page to a long-lived child process (started on first use,
with the ``spawn`` method, so no Beam or gRPC thread is forked) and waits at most
``budget_s``: a page over budget kills the child, is reported as ``TooSlow`` with its size and
time, and the next page gets a fresh child. A page within budget costs one pipe round trip
(measured: 60 WCXB pages alternating, 16.0 s through the child against 16.6 s in process).
As with any ``spawn`` child, the parent's main module must be safe to import: ``python -m
pipeline``, the ``newsbeam`` script and Beam's worker entry points are; a script of your own
that uses ``BudgetedExtractor`` needs ``if __name__ == "__main__":``.

Before the size rule, pages are weighed by what extraction reads: ``strip_inert_markup``
removes scripts (except JSON-LD metadata), styles, inline JSON, templates and comments, which
make up most of many real 2-10 MiB pages and which trafilatura discards anyway.
"""

from __future__ import annotations

import html
import multiprocessing
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["DEFAULT_BUDGET_S", "BudgetedExtractor", "TooSlow", "prestart", "run_trafilatura", "strip_inert_markup"]

DEFAULT_BUDGET_S = 30.0
"""Seconds of extraction one page may take (a dense 2 MiB page takes ~10 s on a busy core)."""
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
"""htmldate output: the publication time with its UTC offset, not just the day."""

_INERT_PATTERN = (
    r"<script\b(?P<attrs>[^>]*)>.*?</script\s*>|<style\b[^>]*>.*?</style\s*>|<template\b[^>]*>.*?</template\s*>"
    r"|<!--.*?-->"
)
_INERT: dict[type, re.Pattern[Any]] = {
    bytes: re.compile(_INERT_PATTERN.encode(), re.IGNORECASE | re.DOTALL),
    str: re.compile(_INERT_PATTERN, re.IGNORECASE | re.DOTALL),
}
_JSON_LD: dict[type, re.Pattern[Any]] = {
    bytes: re.compile(rb"application/ld\+json", re.I),
    str: re.compile(r"application/ld\+json", re.I),
}
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_WARM_UP_PAGE = b"<html><body><article><p>Warm-up page for the extraction process.</p></article></body></html>"
_START_TIMEOUT_S = 300.0
MAX_JSON_LD_BYTES = 256 * 1024
"""A JSON-LD block (article metadata: headline, author, dates) is kept unless it is larger than this."""


@dataclass(frozen=True)
class TooSlow:
    """A page whose extraction ran over the budget."""

    size: int
    seconds: float
    budget_s: float

    def __str__(self) -> str:
        budget = f"more than {self.budget_s:g} s (stopped at {self.seconds:.1f} s)"
        return f"extraction of {self.size} bytes of HTML took {budget}"


def strip_inert_markup(html: bytes | str) -> bytes | str:
    """The page without scripts (JSON-LD metadata kept), styles, templates and comments."""
    kind = type(html)

    def replace(match: re.Match) -> Any:
        whole = match.group()
        attrs = match.group("attrs")
        if attrs is not None and _JSON_LD[kind].search(attrs) and len(whole) <= MAX_JSON_LD_BYTES:
            return whole
        return whole[:0]

    return _INERT[kind].sub(replace, html)


def run_trafilatura(body: bytes | str, url: str | None) -> dict[str, Any] | str:
    """trafilatura's text and metadata as a plain dict, or why there is none (runs in the child)."""
    import trafilatura
    import trafilatura.settings

    from transforms.normalise.urls import keep_valueless_parameters_in_trafilatura

    keep_valueless_parameters_in_trafilatura()
    try:
        extracted = trafilatura.bare_extraction(
            body,
            url=url,
            include_comments=False,
            with_metadata=True,
            date_extraction_params={**trafilatura.settings.set_date_params(True), "outputformat": DATE_FORMAT},
        )
    except (ValueError, TypeError, RecursionError) as err:  # lxml/trafilatura on hostile markup
        return f"trafilatura failed: {type(err).__name__}: {err}"
    if extracted is None or isinstance(extracted, dict) or not extracted.text:  # dict only with as_dict=True
        return "trafilatura found no main text"
    fields = ("text", "title", "date", "author", "sitename", "url", "description", "image", "categories", "tags")
    found = {name: getattr(extracted, name, None) for name in fields} | {"headings": page_headings(body)}
    if found["date"] and is_coarse_text_guess(found["date"], body):
        found |= {"date": None, "date_guess": found["date"]}
    return found | {"markdown": render_markdown(extracted.body)}


def is_coarse_text_guess(date: str, body: bytes | str) -> bool:
    """True when htmldate's date is the first of a month that only its free-text search found.

    Where a page declares no date, htmldate's extensive search falls back to a bare year or month in
    the text (a copyright line, "after 2024") and reports it as that year's 1 January or that month's
    first day: a day the page never gave. The markup-only search confirms a real first-of-month date.
    """
    if date[8:10] != "01":
        return False
    import htmldate
    import trafilatura.settings

    params = trafilatura.settings.set_date_params(False) | {"outputformat": DATE_FORMAT}
    return htmldate.find_date(body, **params) is None


def render_markdown(body: Any) -> str | None:
    """trafilatura's Markdown rendering of the extracted tree that gave the text (so both say the same)."""
    from trafilatura.xml import xmltotxt

    if body is None:
        return None
    return xmltotxt(body, include_formatting=True).strip() or None


def page_headings(body: bytes | str, limit: int = 3) -> list[str]:
    """The text of the page's first ``<h1>`` elements (tags dropped, entities decoded, whitespace collapsed)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    headings = []
    for match in _H1.finditer(text):
        heading = " ".join(html.unescape(_TAG.sub(" ", match.group(1))).split())
        if heading:
            headings.append(heading)
        if len(headings) == limit:
            break
    return headings


def _serve(connection: Connection) -> None:
    """The child's loop: one (body, url) in, one result out, until the pipe closes."""
    while True:
        try:
            body, url = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result: dict[str, Any] | str = run_trafilatura(body, url)
        except Exception as error:  # noqa: BLE001 - reported to the parent as a failed page, never a dead child
            result = f"trafilatura failed: {type(error).__name__}: {error}"
        connection.send(result)


_prestarted: list[tuple[Any, Connection]] = []
"""A child started by ``prestart``, waiting for the first ``BudgetedExtractor`` of this process."""


def _spawn() -> tuple[Any, Connection]:
    """A new extraction child, sent the warm-up page (its imports run now, outside any page's budget)."""
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    child = context.Process(target=_serve, args=(child_end,), daemon=True, name="newsbeam-html-extraction")
    child.start()
    child_end.close()
    parent.send((_WARM_UP_PAGE, None))
    return child, parent


def prestart() -> None:
    """Starts one extraction child now, so that it imports trafilatura while this process imports Beam
    and builds the pipeline; the first ``BudgetedExtractor`` of this process takes it over. For a
    run whose extraction runs in this process (a local runner in one process); elsewhere the child
    would wait unused."""
    if not _prestarted:
        _prestarted.append(_spawn())


class BudgetedExtractor:
    """``run_trafilatura`` in a child process, at most ``budget_s`` seconds per page."""

    def __init__(self, budget_s: float = DEFAULT_BUDGET_S):
        self.budget_s = budget_s
        self._child: Any = None
        self._connection: Connection | None = None

    def extract(self, body: bytes | str, url: str | None) -> dict[str, Any] | str | TooSlow:
        size = len(body)
        if self._connection is None:
            self._start()
        assert self._connection is not None
        start = time.monotonic()
        try:
            self._connection.send((body, url))
            if self._connection.poll(self.budget_s):
                return self._connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:  # the child died (e.g. out of memory)
            self.close()
            return f"extraction process failed: {type(error).__name__}: {error}"
        self.close()
        return TooSlow(size, time.monotonic() - start, self.budget_s)

    def close(self) -> None:
        """Stop the child (a new one starts with the next page)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._child is not None:
            self._child.kill()
            self._child.join(5)
            self._child = None

    def _start(self) -> None:
        self._child, parent = _prestarted.pop() if _prestarted else _spawn()
        self._connection = parent
        if not parent.poll(_START_TIMEOUT_S):
            self.close()
            raise RuntimeError(f"the HTML extraction process did not start within {_START_TIMEOUT_S:g} s")
        parent.recv()
