"""The page corpus the benchmarks feed the pipeline: the shared dev articles, or synthetic pages.

``base_pages()`` returns (name, HTML bytes) pairs: the 711 gzipped pages of
``../shared/data/extraction/wcxb-dev-articles/html/`` when that folder exists, else pages
assembled at run time from wordfreq words inside realistic boilerplate (navigation, share
buttons, related links, footer). Nothing from ``../shared`` is copied into the repository: the
benchmarks materialise their inputs in a temporary folder.

``replicate()`` makes N copies that the pipeline must treat as new articles: each copy gets its
own canonical URL (existing canonical/og:url tags are replaced) and its first paragraph a unique
sentence, so neither the URL nor the exact text hash repeats.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_PAGES = REPO.parent / "shared" / "data" / "extraction" / "wcxb-dev-articles" / "html"
SYNTHETIC_PAGES = 711

Page = tuple[str, bytes]
"""(file name, HTML bytes)."""

_CANONICAL = re.compile(rb"<link[^>]+rel=[\"']?canonical[^>]*>|<meta[^>]+property=[\"']og:url[^>]*>", re.IGNORECASE)
_HEAD_OPEN = re.compile(rb"<head[^>]*>", re.IGNORECASE)
_FIRST_P = re.compile(rb"<p(?:\s[^>]*)?>", re.IGNORECASE)


def corpus_source() -> str:
    """What ``base_pages`` reads: the shared folder (relative to the repository, as printed), or 'synthetic'."""
    return relative_to_repo(SHARED_PAGES) if SHARED_PAGES.is_dir() else "synthetic"


def relative_to_repo(path: Path | str) -> str:
    """``path`` as results print it: relative to the repository root, never this machine's absolute path."""
    return Path(os.path.relpath(Path(path).resolve(), REPO)).as_posix()


def base_pages(limit: int | None = None) -> list[Page]:
    """The benchmark corpus (first ``limit`` pages): shared dev articles when present, else synthetic."""
    if SHARED_PAGES.is_dir():
        paths = sorted(p for p in SHARED_PAGES.iterdir() if p.name.endswith((".html", ".html.gz")))[:limit]
        return [(p.name.removesuffix(".gz"), _read(p)) for p in paths]
    return list(synthetic_pages(limit or SYNTHETIC_PAGES))


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def synthetic_pages(n: int, seed: int = 7) -> Iterator[Page]:
    """``n`` news-like HTML pages: an article of wordfreq words inside site boilerplate."""
    from wordfreq import top_n_list

    words = top_n_list("en", 5000)
    rng = random.Random(seed)
    for i in range(n):
        site = f"site{i % 37}.example"
        title = " ".join(rng.choice(words) for _ in range(rng.randint(6, 11))).capitalize()
        paragraphs = [_sentences(rng, words, rng.randint(2, 5)) for _ in range(rng.randint(5, 14))]
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        yield f"synthetic-{i:05d}.html", _page(site, i, title, paragraphs, day, rng, words).encode()


def _sentences(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(" ".join(rng.choice(words) for _ in range(rng.randint(8, 22))).capitalize() + "." for _ in range(n))


def _page(site: str, i: int, title: str, paragraphs: list[str], day: str, rng: random.Random, words: list[str]) -> str:
    """Real news pages weigh ~300 KB (the shared corpus averages 320 KB): a mega-menu and an inline
    state blob give trafilatura a comparable tree and byte count to wade through."""
    esc = html.escape
    nav = "".join(f'<li><a href="/{w}/">{esc(w.title())}</a></li>' for w in rng.sample(words[:300], 8))
    mega = "".join(
        f'<li><a href="/topic/{w}/{k}">{esc(w.title())}</a></li>' for k, w in enumerate(rng.sample(words, 400))
    )
    state = json.dumps(
        {"items": [{"id": k, "headline": _sentences(rng, words, 1), "tags": rng.sample(words, 5)} for k in range(600)]}
    )
    related = "".join(f'<li><a href="/news/{i}-{k}">{esc(_sentences(rng, words, 1))}</a></li>' for k in range(5))
    body = "".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)} | {site}</title>
<link rel="canonical" href="https://{site}/news/{day}/{i}"><meta property="og:title" content="{esc(title)}">
<meta property="article:published_time" content="{day}T08:30:00+00:00"><meta name="author" content="Staff Reporter">
<script>window.dataLayer=[];function gtag(){{dataLayer.push(arguments)}}</script>\
<script>window.__STATE__={state}</script><style>body{{font-family:sans-serif}}</style>
</head><body><header><a class="logo" href="/">{site}</a><nav><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form><div class="mega-menu"><ul>{mega}</ul></div></header>
<main><article><h1>{esc(title)}</h1><div class="byline">By Staff Reporter · <time datetime="{day}">{day}</time></div>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a> <a href="#">Email</a></div>
<div class="article-body">{body}</div></article>
<aside><h2>Related</h2><ul>{related}</ul><div class="ad">Advertisement</div></aside></main>
<footer><p>© 2024 {site}. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a>
<div class="newsletter">Sign up for our newsletter</div></footer></body></html>"""


def replicate(pages: list[Page], copies: int) -> Iterator[Page]:
    """``copies`` × ``pages``; copy 0 is the page itself, later copies get a new URL and first sentence."""
    for copy in range(copies):
        for name, data in pages:
            yield (name, data) if copy == 0 else (f"c{copy:03d}-{name}", with_new_identity(data, copy, name))


def with_new_identity(data: bytes, copy: int, name: str) -> bytes:
    """The page with its own canonical URL and a unique opening sentence."""
    url = f"https://copy{copy}.bench.example/{name.removesuffix('.html')}"
    link = f'<link rel="canonical" href="{url}">'.encode()
    data = _CANONICAL.sub(b"", data)
    data, found = _HEAD_OPEN.subn(lambda m: m.group(0) + link, data, count=1)
    if not found:
        data = link + data
    marker = f"Edition {copy} of this report, filed as {name} number {copy}. ".encode()
    return _FIRST_P.sub(lambda m: m.group(0) + marker, data, count=1)


def write_pages(pages: Iterable[Page], folder: Path) -> int:
    """Writes the pages as .html files (the pipeline's input format); returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, data in pages:
        (folder / name).write_bytes(data)
        n += 1
    return n
