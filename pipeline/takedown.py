"""``python -m pipeline forget --output DIR URL|ARTICLE_ID [--with-copies]``: remove an article (a takedown).

A news archive must be able to honour a takedown request. ``forget`` finds the article rows
whose ``article_id``, URL or canonical URL is the target (``--with-copies``: also the rows
marked as its duplicates) and, through the same staged commit as a run
(``transforms/output/tables.py``):

- rewrites each articles file holding such a row without it (the new file replaces the old);
- updates the story's row in ``stories`` (article count, first and last publication from the
  articles left); a story left with no article loses its row;
- adds ``forgotten`` keys to the seen ledger (and keeps the article's id, text hash and feed
  entry keys there), so no later run ingests the article again;
- writes a run record of kind ``forget`` (target, rows removed), listed by the report.

Before the commit, the story index in the state store notes the removed ids (idempotent), so
later runs don't count them again. Crash-safe like a run: a commit interrupted after its plan
is finished by the next ``forget`` or run; one interrupted before it left nothing, and running
``forget`` again does the whole takedown. Forgetting an article already forgotten says so and
exits 0. Rejects rows are not touched (they hold no article text).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.arguments import STATE_ERRORS, Command, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT, NOT_FOUND_EXIT
from pipeline.options import ForgetOptions, state_dir_of
from pipeline.run_record import FORGET, RunRecord, read_record, record_paths
from schemas import ARTICLES, SEEN, STORIES, TABLES, SeenKey
from transforms.dedup.ledger import ARTICLE, CONTENT, ENTRY, FORGOTTEN, FORGOTTEN_CONTENT
from transforms.normalise.urls import canonical_url
from transforms.output.files import CorruptStateFile, ensure_dir
from transforms.output.layout import committed_files, staging_dir
from transforms.output.lease import LeaseHeld, hold_leases
from transforms.output.rules import COMPRESSION, records_to_table
from transforms.output.tables import CommitChanges, StagedFile, clear_stale_staging, commit_run
from transforms.run.context import RunContext
from transforms.stories.saved import record_forgotten

COMMAND = Command("forget", __doc__.splitlines()[0].split(": ", 1)[1], (ForgetOptions,))
SEARCH_COLUMNS = ["article_id", "url", "duplicate_of", "story_id", "published_at"]


class NothingToForget(LookupError):
    """No article row matches the target."""


@dataclass(frozen=True)
class Takedown:
    """What one forget removes: rows per file, and the removed articles' ids, stories and ledger keys."""

    target: str
    rows_by_file: dict[str, list[int]]  # committed articles file → row indices to remove
    article_ids: tuple[str, ...]
    story_of: dict[str, str]  # removed article id → its story id (articles without a story left out)

    @property
    def rows(self) -> int:
        return sum(len(rows) for rows in self.rows_by_file.values())


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, forget_command)


def forget_command(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    if output_missing(args.output, filesystem_options):
        return MISSING_OUTPUT_EXIT
    output = args.output.rstrip("/")
    state_dir = state_dir_of(output, args.state)
    try:
        with hold_leases([output, state_dir], filesystem_options, command="python -m pipeline forget") as owner:
            record = forget(output, state_dir, args.target, with_copies=args.with_copies, lease_owner=owner)
    except (LeaseHeld, CorruptStateFile) as err:  # a run or watch is writing this output: forget after it
        print(f"error: {err}", file=sys.stderr)
        return STATE_ERRORS[type(err)]
    except NothingToForget as err:
        earlier = earlier_forget(output, args.target)
        if earlier:
            print(f"{args.target} was already forgotten by {earlier.run_id} ({earlier.started_at})")
            return 0
        print(f"error: {err}", file=sys.stderr)
        return NOT_FOUND_EXIT
    articles, stories = record.removed.get(ARTICLES.name, 0), record.removed.get(STORIES.name, 0)
    print(
        f"forgot {args.target}: removed {articles} article row{'s' if articles != 1 else ''}"
        f" ({stories} stories left without articles removed too); run record {record.run_id}"
    )
    return 0


def forget(
    output: str, state_dir: str, target: str, *, with_copies: bool = False, lease_owner: str | None = None
) -> RunRecord:
    """Removes the target's article rows through a staged commit; returns the forget's run record.

    Call it holding the output's lease (``lease_owner``, see ``transforms/output/lease.py``).
    """
    clear_stale_staging(output, state_dir, tables=(*TABLES, SEEN))  # finish an interrupted run or forget first
    takedown = find_rows(output, target, with_copies)
    run = RunContext.start(lease_owner=lease_owner)
    removed_by_story: dict[str, list[str]] = defaultdict(list)
    for article_id, story_id in takedown.story_of.items():
        removed_by_story[story_id].append(article_id)
    record_forgotten(state_dir, dict(removed_by_story))  # before the commit: idempotent, and later runs count right
    staged, removed_keys = stage_rewritten_articles(output, run, takedown)
    story_files, dropped = stage_story_updates(output, run, takedown)
    staged += story_files
    staged += stage_ledger_keys(state_dir, run, removed_keys)
    changes = CommitChanges(
        replaced_files=tuple(sorted(takedown.rows_by_file)),
        dropped_keys={STORIES.name: tuple(dropped)},
        record={
            "kind": FORGET,
            "target": target,
            "removed": {ARTICLES.name: takedown.rows, STORIES.name: len(dropped)},
        },
    )
    return RunRecord.from_json(commit_run(staged, output, run, (STORIES,), changes))


def find_rows(output: str, target: str, with_copies: bool = False) -> Takedown:
    """The article rows to remove: id, URL or canonical URL equal to ``target`` (and, with copies, their duplicates)."""
    files = committed_files(output, ARTICLES)
    tables = {path: _read(path, SEARCH_COLUMNS) for path in files}
    canonical = canonical_url(target)
    wanted = {target} | ({canonical} if canonical else set())
    ids: set[str] = set()
    for table in tables.values():
        hit = pc.or_(
            pc.is_in(table["article_id"], pa.array(sorted(wanted))), pc.is_in(table["url"], pa.array(sorted(wanted)))
        )
        ids |= set(table.filter(pc.fill_null(hit, False))["article_id"].to_pylist())
    if not ids:
        raise NothingToForget(f"no article has the id or URL {target!r} in {output}/articles")
    if with_copies:
        for table in tables.values():
            copies = pc.fill_null(pc.is_in(table["duplicate_of"], pa.array(sorted(ids))), False)
            ids |= set(table.filter(copies)["article_id"].to_pylist())
    rows_by_file: dict[str, list[int]] = {}
    story_of: dict[str, str] = {}
    for path, table in tables.items():
        mask = pc.is_in(table["article_id"], pa.array(sorted(ids))).to_pylist()
        rows = [i for i, hit in enumerate(mask) if hit]
        if rows:
            rows_by_file[path] = rows
            picked = table.take(rows)
            for article_id, story_id in zip(
                picked["article_id"].to_pylist(), picked["story_id"].to_pylist(), strict=True
            ):
                if story_id:
                    story_of[article_id] = story_id
    return Takedown(target, rows_by_file, tuple(sorted(ids)), story_of)


def stage_rewritten_articles(
    output: str, run: RunContext, takedown: Takedown
) -> tuple[list[StagedFile], list[SeenKey]]:
    """Each affected articles file without the removed rows, staged; and the removed rows' ledger keys."""
    staged: list[StagedFile] = []
    keys: list[SeenKey] = []
    for path, rows in sorted(takedown.rows_by_file.items()):
        table = _read(path)
        drop = set(rows)
        removed = table.take(pa.array(sorted(drop), pa.int64()))
        for row in removed.select(["article_id", "content_hash", "entry_id"]).to_pylist():
            keys += [
                SeenKey(kind=FORGOTTEN, key=row["article_id"], run_id=run.run_id),
                SeenKey(kind=FORGOTTEN_CONTENT, key=row["content_hash"], run_id=run.run_id),
                SeenKey(kind=ARTICLE, key=row["article_id"], run_id=run.run_id),
                SeenKey(kind=CONTENT, key=row["content_hash"], run_id=run.run_id),
            ]
            if row["entry_id"]:
                keys.append(SeenKey(kind=ENTRY, key=row["entry_id"], run_id=run.run_id))
        kept = table.filter(pa.array([i not in drop for i in range(table.num_rows)], pa.bool_()))
        partition = path[len(output) + 1 :].rsplit("/", 1)[0]  # e.g. articles/published_date=2024-05-01
        last_file = not staged and len(committed_files(output, ARTICLES)) == len(takedown.rows_by_file)
        if kept.num_rows or (last_file and path == max(takedown.rows_by_file)):  # a table never loses its last file
            staged.append(_stage(output, run, f"{partition}/part-{run.run_id}-{uuid.uuid4().hex[:12]}.parquet", kept))
    return staged, keys


def stage_story_updates(output: str, run: RunContext, takedown: Takedown) -> tuple[list[StagedFile], list[str]]:
    """Updated rows of the stories that lost articles (staged), and the ids of stories left with none."""
    removed = Counter(takedown.story_of.values())
    if not removed:
        return [], []
    stories = pa.concat_tables([_read(p) for p in committed_files(output, STORIES)])
    latest: dict[str, dict] = {}
    for row in stories.to_pylist():  # files in name order; the latest run's row wins, as in the merge
        if row["story_id"] in removed and (
            row["story_id"] not in latest or row["ingested_at"] >= latest[row["story_id"]]["ingested_at"]
        ):
            latest[row["story_id"]] = row
    dates = _remaining_dates(output, set(removed), set(takedown.article_ids))
    rows, dropped = [], []
    for story_id, row in sorted(latest.items()):
        count = row["article_count"] - removed[story_id]
        if count <= 0 or story_id not in dates:
            dropped.append(story_id)
            continue
        first, last = dates[story_id]
        rows.append(
            {**row, "article_count": count, "first_published": first, "last_published": last}
            | {"ingested_at": run.started_at, "run_id": run.run_id}
        )
    if not rows:
        return [], dropped
    table = records_to_table(rows, STORIES.arrow_schema)
    return [_stage(output, run, f"{STORIES.name}/part-{run.run_id}-{uuid.uuid4().hex[:12]}.parquet", table)], dropped


def _remaining_dates(
    output: str, story_ids: set[str], removed: set[str]
) -> dict[str, tuple[dt.datetime | None, dt.datetime | None]]:
    """{story_id: (first, last published_at)} over the articles that stay; stories with no article left are absent."""
    found: dict[str, list] = {}
    for path in committed_files(output, ARTICLES):
        table = _read(path, ["article_id", "story_id", "published_at"])
        for article_id, story_id, published in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
            if story_id in story_ids and article_id not in removed:
                found.setdefault(story_id, [])
                if published is not None:
                    found[story_id].append(published)
    return {s: (min(d), max(d)) if d else (None, None) for s, d in found.items()}


def stage_ledger_keys(state_dir: str, run: RunContext, keys: Iterable[SeenKey]) -> list[StagedFile]:
    rows = [{"kind": k.kind, "key": k.key, "run_id": k.run_id} for k in dict.fromkeys(keys)]
    if not rows:
        return []
    table = records_to_table(rows, SEEN.arrow_schema)
    return [_stage(state_dir.rstrip("/"), run, f"{SEEN.name}/part-{run.run_id}-forget.parquet", table, SEEN.name)]


def earlier_forget(output: str, target: str) -> RunRecord | None:
    """The latest forget record for ``target``, if any."""
    records = [read_record(p) for p in record_paths(output)]
    return next((r for r in reversed(records) if r.kind == FORGET and r.target == target), None)


def _stage(root: str, run: RunContext, relative_path: str, table: pa.Table, name: str | None = None) -> StagedFile:
    path = FileSystems.join(staging_dir(root, run.run_id), relative_path)
    ensure_dir(path.rsplit("/", 1)[0])
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        pq.write_table(table, handle, compression=COMPRESSION)
    return StagedFile(name or relative_path.split("/", 1)[0], root, relative_path, table.num_rows)


def _read(path: str, columns: list[str] | None = None) -> pa.Table:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return pq.read_table(handle, columns=columns)
