"""docker-compose.yml, the Flink stack, checked without a container engine (none runs here).

- the file validates against the Compose Specification JSON schema (vendored: tests/data/);
- its parts agree: images pinned, Beam images at pyproject's apache-beam version, the job server
  built for the Flink image's version, depends_on naming services, every endpoint the job
  server and the submitter name being a port its service listens on, shared volumes mounted at
  the same path where both sides need them, referenced files present;
- the submitter's pipeline arguments parse with our options and Beam's, none left over;
- the fixture feeds, served by a real loopback server, run through the pipeline on FnApiRunner
  with the submitter's own arguments (only the runner, the endpoints and the paths swapped) and
  give one article per feed entry, read back with DuckDB.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import apache_beam
import duckdb
import feedparser
import jsonschema
import pytest
import yaml
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    PipelineOptions,
    PortableOptions,
    StandardOptions,
    _BeamArgumentParser,
)
from packaging.specifiers import SpecifierSet

import pipeline.cli  # noqa: F401 (registers every option class the CLI accepts, as `run --help` lists them)
from pipeline.options import NewsbeamOptions
from pipeline.plan import read_catalog
from tests.conftest import REPO, run_cli
from tests.http_server import LoopbackServer, Reply

COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = REPO / "tests" / "data" / "compose-spec.json"
WORKER_POOL_PORT = 50000
"""The SDK container's ``boot --worker_pool`` always serves worker_pool_main on this port."""
PORTABLE_ONLY = (
    "--runner",
    "--job_endpoint",
    "--artifact_endpoint",
    "--environment_type",
    "--environment_config",
    "--parallelism",
)
"""Submitter options that only mean something with the job server; the local run drops them."""


# --- reading the compose file ------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))


def parse_mount(spec: str | dict) -> Mount:
    """A service volume in short (``SOURCE:TARGET[:MODE]``) or long syntax."""
    if isinstance(spec, dict):
        return Mount(spec.get("source", ""), spec["target"], bool(spec.get("read_only", False)))
    source, target, *mode = spec.split(":")
    return Mount(source, target, "ro" in (mode[0].split(",") if mode else []))


def mounts(service: dict) -> list[Mount]:
    return [parse_mount(spec) for spec in service.get("volumes", [])]


def argv_of(service: dict, key: str = "command") -> list[str]:
    value = service.get(key) or []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def exposed_ports(service: dict) -> set[int]:
    """Container ports from ``expose`` and the container side of ``ports``."""
    exposed = {int(str(port).split("/")[0]) for port in service.get("expose", [])}
    published = {int(str(port).split(":")[-1].split("/")[0]) for port in service.get("ports", [])}
    return exposed | published


def listening_ports(service: dict) -> set[int]:
    """Ports the service's program binds, read from its command line."""
    argv = argv_of(service)
    ports = {int(m.group(1)) for arg in argv if (m := re.fullmatch(r"--(?:job|artifact|expansion)-port=(\d+)", arg))}
    if argv[:3] == ["python", "-m", "http.server"]:
        positional = [arg for arg in argv[3:] if arg.isdigit()]
        ports.add(int(positional[0]) if positional else 8000)
    if "--worker_pool" in argv:
        ports.add(WORKER_POOL_PORT)
    if argv == ["jobmanager"]:
        ports.add(8081)  # Flink's REST API and web UI
    return ports


def endpoint(address: str) -> tuple[str, int]:
    """``host:port`` or ``scheme://host:port`` → (host, port)."""
    parts = urlsplit(address if "//" in address else "//" + address)
    assert parts.hostname and parts.port, address
    return parts.hostname, parts.port


def option_value(argv: list[str], name: str) -> str:
    values = option_values(argv, name)
    assert len(values) == 1, (name, values)
    return values[0]


def option_values(argv: list[str], name: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in argv if arg.startswith(name + "=")]


def image_name_and_tag(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{image!r} has no tag"
    return name, tag


def service_running(compose: dict, argv_test) -> tuple[str, dict]:
    """The one service whose command satisfies ``argv_test``."""
    found = [(name, s) for name, s in compose["services"].items() if argv_test(argv_of(s))]
    assert len(found) == 1, [name for name, _ in found]
    return found[0]


def host_path(service: dict, container_path: str) -> Path:
    """The file in the repository that a bind mount of ``service`` shows at ``container_path``."""
    path = PurePosixPath(container_path)
    for mount in mounts(service):
        target = PurePosixPath(mount.target)
        if mount.is_bind and (path == target or target in path.parents):
            return (COMPOSE_FILE.parent / mount.source / path.relative_to(target)).resolve()
    raise AssertionError(f"{container_path} is not on a bind mount of the service")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def submitter(compose) -> dict:
    return compose["services"]["submitter"]


@pytest.fixture(scope="module")
def submitter_argv(submitter) -> list[str]:
    """The arguments after ``python -m pipeline run``."""
    assert argv_of(submitter, "entrypoint") == ["python", "-m", "pipeline"]
    command = argv_of(submitter)
    assert command[0] == "run", command
    # The helpers here read options written as --name=value; flags stand alone.
    assert all(arg.startswith("--") for arg in command[1:]), command
    return command[1:]


@pytest.fixture(scope="module")
def worker_pool(compose) -> tuple[str, dict]:
    return service_running(compose, lambda argv: "--worker_pool" in argv)


@pytest.fixture(scope="module")
def taskmanager(compose) -> tuple[str, dict]:
    return service_running(compose, lambda argv: argv == ["taskmanager"])


@pytest.fixture(scope="module")
def job_server(compose) -> tuple[str, dict]:
    return service_running(compose, lambda argv: any(arg.startswith("--flink-master=") for arg in argv))


@pytest.fixture(scope="module")
def feed_server(compose, submitter_argv) -> tuple[str, dict]:
    hosts = {endpoint(url)[0] for url in option_values(submitter_argv, "--feed")}
    assert len(hosts) == 1, hosts
    name = hosts.pop()
    return name, compose["services"][name]


@pytest.fixture(scope="module")
def feeds_dir(feed_server) -> Path:
    """The repository folder the feed server serves (its bind mount at ``--directory``)."""
    _, service = feed_server
    return host_path(service, option_after(argv_of(service), "--directory"))


def option_after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


# --- (a) the Compose Specification -------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.protocols.Validator:
    """Draft 2019-09, which the schema declares (as ``http://json-schema.org/draft/2019-09/schema#``,
    a spelling jsonschema doesn't recognise, so the draft is named here)."""
    schema = json.loads(SCHEMA_FILE.read_text())
    assert "2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_compose_file_matches_the_compose_specification(compose, compose_validator):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator.iter_errors(compose)]
    assert errors == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["submitter"].update(entrypoint_=["python"]),  # misspelt key
        lambda c: c["services"]["jobserver"].update(depends_on={"jobmanager": {"condition": "healthy"}}),
        lambda c: c["services"]["feeds"]["healthcheck"].update(retries="twelve"),
        lambda c: c.update(volume={"news-output": None}),
    ],
    ids=["unknown-service-key", "bad-depends-on-condition", "bad-healthcheck-retries", "unknown-top-level-key"],
)
def test_the_schema_rejects_a_broken_copy(compose, compose_validator, break_it):
    broken = copy.deepcopy(compose)
    break_it(broken)
    assert list(compose_validator.iter_errors(broken))


# --- (b) images, versions, services, ports, volumes, files -----------------------------------


def beam_requirement() -> SpecifierSet:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    [requirement] = [r for r in project["dependencies"] if re.match(r"apache-beam\b", r)]
    return SpecifierSet(requirement.removeprefix("apache-beam"))


def python_requirement() -> SpecifierSet:
    return SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])


def dockerfile_images(compose: dict) -> list[str]:
    """Every FROM image of the Dockerfiles the compose file builds."""
    images = []
    for service in compose["services"].values():
        if "build" in service:
            dockerfile = COMPOSE_FILE.parent / service["build"]["context"] / service["build"]["dockerfile"]
            images += re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE)
    return images


def all_images(compose: dict) -> list[str]:
    return [s["image"] for s in compose["services"].values() if "image" in s] + dockerfile_images(compose)


def test_every_image_is_pinned(compose):
    assert all("image" in service for service in compose["services"].values())
    for image in all_images(compose):
        _, tag = image_name_and_tag(image)
        assert tag != "latest" and re.search(r"\d", tag), f"{image} is not pinned to a version"


def test_beam_images_are_at_the_apache_beam_version_of_pyproject(compose):
    beam_images = [image for image in all_images(compose) if image.startswith("apache/beam_")]
    assert len(beam_images) >= 2  # the job server and the SDK the worker image is built from
    for image in beam_images:
        assert image_name_and_tag(image)[1] in beam_requirement(), image
    assert apache_beam.__version__ in beam_requirement()  # the submitter's options are parsed below with this Beam
    sdk_pythons = {
        m.group(1) for image in beam_images if (m := re.fullmatch(r"apache/beam_python(\d+\.\d+)_sdk:.*", image))
    }
    assert sdk_pythons and all(f"{version}.0" in python_requirement() for version in sdk_pythons), sdk_pythons


def test_submitter_and_sdk_workers_run_the_same_image(submitter, worker_pool):
    _, pool = worker_pool
    assert submitter["image"] == pool["image"] and submitter["build"] == pool["build"]
    project_version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert image_name_and_tag(pool["image"])[1] == project_version


def test_job_server_is_built_for_the_flink_image_version(compose, job_server, taskmanager):
    _, server = job_server
    flink_images = {s["image"] for s in compose["services"].values() if image_name_and_tag(s["image"])[0] == "flink"}
    assert len(flink_images) == 1, "jobmanager and taskmanager must run the same Flink"
    flink_tag = image_name_and_tag(flink_images.pop())[1]
    served = re.fullmatch(r"apache/beam_flink(\d+\.\d+)_job_server:.*", server["image"])
    assert served, server["image"]
    assert flink_tag.startswith(served.group(1) + "."), (flink_tag, server["image"])
    assert served.group(1) in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS
    assert taskmanager[1]["image"].split(":")[1] == flink_tag


def test_compose_runs_the_flink_version_of_the_loopback_cluster_and_its_install(compose):
    """The Flink the engines tier starts on loopback (deploy/flink/cluster.py, deploy/engines/flink.sh) is compose's."""
    flink_tag = next(image_name_and_tag(s["image"])[1] for s in compose["services"].values() if "flink:" in s["image"])
    cluster_script = (REPO / "deploy" / "flink" / "cluster.py").read_text()
    install_script = (REPO / "deploy" / "engines" / "flink.sh").read_text()
    version = re.search(r'^FLINK_VERSION = "([\d.]+)"', cluster_script, re.M).group(1)
    assert re.search(rf"^FLINK_VERSION={re.escape(version)}$", install_script, re.M), "cluster.py and flink.sh disagree"
    assert flink_tag.startswith(version + "-"), (flink_tag, version)
    beam = re.search(r"^BEAM_VERSION=([\d.]+)$", install_script, re.M).group(1)
    assert beam == apache_beam.__version__


def test_dependencies_name_services_and_wait_for_health_they_can_report(compose):
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        conditions = (
            depends_on if isinstance(depends_on, dict) else {d: {"condition": "service_started"} for d in depends_on}
        )
        for other, how in conditions.items():
            assert other in services and other != name, (name, other)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[other], (
                    f"{name} waits for {other} to be healthy, which has no healthcheck"
                )
        if "network_mode" in service and service["network_mode"].startswith("service:"):
            assert service["network_mode"].removeprefix("service:") in conditions
    waits_for = set(services["submitter"]["depends_on"])
    assert waits_for == set(services) - {
        "submitter",
        "jobmanager",
        "taskmanager",
    }  # these two are behind the job server and the pool
    assert all(how["condition"] == "service_healthy" for how in services["submitter"]["depends_on"].values())


def test_job_server_talks_to_the_jobmanager_rest_port(compose, job_server):
    host, port = endpoint(option_value(argv_of(job_server[1]), "--flink-master"))
    jobmanager = compose["services"][host]
    assert argv_of(jobmanager) == ["jobmanager"] and port in exposed_ports(jobmanager) & listening_ports(jobmanager)


def test_submitter_endpoints_are_ports_their_services_listen_on(compose, submitter_argv, job_server, feed_server):
    for option in ("--job_endpoint", "--artifact_endpoint"):
        host, port = endpoint(option_value(submitter_argv, option))
        assert host == job_server[0], option
        assert port in exposed_ports(job_server[1]) & listening_ports(job_server[1]), option
    job_port = int(option_value(argv_of(job_server[1]), "--job-port"))
    assert endpoint(option_value(submitter_argv, "--job_endpoint"))[1] == job_port
    for url in option_values(submitter_argv, "--feed"):
        host, port = endpoint(url)
        assert port in exposed_ports(feed_server[1]) & listening_ports(feed_server[1]), url


def test_worker_pool_is_reachable_where_the_taskmanager_resolves_it(compose, submitter_argv, worker_pool, taskmanager):
    """--environment_config is dialled by the taskmanager: localhost there is its sidecar's namespace."""
    assert option_value(submitter_argv, "--environment_type") == "EXTERNAL"
    host, port = endpoint(option_value(submitter_argv, "--environment_config"))
    pool_name, pool = worker_pool
    if host == "localhost":
        assert pool.get("network_mode") == f"service:{taskmanager[0]}"
        assert not {"ports", "expose", "hostname", "networks"} & set(pool)  # not allowed with a shared namespace
    else:
        assert host == pool_name and port in exposed_ports(pool)
    assert port in listening_ports(pool)


def named_volume_at(service: dict, path: str) -> Mount:
    """The named-volume mount of ``service`` that holds ``path``."""
    found = [
        m
        for m in mounts(service)
        if not m.is_bind and (path == m.target or path.startswith(m.target.rstrip("/") + "/"))
    ]
    assert len(found) == 1, (path, mounts(service))
    return found[0]


def test_output_volume_is_shared_at_the_same_path_by_sdk_workers_and_submitter(submitter, submitter_argv, worker_pool):
    output = option_value(submitter_argv, "--output")
    assert not option_values(submitter_argv, "--state")  # so the state store lives under --output too
    in_submitter, in_pool = named_volume_at(submitter, output), named_volume_at(worker_pool[1], output)
    assert in_submitter == in_pool and not in_pool.read_only


def test_artifact_staging_is_shared_by_job_server_and_taskmanager(job_server, taskmanager):
    staging = option_value(argv_of(job_server[1]), "--artifacts-dir")
    assert named_volume_at(job_server[1], staging).source == named_volume_at(taskmanager[1], staging).source


def test_named_volumes_are_declared(compose):
    used = {m.source for s in compose["services"].values() for m in mounts(s) if not m.is_bind}
    assert used and used == set(compose.get("volumes") or {})


def test_referenced_files_exist(compose, submitter, submitter_argv, feeds_dir):
    for name, service in compose["services"].items():
        for mount in mounts(service):
            if mount.is_bind:
                assert (COMPOSE_FILE.parent / mount.source).exists(), (name, mount.source)
        if "build" in service:
            context = COMPOSE_FILE.parent / service["build"]["context"]
            dockerfile = context / service["build"]["dockerfile"]
            for line in re.findall(r"^COPY\s+(.+)$", dockerfile.read_text(), flags=re.MULTILINE):
                *sources, _ = line.split()
                assert all((context / source).exists() for source in sources), line
    catalog = host_path(submitter, option_value(submitter_argv, "--catalog"))
    assert [story.label for story in read_catalog(str(catalog))] == ["Alder River footbridge"]
    for url in option_values(submitter_argv, "--feed"):
        assert (feeds_dir / urlsplit(url).path.lstrip("/")).is_file(), url


def fixture_feeds(feeds_dir: Path, urls: list[str]) -> dict[str, feedparser.FeedParserDict]:
    return {url: feedparser.parse((feeds_dir / urlsplit(url).path.lstrip("/")).read_bytes()) for url in urls}


def test_fixture_feeds_are_valid_and_link_to_pages_on_the_feed_server(submitter_argv, feed_server, feeds_dir):
    urls = option_values(submitter_argv, "--feed")
    feeds = fixture_feeds(feeds_dir, urls)
    assert sorted(parsed.version for parsed in feeds.values()) == ["atom10", "rss20"]
    origin = "http://{}:{}".format(*endpoint(urls[0]))
    for url, parsed in feeds.items():
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        assert parsed.entries, url
        for entry in parsed.entries:
            assert entry.link.startswith(origin + "/"), entry.link
            assert (feeds_dir / urlsplit(entry.link).path.lstrip("/")).is_file(), entry.link
    assert (feeds_dir / "robots.txt").is_file()


# --- (c) the submitter's pipeline arguments ----------------------------------------------------


def unknown_pipeline_args(argv: list[str]) -> list[str]:
    """What no option class recognises: Beam's own parser, as PipelineOptions builds it, which only warns."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(argv)
    return unknown


def test_submitter_arguments_parse_with_our_options_and_beams(submitter_argv, feed_server):
    assert unknown_pipeline_args(submitter_argv) == []
    options = PipelineOptions(submitter_argv)
    ours = options.view_as(NewsbeamOptions)
    assert options.view_as(StandardOptions).runner == "PortableRunner"
    assert not options.view_as(StandardOptions).streaming
    assert options.view_as(PortableOptions).environment_type == "EXTERNAL"
    assert options.view_as(FlinkRunnerOptions).parallelism >= 1
    assert ours.allow_private_network, "the compose network is private: without it every fetch is refused"
    assert ours.inputs == [] and ours.fetch_articles
    assert ours.feed == option_values(submitter_argv, "--feed") and ours.output == option_value(
        submitter_argv, "--output"
    )
    assert {endpoint(url)[0] for url in ours.feed} == {feed_server[0]}
    assert ours.state_dir == ours.output.rstrip("/") + "/_state"


@pytest.mark.parametrize(
    "typo", ["--alow-private-network", "--feeds_url=http://feeds:8000/rss.xml", "--job-endpoint=jobserver:8099"]
)
def test_a_misspelt_option_is_caught(submitter_argv, typo):
    assert unknown_pipeline_args([*submitter_argv, typo]) == [typo]


# --- (d) the fixture feeds through the pipeline, locally ---------------------------------------


def serve_feed_folder(server: LoopbackServer, folder: Path, origin: str) -> None:
    """Every file of ``folder`` at its path, with the stack's feed server ``origin`` rewritten to ``server``'s."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        body = path.read_bytes().replace(origin.encode(), server.base_url.encode())
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        server.route("/" + path.relative_to(folder).as_posix(), Reply(200, body, {"Content-Type": content_type}))


def local_argv(submitter_argv: list[str], origin: str, base_url: str, submitter: dict, output: Path) -> list[str]:
    """The submitter's arguments for FnApiRunner: job-server options dropped, feeds on ``base_url``,
    paths on this machine."""
    argv = []
    for arg in submitter_argv:
        name, _, value = arg.partition("=")
        if name in PORTABLE_ONLY:
            continue
        if name == "--feed":
            arg = f"--feed={value.replace(origin, base_url)}"
        elif name == "--catalog":
            arg = f"--catalog={host_path(submitter, value)}"
        elif name == "--output":
            arg = f"--output={output}"
        argv.append(arg)
    return ["run", "--runner=FnApiRunner", *argv]


def test_fixture_feeds_produce_one_article_per_entry(tmp_path, submitter, submitter_argv, feeds_dir):
    urls = option_values(submitter_argv, "--feed")
    origin = "http://{}:{}".format(*endpoint(urls[0]))
    entries = [entry for parsed in fixture_feeds(feeds_dir, urls).values() for entry in parsed.entries]
    out = tmp_path / "news"
    with LoopbackServer() as server:
        serve_feed_folder(server, feeds_dir, origin)
        argv = local_argv(submitter_argv, origin, server.base_url, submitter, out)
        assert "--allow-private-network" in argv  # loopback is refused too without it (transforms/http/client.py)
        result = run_cli(*argv)
        pages = {entry.link.replace(origin, server.base_url): entry.title for entry in entries}
        fetched = {server.url(urlsplit(request.path).path) for request in server.requests}
    assert set(pages) <= fetched
    assert f"articles written  {len(entries)}" in result.stdout, result.stdout
    articles = f"read_parquet('{out}/articles/*/*.parquet', hive_partitioning=true)"
    rows = duckdb.sql(
        f"SELECT url, title, text_source, word_count, published_date FROM {articles} ORDER BY url"
    ).fetchall()
    assert {url: title for url, title, *_ in rows} == pages
    assert {text_source for _, _, text_source, *_ in rows} == {"page"}
    assert all(words >= 100 for *_, words, _ in rows)
    assert all(published is not None for *_, published in rows)
    # The two outlets' reports of the footbridge opening (same day) form one story with the catalog's label.
    footbridge = duckdb.sql(
        f"SELECT url, story_id FROM {articles} WHERE story_label = 'Alder River footbridge' ORDER BY url"
    ).fetchall()
    assert [url for url, _ in footbridge] == sorted(u for u in pages if "/footbridge-" in u)
    assert len({story_id for _, story_id in footbridge}) == 1
    stories = duckdb.sql(
        f"SELECT story_label, label_source, article_count FROM read_parquet('{out}/stories/*.parquet')"
    ).fetchall()
    assert len(stories) == len(entries) - 1 and ("Alder River footbridge", "catalog", 2) in stories
    rejects = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/rejects/*/*.parquet')").fetchall()[0]
    assert rejects == (0,)  # the table exists (a zero-row file) and holds no row
    assert list(out.glob("_runs/*.json"))
