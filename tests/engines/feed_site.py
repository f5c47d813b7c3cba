"""A news site on loopback whose feed grows while a streaming job polls it: pages, an RSS feed with validators.

    site = GrowingFeedSite(); site.publish("harbour", 0)  # the feed lists it from now on
    site.feed_url; site.conditional_polls()  # polls that sent If-None-Match or If-Modified-Since

The feed honours conditional GETs (304 while nothing new was published), as a well-behaved site does.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass

from tests.http_server import LoopbackServer, RecordedRequest, Reply

TOPICS = {
    "harbour": (
        "The harbour council approved the new ferry terminal after a long debate about costs and dock jobs.",
        "Fishermen worried that the ferry terminal would crowd the quay where trawlers unload their catch.",
        "The harbour master said dredging of the channel for larger ferries begins in the spring.",
    ),
    "orchestra": (
        "The city orchestra announced a winter season of symphonies by young composers from abroad.",
        "Its conductor promised violin concertos, a choir festival and free matinees for pupils.",
        "Subscriptions for the concert hall's balcony seats sold out within hours of the announcement.",
    ),
}
"""Story topics: items of one topic are the same story, told again (and so share a story id)."""


@dataclass(frozen=True)
class Item:
    slug: str
    topic: str
    published: float  # time.time() when it was published


class GrowingFeedSite:
    """A feed on 127.0.0.1 that lists every item published so far; each item's page is an article."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self._items: list[Item] = []
        self._lock = threading.Lock()
        self.server.route("/robots.txt", Reply(404))
        self.server.route("/feed.xml", self._feed)
        self.feed_url = self.server.url("/feed.xml")

    def publish(self, topic: str, n: int) -> Item:
        item = Item(f"{topic}-{n}", topic, time.time())
        self.server.route(f"/news/{item.slug}", self._page(item))
        with self._lock:
            self._items.append(item)
        return item

    def publish_broken(self, n: int) -> Item:
        """An item the feed lists whose page answers 404: it must end as a rejects row."""
        item = Item(f"broken-{n}", "broken", time.time())
        with self._lock:
            self._items.append(item)
        return item

    def conditional_polls(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.server.requests_to("/feed.xml")
            if "if-none-match" in r.headers or "if-modified-since" in r.headers
        ]

    def close(self) -> None:
        self.server.close()

    def _feed(self, request: RecordedRequest) -> Reply:
        with self._lock:
            items = list(self._items)
        etag = f'"v{len(items)}"'
        modified = email.utils.formatdate(items[-1].published if items else 0, usegmt=True)
        headers = {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": modified}
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", headers)
        entries = "".join(
            f"<item><title>{i.topic.title()} news {i.slug}</title><link>{self.server.url('/news/' + i.slug)}</link>"
            f"<guid>{i.slug}</guid><pubDate>{email.utils.formatdate(i.published, usegmt=True)}</pubDate></item>"
            for i in items
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>{entries}</channel></rss>'
        return Reply(200, body.encode(), headers)

    @staticmethod
    def _page(item: Item) -> Reply:
        text = " ".join(TOPICS[item.topic] * 6)
        html = (
            f"<html><head><title>{item.topic.title()} news</title></head><body><article>"
            f"<h1>{item.topic.title()} news</h1><p>{text}</p></article></body></html>"
        )
        return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})
