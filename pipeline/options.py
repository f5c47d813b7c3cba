"""newsbeam's own pipeline options, shown by --help beside Beam's."""
from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from transforms.extract import DEFAULT_MIN_WORDS

DEFAULT_INPUT = "seeds/"
DEFAULT_OUTPUT = "out/"
DEFAULT_CATALOG = "seeds/stories.toml"
STATE_DIR = "_state"
DEFAULT_RUNNER = "FnApiRunner"
"""The stock DirectRunner first tries to download Prism; FnApiRunner runs batch locally at once."""


class NewsbeamOptions(PipelineOptions):
    """Where to read, where to write, and how to judge articles."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--input", dest="input", action="append", default=None,
            help=f"Seed file, directory or glob (.txt, .html, .htm, .jsonl, optionally .gz); repeatable. Default {DEFAULT_INPUT}",
        )
        parser.add_argument("--output", dest="output", default=DEFAULT_OUTPUT, help="Output directory or URI for the Parquet tables. Default %(default)s")
        parser.add_argument(
            "--state", dest="state", default=None,
            help="State store (feed validators, seen-items ledger) that outlives the run. Default OUTPUT/_state/",
        )
        parser.add_argument(
            "--catalog", dest="catalog", default=None,
            help=f"Story catalog (TOML) naming known stories. Default {DEFAULT_CATALOG} when it exists; '' for none.",
        )
        parser.add_argument(
            "--min-words", dest="min_words", type=int, default=DEFAULT_MIN_WORDS,
            help="Articles with fewer words after cleaning are rejected. Default %(default)s",
        )

    @property
    def inputs(self) -> list[str]:
        return self.input or [DEFAULT_INPUT]

    @property
    def state_dir(self) -> str:
        return self.state or self.output.rstrip("/") + "/" + STATE_DIR


def with_default_runner(options: PipelineOptions) -> PipelineOptions:
    """Sets FnApiRunner unless the user chose a runner."""
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = DEFAULT_RUNNER
    return options
