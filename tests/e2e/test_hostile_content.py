"""Hostile content: entity bombs, external entities, monstrous HTML, garbage, lying charsets, empty files,
odd file names.

In-process tests measure the time and memory one item may take (the limits in docs/robustness.md);
one CLI run feeds all of it through the whole pipeline at once and checks that every item is
an article or a rejects row, that no secret leaks into any output, and that nothing is written
outside the output directory.
"""

from __future__ import annotations

import gzip
import os
import random
import time
import tracemalloc
from pathlib import Path

import duckdb
import pytest

from tests.e2e.test_feeds import HTML_TYPE, RSS_TYPE, long_text, run_feeds
from tests.http_server import LoopbackServer, Reply
from transforms.run.context import RunContext
from transforms.sources.document import SourceDocument
from transforms.sources.feeds.lists import read_feed_list
from transforms.sources.feeds.parsing import feed_problem, parse_feed
from transforms.sources.seeds import read_seed_file
from transforms.text.extract import MAX_HTML_BYTES, extract_article

RUN = RunContext.start()
SECRET = "TOPSECRET-7f3a9c"
LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>'
    '<rss version="2.0"><channel><title>&lol9;</title><item><title>laughs &lol9;</title>'
    "<link>http://127.0.0.1:1/laughs</link><guid>laughs-1</guid><description>&lol9; "
    + long_text("laughs")
    + "</description>"
    "</item></channel></rss>"
).encode()
QUADRATIC_BLOWUP = (
    f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]><rss version="2.0"><channel><title>q</title>'
    + "<item><title>q</title><guid>q1</guid><description>"
    + "&a;" * 50_000
    + "</description></item></channel></rss>"
).encode()


def external_entity_feed(system_id: str, guid: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY ext SYSTEM "{system_id}">]>'
        f'<rss version="2.0"><channel><title>ext</title><item><title>ext &ext;</title><guid>{guid}</guid>'
        f"<link>http://127.0.0.1:1/{guid}</link><description>&ext; {long_text(guid)}</description>"
        "</item></channel></rss>"
    ).encode()


def nested_html(depth: int) -> bytes:
    return (
        "<html><body>" + "<div>" * depth + "<p>" + "word " * 300 + "</p>" + "</div>" * depth + "</body></html>"
    ).encode()


def measured(call):
    """(result, CPU seconds of this process, peak MiB of Python allocations).

    CPU time, not wall-clock time: an expanding bomb burns CPU, while a busy machine only stretches the wall clock.
    """
    tracemalloc.start()
    started = time.process_time()
    try:
        result = call()
        return result, time.process_time() - started, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# --- in process: bounded time and memory per item ---------------------------------------------


@pytest.mark.parametrize("body", [BILLION_LAUGHS, QUADRATIC_BLOWUP], ids=["billion_laughs", "quadratic_blowup"])
def test_entity_bombs_do_not_expand(body):
    parsed, seconds, peak = measured(
        lambda: parse_feed(body, {"content-type": "application/rss+xml"}, "http://example.org/f")
    )
    assert seconds < 15 and peak < 64, (seconds, peak)  # ~0.3 s without tracemalloc on a busy core
    for entry in parsed.entries:  # the references stay unexpanded text ('&lol9', '&a&a…'), never the entity values
        for text in (entry.title, entry.summary_text, entry.content_text):
            assert "lol" * 10 not in (text or "") and "x" * 1000 not in (text or "")


@pytest.mark.parametrize("system_id", ["file:///etc/passwd", "file:///etc/hostname", "http://127.0.0.1:9/secret"])
def test_external_entities_are_never_resolved(system_id):
    parsed = parse_feed(
        external_entity_feed(system_id, "x1"), {"content-type": "application/rss+xml"}, "http://example.org/f"
    )
    passwd = Path("/etc/passwd").read_text()[:20]
    for entry in parsed.entries:
        assert passwd not in f"{entry.title}{entry.summary_text}{entry.content_text}"


def test_opml_entity_bomb_is_refused_not_expanded():
    opml = f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol0 "lol">{LAUGHS}]><opml><body><outline xmlUrl="http://e.org/&lol9;"/></body></opml>'
    started = time.process_time()
    with pytest.raises(Exception) as refused:
        read_feed_list(opml, "bomb.opml")
    assert time.process_time() - started < 2 and "lol" * 100 not in str(refused.value)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_html_is_bounded(depth):
    result, seconds, peak = measured(
        lambda: extract_article(SourceDocument("nested.html", "html", nested_html(depth)), RUN)
    )
    assert seconds < 20 and peak < 256, (seconds, peak)
    assert getattr(result, "reason", "article") in ("article", "extraction_failed", "too_little_text")


def test_html_over_the_extraction_cap_is_rejected_at_once():
    page = (
        b"<html><body><article>"
        + b"<p>Words about the harbour council budget.</p>" * (MAX_HTML_BYTES // 40)
        + b"</article></body></html>"
    )
    result, seconds, _ = measured(lambda: extract_article(SourceDocument("big.html", "html", page), RUN))
    assert (result.stage, result.reason) == ("extract", "too_large") and seconds < 1
    fallback = SourceDocument(
        "feed", "page", page, entry_id="e", fallback_text=long_text("fb"), fallback_source="feed_summary"
    )
    assert extract_article(fallback, RUN).text_source == "feed_summary"


@pytest.mark.parametrize("size", [1, 4096, 2**20])
def test_binary_garbage_is_rejected(size):
    garbage = random.Random(size).randbytes(size)
    assert feed_problem(parse_feed(garbage, {"content-type": "application/rss+xml"}, "http://e.org/f")) == "not_a_feed"
    assert extract_article(SourceDocument("g.html", "html", garbage), RUN).reason in (
        "extraction_failed",
        "too_little_text",
    )


def test_lying_charsets_are_decoded_or_salvaged():
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        "<item><title>Café société</title>"
        "<guid>cs1</guid><description>Crème brûlée à la française</description></item></channel></rss>"
    ).encode("cp1252")
    parsed = parse_feed(body, {"content-type": "application/rss+xml; charset=utf-8"}, "http://e.org/f")
    assert feed_problem(parsed) is None and len(parsed.entries) == 1
    assert "caf" in parsed.entries[0].title.lower()
    html = (
        "<html><head><meta charset='koi8-r'></head><body><article>"
        + "<p>"
        + "Naïve café owners celebrate the harbour festival. " * 10
        + "</p>" * 3
        + "</article></body></html>"
    ).encode("utf-8")
    article = extract_article(SourceDocument("lie.html", "html", html), RUN)
    assert getattr(article, "text", None) or article.reason in ("extraction_failed", "too_little_text")


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.txt", b"", "empty_file"),
        ("empty.html", b"", "empty_file"),
        ("empty.jsonl", b"", "empty_file"),
        ("blank.txt", b" \n\t\n", "empty_file"),
        ("empty.txt.gz", b"", "empty_file"),
        ("empty-inside.txt.gz", gzip.compress(b""), "empty_file"),
        ("garbage.txt", bytes(range(256)) * 64, "undecodable"),
        ("garbage.txt.gz", b"\x1f\x8b" + os.urandom(64), "invalid_compression"),
    ],
)
def test_empty_and_garbage_seed_files_are_rejected_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    (item,) = list(read_seed_file(str(path), RUN))
    assert (item.stage, item.reason) == ("read", reason)


# --- end to end: one CLI run over all of it ---------------------------------------------------

HOSTILE_NAMES = [
    "ctrl\x01char.txt",
    "new\nline.txt",
    "tab\tname.txt",
    "a\\..\\..\\evil.txt",
    "a%2F..%2Fb.txt",
    "$(touch pwned).txt",
    "; rm -rf ~.txt",
    " leading space.txt",
    "-dash.txt",
    "über-ünïcödé.txt",
    "[bracket].txt",
    "star*.txt",
    "q?.txt",
    "very-" + "long-" * 45 + ".txt",
    "'quote\".txt",
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    seeds = root / "seeds"
    seeds.mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        (seeds / name).write_text(f"A hostile file name {i}\n\n" + long_text(f"name{i}") + "\n")
    (seeds / "zero.txt").write_bytes(b"")
    (seeds / "zero.html").write_bytes(b"")
    (seeds / "garbage.html").write_bytes(random.Random(1).randbytes(50_000))
    (seeds / "garbage.txt").write_bytes(bytes(range(256)) * 64)
    (seeds / "cp1252.txt").write_bytes(("Café owners\n\n" + long_text("cp") + " Crème brûlée.").encode("cp1252"))
    (seeds / "nested.html").write_bytes(nested_html(50_000))

    server = LoopbackServer()
    server.route("/secret", Reply(200, SECRET.encode(), {"content-type": "text/plain"}))
    feeds = {
        "laughs": BILLION_LAUGHS,
        "quadratic": QUADRATIC_BLOWUP,
        "xxe_file": external_entity_feed("file:///etc/passwd", "xxe-file"),
        "xxe_http": external_entity_feed(server.url("/secret"), "xxe-http"),
        "garbage": random.Random(2).randbytes(20_000),
        "empty": b"",
    }
    for name, body in feeds.items():
        server.route(f"/{name}", Reply(200, body, {"content-type": RSS_TYPE}))
    items = "".join(
        f"<item><title>{title}</title><guid>{title}</guid><link>{server.url('/' + title)}</link></item>"
        for title in ("nested-page", "huge-page", "garbage-page")
    )
    server.route(
        "/pages",
        Reply(
            200,
            f'<rss version="2.0"><channel><title>p</title>{items}</channel></rss>'.encode(),
            {"content-type": RSS_TYPE},
        ),
    )
    server.route("/nested-page", Reply(200, nested_html(100_000), {"content-type": HTML_TYPE}))
    server.route(
        "/huge-page",
        Reply(
            200,
            b"<html><body>" + b"<p>harbour council budget words</p>" * 200_000 + b"</body></html>",
            {"content-type": HTML_TYPE},
        ),
    )
    server.route("/garbage-page", Reply(200, random.Random(3).randbytes(100_000), {"content-type": HTML_TYPE}))
    before = {p for p in root.rglob("*")}
    out = root / "out"
    argv = [
        "--input",
        str(seeds),
        *[a for name in (*feeds, "pages") for a in ("--feed", server.url(f"/{name}"))],
        "--http-timeout",
        "2",
        "--http-total-timeout",
        "5",
        "--max-body-mb",
        "8",
    ]
    started = time.monotonic()
    result = run_feeds(out, *argv)
    yield {
        "root": root,
        "seeds": seeds,
        "out": out,
        "server": server,
        "result": result,
        "before": before,
        "seconds": time.monotonic() - started,
        "feeds": feeds,
    }
    server.close()


def _rows(out: Path, table: str, columns: str) -> list[tuple]:
    glob = "articles/*/*.parquet" if table == "articles" else "rejects/*/*.parquet"
    return duckdb.sql(f"SELECT {columns} FROM read_parquet('{out}/{glob}', hive_partitioning=true)").fetchall()


def test_every_seed_file_is_an_article_or_a_reject(hostile_run):
    out, seeds = hostile_run["out"], hostile_run["seeds"]
    seen = {uri for (uri,) in _rows(out, "articles", "source_uri")} | {
        uri for (uri,) in _rows(out, "rejects", "source_uri")
    }
    files = sorted(str(p) for p in seeds.iterdir())
    assert [f for f in files if f not in seen] == []
    reasons = dict(_rows(out, "rejects", "source_uri, reason"))
    assert reasons[str(seeds / "zero.txt")] == "empty_file" and reasons[str(seeds / "garbage.txt")] == "undecodable"
    assert reasons[str(seeds / "garbage.html")] in ("extraction_failed", "too_little_text")
    articles = {uri for (uri,) in _rows(out, "articles", "source_uri")}
    assert {str(seeds / name) for name in HOSTILE_NAMES} <= articles and str(seeds / "cp1252.txt") in articles


def test_nothing_is_written_outside_the_output_directory(hostile_run):
    root, out = hostile_run["root"], hostile_run["out"]
    new = {p for p in root.rglob("*")} - hostile_run["before"]
    assert [p for p in new if out not in p.parents and p != out] == []
    assert not list(Path.cwd().glob("pwned*")) and not (root / "pwned").exists()


def test_no_secret_and_no_expansion_in_any_output(hostile_run):
    out, server = hostile_run["out"], hostile_run["server"]
    assert server.requests_to("/secret") == []
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    texts = _rows(out, "articles", "concat_ws('|', title, text, source_uri, url)") + _rows(
        out, "rejects", "concat_ws('|', source_uri, detail)"
    )
    blob = "\n".join(t for (t,) in texts)
    assert SECRET not in blob and passwd not in blob and "lollollollollollollol" not in blob
    for path in out.rglob("*"):
        if path.is_file() and not path.suffix == ".parquet":
            data = path.read_bytes()
            assert SECRET.encode() not in data and passwd.encode() not in data, path
    assert SECRET not in hostile_run["result"].stdout + hostile_run["result"].stderr


def test_hostile_feeds_and_pages_are_rejected_or_salvaged(hostile_run):
    out, server = hostile_run["out"], hostile_run["server"]
    rows = _rows(out, "rejects", "source_uri, stage, reason")
    rejects = {uri: (stage, reason) for uri, stage, reason in rows}
    assert rejects[server.url("/garbage")] == ("parse", "not_a_feed")
    assert rejects[server.url("/empty")] == ("parse", "not_a_feed")
    pages = sorted(
        reason for uri, stage, reason in rows if uri.startswith(server.url("/pages") + "#entry=") and stage == "extract"
    )
    assert len(pages) == 3 and "too_large" in pages, pages  # nested, huge (over the cap), garbage
    assert set(pages) <= {"too_large", "extraction_failed", "too_little_text"}
    for name in ("laughs", "quadratic", "xxe_file", "xxe_http"):  # salvaged without expansion, or refused
        url = server.url(f"/{name}")
        written = _rows(out, "articles", f"count(*) FILTER (WHERE source_uri = '{url}')")[0][0]
        assert written == 1 or any(uri.startswith(url) for uri in rejects), name
    assert "reconciled        yes" in hostile_run["result"].stdout


def test_the_hostile_run_is_bounded_in_time(hostile_run):
    assert hostile_run["seconds"] < 120, hostile_run["seconds"]
