"""End to end: WARC files through ``python -m pipeline run``, read back with DuckDB.

A WARC written here (warcio) holds pages in five scripts plus every other kind of record; the
same pages given as HTML files must give the same texts; every record is accounted for; a rerun
finds everything already ingested. ``--cc-news`` is run against a local copy of the bucket layout.
With ``../shared/data`` present, real WCXB pages go through both paths too.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_DATA, run_cli
from tests.warc_files import SCRIPT_PAGES, Page, append_cut_record, script_pages, write_warc

WCXB = SHARED_DATA / "extraction" / "wcxb-dev-articles"
SHARED_PAGES = 16
MIN_WORDS = "3"
"""The Japanese page is three paragraphs without spaces: three words to the whitespace count."""


def rows(out: Path, table: str, columns: str = "*") -> list[dict]:
    if not list((out / table).glob("*/*.parquet")):
        return []
    relation = duckdb.sql(f"SELECT {columns} FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true)")
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def summary_of(out: Path) -> dict:
    (path,) = sorted(out.glob("_runs/*.summary.json"), key=lambda p: p.stat().st_mtime)[-1:]
    return json.loads(path.read_text())


def run(out: Path, *args: str):
    return run_cli("run", "--output", str(out), "--catalog", "", *args)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> tuple[Path, dict, list[Page]]:
    folder = tmp_path_factory.mktemp("warc")
    path = folder / "crawl.warc.gz"
    pages = script_pages()
    kinds = write_warc(path, pages)
    append_cut_record(path, SCRIPT_PAGES["ja"].encode() * 40)
    return path, {**kinds, "truncated": kinds["truncated"] + 1}, pages


@pytest.fixture(scope="module")
def warc_run(crawl, tmp_path_factory):
    path, _, _ = crawl
    out = tmp_path_factory.mktemp("out-warc")
    first = run(out, "--input", str(path), "--min-words", MIN_WORDS)
    first_summary = summary_of(out)
    second = run(out, "--input", str(path), "--min-words", MIN_WORDS)
    return out, first, first_summary, second, summary_of(out)


def test_every_record_is_an_article_or_counted_by_kind(crawl, warc_run):
    _, kinds, pages = crawl
    out, first, summary, _, _ = warc_run
    warc = summary["sources"]["warc"]
    assert summary["reconciled"], summary["mismatches"]
    assert warc["inputs"] == len(pages) + sum(kinds.values())
    assert warc["by_kind"] == {f"skipped_{kind}": n for kind, n in kinds.items()}
    assert warc["articles_extracted"] == len(pages) and warc["rejects"] == 0
    assert rows(out, "rejects") == []  # other records are counted, never written one by one
    assert "WARC records" in first.stdout and "request 6" in first.stdout
    written = rows(out, "articles")
    assert sorted(a["url"] for a in written) == sorted(p.url for p in pages)
    assert {a["language"] for a in written} == {"ja", "ar", "hi", "ru", "th"}
    assert all(a["source_uri"].startswith(f"{crawl[0]}#offset=") for a in written)


def test_the_http_charset_makes_the_cp1251_copy_a_text_duplicate(warc_run):
    out = warc_run[0]
    by_url = {a["url"]: a for a in rows(out, "articles")}
    utf8, cp1251 = (
        by_url["https://ru.news.example/2024/03/04/library"],
        by_url["https://ru-cp1251.news.example/2024/03/04/library"],
    )
    assert cp1251["text"] == utf8["text"] and "Казани" in cp1251["text"]
    assert {cp1251["duplicate_kind"], utf8["duplicate_kind"]} == {"text", None}


def test_a_rerun_finds_every_article_already_ingested(crawl, warc_run):
    out, _, first, _, second = warc_run
    assert second["reconciled"], second["mismatches"]
    assert second["articles"] == 0 and second["already_ingested"] == len(crawl[2])
    assert second["sources"]["warc"]["by_kind"] == first["sources"]["warc"]["by_kind"]
    assert len(rows(out, "articles")) == len(crawl[2])


def test_texts_equal_those_of_the_same_pages_given_as_html_files(crawl, warc_run, tmp_path):
    _, _, pages = crawl
    utf8_pages = [p for p in pages if p.charset == "utf-8"]
    folder = tmp_path / "html"
    folder.mkdir()
    for i, page in enumerate(utf8_pages):
        (folder / f"{i}.html").write_bytes(page.html)
    out = tmp_path / "out"
    run(out, "--input", str(folder), "--min-words", MIN_WORDS)
    from_files = sorted((a["title"], a["text"]) for a in rows(out, "articles"))
    from_warc = sorted((a["title"], a["text"]) for a in rows(warc_run[0], "articles") if "cp1251" not in a["url"])
    assert from_warc == from_files and len(from_files) == len(utf8_pages)


def test_filters_count_what_they_drop(crawl, tmp_path):
    path, kinds, pages = crawl
    out = tmp_path / "out"
    run(
        out, "--input", str(path), "--min-words", MIN_WORDS, "--site", "ja.news.example,ru.news.example,th.news.example"
    )
    run(
        out,
        "--input",
        str(path),
        "--min-words",
        "5",
        "--site",
        "news.example",
        "--language",
        "ru",
        "--until",
        "2024-03-04",
    )
    first, second = (
        json.loads(p.read_text()) for p in sorted(out.glob("_runs/*.summary.json"), key=lambda p: p.stat().st_mtime)
    )
    assert first["reconciled"] and second["reconciled"]
    # three pages of other sites, and the cut record of other.example: the site is judged before the body is read
    assert first["sources"]["warc"]["filtered"] == first["counters"]["warc.filtered_site"] == len(pages) - 3 + 1
    # the second run: every page fetched 2024-03-05, after --until 2024-03-04
    assert second["counters"]["warc.filtered_fetch_date"] == len(pages)
    assert {a["url"] for a in rows(out, "articles")} == {
        p.url for p in pages if p.url.split("//")[1].split(".")[0] in ("ja", "ru", "th")
    }


def test_language_and_publication_date_filters_apply_after_extraction(crawl, tmp_path):
    path, _, pages = crawl
    out = tmp_path / "out"
    run(out, "--input", str(path), "--min-words", MIN_WORDS, "--language", "ru,ar", "--since", "2024-03-01")
    summary = summary_of(out)
    assert summary["reconciled"], summary["mismatches"]
    assert summary["counters"]["filter.articles_language"] == len(pages) - 3
    assert sorted(a["language"] for a in rows(out, "articles")) == ["ar", "ru", "ru"]
    out2 = tmp_path / "out2"
    run(
        out2, "--input", str(path), "--min-words", MIN_WORDS, "--since", "2024-03-05"
    )  # published 2024-03-04, fetched 03-05
    assert summary_of(out2)["counters"]["filter.articles_published"] == len(pages)
    assert rows(out2, "articles") == []


def test_cc_news_month_expands_from_a_local_copy_of_the_bucket_layout(tmp_path):
    base = tmp_path / "commoncrawl"
    month = base / "crawl-data" / "CC-NEWS" / "2024" / "03"
    month.mkdir(parents=True)
    pages = script_pages()
    names = [f"CC-NEWS-2024030{i}000000-0000{i}.warc.gz" for i in (1, 2)]
    write_warc(month / names[0], pages[:3], other_records=False)
    write_warc(month / names[1], pages[3:5])
    listing = "".join(f"crawl-data/CC-NEWS/2024/03/{name}\n" for name in names)
    (month / "warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    out = tmp_path / "out"
    result = run(out, "--cc-news", "2024/03", "--cc-news-base", str(base), "--min-words", MIN_WORDS)
    assert summary_of(out)["sources"]["warc"]["articles_extracted"] == 5, result.stdout
    assert sorted(a["url"] for a in rows(out, "articles")) == sorted(p.url for p in pages[:5])
    missing = run_cli(
        "run",
        "--output",
        str(tmp_path / "o2"),
        "--cc-news",
        "2024/02-2024/03",
        "--cc-news-base",
        str(base),
        check=False,
    )
    assert missing.returncode == 2 and "CC-NEWS/2024/02/warc.paths.gz does not exist" in missing.stderr


def test_bad_filter_options_are_clear_errors(tmp_path):
    (tmp_path / "note.txt").write_text("A seed file, so that only the options can be wrong.")
    for args, message in (
        (("--since", "last week"), "--since/--until"),
        (("--since", "2024-03-02", "--until", "2024-03-01"), "is not after"),
        (("--cc-news", "2024/13"), "months must be 01-12"),
    ):
        result = run_cli("run", "--output", str(tmp_path / "out"), "--input", str(tmp_path), *args, check=False)
        assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.skipif(not WCXB.is_dir(), reason="../shared/data/extraction/wcxb-dev-articles is absent")
def test_real_pages_give_the_same_articles_from_a_warc_as_from_html_files(tmp_path):
    folder = tmp_path / "html"
    folder.mkdir()
    pages = []
    for source in sorted((WCXB / "html").glob("*.html.gz"))[:SHARED_PAGES]:
        html = gzip.decompress(source.read_bytes())
        truth = json.loads((WCXB / "ground-truth" / source.name.replace(".html.gz", ".json")).read_text())
        (folder / source.name.removesuffix(".gz")).write_bytes(html)
        pages.append(Page(truth["url"], html, charset="utf-8" if _is_utf8(html) else None))
    path = tmp_path / "wcxb.warc.gz"
    write_warc(path, pages)
    from_files, from_warc = tmp_path / "out-html", tmp_path / "out-warc"
    run(from_files, "--input", str(folder))
    run(from_warc, "--input", str(path))
    assert summary_of(from_warc)["reconciled"]
    texts = lambda out: sorted(a["text"] for a in rows(out, "articles"))  # noqa: E731
    assert texts(from_warc) == texts(from_files) and len(texts(from_files)) >= SHARED_PAGES * 0.9
    assert len(rows(from_warc, "rejects")) == len(rows(from_files, "rejects"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
