"""The benchmark harness measures what it claims: same trafilatura call, new identities, real HTTP, real stats."""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import trafilatura

from benchmarks import extraction_limit
from benchmarks.corpus import replicate, synthetic_pages, with_new_identity, write_pages
from benchmarks.feeds import SimulatedHost
from benchmarks.measure import run_measured, tree_rss_kb
from benchmarks.profile_pipeline import STAGES, breakdown, entry_seconds
from transforms.run.context import RunContext
from transforms.sources.document import SourceDocument
from transforms.text.extract import extract_article, extract_content


@pytest.fixture(scope="module")
def pages():
    return list(synthetic_pages(6))


def test_limit_uses_the_pipelines_trafilatura_arguments(pages, monkeypatch):
    calls = []
    real = trafilatura.bare_extraction

    def spy(body, **kwargs):
        calls.append(kwargs)
        return real(body, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    extract_content(SourceDocument("page.html", "html", pages[0][1]))
    assert calls == [extraction_limit.trafilatura_kwargs()]


def test_synthetic_pages_extract_to_articles(pages):
    run = RunContext.start()
    articles = [extract_article(SourceDocument(name, "html", data), run) for name, data in pages]
    assert all(a.__class__.__name__ == "Article" for a in articles), articles
    assert len({a.url for a in articles}) == len(pages)
    assert all(a.word_count >= 40 and a.published_at is not None for a in articles)


def test_copies_are_new_articles(pages):
    run = RunContext.start()
    name, data = pages[0]
    original = extract_article(SourceDocument(name, "html", data), run)
    copy = extract_article(SourceDocument("c1-" + name, "html", with_new_identity(data, 1, name)), run)
    assert copy.url == "https://copy1.bench.example/synthetic-00000"
    assert copy.url != original.url and copy.content_hash != original.content_hash
    assert copy.title == original.title


def test_replicate_names_are_unique(pages):
    copies = list(replicate(pages, 3))
    assert len(copies) == 3 * len(pages) == len({name for name, _ in copies})
    assert copies[: len(pages)] == pages


def test_limit_loop_runs_on_written_pages(pages, tmp_path):
    write_pages(pages, tmp_path)
    seconds, cpu_seconds, with_text = extraction_limit.limit_loop(sorted(tmp_path.glob("*.html")))
    assert with_text == len(pages) and seconds > 0 and cpu_seconds > 0
    logic_seconds, logic_cpu_seconds, articles = extraction_limit.pipeline_logic_loop(sorted(tmp_path.glob("*.html")))
    assert articles == len(pages) and logic_seconds > 0 and logic_cpu_seconds > 0


def test_simulated_host_serves_feed_pages_and_robots(pages):
    host = SimulatedHost(3, pages[:2])
    try:
        feed = urllib.request.urlopen(host.feed_url, timeout=5).read().decode()
        assert feed.count("<item>") == 2 and f"{host.base_url}/articles/1.html" in feed
        page = urllib.request.urlopen(host.base_url + "/articles/1.html", timeout=5).read()
        assert b"copy1003.bench.example" in page
        assert urllib.request.urlopen(host.base_url + "/robots.txt", timeout=5).read().startswith(b"User-agent")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(host.base_url + "/nothing", timeout=5)
    finally:
        host.close()


def test_run_measured_sees_a_childs_memory_and_cpu():
    hog = (
        "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\ntime.sleep(0.3)"
    )
    measured = run_measured([sys.executable, "-c", hog])
    assert measured.returncode == 0
    assert measured.max_rss_mb > 200 and measured.tree_rss_mb > 200
    assert measured.cpu_s >= 0.25 and measured.wall_s >= measured.cpu_s


def test_tree_rss_counts_descendants():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert tree_rss_kb(os.getpid()) > tree_rss_kb(child.pid) > 0
    finally:
        child.kill()
        child.wait()


def test_profile_breakdown_splits_stages_without_overlap(pages, tmp_path):
    from transforms.normalise.cleaning import clean_paragraphs

    def work():
        run = RunContext.start()
        for name, data in pages:
            extract_article(SourceDocument(name, "html", data), run)
        clean_paragraphs(["A paragraph of words that is long enough to keep."] * 50)

    profiler = cProfile.Profile()
    profiler.runcall(work)
    path = tmp_path / "work.prof"
    profiler.dump_stats(str(path))
    profiler.dump_stats(str(path) + ".main")  # all of it ran on the main thread
    Path(str(path) + ".children").write_text('{"cpu_s": 0.0}')  # and no extraction process
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    markers = dict(STAGES)
    trafilatura_s = entry_seconds(stats, markers["trafilatura.bare_extraction (the limit's work)"])
    bare = next(v[3] for k, v in stats.items() if k[2] == "bare_extraction")
    assert bare <= trafilatura_s <= 1.1 * bare  # plus trafilatura.settings.set_date_params, called beside it
    assert entry_seconds(stats, markers["text cleaning (transforms/normalise/cleaning.py)"]) > 0
    rows = dict(breakdown(path))
    staged = [rows[label] for label, _ in STAGES]
    assert all(s >= 0 for s in staged) and trafilatura_s < sum(staged) <= rows["total (profiled)"]
    assert (
        rows["of which outside bundles on the main thread: start-up, DoFn set-up (model loads)"]
        == rows["total (profiled)"]
    )  # no Beam here


def test_raw_html_does_not_cross_a_stage_boundary(pages, tmp_path):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    from pipeline.graph import build_graph
    from pipeline.options import NewsbeamOptions, with_default_runner
    from pipeline.plan import plan_run

    write_pages(pages[:1], tmp_path / "in")
    options = with_default_runner(
        PipelineOptions(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--catalog", ""])
    )
    p = beam.Pipeline(options=options)
    build_graph(p, plan_run(options.view_as(NewsbeamOptions), RunContext.start()))
    _, stages = FnApiRunner().create_stages(p.to_runner_api())
    stage_of = {t.unique_name: i for i, stage in enumerate(stages) for t in stage.transforms}
    read = next(i for name, i in stage_of.items() if name.startswith("ReadSeedFiles/ReadFile"))
    extract = next(i for name, i in stage_of.items() if name.startswith("ExtractArticles/ExtractTextSeedFiles"))
    assert read == extract


def test_printed_paths_are_relative_to_the_repository(monkeypatch, tmp_path):
    from benchmarks import corpus

    shared = corpus.REPO.parent / "shared" / "data" / "extraction" / "wcxb-dev-articles" / "html"
    assert corpus.relative_to_repo(shared) == "../shared/data/extraction/wcxb-dev-articles/html"
    assert corpus.relative_to_repo(corpus.REPO / "benchmarks" / "RESULTS.md") == "benchmarks/RESULTS.md"
    monkeypatch.setattr(corpus, "SHARED_PAGES", tmp_path)
    assert not corpus.corpus_source().startswith("/")
    assert corpus.corpus_source().endswith(tmp_path.name)


def test_committed_results_name_no_absolute_path():
    from benchmarks import corpus

    for results in sorted((corpus.REPO / "benchmarks").glob("*.md")):
        text = results.read_text(encoding="utf-8")
        if corpus.REPO.parent != corpus.REPO.parent.parent:  # not at the file system's root
            assert f"{corpus.REPO.parent}/" not in text, results.name
        assert not re.search(r"(?<![\w.])/(work|root|home|tmp)/", text), results.name
