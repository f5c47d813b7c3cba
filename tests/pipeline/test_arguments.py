"""Strict parsing: every command refuses what neither we nor Beam define, with a hint; Beam's options pass through."""

from __future__ import annotations

import pytest

from pipeline.arguments import STATE_ERRORS, ArgumentError, beam_options_given, exit_code_of, format_help, parse_command
from pipeline.cli import COMMANDS, RUN, WATCH
from pipeline.options import DEFAULT_RUNNER, WatchOptions
from tests.conftest import REPO
from transforms.output.files import CorruptStateFile


@pytest.mark.parametrize(
    ("command", "typo", "meant"),
    [
        ("run", "--ouput", "--output"),
        ("run", "--min-word", "--min-words"),
        ("watch", "--intervall", "--interval"),
        ("watch", "--max-run", "--max-runs"),
        ("compact", "--min-file-m", "--min-file-mb"),
        ("report", "--outptu", "--output"),
        ("schema", "--formt", "--format"),
        ("query", "--ouput", "--output"),
        ("stories", "--serch", "--search"),
        ("feeds", "--rest", "--reset"),
        ("forget", "--with-copy", "--with-copies"),
    ],
)
def test_a_typo_in_any_command_names_the_option_meant(command, typo, meant):
    spec = COMMANDS[command][0]
    argv = [typo, "x"] + (["target"] if command == "forget" else [])
    with pytest.raises(ArgumentError, match=f"unknown option {typo} \\(did you mean {meant}\\?\\)"):
        parse_command(spec, argv)


def test_an_option_nobody_defines_is_refused_with_its_stray_value():
    with pytest.raises(ArgumentError) as caught:
        parse_command(RUN, ["--sitemap-index", "https://example.com/sitemap.xml"])
    assert "unknown option --sitemap-index" in str(caught.value)
    assert "unexpected argument 'https://example.com/sitemap.xml'" in str(caught.value)


def test_beam_options_pass_through_in_both_spellings():
    args = parse_command(RUN, ["--output", "o", "--direct_num_workers", "2", "--experiments=use_runner_v2"])
    assert (args.output, args.direct_num_workers, args.experiments) == ("o", 2, ["use_runner_v2"])
    assert parse_command(COMMANDS["compact"][0], ["--s3_region_name", "eu-west-1"]).s3_region_name == "eu-west-1"


def test_schema_takes_no_beam_options():
    with pytest.raises(ArgumentError, match="unknown option --runner"):
        parse_command(COMMANDS["schema"][0], ["--runner", "DirectRunner"])


def test_only_beams_options_reach_the_file_systems():
    given = beam_options_given(["--output", "o", "--min-file-mb", "3", "--s3_endpoint_url", "http://127.0.0.1:9"])
    assert given.get_all_options(drop_default=True, retain_unknown_options=True) == {
        "s3_endpoint_url": "http://127.0.0.1:9"
    }


def test_watch_options_are_pipeline_options():
    from apache_beam.options.pipeline_options import PipelineOptions

    watch = PipelineOptions(["--interval", "7", "--max-runs", "2"]).view_as(WatchOptions)
    assert (watch.interval, watch.max_runs) == (7.0, 2)
    assert parse_command(WATCH, ["--interval", "7"]).interval == 7.0


def test_help_lists_ours_and_the_real_default_runner_and_keeps_beams_apart():
    ours = format_help(RUN)
    assert ours.index("--input") < ours.index("--runner") and f"Default {DEFAULT_RUNNER}" in ours
    assert "--direct_num_workers" not in ours and "--help-beam" in ours
    beams = format_help(RUN, beam=True)
    assert "--direct_num_workers" in beams and "--input" not in beams
    assert f"Default {DEFAULT_RUNNER}" in beams and "defaults to DirectRunner" not in beams


def test_the_command_line_does_not_import_duckdb_until_a_command_needs_it():
    import subprocess
    import sys

    code = "import sys, pipeline.cli; assert 'duckdb' not in sys.modules, 'run would load duckdb'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_what_the_flex_template_launcher_passes_is_accepted():
    from tests.deploy.test_flex_template import launch

    argv = launch.template_argv(
        [
            "--output=gs://bucket/news",
            "--feeds=gs://bucket/feeds.txt",
            "--streaming=false",
            "--project=p",
            "--region=europe-west1",
            "--temp_location=gs://bucket/tmp",
            "--staging_location=gs://bucket/staging",
            "--job_name=newsbeam-batch",
            "--service_account_email=sa@p.iam.gserviceaccount.com",
            "--sdk_container_image=europe-docker.pkg.dev/p/r/newsbeam:1",
            '--labels={"team":"news"}',
            "--experiments=use_runner_v2",
            "--dataflow_service_options=enable_prime",
            "--max_num_workers=4",
        ]
    )
    args = parse_command(RUN, argv[1:])
    assert (args.runner, args.project, args.max_num_workers) == ("DataflowRunner", "p", 4)


def test_exit_code_of_maps_named_failures_to_their_codes_and_lets_others_through(capsys):
    def fail(error):
        def body():
            raise error

        return body

    corrupt = CorruptStateFile("state/feeds.json", "not JSON", "Delete {path}.")
    assert exit_code_of(lambda: 0, STATE_ERRORS) == 0
    assert exit_code_of(fail(corrupt), STATE_ERRORS) == 5
    assert exit_code_of(fail(ValueError("bad --min-words")), {**STATE_ERRORS, ValueError: 2}) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {corrupt}", "error: bad --min-words"]
    with pytest.raises(KeyError):
        exit_code_of(fail(KeyError("a bug, not a user's error")), STATE_ERRORS)


def test_run_help_lists_the_named_groups_in_order():
    text = format_help(RUN)
    titles = [
        "input: ",
        "sources: ",
        "extraction: ",
        "stories: ",
        "output: ",
        "fetching: ",
        "streaming (run --streaming)",
        "runner:",
        "general:",
    ]
    positions = [text.index("\n" + title) for title in titles]
    assert positions == sorted(positions), positions
    assert text.index("\n  --min-words") > text.index("\nextraction: ") and "--host_delay" not in text
    watch = format_help(WATCH)
    assert "\nwatch: " in watch and "--window-size" not in watch and "--streaming" not in watch


def test_every_option_is_declared_once_and_shared_by_the_commands_that_take_it():
    from pipeline.options import every_option

    by_name: dict[str, set[int]] = {}
    for option in every_option():
        by_name.setdefault(option.name, set()).add(id(option))
    assert {name for name, ids in by_name.items() if len(ids) > 1} == {"format"}  # query's and schema's differ
    for name in COMMANDS:
        declared = [option.name for option in COMMANDS[name][0].declared_options()]
        assert len(declared) == len(set(declared)), name
    run_output = next(o for o in RUN.declared_options() if o.name == "output")
    assert all(run_output in COMMANDS[n][0].declared_options() for n in ("watch", "query", "report", "forget"))


def test_no_option_is_spelled_by_hand_outside_the_declarations():
    import re

    pattern = re.compile(r"add_argument\(\s*\"--")
    offenders = []
    for path in [*(REPO / "pipeline").rglob("*.py"), *(REPO / "transforms").rglob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and path.name != "arguments.py" and "docs_reference" not in path.name:
                offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert offenders == []


def test_an_underscore_spelling_parses_like_the_hyphenated_one():
    assert parse_command(RUN, ["--min_words", "3"]).min_words == parse_command(RUN, ["--min-words", "3"]).min_words
    assert parse_command(COMMANDS["forget"][0], ["x", "--with_copies"]).with_copies is True
