"""Where everything lives: the folder layout of an output and of its state store, in one place.

::

    OUTPUT/
      TABLE/PARTITION=VALUE/part-*.parquet   committed tables (``committed_files``)
      _runs/RUN_ID.json                      one run record per commit (``RUNS_DIR``)
      _staging-RUN_ID/                       a run's files until its commit (``staging_dir``): its
                                             commit plan (``COMMIT_PLAN``), the bodies of its articles
                                             waiting for their verdicts (``PARKED_FOLDER``)
      _compact/                              the work folder of ``compact`` (``COMPACT_DIR``)
      _lease.json                            the lease of the run or job writing here (``LEASE_FILE``)
      _state/                                the state store, unless ``--state`` names another (``STATE_DIR``)

    STATE/
      seen/                                  the seen-items ledger, a table like the output's
      feeds.json, sitemaps.json              feed and sitemap states (``FEEDS_FILE``, ``SITEMAPS_FILE``)
      story_index.json.gz                    the story index (``STORY_INDEX_FILE``)
      _staging-RUN_ID/, _staging-RUN_ID-story-index/, _lease.json

A name that starts with ``_`` or ``.`` is hidden from readers (Spark, DuckDB globs, pyarrow), so
staging, records and state never show up as table data. Every path goes through Beam's
FileSystems (local, gs://, s3://).
"""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

from schemas import TableSpec

STAGING_PREFIX = "_staging-"
"""A run's private staging folder under the output and the state store: ``_staging-RUN_ID``."""
RUNS_DIR = "_runs"
"""Under the output: the run record of every committed run, ``RUN_ID.json``."""
COMMIT_PLAN = "_commit.json"
"""Written into the output's staging folder when a commit starts: what to move where."""
PARKED_FOLDER = "parked"
"""Inside the run's staging folder: the files where article bodies wait for their verdicts."""
COMPACT_DIR = "_compact"
"""Under the output: where ``compact`` writes its plan and merged files before they move into place."""
LEASE_FILE = "_lease.json"
"""In the output and in the state store: who holds the right to write there."""
STATE_DIR = "_state"
"""The state store's folder inside the output when ``--state`` is not given."""
FEEDS_FILE = "feeds.json"
SITEMAPS_FILE = "sitemaps.json"
STORY_INDEX_FILE = "story_index.json.gz"
"""State files in the state store: feed states, sitemap states, the story index."""


def staging_dir(output: str, run_id: str) -> str:
    """The run's private staging folder; the leading '_' hides it from readers."""
    return FileSystems.join(output.rstrip("/"), STAGING_PREFIX + run_id)


def committed_files(output: str, table: TableSpec) -> list[str]:
    """Data files of a table already in the output (staging and hidden folders excluded)."""
    root = FileSystems.join(output.rstrip("/"), table.name)
    matches = FileSystems.match([root + "/**"])[0].metadata_list
    return sorted(
        m.path
        for m in matches
        if m.path.endswith(".parquet")
        and not any(part.startswith((".", "_")) for part in m.path[len(root) :].split("/"))
    )
