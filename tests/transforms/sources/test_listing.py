"""Input listing and opening: literal paths first, regular files only, odd files become rejects.

The unit tests call ``expand_inputs``/``read_seed_file`` directly; the last test runs the CLI on a
folder holding every kind of odd file and checks the run ends, reconciles and names each one.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
from pathlib import Path

import duckdb
import pytest

from tests.builders import RUN
from tests.conftest import run_cli
from transforms.sources import seeds
from transforms.sources.document import SourceDocument
from transforms.sources.listing import DANGLING_SYMLINK, NOT_A_REGULAR_FILE, SYMLINK_LOOP, UNREADABLE
from transforms.sources.seeds import expand_inputs, read_seed_file

TEXT = "Ferry timetable cut for winter\n\n" + "The island ferry will run twice a day from November. " * 6


def _read(path: Path, timeout: float = 20.0) -> list:
    """read_seed_file in a thread, so a read that blocks fails the test instead of hanging it."""
    items: list = []
    worker = threading.Thread(target=lambda: items.extend(read_seed_file(str(path), RUN)), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"reading {path} blocked"
    return items


def _reason(items: list) -> tuple[str, str]:
    (reject,) = items
    return reject.reason, reject.detail


def _odd_folder(root: Path) -> dict[str, str]:
    """A folder with one good file and every odd kind of entry; returns {name: expected reject reason}."""
    (root / "good.txt").write_text(TEXT)
    os.mkfifo(root / "pipe.txt")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sock.html"))
    listener.close()
    (root / "zero.jsonl").symlink_to("/dev/zero")
    (root / "gone.txt").symlink_to(root / "nowhere.txt")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    (root / "mem.txt").symlink_to("/proc/self/mem")  # a regular file whose first read fails with EIO
    return {
        "pipe.txt": NOT_A_REGULAR_FILE,
        "sock.html": NOT_A_REGULAR_FILE,
        "zero.jsonl": NOT_A_REGULAR_FILE,
        "gone.txt": DANGLING_SYMLINK,
        "loop.txt": SYMLINK_LOOP,
        "mem.txt": UNREADABLE,
    }


def test_every_odd_entry_is_listed_and_read_as_a_reject_without_blocking(tmp_path):
    expected = _odd_folder(tmp_path)
    listed = expand_inputs([str(tmp_path)])
    assert [Path(p).name for p in listed] == sorted(["good.txt", *expected])
    for name, reason in expected.items():
        got, detail = _reason(_read(tmp_path / name))
        assert got == reason, (name, detail)
    assert "FIFO" in _reason(_read(tmp_path / "pipe.txt"))[1]
    assert "character device" in _reason(_read(tmp_path / "zero.jsonl"))[1]
    assert "nowhere.txt" in _reason(_read(tmp_path / "gone.txt"))[1]
    (document,) = _read(tmp_path / "good.txt")
    assert isinstance(document, SourceDocument)


def test_a_symlink_to_a_regular_file_is_read_under_its_own_name(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.txt").write_text(TEXT)
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "link.txt").symlink_to(elsewhere / "real.txt")
    (inputs / "again").symlink_to(inputs)  # a folder loop: walked once
    assert expand_inputs([str(inputs)]) == [str(inputs / "link.txt")]
    (document,) = _read(inputs / "link.txt")
    assert document.source_uri == str(inputs / "link.txt") and document.body.startswith("Ferry")


def test_an_existing_path_with_glob_characters_is_taken_literally(tmp_path):
    for folder, text in (("in[1]", TEXT), ("in1", "Other text\n\n" + "Something else entirely. " * 8)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.txt").write_text(text)
    assert expand_inputs([str(tmp_path / "in[1]")]) == [str(tmp_path / "in[1]" / "a.txt")]
    assert expand_inputs([str(tmp_path / "in[1]" / "a.txt")]) == [str(tmp_path / "in[1]" / "a.txt")]
    assert expand_inputs([str(tmp_path / "in[12]")]) == [str(tmp_path / "in1" / "a.txt")]  # no such path: a glob


def test_a_read_error_in_a_gzip_member_is_unreadable_not_a_crash(tmp_path):
    (tmp_path / "mem.txt.gz").symlink_to("/proc/self/mem")
    assert _reason(_read(tmp_path / "mem.txt.gz"))[0] == UNREADABLE


def test_json_lines_reading_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(seeds, "MAX_JSONL_BYTES", 2000)
    record = json.dumps({"url": "https://example.org/a", "text": "word " * 30}) + "\n"
    path = tmp_path / "many.jsonl.gz"
    path.write_bytes(gzip.compress(record.encode() * 100))
    items = _read(path)
    documents = [i for i in items if isinstance(i, SourceDocument)]
    (cap,) = [i for i in items if not isinstance(i, SourceDocument)]
    assert cap.reason == "too_large" and f"line={len(documents) + 1}" in cap.source_uri
    assert 0 < len(documents) < 100


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.e2e
def test_a_run_over_odd_files_ends_reconciles_and_names_each(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    expected = _odd_folder(inputs)
    out = tmp_path / "out"
    result = run_cli("run", "--input", str(inputs), "--output", str(out), "--catalog", "")
    assert "reconciled        yes" in result.stdout
    assert f" from {len(expected) + 1} files = " in result.stdout
    rejects = duckdb.sql(f"SELECT source_uri, reason FROM read_parquet('{out}/rejects/*/*.parquet')").fetchall()
    assert {Path(uri).name: reason for uri, reason in rejects} == expected
    articles = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/articles/*/*.parquet')").fetchall()[0][0]
    assert articles == 1
