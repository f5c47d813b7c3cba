"""Checks made before a run reads or writes anything: a runner Beam knows, output and state folders we can write.

Each failure is a ``PreflightError`` whose message names the value or path at fault; the
commands turn it into one line on stderr and exit code 2, instead of Beam's or the OS's
traceback from deep inside the run.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import tempfile

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import StandardOptions


class PreflightError(ValueError):
    """A runner, output or state store the run cannot use; the message names it."""


def runner_names() -> list[str]:
    """The runner names Beam accepts without a module path (DirectRunner, FnApiRunner, DataflowRunner, …)."""
    return [path.rsplit(".", 1)[-1] for path in StandardOptions.ALL_KNOWN_RUNNERS]


def check_runner(name: str | None) -> None:
    """Raises PreflightError unless Beam would find runner ``name`` (a known name, its short form, or a module path).

    Beam accepts any case and the name without its "Runner" suffix (``dataflow``); a typo gets
    the closest known name.
    """
    if not name:
        return
    known = {n.lower(): n for n in runner_names()}
    if name.lower() in known or name.lower() + "runner" in known:
        return
    if "." in name:
        module, _, cls = name.rpartition(".")
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return
        raise PreflightError(f"--runner {name}: no module {module!r} to take {cls} from")
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    hint = f" (did you mean {known[close[0]]}?)" if close else ""
    raise PreflightError(f"unknown runner {name!r}{hint}; runners: {', '.join(sorted(set(known.values())))}")


def check_writable(folder: str, option: str) -> None:
    """Raises PreflightError unless the local ``folder`` exists as a folder we can write in, or can be created.

    Nothing is created: the nearest existing ancestor must be a folder that takes a file. Object
    store URIs (gs://, s3://) are checked when the run takes their lease.
    """
    if FileSystems.get_scheme(folder) is not None:
        return
    path = os.path.abspath(folder)
    nearest = path
    while not os.path.exists(nearest):
        nearest = os.path.dirname(nearest)
    if not os.path.isdir(nearest):
        what = "is" if nearest == path else f"is below {nearest}, which is"
        raise PreflightError(f"{option} {folder} {what} a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=nearest, prefix=".newsbeam-write-check-"):
            pass
    except OSError as err:
        where = folder if nearest == path else f"{folder} (in {nearest})"
        raise PreflightError(f"{option} {where} cannot be written: {err.strerror or err}") from err


def first_line(err: BaseException, limit: int = 200) -> str:
    """An exception's message cut to its first line (Beam's I/O errors repeat whole tracebacks)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
