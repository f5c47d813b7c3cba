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
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.dedup.near import NearDuplicateIndex
from transforms.output.files import CorruptStateFile, ensure_dir, remove_folder, write_bytes_atomically
from transforms.output.layout import STAGING_PREFIX, STORY_INDEX_FILE
from transforms.run.crash_points import crash_point
from transforms.stories.clusterer import CatalogStory, StoryClusterer, StorySummary

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
    forgotten: dict[str, list[str]] = field(default_factory=dict)
    """Per story, article ids removed by takedowns (``python -m pipeline forget``): not in its article count."""
    merged_into: dict[str, str] = field(default_factory=dict)
    """Story id -> the story it was merged into, for every merged story still referenced (by the
    near-duplicate window); always the end of the chain."""

    def forgotten_count(self, story_id: str) -> int:
        return len(self.forgotten.get(story_id, ()))

    def forget(self, story_id: str, article_id: str) -> None:
        """Records a takedown; repeating it changes nothing."""
        ids = self.forgotten.setdefault(story_id, [])
        if article_id not in ids:
            ids.append(article_id)

    def story_of_article(self, article_id: str) -> str | None:
        """The story of an article of an earlier run, while the near-duplicate window or its active story keeps it."""
        return self.near_duplicates.story_of(article_id) or self.clusterer.story_of(article_id)

    def record_merges(self) -> None:
        """Takes in the clusterer's merges (absorbed id -> absorbing active story); earlier merges
        into a story that was absorbed since point at its absorber now."""
        self.merged_into.update(self.clusterer.merged_into)
        self.merged_into = {old: self.clusterer.resolve(new) for old, new in self.merged_into.items()}

    def current_story(self, story_id: str) -> str:
        """The story that holds the articles of ``story_id`` now (itself unless it was merged)."""
        return self.clusterer.resolve(self.merged_into.get(story_id, story_id))

    def story_duplicates(self, summary: StorySummary) -> int:
        """Duplicates counted under the story, and under the stories merged into it while they were apart."""
        ids = (summary.story_id,) if summary.merged_into else (summary.story_id, *summary.merged)
        return sum(self.duplicate_counts.get(story_id, 0) for story_id in ids)

    @classmethod
    def new(cls, catalog: Sequence[CatalogStory]) -> StoryIndex:
        return cls(StoryClusterer(catalog), NearDuplicateIndex())

    def export(self) -> dict:
        near_duplicates = self.near_duplicates.export_state()
        stories = self.clusterer.stories()
        referenced = set(near_duplicates["story_ids"]) | {s.story_id for s in stories}
        referenced |= {merged for s in stories for merged in s.merged}
        return {
            "version": VERSION,
            "clusterer": json.loads(self.clusterer.export_state()),
            "near_duplicates": near_duplicates,
            "duplicate_counts": {k: v for k, v in self.duplicate_counts.items() if k in referenced},
            "labels": {k: v for k, v in self.labels.items() if k in referenced},
            "forgotten": {k: sorted(v) for k, v in self.forgotten.items() if k in referenced},
            "merged_into": {k: v for k, v in self.merged_into.items() if k in referenced},
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
            {k: list(v) for k, v in state.get("forgotten", {}).items()},
            dict(state.get("merged_into", {})),  # absent in indexes saved before merges existed
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
    return FileSystems.join(state_dir.rstrip("/"), STORY_INDEX_FILE)


def load_story_index(state_dir: str, catalog: Sequence[CatalogStory]) -> StoryIndex:
    """The saved index, or a new one when there is none yet; ``CorruptStateFile`` when it can't be read."""
    state = _read_index(state_dir)
    if state is None:
        return StoryIndex.new(catalog)
    try:
        return StoryIndex.from_export(state, catalog)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise CorruptStateFile(index_path(state_dir), err, INDEX_WAY_OUT) from err


def check_story_index(state_dir: str) -> None:
    """Raises ``CorruptStateFile`` unless the saved index (if any) decompresses, parses and has this version."""
    state = _read_index(state_dir)
    if state is not None:
        missing = [key for key in ("clusterer", "near_duplicates", "duplicate_counts", "labels") if key not in state]
        if state.get("version") != VERSION or missing:
            problem = f"version {state.get('version')!r} (expected {VERSION}), missing {missing}"
            raise CorruptStateFile(index_path(state_dir), problem, INDEX_WAY_OUT)


def _read_index(state_dir: str) -> dict | None:
    path = index_path(state_dir)
    if not FileSystems.exists(path):
        return None
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            state = json.loads(gzip.decompress(handle.read()))
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise CorruptStateFile(path, err, INDEX_WAY_OUT) from err
    if not isinstance(state, dict):
        raise CorruptStateFile(path, f"a JSON {type(state).__name__}, not an object", INDEX_WAY_OUT)
    return state


INDEX_WAY_OUT = (
    "Move it aside (mv {path} {path}.unreadable) to start a new story index, or restore it from a backup."
    " A new index costs continuity: later articles found new stories instead of joining earlier ones,"
    " copies of earlier articles are no longer found as near-duplicates, and story counts restart."
)


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


def encode_story_index(state: dict) -> bytes:
    return gzip.compress(json.dumps(state, sort_keys=True).encode(), mtime=0)


def save_story_index(record: dict, state: dict | None, state_dir: str) -> dict:
    """After the run's commit: saves the exported index (when clustering ran); returns ``record``."""
    crash_point("feeds_saved")
    if state is not None:
        write_bytes_atomically(index_path(state_dir), encode_story_index(state))
    return record


def pending_index_dir(state_dir: str, run_id: str) -> str:
    """Where a batch run's new index waits for the commit: a staging folder of its own (the commit
    removes the run's table staging folder before the index is saved; a run that dies leaves this
    one to the next run's sweep of ``_staging-*`` folders)."""
    return FileSystems.join(state_dir.rstrip("/"), f"{STAGING_PREFIX}{run_id}-story-index")


def stage_story_index(index: StoryIndex, state_dir: str, run_id: str) -> str:
    """Writes the exported index, encoded, where it waits for the commit; returns its path.

    The ordered step writes it itself rather than passing the exported index on: with hundreds of
    thousands of active stories that value would be held several times over by the runner.
    """
    folder = pending_index_dir(state_dir, run_id)
    ensure_dir(folder)
    path = FileSystems.join(folder, STORY_INDEX_FILE)
    write_bytes_atomically(path, encode_story_index(index.export()))
    return path


def save_staged_story_index(record: dict, staged: str | None, state_dir: str, run_id: str) -> dict:
    """After the run's commit: puts the staged index in place (when clustering ran); returns ``record``."""
    crash_point("feeds_saved")
    if staged is not None:
        with FileSystems.open(staged, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            write_bytes_atomically(index_path(state_dir), handle.read())
        remove_folder(pending_index_dir(state_dir, run_id))
    return record
