"""The story catalog: known stories and the labels the clustering gives them (``seeds/stories.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

_CATALOG_KEYS = ("label", "description", "exemplar")


@dataclass(frozen=True)
class CatalogStory:
    """A known story: its label, a description and optional exemplar text."""

    label: str
    description: str
    exemplar: str = ""


def load_catalog(toml_text: str) -> list[CatalogStory]:
    """Parse ``[[story]]`` tables (label, description, optional exemplar)."""
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"story catalog is not valid TOML: {exc}") from exc
    if set(data) - {"story"}:
        raise ValueError(f"story catalog: unknown top-level keys {sorted(set(data) - {'story'})}")
    tables = data.get("story", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError("story catalog: 'story' must be an array of tables ([[story]])")
    catalog: list[CatalogStory] = []
    for i, table in enumerate(tables, 1):
        if set(table) - set(_CATALOG_KEYS):
            raise ValueError(f"story catalog entry {i}: unknown keys {sorted(set(table) - set(_CATALOG_KEYS))}")
        if not all(isinstance(table.get(k, ""), str) for k in _CATALOG_KEYS):
            raise ValueError(f"story catalog entry {i}: {', '.join(_CATALOG_KEYS)} must be a string")
        fields = {k: table.get(k, "").strip() for k in _CATALOG_KEYS}
        for key in ("label", "description"):
            if not fields[key]:
                raise ValueError(f"story catalog entry {i}: '{key}' is missing or empty")
        if any(c.label == fields["label"] for c in catalog):
            raise ValueError(f"story catalog: duplicate label {fields['label']!r}")
        catalog.append(CatalogStory(**fields))
    return catalog
