"""A local run imports only what it needs; anything else still gets every connector."""

import os
import subprocess
import sys

import pytest

from pipeline.startup import OPTIONAL_IMPORTS, is_local_batch_run
from tests.conftest import REPO, SEEDS

NOT_ON_THE_RUN_PATH = (
    "google.cloud",
    "boto3",
    "botocore",
    "pymongo",
    "duckdb",
    "pipeline.analyst",
    "pipeline.streaming",
)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--input", "seeds/", "--output", "out/"],
        ["run", "--input", "seeds/", "--runner=FnApiRunner", "--direct_num_workers=2"],
        ["run", "--runner", "DirectRunner", "--feed", "https://example.test/rss"],
        ["watch", "--input", "in/"],
    ],
)
def test_local_batch_runs_skip_the_cloud_connectors(argv):
    assert is_local_batch_run(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "gs://bucket/out"],
        ["run", "--input", "s3://bucket/in", "--output", "out/"],
        ["--runner=DataflowRunner", "--project", "p"],
        ["run", "--runner", "PortableRunner"],
        ["--streaming", "--feed", "https://example.test/rss"],
        ["run", "--help"],
        ["report", "--output", "out/"],
        ["schema"],
    ],
)
def test_other_command_lines_import_everything(argv):
    assert not is_local_batch_run(argv)


def test_a_local_run_imports_no_cloud_client_report_or_duckdb(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    args = ["--input", str(SEEDS / "000_04a131f1f6c22f90.txt"), "--output", str(tmp_path / "out"), "--catalog", ""]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline", "run", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert {"apache_beam", "pyarrow.parquet", "transforms.stories.clusterer"} <= imported
    assert "compatible bson" not in result.stderr  # no warning about the skipped connectors
    blocked = set(OPTIONAL_IMPORTS)  # their import is attempted (and refused at once): Beam guards each one
    assert not sorted(m for m in imported - blocked if m.startswith(NOT_ON_THE_RUN_PATH))


def test_a_config_files_runner_and_cloud_paths_count_like_the_command_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert is_local_batch_run(["run"])
    (tmp_path / "newsbeam.toml").write_text('runner = "DataflowRunner"\n')
    assert not is_local_batch_run(["run"])
    assert is_local_batch_run(["run", "--config", ""])
    (tmp_path / "cloud.toml").write_text('output = "gs://bucket/news"\nmin-words = 3\n')
    assert not is_local_batch_run(["run", "--config", "cloud.toml"])
    (tmp_path / "local.toml").write_text('output = "news/"\nfeeds = ["a.txt", "b.txt"]\nreset-feeds = true\n')
    assert is_local_batch_run(["--config=local.toml"])
    (tmp_path / "broken.toml").write_text("output = \n")
    assert not is_local_batch_run(["run", "--config", "broken.toml"])  # the command reports the error
