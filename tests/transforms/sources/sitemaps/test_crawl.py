"""crawl_sitemaps and fetch_sitemap_page against a loopback site, through the real polite client."""

from __future__ import annotations

import datetime as dt

from schemas import Reject
from tests.builders import RUN
from tests.http_server import Reply
from tests.sitemap_site import NEWS, PLAIN, serve_site
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchSession, FetchSettings
from transforms.run import counters
from transforms.sources.archive_filters import ArchiveFilters
from transforms.sources.document import SourceDocument
from transforms.sources.sitemaps.batch import crawl_sitemaps, fetch_sitemap_page, sitemap_roots
from transforms.sources.sitemaps.parsing import SitemapEntry
from transforms.sources.sitemaps.state import HandledPage, SitemapState, SitemapStateStore, save_sitemap_states

NOW = dt.datetime(2024, 3, 6, tzinfo=dt.UTC)


def session() -> FetchSession:
    return FetchSession(FetchSettings(host_delay=0.0, policy=FetchPolicy(allow_private_network=True)))


def of(items, kind):
    return [item for item in items if isinstance(item, kind)]


def test_discovery_crawls_the_index_and_its_children(loopback_server):
    serve_site(loopback_server)
    s = session()
    (root,) = sitemap_roots([], [loopback_server.base_url])
    out = crawl_sitemaps(s, root, {}, RUN, now=NOW)
    entries = of(out, SitemapEntry)
    assert sorted(e.url for e in entries) == sorted(
        loopback_server.url(p) for p in [n[0] for n in NEWS] + [p for p, _ in PLAIN]
    )
    (reject,) = of(out, Reject)
    assert reject.reason == "http_404" and reject.stage == "fetch"
    states = {s.url: s for s in of(out, SitemapState)}
    assert states[loopback_server.url("/sitemaps/pages.xml")].lastmod == "2024-02-21"
    assert states[loopback_server.url("/sitemaps/gone.xml")].last_error == "http_status"
    counts = s.take_counts()
    assert counts[counters.SITEMAP_ENTRIES] == 5 and counts[counters.SITEMAPS_FETCHED] == 3
    assert counts[counters.SITEMAPS_FAILED.of("http_404")] == 1


def test_validators_make_a_second_fetch_conditional(loopback_server):
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.example/1</loc></url></urlset>'

    def reply(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, body, {"ETag": '"v1"', "Content-Type": "application/xml"})

    loopback_server.route("/s.xml", reply)
    (root,) = sitemap_roots([loopback_server.url("/s.xml")], [])
    first = crawl_sitemaps(session(), root, {}, RUN, now=NOW)
    (state,) = of(first, SitemapState)
    assert state.etag == '"v1"' and len(of(first, SitemapEntry)) == 1
    s = session()
    second = crawl_sitemaps(s, root, {state.url: state}, RUN, now=NOW)
    assert of(second, SitemapEntry) == [] and of(second, SitemapState)[0].etag == '"v1"'
    assert s.take_counts()[counters.SITEMAPS_NOT_MODIFIED] == 1


def test_pages_handled_before_are_not_listed_again_unless_their_lastmod_changed(loopback_server):
    url = loopback_server.url("/s.xml")
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://a.example/1</loc><lastmod>2024-03-01</lastmod></url>"
        b"<url><loc>https://a.example/2</loc><lastmod>2024-03-05</lastmod></url>"
        b"<url><loc>https://a.example/2</loc><lastmod>2024-03-05</lastmod></url></urlset>"
    )
    loopback_server.route("/s.xml", Reply(200, body))
    known = {url: SitemapState(url, pages={"https://a.example/1": "2024-03-01", "https://a.example/2": "2024-03-01"})}
    s = session()
    out = crawl_sitemaps(s, sitemap_roots([url], [])[0], known, RUN, now=NOW)
    assert [e.url for e in of(out, SitemapEntry)] == ["https://a.example/2"]
    assert (
        s.take_counts()[counters.SITEMAP_ENTRIES_ALREADY_SEEN] == 2
    )  # the unchanged page, and the repeat in the same sitemap


def test_an_unreadable_sitemap_is_one_reject_and_forgets_its_validators(loopback_server):
    loopback_server.route("/s.xml", Reply(200, b"<html><body>Sorry</body></html>", {"ETag": '"x"'}))
    out = crawl_sitemaps(session(), sitemap_roots([loopback_server.url("/s.xml")], [])[0], {}, RUN, now=NOW)
    (reject,) = of(out, Reject)
    (state,) = of(out, SitemapState)
    assert reject.reason == "invalid_sitemap" and state.etag is None and state.last_error == "invalid_sitemap"


def test_site_filter_drops_entries_of_other_hosts_before_fetching(loopback_server):
    serve_site(loopback_server)
    s = session()
    filters = ArchiveFilters(sites=("elsewhere.example",))
    out = crawl_sitemaps(s, sitemap_roots([loopback_server.url("/sitemaps/pages.xml")], [])[0], {}, RUN, filters, NOW)
    assert of(out, SitemapEntry) == [] and s.take_counts()[counters.SITEMAP_FILTERED.of("site")] == len(PLAIN)


def test_a_page_becomes_a_document_or_a_reject_and_is_handled_unless_a_retry_may_help(loopback_server):
    serve_site(loopback_server)
    loopback_server.route("/busy.html", Reply(503))
    loopback_server.route("/image.png", Reply(200, b"\x89PNG", {"Content-Type": "image/png"}))
    s = session()
    entry = SitemapEntry(loopback_server.url(NEWS[0][0]), "https://s/x.xml", published=NEWS[0][3], title=NEWS[0][1])
    document, handled = fetch_sitemap_page(s, entry, RUN)
    assert isinstance(document, SourceDocument) and document.accounted_as == "sitemap"
    assert (document.title, document.published, document.published_by) == (NEWS[0][1], NEWS[0][3], "sitemap")
    assert handled == HandledPage("https://s/x.xml", entry.url, NEWS[0][3])
    (busy,) = fetch_sitemap_page(s, SitemapEntry(loopback_server.url("/busy.html"), "https://s/x.xml"), RUN)
    assert isinstance(busy, Reject) and busy.reason == "http_503"
    image, image_handled = fetch_sitemap_page(
        s, SitemapEntry(loopback_server.url("/image.png"), "https://s/x.xml"), RUN
    )
    assert image.reason == "not_html" and isinstance(image_handled, HandledPage)


def test_states_and_handled_pages_are_saved_after_the_commit(tmp_path):
    known = {"https://s/x.xml": SitemapState("https://s/x.xml", etag='"a"', pages={"https://p/1": "2024-03-01"})}
    fetched = [SitemapState("https://s/x.xml", etag='"b"', last_fetched_at=NOW)]
    handled = [HandledPage("https://s/x.xml", "https://p/2", "2024-03-05")]
    record = {"run_id": "r"}
    assert save_sitemap_states(record, fetched, handled, str(tmp_path), known) is record
    (state,) = SitemapStateStore(str(tmp_path)).load().values()
    assert state.etag == '"b"' and state.last_fetched_at == NOW
    assert dict(state.pages) == {"https://p/1": "2024-03-01", "https://p/2": "2024-03-05"}
    assert state.knows("https://p/2", "2024-03-05") and not state.knows("https://p/2", "2024-03-07")


def test_robots_txt_keeps_pages_out_and_an_unreachable_one_is_retried_later(loopback_server):
    from tests.http_server import LoopbackServer

    loopback_server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private/\n"))
    s = session()
    (reject, handled) = fetch_sitemap_page(s, SitemapEntry(loopback_server.url("/private/a.html"), "https://s/x"), RUN)
    assert reject.reason == "robots_disallowed" and isinstance(handled, HandledPage)
    with LoopbackServer() as down:
        down.route("/robots.txt", Reply(503))
        (unreachable,) = fetch_sitemap_page(s, SitemapEntry(down.url("/a.html"), "https://s/x"), RUN)
    assert unreachable.reason == "robots_unreachable"  # no HandledPage: a later run tries again


def test_children_of_an_index_nested_past_the_depth_limit_are_each_a_reject(loopback_server):
    def index(*children: str) -> Reply:
        items = "".join(f"<sitemap><loc>{loopback_server.url(c)}</loc></sitemap>" for c in children)
        body = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
        return Reply(200, body.encode(), {"Content-Type": "application/xml"})

    for level in range(4):  # /i0.xml → /i1.xml → /i2.xml → /i3.xml, which lists two more indexes
        loopback_server.route(f"/i{level}.xml", index(f"/i{level + 1}.xml") if level < 3 else index("/a.xml", "/b.xml"))
    s = session()
    (root,) = sitemap_roots([loopback_server.url("/i0.xml")], [])
    out = crawl_sitemaps(s, root, {}, RUN, now=NOW)
    rejects = of(out, Reject)
    assert sorted((r.source_uri, r.reason) for r in rejects) == [
        (loopback_server.url("/a.xml"), "sitemap_too_deep"),
        (loopback_server.url("/b.xml"), "sitemap_too_deep"),
    ]
    assert all(loopback_server.url("/i3.xml") in r.detail for r in rejects)
    assert s.take_counts()[counters.SITEMAPS_FAILED.of("sitemap_too_deep")] == 2
