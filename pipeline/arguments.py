"""Strict argument parsing for every command: ours first, Beam's passed through, anything else refused.

Each command declares its option classes (``pipeline/options.py``). ``parse_command`` builds one
parser from them plus, for commands that run or read through Beam, every option Beam defines;
an argument that neither defines is an ``ArgumentError`` naming the closest known option
("did you mean --output?"), so a typo never silently runs with the defaults (Beam itself would
ignore it). ``--help`` lists our options in their named groups (``GROUPS``); ``--help-beam`` lists
Beam's. Before parsing, ``run_command`` puts the config file's options (``pipeline/config.py``) in
front of the command line, so the command line wins and the file's mistakes are exit code 2 too.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.config import ConfigError, with_config
from pipeline.exit_codes import ARGUMENT_ERROR_EXIT, CORRUPT_STATE_EXIT, LEASE_HELD_EXIT
from pipeline.options import (
    CONFIG,
    GROUPS,
    RUNNER,
    Option,
    RunnerOptions,
    StreamingFlag,
    StreamingOptions,
    add_options,
    every_option,
    options_of,
)
from transforms.output.files import CorruptStateFile
from transforms.output.lease import LeaseHeld

STATE_ERRORS: Mapping[type[Exception], int] = {LeaseHeld: LEASE_HELD_EXIT, CorruptStateFile: CORRUPT_STATE_EXIT}
"""Failures of any command that uses the output and state store: another run holds them (4), a state
file can't be read (5)."""
PROG = "python -m pipeline"


class ArgumentError(ValueError):
    """A command line we cannot run: unknown options or stray arguments, with a hint."""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, showing each option once: ``--host-delay``, not also its ``--host_delay`` spelling."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        shown = [s for s in action.option_strings if not ("_" in s and s.replace("_", "-") in action.option_strings)]
        if not action.option_strings or shown == action.option_strings:
            return super()._format_action_invocation(action)
        copy = argparse.Action(shown, action.dest, nargs=action.nargs, metavar=action.metavar)
        copy.choices, copy.help = action.choices, action.help
        return super()._format_action_invocation(copy)


class OptionParser(argparse.ArgumentParser):
    """An ArgumentParser with the named option groups of ``pipeline/options.py`` that accepts Beam's option
    classes and never aborts on a repeated flag.

    ``section(group)`` is where an option of that group goes (``add_options`` uses it); the groups
    are created in ``GROUPS`` order, so ``--help`` always lists them in that order, empty ones left out.
    Beam's ``_add_argparse_args`` hooks call ``add_value_provider_argument`` (templated options);
    here it is a plain argument, which is all parsing and help need. A flag already defined (our
    ``--runner`` help before Beam's) keeps its first definition.
    """

    def __init__(self, *args, command: str = "", **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self._sections = {
            name: _Section(self, self.add_argument_group(title.format(command=f"{command} options")))
            for name, title in GROUPS.items()
        }

    def section(self, group: str) -> _Section:
        return self._sections[group]

    def add_value_provider_argument(self, *args, **kwargs):
        return self.add_argument(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        fresh = [a for a in args if not (a.startswith("-") and a in self._option_string_actions)]
        if args and args[0].startswith("-") and not fresh:
            return None
        return super().add_argument(*fresh, **kwargs)

    def error(self, message: str):
        raise ArgumentError(f"{self.prog}: {message}")


class _Section:
    """Adds arguments into one argument group of ``parser`` (with its duplicate check)."""

    def __init__(self, parser: OptionParser, group: argparse._ArgumentGroup):
        self._parser = parser
        self._group = group

    @classmethod
    def titled(cls, parser: OptionParser, title: str) -> _Section:
        return cls(parser, parser.add_argument_group(title))

    def add_argument(self, *args, **kwargs):
        fresh = [a for a in args if not (a.startswith("-") and a in self._parser._option_string_actions)]
        if args and args[0].startswith("-") and not fresh:
            return None
        return self._group.add_argument(*fresh, **kwargs)

    add_value_provider_argument = add_argument


class OptionGroup(Protocol):
    """An option class: ours (``pipeline/options.py``) or Beam's; it adds its arguments to a parser."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None: ...


@dataclass(frozen=True)
class Command:
    """One subcommand: what it does, its option classes, and whether Beam's options pass through."""

    name: str
    summary: str
    options: tuple[type[OptionGroup], ...]
    beam_options: bool = True

    def declared_options(self) -> list[Option]:
        """Our options of this command (``--runner``/``--streaming`` too when Beam's pass through), in order."""
        return list(options_of(self.option_classes()))

    def option_classes(self) -> tuple[type, ...]:
        """The option classes whose options this command shows: its own, and Beam's --runner (--streaming)."""
        if not self.beam_options:
            return self.options
        return (*self.options, RunnerOptions, *((StreamingFlag,) if StreamingOptions in self.options else ()))


def beam_option_classes() -> list[type[OptionGroup]]:
    """Every option class Beam itself defines (ours excluded), in Beam's order."""
    seen: dict[str, type[OptionGroup]] = {}
    for cls in PipelineOptions.__subclasses__():
        if cls.__module__.startswith("apache_beam."):
            seen.setdefault(str(cls), cls)
    return list(seen.values())


def build_parser(command: Command, *, with_beam: bool = True, prog: str = PROG) -> OptionParser:
    """The command's parser: our options in their named groups (and --runner's real default), then Beam's
    when asked."""
    parser = OptionParser(
        prog=f"{prog} {command.name}", description=command.summary, add_help=False, command=command.name
    )
    for cls in command.option_classes():
        cls._add_argparse_args(parser)
    general = parser.section("general")
    general.add_argument("-h", "--help", action="store_true", help="Show this help and exit.")
    if command.beam_options:
        general.add_argument("--help-beam", action="store_true", help="List Apache Beam's own options and exit.")
    general.add_argument("-v", "--verbose", action="count", default=0, help="More log output (-vv: Beam's too).")
    general.add_argument("-q", "--quiet", action="store_true", help="Warnings and errors only.")
    general.add_argument("--version", action="store_true", help="Print the version and exit.")
    add_options(parser, [CONFIG])
    if command.beam_options and with_beam:
        for cls in beam_option_classes():
            cls._add_argparse_args(_Section.titled(parser, f"Apache Beam: {cls.__name__}"))
    return parser


Handler = Callable[[argparse.Namespace, Any], int]
"""A command's body: its parsed options, and what Beam should see (see ``run_command``); returns the exit code."""


def run_command(command: Command, argv: Sequence[str], handler: Handler, *, beam_sees_ours: bool = False) -> int:
    """Parses strictly, answers --help/--help-beam/--version, sets the log level, then runs ``handler``.

    ``handler`` gets, second, the argument list for Beam's PipelineOptions when ``beam_sees_ours``
    (pipeline runs, whose options are Beam options), else a PipelineOptions holding only the Beam
    options given (e.g. ``--s3_endpoint_url`` for ``FileSystems.set_options``).
    """
    if "-h" in argv or "--help" in argv or (command.beam_options and "--help-beam" in argv):
        print(format_help(command, beam="-h" not in argv and "--help" not in argv), end="")
        return 0  # before parsing: help needs no required argument
    if "--version" in argv:
        print(version_line())
        return 0
    try:
        argv, config_file, config_keys = command_line_with_config(command, argv)
        args = parse_command(command, argv)
    except (ArgumentError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return ARGUMENT_ERROR_EXIT
    set_log_level(args.verbose, args.quiet)
    if config_file:
        logging.getLogger("newsbeam").info("options from %s: %s", config_file, ", ".join(config_keys) or "none")
    if beam_sees_ours:
        return handler(args, pipeline_argv(argv))
    return handler(args, beam_options_given(argv))


def command_line_with_config(command: Command, argv: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """``argv`` after the config file's options (``pipeline/config.py``): the words, the file, the keys it set."""
    return with_config(
        argv, command.declared_options(), other_commands_options(command), beam_actions, command.beam_options
    )


def other_commands_options(command: Command) -> list[str]:
    """Names of the options other commands take (a shared config file may hold them)."""
    mine = {option.name for option in command.declared_options()}
    return sorted({option.name for option in every_option()} - mine)


@functools.cache
def beam_actions() -> dict[str, argparse.Action]:
    """Every option Beam defines, by flag (``--temp_location`` → its argparse action)."""
    parser = OptionParser(add_help=False)
    for cls in beam_option_classes():
        cls._add_argparse_args(parser)
    return dict(parser._option_string_actions)


def parse_command(command: Command, argv: Sequence[str]) -> argparse.Namespace:
    """Parses ``argv`` strictly; raises ArgumentError on anything neither we nor Beam define."""
    parser = build_parser(command)
    namespace, unknown = parser.parse_known_args(list(argv))
    if unknown:
        raise ArgumentError(unknown_arguments_message(parser, unknown))
    return namespace


def beam_options_given(argv: Sequence[str]) -> PipelineOptions:
    """Only the Beam options in ``argv``, as PipelineOptions (our own options are left out)."""
    parser = OptionParser(add_help=False)
    for cls in beam_option_classes():
        cls._add_argparse_args(parser)
    given, _ = parser.parse_known_args(list(argv))
    changed = {k: v for k, v in vars(given).items() if v != parser.get_default(k)}
    return PipelineOptions([], **changed)


def output_missing(output: str, filesystem_options: PipelineOptions | None = None) -> bool:
    """Connects Beam's file systems (``--s3_endpoint_url``, …); True, with an error printed, when ``output`` is absent.

    Every command that reads an output exits with ``MISSING_OUTPUT_EXIT`` then.
    """
    from apache_beam.io.filesystems import FileSystems

    if filesystem_options is not None:
        FileSystems.set_options(filesystem_options)
    if FileSystems.exists(output.rstrip("/")):
        return False
    print(f"error: {output} does not exist", file=sys.stderr)
    return True


OUR_LOGGERS = ("newsbeam", "pipeline", "transforms", "schemas")
"""Loggers -v turns to DEBUG; other libraries (urllib3, trafilatura) stay at INFO."""


def set_log_level(verbose: int = 0, quiet: bool = False) -> None:
    """INFO by default; -v DEBUG for newsbeam's own loggers (-vv also Beam's INFO); -q WARNING."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose and not quiet else logging.NOTSET)
    logging.getLogger("apache_beam").setLevel(logging.INFO if verbose >= 2 else logging.WARNING)


def version_line() -> str:
    try:
        version = metadata.version("newsbeam")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    return f"newsbeam {version}"


def unknown_arguments_message(parser: argparse.ArgumentParser, unknown: Iterable[str]) -> str:
    """One sentence per unknown option (with the closest known one) or stray argument."""
    known = [s for action in parser._actions for s in action.option_strings if s.startswith("--")]
    problems = []
    for arg in unknown:
        if arg.startswith("-"):
            flag = arg.split("=", 1)[0]
            close = difflib.get_close_matches(flag, known, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"unknown option {flag}{hint}")
        else:
            problems.append(f"unexpected argument {arg!r}")
    return f"{parser.prog}: " + "; ".join(problems) + f". See `{parser.prog} --help`."


LOG_LEVEL_FLAGS = ("-v", "-vv", "-vvv", "--verbose", "-q", "--quiet")


def pipeline_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` without the log-level flags (-v, -q), for Beam's PipelineOptions."""
    return [a for a in argv if a not in LOG_LEVEL_FLAGS]


def format_help(command: Command, *, beam: bool = False) -> str:
    """``--help``: our options only; ``--help-beam``: Beam's."""
    if not beam:
        text = build_parser(command, with_beam=False).format_help()
        if command.beam_options:
            text += "\nApache Beam's options (--project, --temp_location, …) pass through: see --help-beam.\n"
        return text
    parser = OptionParser(prog=f"{PROG} {command.name}", add_help=False, command=command.name)
    add_options(parser, [RUNNER])
    for cls in beam_option_classes():
        cls._add_argparse_args(_Section.titled(parser, f"Apache Beam: {cls.__name__}"))
    return parser.format_help()


def exit_code_of(body: Callable[[], int], errors: Mapping[type[Exception], int]) -> int:
    """Runs a command's ``body``; a failure named in ``errors`` prints its message to stderr and gives
    its exit code (anything else propagates)."""
    try:
        return body()
    except tuple(errors) as err:
        print(f"error: {err}", file=sys.stderr)
        return next(code for kind, code in errors.items() if isinstance(err, kind))
