"""Flex Template entry point (``FLEX_TEMPLATE_PYTHON_PY_FILE``): template parameters → ``pipeline run``.

The template launcher runs ``python launch.py --name=value …``: one ``--name=value`` per
parameter set at launch (see ``metadata.json``), plus Dataflow's own options (``--project``,
``--region``, ``--temp_location``, ``--template_location``, …). Two adaptations, nothing else:

- on/off parameters arrive as ``--streaming=true``; our flags (like Beam's ``--streaming``) take
  no value, so ``true`` becomes the bare flag and ``false`` drops it;
- the runner defaults to DataflowRunner (the CLI alone defaults to the local FnApiRunner).

    python deploy/dataflow/launch.py --input=seeds/ --output=/tmp/out --project=P --region=R \\
        --temp_location=gs://BUCKET/tmp --dry_run=True      # what the launcher does, as a dry run
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

FLAG_PARAMETERS = ("streaming", "no_fetch_articles", "allow_private_network", "reset_feeds")
"""Parameters that are on/off flags on our command line."""


def template_argv(args: Sequence[str]) -> list[str]:
    """The ``python -m pipeline`` arguments for the launcher's ``args``; SystemExit on a bad flag value."""
    argv: list[str] = []
    for arg in args:
        name, has_value, value = arg.partition("=")
        if has_value and name.startswith("--") and name[2:] in FLAG_PARAMETERS:
            if value.lower() not in ("true", "false"):
                raise SystemExit(f"{name} takes true or false, not {value!r}")
            if value.lower() == "true":
                argv.append(name)
            continue
        argv.append(arg)
    if not any(arg == "--runner" or arg.startswith("--runner=") for arg in argv):
        argv.insert(0, "--runner=DataflowRunner")
    return ["run", *argv]


if __name__ == "__main__":
    from pipeline.cli import main

    sys.exit(main(template_argv(sys.argv[1:])))
