"""Options from newsbeam.toml: keys are the long option names, the command line wins, mistakes are exit 2."""

from __future__ import annotations

import pytest

from pipeline.arguments import command_line_with_config, parse_command
from pipeline.cli import COMMANDS, RUN, WATCH
from pipeline.config import ConfigError


def parsed(command, tmp_path, text, *argv):
    (tmp_path / "newsbeam.toml").write_text(text, encoding="utf-8")
    words, path, keys = command_line_with_config(command, ["--config", str(tmp_path / "newsbeam.toml"), *argv])
    return parse_command(command, words), keys


def test_keys_are_the_long_option_names_in_either_spelling(tmp_path):
    args, keys = parsed(
        RUN,
        tmp_path,
        'output = "news/"\nmin-words = 3\nhost_delay = 0.5\nallow-private-network = true\n'
        'feed = ["https://a.example/rss", "https://b.example/rss"]\nlanguage = "de"\nrunner = "FnApiRunner"\n'
        "direct_num_workers = 2\n",
    )
    assert (args.output, args.min_words, args.host_delay, args.allow_private_network) == ("news/", 3, 0.5, True)
    assert args.feed == ["https://a.example/rss", "https://b.example/rss"] and args.language == ["de"]
    assert (args.runner, args.direct_num_workers) == ("FnApiRunner", 2)
    assert keys[:3] == ["output", "min-words", "host_delay"]


def test_the_command_line_wins_also_for_repeatable_options(tmp_path):
    args, keys = parsed(
        RUN,
        tmp_path,
        'output = "news/"\nmin-words = 3\nfeed = ["https://a.example/rss"]\n',
        "--min-words=9",
        "--feed",
        "https://c.example/rss",
        "--output",
        "other/",
    )
    assert (args.output, args.min_words, args.feed) == ("other/", 9, ["https://c.example/rss"])
    assert keys == []


def test_a_flag_set_false_stays_at_its_default_and_an_integer_is_a_number(tmp_path):
    args, _ = parsed(RUN, tmp_path, "reset-feeds = false\nhttp-timeout = 5\nno-fetch-articles = true\n")
    assert (args.reset_feeds, args.http_timeout, args.fetch_articles) == (False, 5.0, False)


def test_one_file_serves_every_command(tmp_path):
    text = 'output = "news/"\ninterval = 60\nmin-words = 3\nformat = "csv"\ntemp_location = "gs://b/tmp"\n'
    args, keys = parsed(COMMANDS["query"][0], tmp_path, text)
    assert (args.output, args.format, keys) == ("news/", "csv", ["output", "format"])
    watch, _ = parsed(WATCH, tmp_path, 'output = "news/"\ninterval = 60\nwindow-size = 5.0\n')
    assert watch.interval == 60.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min-wrods = 3\n", "unknown key 'min-wrods' (did you mean 'min-words'?)"),
        ('min-words = "ten"\n', "'min-words' must be an integer, not a string ('ten')"),
        ("min-words = 2.5\n", "'min-words' must be an integer, not a number (2.5)"),
        ("host-delay = true\n", "'host-delay' must be a number, not a boolean (True)"),
        ('allow-private-network = "yes"\n', "'allow-private-network' must be true or false, not a string ('yes')"),
        ("feed = [1, 2]\n", "'feed' must be a string or a list of strings, not a list ([1, 2])"),
        ("min-words = 3\nmin_words = 4\n", "'min-words' and 'min_words' are the same option; keep one"),
        ("[run]\noutput = 'x'\n", "'run' is a table; the file holds only option = value lines"),
        ('direct_num_workers = "many"\n', "'direct_num_workers': a string ('many') is not a valid value"),
        ("output = \n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_key_and_the_file(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        parsed(RUN, tmp_path, text)
    assert str(caught.value).startswith(str(tmp_path / "newsbeam.toml") + ": ")
    assert message in str(caught.value)


def test_a_wrong_choice_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="'format' must be one of table, csv, json, not a string"):
        parsed(COMMANDS["query"][0], tmp_path, 'format = "xml"\n')


def test_newsbeam_toml_in_the_current_folder_is_read_unless_config_is_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "newsbeam.toml").write_text('output = "news/"\n', encoding="utf-8")
    words, path, _ = command_line_with_config(RUN, [])
    assert (parse_command(RUN, words).output, path) == ("news/", "newsbeam.toml")
    words, path, _ = command_line_with_config(RUN, ["--config="])
    assert (parse_command(RUN, words).output, path) == ("out/", None)


def test_a_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="--config .*nothere.toml: no such file"):
        command_line_with_config(RUN, ["--config", str(tmp_path / "nothere.toml")])
