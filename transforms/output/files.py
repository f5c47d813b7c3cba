"""Files on any Beam file system (local, gs://, s3://): JSON state files, atomic writes, folders.

Every module that keeps a file outside the Parquet tables (feed state, story index, run records,
plans) goes through these, so "atomic" and "object store" mean the same everywhere.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.output.layout import LEASE_FILE

log = logging.getLogger(__name__)
OBJECT_STORES = ("s3", "gs")
"""Schemes whose single upload is already atomic and which have no folders."""


class CorruptStateFile(ValueError):
    """A file of the state store that can't be read: names it, what is wrong and the way out.

    Raised before anything is written, so the output tables are untouched.
    """

    def __init__(self, path: str, problem: Exception | str, way_out: str):
        if isinstance(problem, Exception):
            problem = f"{type(problem).__name__}: {problem}"
        way_out = way_out.format(path=path)
        super().__init__(f"state file {path} is unreadable: {problem}. {way_out} Nothing was written.")
        self.path, self.problem, self.way_out = path, problem, way_out


def read_json(path: str) -> dict:
    """A JSON file written by ``write_json_atomically`` (any file system)."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return json.loads(handle.read())


def write_json_atomically(path: str, value: dict) -> None:
    write_bytes_atomically(path, json.dumps(value, indent=2, sort_keys=True).encode())


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Replaces ``path`` with ``data`` so that readers see the old or the new content, never a part.

    On S3 and GCS a single upload already is (the object appears when the upload completes, and a
    rename would only be a copy); elsewhere the data goes to a hidden temporary name beside the
    target and is renamed over it (atomic on local disks).
    """
    if FileSystems.get_scheme(path) in OBJECT_STORES:
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            handle.write(data)
        return
    directory, name = path.rsplit("/", 1)
    ensure_dir(directory)
    temporary = f"{directory}/.{name}{TEMPORARY_MARK}{uuid.uuid4().hex[:8]}"
    try:
        with FileSystems.create(temporary, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            handle.write(data)
        try:
            FileSystems.rename([temporary], [path])
        except OSError:  # a filesystem that won't rename over an existing file
            FileSystems.delete([path])
            FileSystems.rename([temporary], [path])
    except BaseException:  # disk full, a kill signal turned exception, anything: no temporary file stays behind
        _remove_quietly(temporary)
        raise


TEMPORARY_MARK = ".tmp-"
_TEMPORARY_NAME = re.compile(r"^\..+\.tmp-[0-9a-f]{8}$")
"""Hidden temporary names of ``write_bytes_atomically`` (and of the lease file): '.NAME.tmp-1a2b3c4d'."""


def _remove_quietly(path: str) -> None:
    try:
        if FileSystems.exists(path):
            FileSystems.delete([path])
    except Exception:  # the original error is what the caller must see
        log.warning("could not remove the temporary file %s", path, exc_info=True)


def sweep_temporary_files(*folders: str) -> list[str]:
    """Removes temporary files that killed runs left in ``folders`` (not below them); returns their paths.

    Call it only while holding the folder's lease: a live writer's temporary file would go too.
    Local folders only: on S3/GCS a write is one upload and leaves no temporary object.
    """
    removed = []
    for folder in folders:
        folder = folder.rstrip("/")
        if FileSystems.get_scheme(folder) is not None or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if _TEMPORARY_NAME.match(name) or (name.startswith(LEASE_FILE) and TEMPORARY_MARK in name):
                path = os.path.join(folder, name)
                _remove_quietly(path)
                removed.append(path)
    if removed:
        log.warning("removed temporary files left by interrupted runs: %s", ", ".join(removed))
    return removed


def ensure_dir(path: str) -> None:
    """Creates a folder unless it exists; nothing on S3/GCS, which have no folders
    (and Beam's mkdirs there is a no-op)."""
    if FileSystems.get_scheme(path) in OBJECT_STORES:
        return
    if not FileSystems.exists(path):
        try:
            FileSystems.mkdirs(path)
        except OSError:
            if not FileSystems.exists(path):  # lost a race with another worker: fine if it exists now
                raise


def match_paths(pattern: str) -> list[str]:
    """The paths matching a FileSystems pattern (none is not an error)."""
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def remove_folder(path: str) -> None:
    """Deletes a folder and everything below it; nothing when there is none.

    On S3 and GCS a folder is only a key prefix: ``exists`` is false for it, and Beam deletes the
    objects below it only when the path ends with '/' (without it, a delete removes nothing).
    """
    path = path.rstrip("/")
    if FileSystems.get_scheme(path) in OBJECT_STORES:
        FileSystems.delete([path + "/"])  # lists the prefix and deletes what is there, if anything
    elif FileSystems.exists(path):
        FileSystems.delete([path])
