"""The command line as a user meets it: strict options, help, version, log levels, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.arguments import version_line
from pipeline.cli import COMMANDS
from tests.conftest import SEEDS, run_cli


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--ouput", "X"],
        ["--ouput", "X"],  # the default command
        ["run", "--sitemaps", "https://example.com/sitemap.xml"],
        ["watch", "--intervall", "5", "--max-runs", "1"],
        ["compact", "--ouput", "out"],
        ["report", "--ouptut", "out"],
        ["query", "--ouput", "out", "SELECT 1"],
        ["stories", "--serch", "harbour"],
        ["feeds", "--rest", "https://example.com/feed.xml"],
        ["forget", "--with-copy", "https://example.com/a"],
        ["schema", "--formt", "json"],
    ],
)
def test_an_unknown_option_exits_2_with_a_hint_and_runs_nothing(argv, tmp_path):
    (tmp_path / "seeds").symlink_to(SEEDS)  # what a bare run would read
    result = run_cli(*argv, cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown option" in result.stderr and "Traceback" not in result.stderr
    assert "did you mean" in result.stderr
    assert [p.name for p in files_under(tmp_path)] == ["seeds"], "nothing may be written"
    assert result.stdout == ""


def test_run_typo_names_the_option_meant():
    result = run_cli("run", "--ouput", "X", check=False)
    assert "unknown option --ouput (did you mean --output?)" in result.stderr


def test_an_unknown_command_exits_2_with_the_list():
    result = run_cli("stroies", check=False)
    assert result.returncode == 2 and "did you mean stories?" in result.stderr


def test_version_prints_the_version_and_runs_nothing(tmp_path):
    (tmp_path / "seeds").symlink_to(SEEDS)
    for argv in (["--version"], ["run", "--version"], ["forget", "--version"]):
        result = run_cli(*argv, cwd=tmp_path)
        assert result.stdout.strip() == version_line() and version_line().startswith("newsbeam 0.")
    assert [p.name for p in files_under(tmp_path)] == ["seeds"]


def test_top_level_help_lists_every_command():
    result = run_cli("--help")
    for name in COMMANDS:
        assert f"\n  {name} " in result.stdout
    assert len(result.stdout.splitlines()) < 30


def test_run_help_shows_our_options_first_and_the_real_default_runner():
    text = run_cli("run", "--help").stdout
    assert text.index("--input") < text.index("--runner") and "Default FnApiRunner" in text
    assert "--direct_num_workers" not in text and "--help-beam" in text
    beam = run_cli("run", "--help-beam").stdout
    assert "--direct_num_workers" in beam and "--temp_location" in beam and "Default FnApiRunner" in beam
    assert "defaults to DirectRunner" not in beam


def test_every_command_has_help():
    for name in COMMANDS:
        result = run_cli(name, "--help")
        assert result.stdout.startswith(f"usage: python -m pipeline {name}")


def test_missing_output_is_the_same_exit_code_for_every_reader(tmp_path):
    missing = str(tmp_path / "nothing")
    codes = {name: run_cli(name, "--output", missing, check=False).returncode for name in ("compact", "report")}
    codes["stories"] = run_cli("stories", "--output", missing, check=False).returncode
    codes["feeds"] = run_cli("feeds", "--output", missing, check=False).returncode
    codes["forget"] = run_cli("forget", "--output", missing, "x", check=False).returncode
    codes["query"] = run_cli("query", "--output", missing, "SELECT 1", check=False).returncode
    assert set(codes.values()) == {2}, codes


def test_verbose_run_logs_debug_and_lists_every_counter(tmp_path):
    result = run_cli("-v", "run", "--input", str(SEEDS / "001_56db16ce61149816.txt"), "--output", str(tmp_path / "o"))
    assert " DEBUG newsbeam: input files:" in result.stderr
    counters = result.stdout.split("  counters\n", 1)[1].split("Try:", 1)[0].splitlines()
    assert "    read.documents = 1" in counters and all(" = " in line for line in counters)
