"""End to end: ``run --input https://…/x.warc.gz`` reads a WARC over ranged GETs from a loopback server,
and a remote file that fails becomes a reject while the rest of the run completes (exit 0)."""

from __future__ import annotations

import pytest

from tests.e2e.test_warc import rows, run
from tests.http_server import LoopbackServer
from tests.transforms.sources.warc.test_remote import ranged
from tests.warc_files import script_pages, write_warc

pytestmark = pytest.mark.e2e


def test_run_input_https_warc_reads_it_with_ranged_gets(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    pages = script_pages()
    write_warc(path, pages)
    out = tmp_path / "out"
    with LoopbackServer() as server:
        server.route("/crawl.warc.gz", ranged(path.read_bytes()))
        result = run(out, "--input", server.url("/crawl.warc.gz"), "--allow-private-network", "--min-words", "3")
    assert "Unable to get filesystem" not in result.stderr
    assert sorted(r["url"] for r in rows(out, "articles", "url")) == sorted(p.url for p in pages)


def test_a_failing_remote_warc_is_a_reject_and_the_rest_of_the_run_completes(tmp_path):
    local = tmp_path / "local.warc.gz"
    pages = script_pages()
    write_warc(local, pages[:2], other_records=False)
    out = tmp_path / "out"
    with LoopbackServer() as server:
        result = run(
            out,
            "--input",
            str(local),
            "--input",
            server.url("/gone.warc.gz"),
            "--allow-private-network",
            "--min-words",
            "3",
        )
    assert result.returncode == 0
    assert sorted(r["url"] for r in rows(out, "articles", "url")) == sorted(p.url for p in pages[:2])
    rejected = rows(out, "rejects", "source_uri, reason, detail")
    assert [(r["reason"], "404" in r["detail"]) for r in rejected if "gone.warc.gz" in r["source_uri"]] == [
        ("invalid_warc", True)
    ]


def test_a_remote_warc_on_a_private_address_is_refused_without_allow_private_network(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, script_pages())
    out = tmp_path / "out"
    with LoopbackServer() as server:
        server.route("/crawl.warc.gz", ranged(path.read_bytes()))
        result = run(out, "--input", server.url("/crawl.warc.gz"), "--min-words", "3")
        assert server.requests_to("/crawl.warc.gz") == []
    assert result.returncode == 0
    assert any("private_address" in r["detail"] for r in rows(out, "rejects", "detail"))
