"""Sitemap parsers on the test fixtures: ours (lxml) against ultimate-sitemap-parser and trafilatura.sitemaps.

    python -m benchmarks.sitemap_parsers     # needs `pip install ultimate-sitemap-parser` (not a project dependency)

For each fixture (the loopback site's index, gzipped Google News sitemap and plain sitemap, plus a
10,000-URL news sitemap) it prints what each parser finds (URLs, child lastmod, news title/date/
language) and its parse time. trafilatura.sitemaps has no parse-from-string entry point for news
fields (it fetches and keeps links only), so it is listed by what its link filter keeps.
"""

from __future__ import annotations

import gzip
import time

from tests.sitemap_site import NEWS, index, news_sitemap, plain_sitemap
from transforms.sources.sitemaps.parsing import parse_sitemap

BASE = "https://site.example"


def large_news_sitemap(n: int = 10_000) -> bytes:
    one = news_sitemap(BASE).decode()
    head, rest = one.split("<url>", 1)
    entry = "<url>" + rest.split("</url>", 1)[0] + "</url>"
    urls = "".join(entry.replace(NEWS[0][0], f"/news/{i}.html") for i in range(n))
    return (head + urls + "</urlset>").encode()


def ours(body: bytes) -> dict:
    parsed = parse_sitemap(body, "u")
    news = [e for e in parsed.entries if e.title and e.published and e.language]
    return {
        "urls": len(parsed.entries),
        "children": len(parsed.children),
        "child_lastmod": sum(bool(c.lastmod) for c in parsed.children),
        "news_fields": len(news),
    }


def usp(body: bytes) -> dict:
    from usp.tree import sitemap_from_str

    text = gzip.decompress(body).decode() if body[:2] == b"\x1f\x8b" else body.decode()
    tree = sitemap_from_str(text)
    pages = list(tree.all_pages())
    children = list(getattr(tree, "sub_sitemaps", []))
    news = [
        p
        for p in pages
        if p.news_story and p.news_story.title and p.news_story.publish_date and p.news_story.publication_language
    ]
    return {
        "urls": len(pages),
        "children": len(children),
        "child_lastmod": sum(bool(getattr(c, "last_modified", None)) for c in children),
        "news_fields": len(news),
    }


def main() -> int:
    fixtures = {
        "index": index(BASE, "2024-02-21"),
        "news.xml.gz": gzip.compress(news_sitemap(BASE)),
        "pages.xml": plain_sitemap(BASE, [("/a.html", "2024-02-20"), ("/b.html", "2024-02-21")]),
        "news 10k URLs": large_news_sitemap(),
    }
    for name, body in fixtures.items():
        for parser in (ours, usp):
            start = time.process_time()
            try:
                found = parser(body)
            except ImportError as err:
                found = {"skipped": str(err)}
            print(f"{name:14} {parser.__name__:5} {1000 * (time.process_time() - start):8.1f} CPU ms  {found}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
