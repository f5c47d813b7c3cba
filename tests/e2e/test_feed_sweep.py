"""The feedparser test corpus over HTTP: no feed, however broken, crashes a run or vanishes.

All 2,249 files of ``shared/data/feeds/feedparser-tests`` are served from one loopback server,
each with the HTTP headers its ``Header:`` comment lines ask for (as feedparser's own test server
does: ``Status`` sets the status line, ``Location`` points back at this server, the compression
files go out with their Content-Encoding). One CLI run polls every file as a feed
(``--no-fetch-articles``), then every feed must be accounted for: an article row, a rejects row,
or a well-formed feed with zero entries.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit

import duckdb
import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.http_server import LoopbackServer, RecordedRequest, Reply
from transforms.sources.feeds.parsing import parse_feed

CORPUS = SHARED_DATA / "feeds" / "feedparser-tests"
FEEDPARSER_SERVER = b"http://localhost:8097"
"""Where the corpus's Location headers point: feedparser's own test server, i.e. ours."""
RETURN_304 = "/-/return-304.xml"
"""feedparser's test server answers this path with 304 (the target of http_redirect_to_304.xml)."""
HEADER_LINE = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
RUN_TIMEOUT = 1800


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def url_path(file: Path) -> str:
    return "/tests/" + quote(file.relative_to(CORPUS).as_posix())


def reply_for(file: Path, base_url: str) -> Reply:
    """The file as feedparser's test server sends it: its Header: lines as headers, Status as the status."""
    body = file.read_bytes()
    headers: dict[str, str] = {}
    for name, value in HEADER_LINE.findall(body):
        headers[name.decode("utf-8").strip()] = (
            value.replace(FEEDPARSER_SERVER, base_url.encode()).decode("utf-8").strip()
        )
    status = int(headers.pop("Status", "200"))
    lower = {name.lower() for name in headers}
    if file.parent.name == "compression":
        headers["Content-Encoding"] = "gzip" if file.suffix == ".gz" else "deflate"
        headers.setdefault("Content-Type", "application/xml")
    elif "content-type" not in lower:
        headers["Content-Type"] = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return Reply(status, body, headers)


def final_body(replies: dict[str, Reply], path: str) -> Reply | None:
    """The reply a client ends up with for ``path`` after following this server's redirects."""
    for _ in range(10):
        reply = replies.get(path)
        if reply is None or reply.status not in (301, 302, 303, 307, 308):
            return reply
        location = next((v for k, v in reply.headers.items() if k.lower() == "location"), None)
        if location is None:
            return reply
        path = urlsplit(location).path
    return None


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (shared development data)")
    files = corpus_files()
    work = tmp_path_factory.mktemp("sweep")
    with LoopbackServer() as server:
        replies = {url_path(file): reply_for(file, server.base_url) for file in files}
        replies[RETURN_304] = Reply(304, b"", {"Content-Type": "text/xml"})

        def serve(request: RecordedRequest) -> Reply:
            return replies[urlsplit(request.path).path]

        for path in replies:
            server.route(path, serve)
        urls = [server.url(url_path(file)) for file in files]
        feeds_file = work / "feeds.txt"
        feeds_file.write_text("# the feedparser test corpus\n" + "\n".join(urls) + "\n")
        out = work / "out"
        argv = [
            "run",
            "-v",  # the counters, one per line under the summary
            "--feeds",
            str(feeds_file),
            "--output",
            str(out),
            "--catalog",
            "",
            "--no-fetch-articles",
            "--host-delay",
            "0",
            "--allow-private-network",
        ]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", *argv],
            check=False,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        elapsed = time.monotonic() - started
        requested = {urlsplit(r.path).path for r in server.requests}
        base_url = server.base_url
    return {
        "files": files,
        "urls": urls,
        "out": out,
        "result": result,
        "elapsed": elapsed,
        "replies": replies,
        "requested": requested,
        "base_url": base_url,
    }


def query(sql: str) -> list[tuple]:
    return duckdb.sql(sql).fetchall()


@pytest.fixture(scope="module")
def accounting(sweep):
    """Per feed: article rows, rejects rows, state; and the feeds that are valid but empty."""
    out = sweep["out"]
    assert sweep["result"].returncode == 0, sweep["result"].stderr[-5000:]
    articles = (
        Counter(
            dict(
                query(
                    f"SELECT source_uri, count(*) FROM read_parquet('{out}/articles/*/*.parquet', "
                    "hive_partitioning=true) GROUP BY 1"
                )
            )
        )
        if list((out / "articles").glob("*/*.parquet"))
        else Counter()
    )
    reject_rows = (
        query(f"SELECT source_uri, reason FROM read_parquet('{out}/rejects/*/*.parquet', hive_partitioning=true)")
        if list((out / "rejects").glob("*/*.parquet"))
        else []
    )
    rejects_by_feed: dict[str, list[str]] = {}
    for source_uri, reason in reject_rows:
        rejects_by_feed.setdefault(source_uri.partition("#entry=")[0], []).append(reason)
    states = {item["feed_url"]: item for item in json.loads((out / "_state" / "feeds.json").read_text())["feeds"]}
    with_articles = {url for url in sweep["urls"] if articles[url]}
    with_rejects = {url for url in sweep["urls"] if url in rejects_by_feed}
    without_rows = [url for url in sweep["urls"] if url not in with_articles | with_rejects]
    empty_valid = [url for url in without_rows if (states.get(url) or {}).get("last_status") == 200]
    unaccounted = [url for url in without_rows if url not in empty_valid]
    figures = {
        "feeds": len(sweep["urls"]),
        "feeds_with_articles": len(with_articles),
        "articles": sum(articles[url] for url in sweep["urls"]),
        "feeds_with_rejects": len(with_rejects),
        "rejects": dict(Counter(reason for _, reason in reject_rows).most_common()),
        "empty_valid_feeds": len(empty_valid),
        "unaccounted": len(unaccounted),
        "crashes": 0 if sweep["result"].returncode == 0 else 1,
        "seconds": round(sweep["elapsed"], 1),
    }
    print("\nfeedparser corpus sweep: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    return {
        "articles": articles,
        "rejects_by_feed": rejects_by_feed,
        "reject_rows": reject_rows,
        "states": states,
        "empty_valid": empty_valid,
        "unaccounted": unaccounted,
        "figures": figures,
    }


def test_the_run_does_not_crash(sweep):
    result = sweep["result"]
    assert result.returncode == 0, result.stderr[-5000:]
    assert re.search(r"feeds polled\s+\d+", result.stdout), result.stdout
    assert len(sweep["files"]) >= 2249


def test_every_file_was_requested(sweep):
    expected = {url_path(file) for file in sweep["files"]}
    assert not expected - sweep["requested"]


def test_every_feed_has_a_state_with_a_status(sweep, accounting):
    states = accounting["states"]
    missing = [url for url in sweep["urls"] if url not in states]
    without_status = [url for url in sweep["urls"] if url in states and states[url].get("last_status") is None]
    assert missing == [] and without_status == [], (missing[:10], without_status[:10])


def test_every_feed_is_accounted_for(sweep, accounting):
    """Articles, rejects, or a well-formed feed with zero entries; nothing else (one known gap aside)."""
    unaccounted = [url.removeprefix(sweep["base_url"]) for url in accounting["unaccounted"]]
    assert set(unaccounted) <= {"/tests/http/http_redirect_to_304.xml"}, unaccounted


def test_a_304_to_an_unconditional_request_is_not_silently_dropped(sweep, accounting):
    url = sweep["base_url"] + "/tests/http/http_redirect_to_304.xml"
    if accounting["states"].get(url, {}).get("last_status") != 304:
        pytest.fail(f"the redirect to 304 was not seen as such: {accounting['states'].get(url)}")
    assert url not in accounting["unaccounted"]


def test_empty_valid_feeds_really_have_no_entries(sweep, accounting):
    """A feed counted as 'valid, zero entries' must not be a feed whose entries were lost on the way."""
    lost = []
    for url in accounting["empty_valid"]:
        reply = final_body(sweep["replies"], urlsplit(url).path)
        assert reply is not None and reply.status == 200, url
        headers = dict(reply.headers)
        if headers.get("Content-Encoding"):
            continue  # the parse below works on decoded bodies only; compressed files have entries or rejects
        parsed = parse_feed(reply.body, headers, url)
        if parsed.entries:
            lost.append((url, len(parsed.entries)))
    assert lost == []


def test_entry_rows_reconcile_with_the_entries_counter(sweep, accounting):
    """Every polled entry became an article row or an entry-level rejects row (one run: nothing seen before)."""
    counters = dict(re.findall(r"^\s+([\w.]+) = (\d+)$", sweep["result"].stdout, re.MULTILINE))
    entries = int(counters.get("feeds.entries", 0))
    entry_rejects = sum(1 for source_uri, _ in accounting["reject_rows"] if "#entry=" in source_uri)
    assert entries > 1000
    assert sum(accounting["articles"].values()) + entry_rejects == entries


def test_no_leftovers(sweep):
    out = sweep["out"]
    assert not [p for p in out.rglob("*") if p.name.startswith("_staging-") or p.name.endswith(".tmp")]
