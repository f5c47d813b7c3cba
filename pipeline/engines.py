"""Beam's own engines as installed by ``make engines``: where they are, and a clear error when they are not.

``make engines-prism`` (``deploy/engines/prism.sh``) builds Prism, Beam's portable local runner, at
the pinned Beam version into ``.cache/engines/prism`` of the checkout (``NEWSBEAM_ENGINES_DIR``
overrides the folder). A ``prism`` on PATH is used when that folder has none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from apache_beam.options.pipeline_options import FlinkRunnerOptions, PipelineOptions, StandardOptions

ENGINES_DIR = Path(os.environ.get("NEWSBEAM_ENGINES_DIR") or Path(__file__).resolve().parents[1] / ".cache" / "engines")
"""Where ``make engines`` puts the engines (``NEWSBEAM_ENGINES_DIR`` overrides it)."""


class EngineMissing(Exception):
    """An engine the run needs is not installed."""


def prism_location(engines_dir: Path | None = None) -> str:
    """The Prism binary: ``.cache/engines/prism``, else ``prism`` on PATH; EngineMissing when neither exists."""
    cached = (engines_dir or ENGINES_DIR) / "prism"
    if cached.is_file() and os.access(cached, os.X_OK):
        return str(cached)
    on_path = shutil.which("prism")
    if on_path:
        return on_path
    raise EngineMissing(
        "--streaming runs on Prism, which is not installed: run `make engines` "
        "(or pass --runner with another streaming runner)"
    )


FLINK_JOB_SERVER_JAR = "beam-runners-flink-1.20-job-server-2.77.0.jar"
"""Beam's Flink job server for Flink 1.20 (the loopback cluster's and compose's Flink), at the pinned Beam version."""


def use_installed_flink_job_server(options: PipelineOptions) -> None:
    """FlinkRunner without ``--flink_job_server_jar`` gets the installed jar, never Beam's own download.

    Beam fetches a missing job server jar from a fixed URL at submission; here an absent jar is an
    EngineMissing naming the install step, and a given path that does not exist is one too.
    """
    if (options.view_as(StandardOptions).runner or "").rsplit(".", 1)[-1] != "FlinkRunner":
        return
    flink = options.view_as(FlinkRunnerOptions)
    if flink.flink_job_server_jar:
        if "://" not in flink.flink_job_server_jar and not Path(flink.flink_job_server_jar).is_file():
            raise EngineMissing(f"--flink_job_server_jar {flink.flink_job_server_jar} does not exist")
        return
    cached = ENGINES_DIR / FLINK_JOB_SERVER_JAR
    if not cached.is_file():
        raise EngineMissing(
            f"FlinkRunner needs Beam's Flink job server jar, not installed in {ENGINES_DIR}: "
            "run `make engines-flink-jobserver` or pass --flink_job_server_jar"
        )
    flink.flink_job_server_jar = str(cached)
