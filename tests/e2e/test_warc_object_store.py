"""WARC files and a CC-NEWS listing on s3:// (moto's S3 server on 127.0.0.1): sliced reads seek on the object store."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys

import pytest

pytest.importorskip("apache_beam.io.aws.s3filesystem", reason="needs the aws extra")
pytest.importorskip("moto.server", reason="needs moto[server] (test extra)")

from tests.conftest import REPO  # noqa: E402
from tests.e2e.test_object_store import BUCKET, _client, _keys, _loopback_only_env, _s3_options, s3_endpoint  # noqa: E402,F401
from tests.warc_files import script_pages, write_warc  # noqa: E402


def test_cc_news_listing_and_warc_files_on_s3(s3_endpoint, tmp_path):  # noqa: F811
    client, pages = _client(s3_endpoint), script_pages()
    names = ["CC-NEWS-20240301000000-00001.warc.gz", "CC-NEWS-20240301010000-00002.warc.gz"]
    for name, part in zip(names, (pages[:3], pages[3:])):
        path = tmp_path / name
        write_warc(path, part)
        client.put_object(Bucket=BUCKET, Key=f"cc/crawl-data/CC-NEWS/2024/03/{name}", Body=path.read_bytes())
    listing = "".join(f"crawl-data/CC-NEWS/2024/03/{name}\n" for name in names).encode()
    client.put_object(Bucket=BUCKET, Key="cc/crawl-data/CC-NEWS/2024/03/warc.paths.gz", Body=gzip.compress(listing))
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--cc-news",
        "2024/03",
        "--cc-news-base",
        f"s3://{BUCKET}/cc/",
        "--output",
        f"s3://{BUCKET}/cc-out/news",
        "--catalog",
        "",
        "--min-words",
        "3",
        *_s3_options(s3_endpoint),
    ]
    result = subprocess.run(command, cwd=REPO, env=_loopback_only_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(rf"WARC records\s+\d+ = {len(pages)} articles \+ 0 rejected", result.stdout), result.stdout
    assert "reconciled        yes" in result.stdout
    assert any(key.startswith("cc-out/news/articles/") for key in _keys(s3_endpoint, "cc-out/"))
