# ruff: noqa: E501 - sitemap markup is kept on one line per element
"""A loopback news site for sitemap tests: robots.txt → sitemap index → a gzipped Google News
sitemap and a plain sitemap (and a child that is missing), with article pages in several scripts."""

from __future__ import annotations

import gzip
from html import escape

from tests.http_server import LoopbackServer, Reply

NEWS = [  # (path, title, language, publication date)
    ("/news/tokyo-library.html", "東京で新しい図書館が開館", "ja", "2024-03-04T09:00:00+09:00"),
    ("/news/amman-library.html", "افتتاح مكتبة عامة جديدة في عمان", "ar", "2024-03-04T08:00:00+02:00"),
    ("/news/kazan-library.html", "В Казани открылась новая библиотека", "ru", "2024-03-04T07:30:00+03:00"),
]
PLAIN = [("/features/harbour-ferries.html", "2024-02-20"), ("/features/river-walk.html", "2024-02-21")]
XML = {"Content-Type": "application/xml; charset=utf-8"}


def page(title: str, words: int = 60) -> bytes:
    sentence = f"{title}: the city council, the library board and local readers met on Monday to plan the opening week."
    body = "".join(f"<p>{escape(sentence)} Paragraph {i} adds more detail for readers.</p>" for i in range(words // 12))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body}</article></body></html>"
    ).encode()


def news_sitemap(base: str) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{path}</loc><news:news><news:publication><news:name>Loopback Daily</news:name>"
        f"<news:language>{lang}</news:language></news:publication>"
        f"<news:publication_date>{date}</news:publication_date><news:title>{escape(title)}</news:title></news:news></url>"
        for path, title, lang, date in NEWS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    ).encode()


def plain_sitemap(base: str, entries: list[tuple[str, str]]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></url>" for path, lastmod in entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


def index(base: str, plain_lastmod: str) -> bytes:
    children = (
        ("/sitemaps/news.xml.gz", "2024-03-04"),
        ("/sitemaps/pages.xml", plain_lastmod),
        ("/sitemaps/gone.xml", "2024-01-01"),
    )
    items = "".join(
        f"<sitemap><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></sitemap>" for path, lastmod in children
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    ).encode()


def serve_site(server: LoopbackServer, plain: list[tuple[str, str]] = PLAIN, plain_lastmod: str = "2024-02-21") -> None:
    """Routes the whole site; call again with more plain entries (and a new lastmod) to publish them."""
    base = server.base_url
    server.route("/robots.txt", Reply(200, f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap_index.xml\n".encode()))
    server.route("/sitemap_index.xml", Reply(200, index(base, plain_lastmod), XML))
    server.route(
        "/sitemaps/news.xml.gz", Reply(200, gzip.compress(news_sitemap(base)), {"Content-Type": "application/x-gzip"})
    )
    server.route("/sitemaps/pages.xml", Reply(200, plain_sitemap(base, plain), XML))
    for path, title, _, _ in NEWS:
        server.route(path, Reply(200, page(title), {"Content-Type": "text/html; charset=utf-8"}))
    for path, _ in plain:
        title = path.rsplit("/", 1)[1].removesuffix(".html").replace("-", " ").title()
        server.route(path, Reply(200, page(title), {"Content-Type": "text/html; charset=utf-8"}))


def page_requests(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith(".html")]
