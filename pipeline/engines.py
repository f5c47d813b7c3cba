"""Beam's own engines as installed by ``make engines``: where they are, and a clear error when they are not.

``make engines-prism`` (``deploy/engines/prism.sh``) builds Prism, Beam's portable local runner, at
the pinned Beam version into ``.cache/engines/prism`` of the checkout (``NEWSBEAM_ENGINES_DIR``
overrides the folder). A ``prism`` on PATH is used when that folder has none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENGINES_DIR = Path(os.environ.get("NEWSBEAM_ENGINES_DIR") or Path(__file__).resolve().parents[1] / ".cache" / "engines")
"""Where ``make engines`` puts the engines (``NEWSBEAM_ENGINES_DIR`` overrides it)."""
ENGINE_MISSING_EXIT = 6
"""Exit code of a run whose engine is not installed (the message names ``make engines``)."""


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
