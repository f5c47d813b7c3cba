"""Which files are inputs, and opening one safely: literal paths first, regular files only.

Listing (``list_inputs``): an ``--input`` that exists is taken literally, glob characters and all
(``in[1]/`` is that folder, never ``in1/``); only a path that doesn't exist is a glob. A folder is
walked recursively; names starting with ``.`` or ``_`` are hidden; inside a folder only known
seed formats count. Whatever matches is listed, whatever it is (a FIFO, a socket, a dangling or
looping symlink): each listed name then becomes documents or a rejects row, so nothing listed
vanishes from the accounting. Symlinked folders are walked once (a loop is not followed twice).

Opening (``open_regular_file``): a symlink is resolved once and the resolved file is opened
without blocking (a FIFO with no writer would block ``open`` forever) and checked with ``fstat``:
anything but a regular file is refused. Problems come back as ``InputProblem`` with a reject
reason: ``not_a_regular_file``, ``dangling_symlink``, ``symlink_loop``, ``unreadable``.
Object-store paths (``s3://``, ``gs://``) are listed and opened through Beam's FileSystems; an
``http(s)://`` input is one file, taken as named (a WARC, read with ranged GETs).
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from collections.abc import Callable, Iterable
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

NOT_A_REGULAR_FILE = "not_a_regular_file"
DANGLING_SYMLINK = "dangling_symlink"
SYMLINK_LOOP = "symlink_loop"
UNREADABLE = "unreadable"
GLOB_CHARACTERS = "*?["


class InputProblem(Exception):
    """A listed input that can't be read as a file: ``reason`` is its reject reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def list_inputs(pattern: str, is_input: Callable[[str], bool]) -> list[str]:
    """The inputs one ``--input`` names, sorted; ``is_input(relative_path)`` picks files inside folders and globs.

    ``pattern`` is absolute for local paths. A file named explicitly is listed whatever it is.
    """
    if pattern.lower().startswith(("http://", "https://")):
        return [pattern]  # one remote file (a WARC read with ranged GETs): nothing to list over HTTP
    if FileSystems.get_scheme(pattern) is not None:
        return _list_object_store(pattern, is_input)
    path = pattern.rstrip("/") or "/"
    if os.path.lexists(path):
        if os.path.isdir(path):
            return sorted(_walk(path, is_input, set()))
        return [path]
    has_glob = any(ch in pattern for ch in GLOB_CHARACTERS)
    found, visited = set(), set()
    for match in glob.glob(pattern.rstrip("/"), recursive=True):
        if os.path.isdir(match):
            found.update(_walk(match, is_input, visited))
        elif not has_glob or is_input(os.path.basename(match)):
            found.add(match)
    return sorted(found)


def _walk(directory: str, is_input: Callable[[str], bool], visited: set[tuple[int, int]]) -> Iterable[str]:
    """Files under ``directory`` that ``is_input`` accepts, following symlinked folders once each."""
    try:
        info = os.stat(directory)
    except OSError:
        return
    if (info.st_dev, info.st_ino) in visited:
        return
    visited.add((info.st_dev, info.st_ino))
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        if _is_folder(entry):
            yield from _walk(entry.path, is_input, visited)
        elif is_input(entry.name):
            yield entry.path  # a regular file, or anything else that claims to be one: checked when opened


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # a looping symlink
        return False


def _list_object_store(pattern: str, is_input: Callable[[str], bool]) -> list[str]:
    directory = pattern.rstrip("/")
    in_directory = [m.path for m in FileSystems.match([directory + "/**"])[0].metadata_list]
    if in_directory:
        return sorted(p for p in in_directory if is_input(p[len(directory) :]))
    matches = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    has_glob = any(ch in pattern for ch in GLOB_CHARACTERS)
    return sorted(p for p in matches if not has_glob or is_input(p.rsplit("/", 1)[-1]))


def open_regular_file(path: str) -> BinaryIO:
    """The file at ``path`` opened for reading; raises ``InputProblem`` unless it is a regular file."""
    if FileSystems.get_scheme(path) is not None:
        try:
            return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except OSError as err:
            raise InputProblem(UNREADABLE, f"{type(err).__name__}: {err}") from err
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputProblem(SYMLINK_LOOP, f"symlink loop: {err.strerror}") from err
        if err.errno == errno.ENOENT and os.path.islink(path):
            raise InputProblem(DANGLING_SYMLINK, f"symlink to {os.readlink(path)!r}, which does not exist") from err
        raise InputProblem(UNREADABLE, f"{type(err).__name__}: {err.strerror}") from err
    try:
        descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        kind = _kind_of(target)
        if kind != "regular file":
            raise InputProblem(NOT_A_REGULAR_FILE, f"{kind}, not a regular file") from err
        raise InputProblem(UNREADABLE, f"{type(err).__name__}: {err.strerror}") from err
    kind = _kind(os.fstat(descriptor).st_mode)
    if kind != "regular file":
        os.close(descriptor)
        raise InputProblem(
            NOT_A_REGULAR_FILE, f"{kind}{' ' + repr(target) if target != path else ''}, not a regular file"
        )
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def _kind_of(path: str) -> str:
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return "regular file"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"
