"""Single source of truth for every output column: name, Arrow type, nullability, description."""

from schemas.tables import (
    ARTICLES,
    REJECTS,
    SEEN,
    STORIES,
    STORY_UPDATES,
    TABLES,
    Article,
    Reject,
    SeenKey,
    Story,
    StoryUpdate,
    TableSpec,
)

__all__ = [
    "ARTICLES",
    "REJECTS",
    "SEEN",
    "STORIES",
    "STORY_UPDATES",
    "TABLES",
    "Article",
    "Reject",
    "SeenKey",
    "Story",
    "StoryUpdate",
    "TableSpec",
]
