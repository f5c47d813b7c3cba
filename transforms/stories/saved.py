"""The story index that outlives a run: active stories, the near-duplicate window, duplicate counts.

Loaded at the start of the ordered clustering step and saved to ``STATE/story_index.json.gz``
after the run's tables are committed, so tomorrow's article about the same event joins
yesterday's ``story_id``. Memory and file size are bounded by the active windows.

Format 2 changed the near-duplicate signatures' hash (``transforms.dedup.near.SCHEME``). A
saved index of format 1 is migrated when it is loaded (``migrate_story_index``): stories,
duplicate counts and labels carry over unchanged; the old signatures (one-way hashes of texts
the index does not keep) cannot be recomputed, so the near-duplicate window restarts empty and
the count dropped is logged. A copy of an article from before the upgrade that arrives within
the window then still joins its story by clustering, but is not marked a near-duplicate.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.dedup.near import NearDuplicateIndex
from transforms.output.tables import write_bytes_atomically
from transforms.stories.clusterer import CatalogStory, StoryClusterer

INDEX_FILE = "story_index.json.gz"
VERSION = 2
log = logging.getLogger(__name__)


@dataclass
class StoryIndex:
    """Everything the ordered step remembers between runs."""

    clusterer: StoryClusterer
    near_duplicates: NearDuplicateIndex
    duplicate_counts: dict[str, int] = field(default_factory=dict)
    """Duplicates (exact and near) each story gained, over all runs; the clusterer counts originals."""
    labels: dict[str, str] = field(default_factory=dict)
    """Last label of every story still referenced, for near-duplicates of stories no longer active."""

    @classmethod
    def new(cls, catalog: Sequence[CatalogStory]) -> StoryIndex:
        return cls(StoryClusterer(catalog), NearDuplicateIndex())

    def export(self) -> dict:
        near_duplicates = self.near_duplicates.export_state()
        referenced = set(near_duplicates["story_ids"]) | {s.story_id for s in self.clusterer.stories()}
        return {
            "version": VERSION,
            "clusterer": json.loads(self.clusterer.export_state()),
            "near_duplicates": near_duplicates,
            "duplicate_counts": {k: v for k, v in self.duplicate_counts.items() if k in referenced},
            "labels": {k: v for k, v in self.labels.items() if k in referenced},
        }

    @classmethod
    def from_export(cls, state: dict, catalog: Sequence[CatalogStory]) -> StoryIndex:
        """The index an ``export`` (of this or an older format) describes."""
        state = migrate_story_index(state)
        return cls(
            StoryClusterer.from_state(state["clusterer"], catalog),
            NearDuplicateIndex.from_state(state["near_duplicates"]),
            dict(state["duplicate_counts"]),
            dict(state["labels"]),
        )


def migrate_story_index(state: dict) -> dict:
    """A saved index in the current format; an older one is converted, anything else refused."""
    version = state.get("version")
    if version == VERSION:
        return state
    if version == 1:
        dropped = len(state["near_duplicates"]["article_ids"])
        log.warning(
            "story index format 1 migrated to %d: %d near-duplicate signatures of the old hash dropped"
            " (stories, duplicate counts and labels kept)",
            VERSION,
            dropped,
        )
        return {**state, "version": VERSION, "near_duplicates": NearDuplicateIndex().export_state()}
    raise ValueError(f"story index version {version!r}, expected {VERSION} (or 1, migrated)")


def index_path(state_dir: str) -> str:
    return FileSystems.join(state_dir.rstrip("/"), INDEX_FILE)


def load_story_index(state_dir: str, catalog: Sequence[CatalogStory]) -> StoryIndex:
    """The saved index, or a new one when there is none yet."""
    path = index_path(state_dir)
    if not FileSystems.exists(path):
        return StoryIndex.new(catalog)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        state = json.loads(gzip.decompress(handle.read()))
    return StoryIndex.from_export(state, catalog)


def save_story_index(record: dict, state: dict | None, state_dir: str) -> dict:
    """After the run's commit: saves the exported index (when clustering ran); returns ``record``."""
    if state is not None:
        write_bytes_atomically(
            index_path(state_dir), gzip.compress(json.dumps(state, sort_keys=True).encode(), mtime=0)
        )
    return record
