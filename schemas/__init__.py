"""Single source of truth for every output column: name, Arrow type, nullability, description."""
from schemas.tables import ARTICLES, REJECTS, STORIES, TABLES, Article, Reject, Story, TableSpec

__all__ = ["ARTICLES", "REJECTS", "STORIES", "TABLES", "Article", "Reject", "Story", "TableSpec"]
