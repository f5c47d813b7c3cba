"""Feed throughput over HTTP: many simulated hosts on 127.0.0.1, politeness on.

The client paces by host *and port* (``transforms.http.client.host_of`` is the netloc), so each
simulated host is its own ``ThreadingHTTPServer`` on its own loopback port, serving
``/robots.txt`` (allow all), ``/feed.xml`` (RSS 2.0 with ``items`` entries) and the entries'
article pages (corpus pages, each with its own canonical URL). The pipeline polls every host's
feed (``--feed`` per host, ``--allow-private-network`` since the hosts are loopback) and
fetches every page; items/s counts feed entries per second of the whole run.

The politeness floor is what the pacer alone imposes: a host gets one request in flight and
``host_delay`` seconds between request starts, and serves 1 feed + 1 robots.txt + ``items``
pages, so it needs at least ``(items + 1) * host_delay`` seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.corpus import Page, with_new_identity
from benchmarks.measure import Measured, check_ok, committed_rows, pipeline_command, run_measured


@dataclass(frozen=True)
class FeedRun:
    hosts: int
    items_per_host: int
    host_delay: float
    measured: Measured

    @property
    def items(self) -> int:
        return self.hosts * self.items_per_host

    @property
    def items_per_s(self) -> float:
        return self.items / self.measured.wall_s

    @property
    def politeness_floor_s(self) -> float:
        return (self.items_per_host + 1) * self.host_delay


class SimulatedHost:
    """One news site on its own loopback port: robots.txt, a feed, article pages."""

    def __init__(self, number: int, pages: list[Page]):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.routes = site_routes(self.base_url, number, pages)  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def feed_url(self) -> str:
        return self.base_url + "/feed.xml"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def site_routes(base_url: str, number: int, pages: list[Page]) -> dict[str, tuple[str, bytes]]:
    """Path → (content type, body) for one site: its feed, robots.txt and one page per entry."""
    routes = {"/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n")}
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    items = []
    for i, (name, data) in enumerate(pages):
        path = f"/articles/{i}.html"
        routes[path] = ("text/html; charset=utf-8", with_new_identity(data, 1000 + number, f"host{number}-{name}"))
        items.append(
            f"<item><title>Report {i} from site {number}</title><link>{base_url}{path}</link>"
            f"<guid>{base_url}{path}</guid><pubDate>{format_datetime(now - timedelta(hours=i))}</pubDate>"
            f"<description>{escape('Summary of report ' + str(i))}</description></item>"
        )
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Site {number}</title><link>{base_url}/</link>'
        f"{''.join(items)}</channel></rss>"
    )
    routes["/feed.xml"] = ("application/rss+xml", feed.encode())
    return routes


class _SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites

    def do_GET(self) -> None:
        content_type, body = self.server.routes.get(self.path, ("text/plain", b""))  # type: ignore[attr-defined]
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        """Quiet: the pipeline's own summary says what was fetched."""


def measure_feeds(pages: list[Page], work: Path, hosts: int, items_per_host: int, host_delay: float) -> FeedRun:
    sites = [
        SimulatedHost(n, [pages[(n * items_per_host + j) % len(pages)] for j in range(items_per_host)])
        for n in range(hosts)
    ]
    output = work / f"out-feeds-{hosts}h-{host_delay}s"
    try:
        feeds = [arg for site in sites for arg in ("--feed", site.feed_url)]
        measured = run_measured(
            pipeline_command(
                *feeds,
                "--output",
                str(output),
                "--catalog",
                "",
                "--allow-private-network",
                "--host-delay",
                str(host_delay),
            )
        )
    finally:
        for site in sites:
            site.close()
    check_ok(measured, f"feeds run ({hosts} hosts)")
    rows = committed_rows(output)
    if rows.get("articles", 0) + rows.get("rejects", 0) != hosts * items_per_host:
        raise RuntimeError(f"{hosts * items_per_host} feed entries but {rows} rows")
    return FeedRun(hosts, items_per_host, host_delay, measured)
