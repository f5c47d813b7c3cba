"""HTML extraction under a time budget: trafilatura in a child process that is replaced when a page overruns.

trafilatura and lxml run in C for long stretches, so a pathological page cannot be interrupted
inside the process that reads it, and a thread left running would keep burning the worker's
CPU. ``BudgetedExtractor`` hands each page to a long-lived child process (started on first use,
with the ``spawn`` method, so no Beam or gRPC thread is forked) and waits at most
``budget_s``: a page over budget kills the child, is reported as ``TooSlow`` with its size and
time, and the next page gets a fresh child. A page within budget costs one pipe round trip
(measured: 60 WCXB pages alternating, 16.0 s through the child against 16.6 s in process).
The child is started without importing the parent's main module (its work lives here), so a
script or notebook calling ``newsbeam.run`` needs no ``if __name__ == "__main__":`` guard.

Before the size rule, pages are weighed by what extraction reads: ``strip_inert_markup``
removes scripts (except JSON-LD metadata), styles, inline JSON, templates and comments, which
make up most of many real 2-10 MiB pages and which trafilatura discards anyway.
"""

from __future__ import annotations

import contextlib
import html
import multiprocessing
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = [
    "DEFAULT_BUDGET_S",
    "PAGES_PER_BATCH",
    "BudgetedExtractor",
    "ExtractionPool",
    "TooSlow",
    "prestart",
    "run_trafilatura",
    "strip_inert_markup",
    "usable_cores",
]

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
PAGES_PER_BATCH = 4
"""Pages an ``ExtractionPool`` sends an idle extraction process in one message (it answers each page when done)."""
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
    """The child's loop: a batch of (body, url) pages in, one (result, finished at) out per page as each is done,
    until the pipe closes. ``finished at`` is ``time.monotonic()`` (one clock for every process of the machine): the
    parent times the next page of the batch from it."""
    while True:
        try:
            batch = connection.recv()
        except (EOFError, OSError):
            return
        for body, url in batch:
            try:
                result: dict[str, Any] | str = run_trafilatura(body, url)
            except Exception as error:  # noqa: BLE001 - reported to the parent as a failed page, never a dead child
                result = f"trafilatura failed: {type(error).__name__}: {error}"
            connection.send((result, time.monotonic()))


_prestarted: list[tuple[Any, Connection]] = []
"""A child started by ``prestart``, waiting for the first ``BudgetedExtractor`` of this process."""


def _spawn() -> tuple[Any, Connection]:
    """A new extraction child, sent the warm-up page (its imports run now, outside any page's budget)."""
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    child = context.Process(target=_serve, args=(child_end,), daemon=True, name="newsbeam-html-extraction")
    with _main_module_left_alone():
        child.start()
    child_end.close()
    parent.send([(_WARM_UP_PAGE, None)])
    return child, parent


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_module_left_alone() -> Iterator[None]:
    """While a ``spawn`` child starts, ``__main__`` shows neither a file nor a module name, so the child does
    not run the parent's script again (a script without a main guard would call ``newsbeam.run`` in it)."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _MAIN_LOCK:
        path, spec = main.__dict__.pop("__file__", None), getattr(main, "__spec__", None)
        main.__spec__ = None
        try:
            yield
        finally:
            main.__spec__ = spec
            if path is not None:
                main.__file__ = path


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
            self._connection.send([(body, url)])
            if self._connection.poll(self.budget_s):
                return self._connection.recv()[0]
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


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(eq=False)
class _Page:
    """One page waiting in an ``ExtractionPool``: its markup, then its result."""

    body: bytes | str
    url: str | None
    result: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    def resolve(self, result: Any) -> None:
        self.result = result
        self.done.set()


@dataclass(eq=False)
class _Child:
    """One extraction process of an ``ExtractionPool`` and the batch it is working on."""

    process: Any
    connection: Connection
    started_at: float
    ready: bool = False  # it has answered the warm-up page
    batch: deque[_Page] = field(default_factory=deque)  # sent, not answered yet; the first is being extracted
    page_started: float = 0.0  # when the first page of ``batch`` started


class ExtractionPool:
    """``run_trafilatura`` in up to ``size`` child processes, each page at most ``budget_s`` seconds; thread-safe.

    ``extract`` has ``BudgetedExtractor.extract``'s contract: it queues the page and waits for its result, so
    that several threads extract at once and the calling process does its own work meanwhile. One collector
    thread owns the children: it sends an idle child up to ``PAGES_PER_BATCH`` queued pages in one message, and
    the child answers each page with the time it finished, which is when the next page of the batch started. A
    page that runs over the budget gets its child killed: the page becomes ``TooSlow`` (its size and time) and
    the rest of its batch goes back to the front of the queue, for a fresh child. A child that dies (out of
    memory) fails its current page ("extraction process failed") and the rest of its batch is retried the same
    way. Children start when needed, one more whenever every started child is busy, up to ``size``: a run of one
    page starts one (the ``prestart`` child, if there is one). The pool can be shared by the DoFns of one
    process (``shared``), so a graph with four extraction steps still has ``size`` children.
    """

    _shared: dict[tuple[int, float], tuple[ExtractionPool, int]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, size: int, budget_s: float = DEFAULT_BUDGET_S):
        self.size = max(1, size)
        self.budget_s = budget_s
        self._lock = threading.Lock()
        self._queue: deque[_Page] = deque()
        self._children: list[_Child] = []
        self._closed = False
        self._failure: BaseException | None = None
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        if _prestarted:
            process, connection = _prestarted.pop()
            self._children.append(_Child(process, connection, time.monotonic()))
        self._collector = threading.Thread(target=self._collect, name="newsbeam-extraction-pool", daemon=True)
        self._collector.start()

    @classmethod
    def shared(cls, size: int, budget_s: float = DEFAULT_BUDGET_S) -> ExtractionPool:
        """This process's pool of that size and budget, started on first use; ``release`` it when done."""
        with cls._shared_lock:
            pool, users = cls._shared.get((size, budget_s), (None, 0))
            if pool is None or pool._closed:
                pool, users = cls(size, budget_s), 0
            cls._shared[(size, budget_s)] = (pool, users + 1)
            return pool

    def release(self) -> None:
        """One user of a ``shared`` pool is done; the last one closes it."""
        with self._shared_lock:
            key = (self.size, self.budget_s)
            pool, users = self._shared.get(key, (None, 0))
            if pool is not self:
                return
            if users > 1:
                self._shared[key] = (pool, users - 1)
                return
            del self._shared[key]
        self.close()

    @property
    def concurrency(self) -> int:
        """Pages worth having in the pool at once: a batch being extracted and the next one, per child."""
        return self.size * PAGES_PER_BATCH * 2

    def extract(self, body: bytes | str, url: str | None) -> dict[str, Any] | str | TooSlow:
        page = _Page(body, url)
        with self._lock:
            if self._failure is not None:
                raise RuntimeError(f"the HTML extraction pool failed: {self._failure}")
            if self._closed:
                raise RuntimeError("the HTML extraction pool is closed")
            self._queue.append(page)
        self._wake()
        page.done.wait()
        if isinstance(page.result, BaseException):
            raise RuntimeError(f"the HTML extraction pool failed: {page.result}") from page.result
        return page.result

    def close(self) -> None:
        """Stop the collector and every child; pages still queued fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake()
        self._collector.join(10)
        with self._lock:
            self._fail_waiting(RuntimeError("the HTML extraction pool was closed"))
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"x")
        except OSError:  # closed: the collector has stopped
            pass

    def _drain_wake(self) -> None:
        try:
            while len(os.read(self._wake_read, 4096)) == 4096:
                pass
        except BlockingIOError:  # exactly a multiple of 4096 bytes were waiting
            pass

    def _collect(self) -> None:
        """The collector's loop: send batches, receive results, enforce the budget, until ``close``."""
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    self._dispatch()
                    connections = {child.connection: child for child in self._children}
                    timeout = self._until_next_deadline()
                ready = wait([*connections, self._wake_read], timeout)
                if self._wake_read in ready:
                    self._drain_wake()
                with self._lock:
                    for connection in ready:
                        if connection in connections:
                            self._receive(connections[connection])
                    self._enforce_budget()
        except BaseException as error:  # noqa: BLE001 - every waiting page gets the failure, none waits forever
            with self._lock:
                self._failure = error
                self._fail_waiting(error)

    def _fail_waiting(self, error: BaseException) -> None:
        """Every page in a batch or in the queue gets ``error``; the processes are stopped (lock held)."""
        for child in self._children:
            for page in child.batch:
                page.resolve(error)
            self._kill(child)
        self._children.clear()
        for page in self._queue:
            page.resolve(error)
        self._queue.clear()

    def _dispatch(self) -> None:
        """Queued pages to idle children; one more child when every started one is busy."""
        while self._queue:
            idle = next((c for c in self._children if c.ready and not c.batch), None)
            if idle is None:
                if len(self._children) < self.size and all(c.ready for c in self._children):
                    process, connection = _spawn()
                    self._children.append(_Child(process, connection, time.monotonic()))
                return
            batch = [self._queue.popleft() for _ in range(min(PAGES_PER_BATCH, len(self._queue)))]
            try:
                idle.connection.send([(page.body, page.url) for page in batch])
            except (OSError, ValueError):  # the child is gone: its pages wait for another one
                self._queue.extendleft(reversed(batch))
                self._drop(idle)
                continue
            idle.batch.extend(batch)
            idle.page_started = time.monotonic()

    def _receive(self, child: _Child) -> None:
        try:
            result, finished = child.connection.recv()
        except (EOFError, OSError) as error:  # the child died (e.g. out of memory)
            if not child.ready:
                raise RuntimeError(f"the HTML extraction process exited while starting: {error!r}") from error
            self._drop(child, f"extraction process failed: {type(error).__name__}: {error}")
            return
        if not child.ready:
            child.ready = True  # the warm-up page
            return
        child.batch.popleft().resolve(result)
        child.page_started = finished

    def _enforce_budget(self) -> None:
        now = time.monotonic()
        for child in list(self._children):
            if child.batch and now - child.page_started > self.budget_s:
                page = child.batch[0]
                self._drop(child, TooSlow(len(page.body), now - child.page_started, self.budget_s))
            elif not child.ready and now - child.started_at > _START_TIMEOUT_S:
                raise RuntimeError(f"the HTML extraction process did not start within {_START_TIMEOUT_S:g} s")

    def _until_next_deadline(self) -> float | None:
        deadlines = [c.page_started + self.budget_s for c in self._children if c.batch]
        deadlines += [c.started_at + _START_TIMEOUT_S for c in self._children if not c.ready]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _drop(self, child: _Child, first_result: Any = None) -> None:
        """Kill the child: the page it was extracting gets ``first_result``, the rest of its batch is queued again."""
        self._kill(child)
        self._children.remove(child)
        if child.batch and first_result is not None:
            child.batch.popleft().resolve(first_result)
        self._queue.extendleft(reversed(child.batch))
        child.batch.clear()

    @staticmethod
    def _kill(child: _Child) -> None:
        child.connection.close()
        child.process.kill()
        child.process.join(5)
