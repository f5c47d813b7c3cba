"""The story index that outlives a run: active stories, the near-duplicate window, duplicate counts.

Loaded at the start of the ordered clustering step and saved to ``STATE/story_index.json.gz``
after the run's tables are committed, so tomorrow's article about the same event joins
yesterday's ``story_id``. Memory and file size are bounded by the active windows.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.dedup.near import NearDuplicateIndex
from transforms.output.files import write_bytes_atomically
from transforms.stories.clusterer import CatalogStory, StoryClusterer

INDEX_FILE = "story_index.json.gz"
VERSION = 1


@dataclass
class StoryIndex:
    """Everything the ordered step remembers between runs."""

    clusterer: StoryClusterer
    near_duplicates: NearDuplicateIndex
    duplicate_counts: dict[str, int] = field(default_factory=dict)
    """Duplicates (exact and near) each story gained, over all runs; the clusterer counts originals."""
    labels: dict[str, str] = field(default_factory=dict)
    """Last label of every story still referenced, for near-duplicates of stories no longer active."""
    forgotten: dict[str, list[str]] = field(default_factory=dict)
    """Per story, article ids removed by takedowns (``python -m pipeline forget``): not in its article count."""

    def forgotten_count(self, story_id: str) -> int:
        return len(self.forgotten.get(story_id, ()))

    def forget(self, story_id: str, article_id: str) -> None:
        """Records a takedown; repeating it changes nothing."""
        ids = self.forgotten.setdefault(story_id, [])
        if article_id not in ids:
            ids.append(article_id)

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
            "forgotten": {k: sorted(v) for k, v in self.forgotten.items() if k in referenced},
        }

    @classmethod
    def from_export(cls, state: dict, catalog: Sequence[CatalogStory]) -> StoryIndex:
        if state.get("version") != VERSION:
            raise ValueError(f"story index version {state.get('version')!r}, expected {VERSION}")
        return cls(
            StoryClusterer.from_state(state["clusterer"], catalog),
            NearDuplicateIndex.from_state(state["near_duplicates"]),
            dict(state["duplicate_counts"]),
            dict(state["labels"]),
            {k: list(v) for k, v in state.get("forgotten", {}).items()},
        )


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


def record_forgotten(state_dir: str, removed: dict[str, list[str]]) -> bool:
    """Adds takedowns ({story_id: [article_id, …]}) to the saved index, in place; False when there is no index.

    Works on the saved form, so no catalog is needed; repeating it changes nothing.
    """
    path = index_path(state_dir)
    if not FileSystems.exists(path):
        return False
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        state = json.loads(gzip.decompress(handle.read()))
    forgotten = state.setdefault("forgotten", {})
    for story_id, article_ids in removed.items():
        forgotten[story_id] = sorted(set(forgotten.get(story_id, [])) | set(article_ids))
    save_story_index({}, state, state_dir)
    return True


def save_story_index(record: dict, state: dict | None, state_dir: str) -> dict:
    """After the run's commit: saves the exported index (when clustering ran); returns ``record``."""
    if state is not None:
        write_bytes_atomically(
            index_path(state_dir), gzip.compress(json.dumps(state, sort_keys=True).encode(), mtime=0)
        )
    return record
