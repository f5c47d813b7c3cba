"""The Python API: docs/python-api.md's example runs as printed; newsbeam.run and newsbeam.open do what it says."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, SEEDS

pytestmark = pytest.mark.e2e

PAGE = REPO / "docs" / "python-api.md"


def documented_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    return blocks[0]


def test_the_documented_example_runs_as_printed_and_a_second_run_adds_nothing(tmp_path):
    (tmp_path / "seeds").symlink_to(SEEDS, target_is_directory=True)
    (tmp_path / "example.py").write_text(documented_example(), encoding="utf-8")
    first = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert first.returncode == 0, first.stderr[-3000:]
    lines = first.stdout.splitlines()
    assert lines[0] == "5 articles, 0 rejected, reconciled: True"
    counts = ast.literal_eval(lines[2])
    assert counts["articles"] == 5 and counts["stories"] >= 1 and counts["rejects"] == 0
    assert "story_label" in first.stdout and "article_count" in first.stdout
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import newsbeam; s = newsbeam.run(inputs=['seeds/'], output='out/');"
            " print(s.articles, s.already_ingested)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert again.stdout.split() == ["0", "5"]


def test_run_returns_the_summary_the_run_wrote_and_open_gives_every_table(tmp_path, monkeypatch):
    import newsbeam

    monkeypatch.chdir(tmp_path)
    summary = newsbeam.run(inputs=str(SEEDS), output=tmp_path / "out", host_delay=0.0, config="")
    assert isinstance(summary, newsbeam.RunSummary) and summary.reconciled
    written = json.loads((tmp_path / "out" / "_runs" / f"{summary.run_id}.summary.json").read_text())
    assert written["articles"] == summary.articles == 5 and written["inputs"] == summary.inputs == 5
    assert str(summary).startswith(f"newsbeam run {summary.run_id}\n")
    with newsbeam.open(tmp_path / "out") as tables:
        for name in tables.names:
            relation = tables.relation(name)
            assert list(tables.pandas(name).columns) == list(relation.columns)
            assert tables.polars(name).columns == list(relation.columns)
            assert tables.arrow(name).num_rows == len(relation.fetchall())
        assert tables.counts()["articles"] == 5 and tables.articles.columns == tables["articles"].columns
        labels = tables.sql(
            "SELECT count(*) FROM articles a JOIN stories s USING (story_id) WHERE a.story_label = s.story_label"
        ).fetchall()
        assert labels == [(5,)]
        with pytest.raises(KeyError, match="no table 'article'; the tables are articles, stories"):
            tables.relation("article")


def test_an_unknown_option_or_a_wrong_type_is_a_value_error_naming_it(tmp_path):
    import newsbeam

    with pytest.raises(ValueError, match=r"newsbeam.run\(\): unknown key 'min_wrods' \(did you mean 'min-words'\?\)"):
        newsbeam.run(inputs=str(SEEDS), output=tmp_path, min_wrods=3, config="")
    with pytest.raises(ValueError, match=r"'min_words' must be an integer, not a string \('ten'\)"):
        newsbeam.run(inputs=str(SEEDS), output=tmp_path, min_words="ten", config="")
    with pytest.raises(ValueError, match=r"unknown key 'interval'"):  # a watch option: not one of run's
        newsbeam.run(inputs=str(SEEDS), output=tmp_path, interval=5, config="")
    with pytest.raises(FileNotFoundError, match="no such output folder"):
        newsbeam.open(tmp_path / "none")
    assert list(tmp_path.iterdir()) == []


def test_a_script_without_a_main_guard_extracts_html_pages_once(tmp_path):
    """The extraction processes start without importing the caller's script, which would run it again."""
    from tests.world_pages import world_page

    pages = tmp_path / "pages"
    pages.mkdir()
    for code in ("zh", "ar", "th"):
        (pages / f"{code}.html").write_bytes(world_page(code))
    script = "import newsbeam\nprint('started')\nprint(newsbeam.run(inputs=['pages/'], output='out/').articles)\n"
    (tmp_path / "notebook_cell.py").write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "notebook_cell.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["started", "3"]
