"""``python -m pipeline report --output DIR``: one self-contained HTML page about what is in DIR.

``DIR/report.html`` holds, top to bottom: headline figures; a story timeline (articles per story
per day on a true time scale, inline SVG, undated articles in a column of their own); one
section per story with its articles (date as precise as its source gave it, outlet, headline or
lead sentence linked to the article, URL or file name) and a small timeline of its own; feed
health (last status, failing since, new entries per day, from ``feed_polls``); a list of rejects
with the item's link and the reason; per-source quality; rejects by reason; the last runs.

Modules: ``data`` reads the tables into view models, ``charts`` draws the SVG, ``page`` writes the
HTML and CSS, ``formatting`` says how times, counts and links read.

Labels are the stories table's, the current ones (``articles.story_label`` is the label at
ingestion). Stories are ordered by article count, ties broken by recency (latest article first).
No scripts, fonts or style sheets are loaded from anywhere: the page opens offline and can be
mailed; links go only to http(s) article and feed URLs. Figures are computed with pyarrow from
the committed Parquet files (only the columns needed; article text only for headline-less
articles) and the run
records in ``DIR/_runs/``; all paths go through Beam's FileSystems.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.analyst.report.data import gather
from pipeline.analyst.report.page import render
from pipeline.arguments import Command, output_missing, run_command
from pipeline.exit_codes import MISSING_OUTPUT_EXIT
from pipeline.options import ReportOptions
from transforms.output.files import write_bytes_atomically

REPORT_FILE = "report.html"


def write_report(output: str) -> str:
    """Writes OUTPUT/report.html (temporary name, then rename); returns its path."""
    path = FileSystems.join(output.rstrip("/"), REPORT_FILE)
    write_bytes_atomically(path, render(gather(output)).encode("utf-8"))
    return path


COMMAND = Command("report", __doc__.splitlines()[0], (ReportOptions,))


def main(argv: Sequence[str]) -> int:
    return run_command(COMMAND, argv, report_command)


def report_command(args: argparse.Namespace, filesystem_options: PipelineOptions) -> int:
    if output_missing(args.output, filesystem_options):
        return MISSING_OUTPUT_EXIT
    print(write_report(args.output))
    return 0
