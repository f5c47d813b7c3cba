"""The Dataflow Flex Template in ``deploy/dataflow/`` agrees with the CLI and with pyproject.toml.

Docker can't build here (client only, no engine), so these tests check the files instead:
every ``metadata.json`` parameter is an option our option classes accept (after ``launch.py``'s
translation), every option of ours is a parameter, the defaults quoted in the help texts are the
real ones, the Dockerfile's Beam SDK tag is the pinned apache-beam, and the Cloud Scheduler
example sends parameters the template declares.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions, _BeamArgumentParser

from pipeline.options import NewsbeamOptions, StreamingOptions
from tests.conftest import REPO

TEMPLATE_DIR = REPO / "deploy" / "dataflow"
METADATA = json.loads((TEMPLATE_DIR / "metadata.json").read_text())
PARAMETERS = {parameter["name"]: parameter for parameter in METADATA["parameters"]}
SAMPLES = (
    "gs://newsbeam-bucket/news/",
    "https://example.com/feed.xml",
    "37",
    "2.5",
    "true",
    "2024/03",
    "2024-03-01",
    "en",
)
"""Candidate values; each parameter is tried with the first one its regexes accept."""


def load_launcher():
    spec = importlib.util.spec_from_file_location("newsbeam_flex_launch", TEMPLATE_DIR / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launch = load_launcher()


def cli_parser() -> _BeamArgumentParser:
    """A strict parser of our options plus Beam's standard ones (--runner, --streaming)."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    for options in (NewsbeamOptions, StreamingOptions, StandardOptions):
        options._add_argparse_args(parser)
    return parser


def our_actions() -> list:
    parser = _BeamArgumentParser(allow_abbrev=False)
    NewsbeamOptions._add_argparse_args(parser)
    StreamingOptions._add_argparse_args(parser)
    return [action for action in parser._actions if action.option_strings and action.dest != "help"]


def sample_for(parameter: dict) -> str:
    for value in SAMPLES:
        if all(re.fullmatch(regex, value) for regex in parameter["regexes"]):
            return value
    raise AssertionError(f"no sample value fits {parameter['name']}'s regexes {parameter['regexes']}")


def test_metadata_is_complete() -> None:
    assert METADATA["name"] and METADATA["description"]
    assert len(PARAMETERS) == len(METADATA["parameters"]), "duplicate parameter names"
    for name, parameter in PARAMETERS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert parameter["label"] and len(parameter["helpText"]) > 20, name
        assert parameter["regexes"], name
        for regex in parameter["regexes"]:
            re.compile(regex)
    assert PARAMETERS["output"]["isOptional"] is False
    assert all(p["isOptional"] for name, p in PARAMETERS.items() if name != "output")


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_parameter_is_an_option_of_ours(name: str) -> None:
    value = sample_for(PARAMETERS[name])
    parser = cli_parser()
    argv = launch.template_argv([f"--{name}={value}"])
    assert argv[0] == "run"
    parsed = parser.parse_args(argv[1:])  # strict: an unknown option exits
    action = parser._option_string_actions[f"--{name}"]
    assert getattr(parsed, action.dest) != action.default, f"--{name}={value} did not set {action.dest}"
    assert parsed.runner == "DataflowRunner"


def test_every_option_of_ours_is_a_parameter() -> None:
    names = set()
    for action in our_actions():
        spelled = [option[2:] for option in action.option_strings if option[2:] in PARAMETERS]
        assert len(spelled) == 1, f"{action.option_strings}: no parameter in metadata.json"
        names.update(spelled)
    assert set(PARAMETERS) == names | {"streaming"}  # and nothing else: Beam's own --streaming is the one extra


@pytest.mark.parametrize("action", our_actions(), ids=lambda action: action.dest)
def test_defaults_quoted_in_help_texts_are_the_real_ones(action) -> None:
    name = next(s[2:] for s in action.option_strings if s[2:] in PARAMETERS)
    quoted = re.search(r"Default:? ([0-9.]+|true|false|none)\b", PARAMETERS[name]["helpText"])
    if action.const is not None or action.nargs == 0:  # on/off flags: the parameter is off by default
        assert quoted and quoted.group(1) == "false", name
    elif isinstance(action.default, (int, float)):
        assert quoted and float(quoted.group(1)) == action.default, (name, action.default)


def test_regexes_refuse_local_paths_and_non_http_feeds() -> None:
    def accepts(name: str, value: str) -> bool:
        return all(re.fullmatch(regex, value) for regex in PARAMETERS[name]["regexes"])

    for name in ("output", "input", "state", "feeds", "catalog"):
        assert accepts(name, "gs://bucket/news/") and not accepts(name, "out/"), (
            name
        )  # workers can't see launcher paths
    assert (
        not accepts("feed", "file:///etc/passwd") and not accepts("min_words", "-1") and not accepts("streaming", "yes")
    )


def test_launcher_translates_flags_and_defaults_the_runner() -> None:
    assert launch.template_argv(["--streaming=true", "--reset_feeds=false", "--feed=https://a.test/rss"]) == [
        "run",
        "--runner=DataflowRunner",
        "--streaming",
        "--feed=https://a.test/rss",
    ]
    assert launch.template_argv(["--runner=FlinkRunner"]) == ["run", "--runner=FlinkRunner"]
    with pytest.raises(SystemExit, match="takes true or false"):
        launch.template_argv(["--streaming=yes"])


def pinned_beam_version() -> str:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in dependencies if re.match(r"apache-beam\b", d))
    return re.search(r"==\s*([0-9.*]+)", pin).group(1)


def test_dockerfile_matches_pyproject_and_the_launcher() -> None:
    dockerfile = (TEMPLATE_DIR / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    sdk = next(base for base in bases if base.startswith("apache/beam_python"))
    python, tag = re.fullmatch(r"apache/beam_python(3\.\d+)_sdk:(\S+)", sdk).groups()
    pin = pinned_beam_version()
    assert re.fullmatch(pin.replace(".", r"\.").replace("*", r"\d+"), tag), (tag, pin)
    assert tag == beam.__version__  # the image runs what the tests ran
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={python}" in requires
    assert f"python{python.replace('.', '')}-template-launcher-base" in bases[0]
    assert "/opt/google/dataflow/python_template_launcher" in dockerfile
    py_file = re.search(r"^ENV FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", dockerfile, re.MULTILINE).group(1)
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, re.MULTILINE).group(1)
    copied_to = re.search(r"^COPY deploy/dataflow/launch.py (\S+)$", dockerfile, re.MULTILINE).group(1)
    assert py_file == (copied_to if copied_to.startswith("/") else f"{workdir}/{copied_to.removeprefix('./')}")
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), path
            assert f"!{path}" in (TEMPLATE_DIR / "Dockerfile.dockerignore").read_text().replace("/\n", "\n"), path


def test_scheduler_example_launches_the_template_with_declared_parameters(tmp_path: Path) -> None:
    """schedule-batch.sh, with a stand-in ``gcloud`` (no Cloud SDK here) that records what it is given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gcloud"
    fake.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$RECORD/args"\n'
        'for a in "$@"; do case "$a" in --message-body-from-file=*) cp "${a#*=}" "$RECORD/body.json";; esac; done\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RECORD": str(tmp_path),
        "PROJECT": "my-project",
        "REGION": "europe-west1",
        "BUCKET": "my-bucket",
        "IMAGE": "europe-west1-docker.pkg.dev/my-project/newsbeam/newsbeam:0.1.0",
        "SERVICE_ACCOUNT": "newsbeam@my-project.iam.gserviceaccount.com",
    }
    subprocess.run(["bash", str(TEMPLATE_DIR / "schedule-batch.sh")], env=env, check=True, timeout=60)

    args = (tmp_path / "args").read_text().splitlines()
    assert args[:4] == ["scheduler", "jobs", "create", "http"]
    assert (
        "--uri=https://dataflow.googleapis.com/v1b3/projects/my-project/locations/europe-west1/flexTemplates:launch"
        in args
    )
    launch_parameter = json.loads((tmp_path / "body.json").read_text())["launchParameter"]
    assert launch_parameter["containerSpecGcsPath"] == "gs://my-bucket/templates/newsbeam.json"
    assert launch_parameter["environment"]["sdkContainerImage"] == env["IMAGE"]
    parameters = launch_parameter["parameters"]
    assert set(parameters) <= set(PARAMETERS) and "output" in parameters
    for name, value in parameters.items():
        assert all(re.fullmatch(regex, value) for regex in PARAMETERS[name]["regexes"]), (name, value)
    parsed = cli_parser().parse_args(launch.template_argv([f"--{k}={v}" for k, v in parameters.items()])[1:])
    assert parsed.output == "gs://my-bucket/news" and parsed.feeds == ["gs://my-bucket/config/feeds.txt"]
