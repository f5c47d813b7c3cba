"""The unit every source hands to extraction: one input item before its text is extracted."""

from __future__ import annotations

from dataclasses import dataclass

TEXT, HTML, PAGE, ENTRY_TEXT = "text", "html", "page", "entry"
"""Kinds: a plain-text file or record; a seed HTML file; a fetched article page; a feed entry's own text."""
MAX_PAGE_BYTES = 32 * 2**20
"""Largest HTML page or file read at all: a source reads no more of one item, extraction rejects a larger one."""


@dataclass(frozen=True)
class SourceDocument:
    """Content plus whatever the input said about it (a record's or feed entry's fields win)."""

    source_uri: str
    kind: str
    body: str | bytes  # str for text and entry; HTML as bytes (or str from a record) for html and page
    url: str | None = None
    title: str | None = None
    published: str | None = None  # ISO-8601, as the record or feed entry gave it
    published_by: str = "record"  # 'record' or 'feed': the date_source when `published` is used
    source: str | None = None
    feed_title: str | None = None  # a feed entry's feed title: it names the feed, not the article's outlet
    authors: tuple[str, ...] = ()
    entry_id: str | None = None
    fallback_text: str | None = None  # a feed entry's own clean text, used when the page yields too little
    fallback_source: str | None = None  # 'feed_content' or 'feed_summary': the text_source of fallback_text
    published_problem: str | None = None  # why the input's own date was refused (then `published` is None)
    fetched_at: str | None = None  # ISO-8601: when the bytes were fetched (WARC-Date, the GET, a file's mtime)
    warc_record_id: str | None = None
    warc_target_uri: str | None = None
    accounted_as: str | None = None  # the run summary's source ('warc', 'sitemap'); None: 'seed' or 'feed' by kind
    description: str | None = None  # what the input declares about the item (a JSON Lines record's fields);
    image_url: str | None = None  # they win over what the page declares, as url, title and published do
    section: str | None = None
    keywords: tuple[str, ...] = ()

    def reject_fields(self) -> dict[str, str | None]:
        """What a reject of this document says about the item: for a feed entry, its id and title, and the
        page fetched for it (``page``) or the link it carries (``entry``: the page gave nothing)."""
        provenance = {
            "fetched_at": self.fetched_at,
            "warc_record_id": self.warc_record_id,
            "warc_target_uri": self.warc_target_uri,
        }
        if not self.entry_id:
            return {k: v for k, v in provenance.items() if v}
        return {
            **{k: v for k, v in provenance.items() if v},
            "entry_id": self.entry_id,
            "entry_title": self.title,
            "entry_link": self.url if self.kind == ENTRY_TEXT else None,
            "page_url": self.url if self.kind == PAGE else None,
        }

    @property
    def item_uri(self) -> str:
        """Where exactly the item came from: the source, narrowed to the feed entry when there is one."""
        return f"{self.source_uri}#entry={self.entry_id}" if self.entry_id else self.source_uri
