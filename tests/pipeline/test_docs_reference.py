"""The docs' reference pages are generated from the code and fail here when they drift from it."""

from __future__ import annotations

import argparse
import shutil

from pipeline import docs_reference
from pipeline.analyst.schema_docs import DOCUMENTED_TABLES
from pipeline.arguments import build_parser
from pipeline.cli import COMMANDS


def test_committed_reference_pages_match_the_code():
    stale = docs_reference.stale_pages()
    assert stale == [], f"regenerate with `python -m pipeline.docs_reference`: {stale}"


def test_a_page_edited_by_hand_or_missing_is_reported(tmp_path):
    shutil.copytree(docs_reference.REFERENCE_DIR, tmp_path, dirs_exist_ok=True)
    assert docs_reference.stale_pages(tmp_path) == []
    tables = tmp_path / "tables.md"
    tables.write_text(tables.read_text(encoding="utf-8").replace("`article_id`", "`articleid`", 1), encoding="utf-8")
    (tmp_path / "commands.md").unlink()
    assert docs_reference.stale_pages(tmp_path) == ["commands.md", "tables.md"]


def test_every_column_of_every_table_is_documented():
    page = docs_reference.tables_markdown()
    for table in DOCUMENTED_TABLES:
        assert f"## {table.name}\n" in page
        for column in (*table.columns, *([table.partition] if table.partition else [])):
            assert f"| `{column.name}`" in page, (table.name, column.name)
            assert column.description.split()[0] in page


def test_every_option_of_every_command_is_documented():
    page = docs_reference.commands_markdown()
    for name in COMMANDS:
        command, _ = COMMANDS[name]
        section = page.split(f"## `{name}`\n", 1)[1].split("\n## `", 1)[0]
        for action in build_parser(command, with_beam=False)._actions:
            if action.help == argparse.SUPPRESS:
                continue
            for option in action.option_strings:
                hyphenated = option.replace("_", "-")
                if hyphenated != option and hyphenated in action.option_strings:
                    continue  # Beam's underscore spelling: the page says once that every option takes it
                assert f"`{option}`" in section, (name, option)


def test_check_mode_exits_1_on_drift_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(docs_reference, "REFERENCE_DIR", tmp_path)
    assert docs_reference.main(["--check"]) == 1
    assert list(tmp_path.iterdir()) == []
    assert "out of date" in capsys.readouterr().err
    assert docs_reference.main([]) == 0
    assert docs_reference.main(["--check"]) == 0


def test_the_page_shows_each_commands_options_in_the_named_groups_of_help():
    from pipeline.options import GROUPS

    page = docs_reference.commands_markdown()
    run = page.split("## `run`\n", 1)[1].split("\n## `", 1)[0]
    titles = [f"**{GROUPS[g]}**" for g in ("input", "sources", "extraction", "stories", "output", "fetching")]
    assert [run.index(t) for t in titles] == sorted(run.index(t) for t in titles)
    fetching = run.split(f"**{GROUPS['fetching']}**", 1)[1].split("\n**", 1)[0]
    assert "`--host-delay` SECONDS" in fetching and "`--min-words`" not in fetching
    query = page.split("## `query`\n", 1)[1].split("\n## `", 1)[0]
    assert "**query options**" in query and "`--config` PATH" in query
