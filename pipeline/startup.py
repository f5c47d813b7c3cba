"""Process entry point: import only what the run needs, then hand over to ``pipeline.cli``.

``import apache_beam`` tries every optional connector it knows: with the ``gcp`` and ``aws``
extras installed that pulls in the Dataflow client, BigQuery, Pub/Sub, GCS, boto3, pymongo and
pandas, about half of the start-up of a local run. Beam guards each of these imports with
``except ImportError``, so for a run that needs none of them (a local runner, no cloud paths)
they are marked absent before Beam is imported. Any other command line imports everything.
Such a run also sets the allocator up to hand freed memory back (``transforms/run/allocator.py``)
and starts its HTML extraction process first (``html_worker.prestart``) and the language
model's load in a thread (``transforms/run/prewarm.py``), so both overlap Beam's imports and the
graph's construction instead of delaying the first page.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")
CLOUD_SCHEMES = ("gs://", "s3://", "azfs://", "hdfs://")
OPTIONAL_IMPORTS = (
    "apache_beam.io.gcp.bigquery",  # and with it Pub/Sub, gcsio and the cross-language IOs (one guarded block)
    "apache_beam.io.gcp.gcsfilesystem",
    "apache_beam.io.aws.s3filesystem",
    "apache_beam.io.azure.blobstoragefilesystem",
    "apache_beam.io.hadoopfilesystem",
    "google.cloud.dataflow",
    "pymongo",
    "bson",
)
"""Modules a local batch run never uses, each imported by Beam inside ``try: … except ImportError``."""


def is_local_batch_run(argv: Sequence[str]) -> bool:
    """A ``run`` (or default) command on a local runner, reading and writing local paths only."""
    args = list(argv)
    if args and not args[0].startswith("-"):
        if args[0] not in ("run", "watch"):
            return False
        args = args[1:]
    args += config_words(args)
    if any(flag in args for flag in ("-h", "--help", "--streaming")):
        return False
    if any(scheme in arg for arg in args for scheme in CLOUD_SCHEMES):
        return False
    runners = [a.split("=", 1)[1] for a in args if a.startswith("--runner=")]
    runners += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--runner"]
    return all(r in LOCAL_RUNNERS for r in runners)


def config_words(args: Sequence[str]) -> list[str]:
    """The config file's options as words (``pipeline/config.py``), so its runner and paths count like the
    command line's; ``["--help"]`` (import everything) when it can't be read: the command then reports why."""
    import os
    import tomllib

    path = "newsbeam.toml" if os.path.isfile("newsbeam.toml") else None
    for i, arg in enumerate(args):
        if arg == "--config":
            path = args[i + 1] if i + 1 < len(args) else None
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    except (OSError, ValueError):
        return ["--help"]
    words = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            words.append(f"--{key}" if item is True else f"--{key}={item}")
    return words


def skip_optional_imports(argv: Sequence[str]) -> bool:
    """Marks ``OPTIONAL_IMPORTS`` absent for a local batch run (before Beam is imported); True if it did."""
    if not is_local_batch_run(argv) or "apache_beam" in sys.modules:
        return False
    for name in OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: a later import raises ImportError
    logging.getLogger("apache_beam.io.mongodbio").setLevel(logging.ERROR)  # it warns when bson is absent
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """The ``newsbeam`` command and ``python -m pipeline``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if skip_optional_imports(argv):
        from transforms.run.allocator import tune_allocator

        tune_allocator()
        if not any("multi_processing" in arg for arg in argv):
            from transforms.run import prewarm
            from transforms.text.html_worker import prestart

            prestart()  # extraction runs in this process: its child imports trafilatura while Beam loads
            prewarm.language_model()  # and the language model loads in a thread meanwhile
    from pipeline.cli import main as cli_main

    return cli_main(argv)


def exit_process(code: int) -> None:
    """Ends the command's process with ``code``: Python's exit handlers run (logging, the extraction
    processes' shutdown), then the process ends without the C++ libraries' static destructors, one of
    which (loaded by Beam's dependencies) now and then aborted a finished, committed run at exit."""
    import atexit
    import os

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def command() -> None:
    """The ``newsbeam`` console script and ``python -m pipeline``: ``main``, then ``exit_process``."""
    try:
        code = main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, int | None):
            print(done.code, file=sys.stderr)
    exit_process(code)
