"""Options from a TOML file: ``newsbeam.toml`` (or ``--config PATH``), keys named as the long options.

A config file holds the rarely changed knobs, one ``key = value`` per option::

    output = "news/"
    feeds = ["feeds.txt"]
    host-delay = 2.0
    allow-private-network = true

- Keys are the long option names, without the dashes (``host-delay``); Beam's underscore spelling
  (``host_delay``) is the same key, so a Flex Template's parameter names work too. Apache Beam's own
  options (``runner``, ``temp_location``, …) are keys as well.
- Values have the option's type: a string, an integer, a number; ``true`` turns a flag on (``false``
  leaves it off); a repeatable option takes a string or a list of strings. Paths are read as on the
  command line (relative to the current folder).
- The command line wins: an option given there replaces the file's value (a repeatable one too).
- ``./newsbeam.toml`` is read when it exists and no ``--config`` is given; ``--config ''`` reads none.
- One file serves every command: a key another command takes (``interval`` for ``run``) is left
  alone; a key no command takes, a value of the wrong type, a table, or a key given in both
  spellings is a ``ConfigError`` naming the key and the file (the command exits with 2).

``option_tokens`` turns such a mapping into command-line words; ``newsbeam.run(**options)`` uses it too.
"""

from __future__ import annotations

import argparse
import difflib
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipeline.options import CONFIG, Option

CONFIG_FILE = "newsbeam.toml"
"""Read from the current folder when it exists and no ``--config`` is given."""
CONFIG_FLAGS = CONFIG.flags


class ConfigError(ValueError):
    """Options from a config file (or an API call) that no command takes, or of the wrong type."""


def split_config_flag(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--config PATH`` (or ``--config=PATH``) out of ``argv``: (PATH or None, the other words)."""
    path, rest, words = None, [], list(argv)
    while words:
        word = words.pop(0)
        if word in CONFIG_FLAGS:
            if not words:
                raise ConfigError("--config needs a path ('' for none)")
            path = words.pop(0)
        elif word.split("=", 1)[0] in CONFIG_FLAGS and "=" in word:
            path = word.split("=", 1)[1]
        else:
            rest.append(word)
    return path, rest


def config_path(given: str | None) -> str | None:
    """The file to read: ``--config``'s ('' for none), else ``./newsbeam.toml`` when it exists."""
    if given is not None:
        return given or None
    return CONFIG_FILE if os.path.isfile(CONFIG_FILE) else None


def read_config(path: str) -> dict[str, Any]:
    """The file's keys and values; ConfigError when it is missing or not TOML."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path}: a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text: {err}") from None


def with_config(
    argv: Sequence[str],
    options: Sequence[Option],
    known_elsewhere: Sequence[str],
    beam_actions: Callable[[], Mapping[str, argparse.Action]],
    takes_beam: bool,
) -> tuple[list[str], str | None, list[str]]:
    """``argv`` with the config file's options in front of it (and ``--config`` taken out).

    Returns the words, the file read (None if none) and the keys it set for this command.
    """
    given, rest = split_config_flag(argv)
    path = config_path(given)
    if path is None:
        return rest, None, []
    values = read_config(path)
    words, keys = option_tokens(
        values, options, known_elsewhere, beam_actions, takes_beam=takes_beam, source=path, given=rest
    )
    return words + rest, path, keys


def option_tokens(
    values: Mapping[str, Any],
    options: Sequence[Option],
    known_elsewhere: Sequence[str] = (),
    beam_actions: Callable[[], Mapping[str, argparse.Action]] = dict,
    *,
    takes_beam: bool = True,
    source: str,
    given: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Command-line words for ``values`` (keys: long option names, either spelling), and the keys used.

    ``options`` are the command's own; a key in ``known_elsewhere`` (another command's option) is
    skipped; ``beam_actions()`` gives Beam's options (flag → argparse action), used when the command
    ``takes_beam`` and skipped otherwise. An option already in ``given`` (the command line) is skipped:
    the command line wins.
    """
    ours = {option.name: option for option in options if option.kind != "positional" and option is not CONFIG}
    seen: dict[str, str] = {}
    words: list[str] = []
    used: list[str] = []
    for key, value in values.items():
        name = key.replace("_", "-")
        if name in seen:
            raise ConfigError(f"{source}: {seen[name]!r} and {key!r} are the same option; keep one")
        seen[name] = key
        if isinstance(value, dict):
            raise ConfigError(f"{source}: {key!r} is a table; the file holds only option = value lines")
        option = ours.get(name)
        if option is not None:
            if not _given(option.flags, given):
                words += _option_words(option, key, value, source)
                used.append(key)
            continue
        action = _beam_action(key, beam_actions())
        if action is not None:
            if takes_beam and not _given(action.option_strings, given):
                words += _beam_words(action, key, value, source)
                used.append(key)
            continue
        if name in known_elsewhere:
            continue
        known = sorted({*ours, *known_elsewhere, *(f.lstrip("-") for f in beam_actions())})
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]!r}?)" if close else "; keys are the long option names (see --help)"
        raise ConfigError(f"{source}: unknown key {key!r}{hint}")
    return words, used


def _given(flags: Sequence[str], argv: Sequence[str]) -> bool:
    return any(word == flag or word.startswith(flag + "=") for word in argv for flag in flags)


_TYPE_NAMES: dict[Any, str] = {int: "an integer", float: "a number", str: "a string"}


def _option_words(option: Option, key: str, value: Any, source: str) -> list[str]:
    flag = option.flags[0]

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {key!r} must be {expected}, not {_shown(value)}")

    if option.is_flag:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return [flag] if value else []
    if option.kind == "many":
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise wrong("a string or a list of strings")
        return [f"{flag}={item}" for item in items]
    expected = _TYPE_NAMES.get(option.type, "a string")
    if isinstance(value, bool) or not _fits(option.type, value):
        raise wrong(expected)
    if option.choices and value not in option.choices:
        raise ConfigError(f"{source}: {key!r} must be one of {', '.join(option.choices)}, not {_shown(value)}")
    return [f"{flag}={value}"]


def _fits(kind: Any, value: Any) -> bool:
    if kind is int:
        return isinstance(value, int)
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, str)


def _beam_action(key: str, actions: Mapping[str, argparse.Action]) -> argparse.Action | None:
    for flag in (f"--{key}", f"--{key.replace('-', '_')}"):
        if flag in actions:
            return actions[flag]
    return None


def _beam_words(action: argparse.Action, key: str, value: Any, source: str) -> list[str]:
    flag = action.option_strings[0]
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key!r} must be true or false, not {_shown(value)}")
        return [flag] if value else []
    items = value if isinstance(value, list) else [value]
    words = []
    for item in items:
        if isinstance(item, dict | list):
            raise ConfigError(f"{source}: {key!r} must be a string or a number, not {_shown(item)}")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        try:
            converted = action.type(text) if callable(action.type) else text
        except (ValueError, TypeError, argparse.ArgumentTypeError) as err:
            raise ConfigError(f"{source}: {key!r}: {_shown(item)} is not a valid value ({err})") from None
        if action.choices and converted not in action.choices:
            raise ConfigError(f"{source}: {key!r} must be one of {', '.join(map(str, action.choices))}")
        words.append(f"{flag}={text}")
    return words


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})"
