"""The WARC benchmark's inputs are what it says: every page a response, synthetic records by kind."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from benchmarks.corpus import synthetic_pages
from benchmarks.measure import REPO
from benchmarks.warc import write_benchmark_warc, write_synthetic_warc
from tests.builders import RUN
from transforms.sources.document import SourceDocument
from transforms.sources.warc.records import read_warc_slice, split_warc_file


def outcomes(path) -> Counter:
    found = Counter()
    for piece in split_warc_file(str(path), 50):
        for outcome in read_warc_slice(piece, RUN):
            found["document" if isinstance(outcome, SourceDocument) else outcome] += 1
    return found


@pytest.mark.slow
def test_the_benchmark_warc_holds_every_page_as_a_response(tmp_path):
    path = tmp_path / "bench.warc.gz"
    assert write_benchmark_warc(list(synthetic_pages(3)), path) == 3
    assert outcomes(path) == Counter({"document": 3, "warcinfo": 1})
    bare = subprocess.run(
        [sys.executable, "benchmarks/warc_bare_loop.py", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(bare.stdout)
    assert figures["pages"] == 3 and figures["with_text"] == 3


@pytest.mark.slow
def test_synthetic_records_are_a_request_a_response_and_metadata_per_page(tmp_path):
    path = tmp_path / "synthetic.warc.gz"
    assert write_synthetic_warc(path, 300) == 100
    assert outcomes(path) == Counter({"document": 100, "request": 100, "metadata": 100})
