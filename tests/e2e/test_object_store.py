"""Output and state on s3:// against moto's S3 server on 127.0.0.1, the CLI run as a subprocess.

Nothing leaves loopback: the pipeline gets the server through Beam's ``--s3_*`` options, while
the AWS environment of the subprocess points at a closed loopback port (so any S3 call that
misses Beam's options fails instead of reaching AWS), with instance-metadata lookups disabled.
The Parquet is read back with pyarrow's S3 filesystem, and with DuckDB over that pyarrow
dataset (DuckDB's own httpfs extension would be downloaded from the internet).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import subprocess
import sys

import pytest

pytest.importorskip("apache_beam.io.aws.s3filesystem", reason="needs the aws extra")
boto3 = pytest.importorskip("boto3", reason="needs the aws extra")
moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (test extra)")

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from tests.conftest import REPO, SEEDS
from transforms.output.files import remove_folder, write_json_atomically
from transforms.output.lease import LeaseHeld, LeaseHolder, acquire, lease_store, verify_lease
from transforms.output.tables import clear_stale_staging

BUCKET = "newsbeam-test"
KEY, SECRET, REGION = "testing", "testing", "us-east-1"
STALE = "_staging-20200101T000000Z-dead00"


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: nothing listens there


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1 with one empty bucket; yields its http:// URL."""
    saved = {k: os.environ.get(k) for k in ("AWS_EC2_METADATA_DISABLED", "NO_PROXY", "no_proxy")}
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _client(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION
    )


def _keys(endpoint: str, prefix: str = "") -> list[str]:
    pages = _client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _s3_options(endpoint: str) -> list[str]:
    return [
        f"--s3_endpoint_url={endpoint}",
        f"--s3_access_key_id={KEY}",
        f"--s3_secret_access_key={SECRET}",
        f"--s3_region_name={REGION}",
    ]


def _loopback_only_env() -> dict[str, str]:
    """The caller's environment without AWS settings; the default AWS endpoint is a closed loopback port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{_closed_loopback_port()}",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ACCESS_KEY_ID="not-used",
        AWS_SECRET_ACCESS_KEY="not-used",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        OPENBLAS_NUM_THREADS="1",
        PYTHONPATH=str(REPO),
    )
    return env


def _run_cli(endpoint: str, *inputs: str, prefix: str) -> str:
    """``python -m pipeline run`` with output and state on s3; returns the run id."""
    args = [arg for path in inputs for arg in ("--input", path)]
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        *args,
        "--output",
        f"s3://{BUCKET}/{prefix}/news",
        "--state",
        f"s3://{BUCKET}/{prefix}/state",
        *_s3_options(endpoint),
    ]
    result = subprocess.run(
        command, cwd=REPO, env=_loopback_only_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return re.search(r"^newsbeam run (\S+)$", result.stdout, re.MULTILINE).group(1)


def _pyarrow_s3(endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
        access_key=KEY,
        secret_key=SECRET,
        region=REGION,
    )


def _table(s3: pafs.S3FileSystem, root: str, partition: str | None = None) -> ds.Dataset:
    partitioning = ds.partitioning(pa.schema([(partition, pa.date32())]), flavor="hive") if partition else None
    return ds.dataset(root, filesystem=s3, format="parquet", partitioning=partitioning)


def _run_record(endpoint: str, key: str) -> dict:
    return json.loads(_client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def s3_filesystem_options(s3_endpoint):
    """Beam's FileSystems in this process talk to the moto server (restored afterwards)."""
    saved = FileSystems._pipeline_options
    FileSystems.set_options(PipelineOptions(_s3_options(s3_endpoint)))
    yield
    FileSystems.set_options(saved)


def test_runs_on_s3_are_complete_idempotent_and_upsert_stories(s3_endpoint):
    prefix, client = "e2e", _client(s3_endpoint)
    day_one, day_two = sorted(SEEDS.glob("*.txt"))[:4], sorted(SEEDS.glob("*.txt"))[4]
    for seed in day_one:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/inbox/{seed.name}", Body=seed.read_bytes())
    inbox = f"s3://{BUCKET}/{prefix}/inbox/"

    # Day one: four articles read from s3, one story.
    run1 = _run_cli(s3_endpoint, inbox, prefix=prefix)
    keys = _keys(s3_endpoint, prefix + "/")
    assert not [k for k in keys if "/_staging-" in k or ".tmp-" in k], keys
    assert f"{prefix}/state/story_index.json.gz" in keys
    record = _run_record(s3_endpoint, f"{prefix}/news/_runs/{run1}.json")
    assert record["rows"] == {
        "articles": 4,
        "stories": 1,
        "seen": 8,
        "rejects": 0,
        "feed_polls": 0,
    }  # zero-row tables too
    assert sorted(f"{f['root']}/{f['relative_path']}" for f in record["files"]) == sorted(
        f"s3://{BUCKET}/{k}"
        for k in keys
        if k.startswith(
            tuple(f"{prefix}/news/{table}/" for table in ("articles", "stories", "rejects", "feed_polls"))
            + (f"{prefix}/state/seen/",)
        )
    )
    s3 = _pyarrow_s3(s3_endpoint)
    first_story = _table(s3, f"{BUCKET}/{prefix}/news/stories").to_table().to_pylist()
    assert [(s["story_label"], s["article_count"]) for s in first_story] == [("ISS withdrawal", 4)]

    # Day two: the fifth article (a local file) joins the story; the story's one row is replaced (upsert on s3).
    run2 = _run_cli(s3_endpoint, inbox, str(day_two), prefix=prefix)
    assert _run_record(s3_endpoint, f"{prefix}/news/_runs/{run2}.json")["rows"]["articles"] == 1
    keys = _keys(s3_endpoint, prefix + "/")
    assert not [k for k in keys if "/_staging-" in k or ".tmp-" in k], keys
    assert {k.split("/")[3] for k in keys if k.startswith(f"{prefix}/news/articles/")} == {
        "published_date=2022-07-26",
        "published_date=__HIVE_DEFAULT_PARTITION__",
    }
    articles = _table(s3, f"{BUCKET}/{prefix}/news/articles", "published_date")
    table = articles.to_table()
    assert table.num_rows == 5 and len(set(table.column("article_id").to_pylist())) == 5
    assert set(table.column("story_label").to_pylist()) == {"ISS withdrawal"}
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("ingested_at").type == pa.timestamp("us", tz="UTC")
    assert sorted(map(str, table.column("published_date").to_pylist())) == [
        "2022-07-26",
        "None",
        "None",
        "None",
        "None",
    ]
    one_file = next(k for k in keys if k.startswith(f"{prefix}/news/articles/"))
    parquet = pq.ParquetFile(s3.open_input_file(f"{BUCKET}/{one_file}"))
    assert "published_date" not in parquet.schema_arrow.names
    assert {parquet.metadata.row_group(0).column(i).compression for i in range(parquet.metadata.num_columns)} == {
        "ZSTD"
    }
    by_story = duckdb.sql(
        "SELECT story_label, count(*) FROM articles GROUP BY 1"
    ).fetchall()  # DuckDB scans the pyarrow dataset
    assert by_story == [("ISS withdrawal", 5)]
    stories = _table(s3, f"{BUCKET}/{prefix}/news/stories").to_table().to_pylist()
    assert [(s["story_id"], s["story_label"], s["article_count"], s["run_id"]) for s in stories] == [
        (first_story[0]["story_id"], "ISS withdrawal", 5, run2)
    ]
    assert _keys(s3_endpoint, f"{prefix}/news/stories/") == [f"{prefix}/news/stories/part-{run2}-merged.parquet"]

    # A killed run's staging, in the output and in the state store, is cleared by the next run, and
    # the same inputs again write no article: the ledger on s3 knows them.
    for root in ("news", "state"):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{root}/{STALE}/articles/part-x.parquet", Body=b"partial")
    run3 = _run_cli(s3_endpoint, inbox, str(day_two), prefix=prefix)
    assert _run_record(s3_endpoint, f"{prefix}/news/_runs/{run3}.json")["rows"] == {}
    after_rerun = _keys(s3_endpoint, prefix + "/")
    assert [k for k in after_rerun if k not in keys] == [
        f"{prefix}/news/_runs/{run3}.json",
        f"{prefix}/news/_runs/{run3}.summary.json",
    ]
    assert not [k for k in after_rerun if "/_staging-" in k or ".tmp-" in k], after_rerun
    assert _table(s3, f"{BUCKET}/{prefix}/news/articles", "published_date").count_rows() == 5  # listed afresh
    rerun_stories = _table(s3, f"{BUCKET}/{prefix}/news/stories").to_table().to_pylist()
    assert [(s["story_label"], s["article_count"], s["run_id"]) for s in rerun_stories] == [("ISS withdrawal", 5, run2)]


def test_clear_stale_staging_removes_prefixes_on_s3_and_keeps_the_rest(s3_endpoint, s3_filesystem_options):
    prefix = "stale"
    client = _client(s3_endpoint)
    for key in (
        f"{STALE}/articles/a.parquet",
        f"{STALE}/seen/b.parquet",
        "articles/keep.parquet",
        "_staging_notes.txt",
    ):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=b"x")
    clear_stale_staging(f"s3://{BUCKET}/{prefix}/")
    assert _keys(s3_endpoint, prefix + "/") == [f"{prefix}/_staging_notes.txt", f"{prefix}/articles/keep.parquet"]


def test_remove_folder_deletes_a_key_prefix_and_ignores_a_missing_one(s3_endpoint, s3_filesystem_options):
    prefix = "folder"
    client = _client(s3_endpoint)
    for key in ("a/b/1.parquet", "a/2.json", "ab/keep.json"):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=b"x")
    remove_folder(f"s3://{BUCKET}/{prefix}/a")
    remove_folder(f"s3://{BUCKET}/{prefix}/missing")
    assert _keys(s3_endpoint, prefix + "/") == [f"{prefix}/ab/keep.json"]


def test_state_json_is_replaced_in_one_upload_without_temporary_objects(s3_endpoint, s3_filesystem_options):
    path = f"s3://{BUCKET}/json/state/feeds.json"
    write_json_atomically(path, {"version": 1, "feeds": []})
    write_json_atomically(path, {"version": 1, "feeds": [{"feed_url": "https://example.org/rss"}]})
    assert _keys(s3_endpoint, "json/") == ["json/state/feeds.json"]
    assert _run_record(s3_endpoint, "json/state/feeds.json")["feeds"] == [{"feed_url": "https://example.org/rss"}]


def test_the_lease_on_s3_is_exclusive_conditional_and_taken_over_when_stale(s3_endpoint, s3_filesystem_options):
    options = PipelineOptions(_s3_options(s3_endpoint))
    folder = f"s3://{BUCKET}/lease/news"
    first = acquire(lease_store(folder, options), "python -m pipeline run")
    with pytest.raises(LeaseHeld, match=re.escape(first.owner)):  # If-None-Match: * refuses the second create
        acquire(lease_store(folder, options), "python -m pipeline run")
    assert first.renew()  # If-Match on the ETag it read
    verify_lease(folder, first.owner)
    stolen = LeaseHolder(**{**json.loads(first.holder.to_bytes()), "owner": "someone-else"})
    _client(s3_endpoint).put_object(Bucket=BUCKET, Key="lease/news/_lease.json", Body=stolen.to_bytes())
    assert not first.renew()  # the ETag changed: the conditional write is refused, the lease is lost
    first.release()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # the stolen lease has expired by then
    taken = acquire(lease_store(folder, options), now=later)
    verify_lease(folder, taken.owner)
    taken.release()
    assert json.loads(_client(s3_endpoint).get_object(Bucket=BUCKET, Key="lease/news/_lease.json")["Body"].read())[
        "released_at"
    ]
