"""Single source of truth for every output column: name, Arrow type, nullability, description."""

from schemas.tables import (
    ARTICLES,
    FEED_POLLS,
    REJECTS,
    SEEN,
    STORIES,
    TABLES,
    Article,
    FeedPollRow,
    Reject,
    SeenKey,
    Story,
    TableSpec,
)

__all__ = [
    "ARTICLES",
    "FEED_POLLS",
    "REJECTS",
    "SEEN",
    "STORIES",
    "TABLES",
    "Article",
    "FeedPollRow",
    "Reject",
    "SeenKey",
    "Story",
    "TableSpec",
]
