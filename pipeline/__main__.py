"""``python -m pipeline``: see pipeline.startup and pipeline.cli."""

from pipeline.startup import command

command()
