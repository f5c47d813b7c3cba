"""Atomic writes leave no temporary file behind, whatever fails; the start of a run sweeps old ones."""

from __future__ import annotations

import errno

import pytest
from apache_beam.io.filesystems import FileSystems

from transforms.output import files
from transforms.output.files import sweep_temporary_files, write_bytes_atomically
from transforms.output.layout import RUNS_DIR
from transforms.output.tables import clear_stale_staging


class _FullDisk:
    """A writable handle whose write fails like a full disk, after creating the file."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._handle.close()


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_content(tmp_path, monkeypatch):
    target = tmp_path / "feeds.json"
    target.write_bytes(b"old")
    create = FileSystems.create
    monkeypatch.setattr(files.FileSystems, "create", lambda path, **kw: _FullDisk(create(path, **kw)))
    with pytest.raises(OSError, match="No space left"):
        write_bytes_atomically(str(target), b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.json"]
    assert target.read_bytes() == b"old"


def test_a_failed_rename_removes_its_temporary_file(tmp_path, monkeypatch):
    def refuse(sources, targets):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.FileSystems, "rename", refuse)
    with pytest.raises(OSError):
        write_bytes_atomically(str(tmp_path / "story_index.json.gz"), b"data")
    assert list(tmp_path.iterdir()) == []


def test_the_start_of_a_run_sweeps_temporary_files_of_dead_runs(tmp_path):
    output, state = tmp_path / "out", tmp_path / "state"
    (output / RUNS_DIR).mkdir(parents=True)
    state.mkdir()
    leftovers = [
        state / ".feeds.json.tmp-1a2b3c4d",
        state / ".story_index.json.gz.tmp-deadbeef",
        output / RUNS_DIR / ".20240101T000000Z-abc.json.tmp-00ff00ff",
        output / "_lease.json.tmp-0badf00d",
    ]
    kept = [state / "feeds.json", output / RUNS_DIR / "20240101T000000Z-abc.json", state / ".notes.tmp-x"]
    for path in leftovers + kept:
        path.write_text("x")
    clear_stale_staging(str(output), str(state))
    assert all(not p.exists() for p in leftovers)
    assert all(p.exists() for p in kept)
    assert sweep_temporary_files(str(output), str(state)) == []
