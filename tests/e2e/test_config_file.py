"""newsbeam.toml through the CLI: its options run the pipeline, the command line wins, mistakes exit 2."""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS, run_cli

pytestmark = pytest.mark.e2e


def test_a_run_and_a_query_take_their_options_from_the_file(tmp_path):
    out = tmp_path / "from-file"
    (tmp_path / "newsbeam.toml").write_text(
        f'input = ["{SEEDS}"]\noutput = "{out}"\nmin_words = 20\nhost-delay = 0.0\n', encoding="utf-8"
    )
    run = run_cli("run", cwd=tmp_path)
    assert "options from newsbeam.toml: input, output, min_words, host-delay" in run.stderr
    assert (out / "articles").is_dir() and "reconciled        yes" in run.stdout
    query = run_cli("query", "SELECT count(*) AS n FROM articles", "--format", "csv", cwd=tmp_path)
    assert query.stdout.splitlines()[1] == "5"
    elsewhere = run_cli("query", "SELECT 1", "--output", str(tmp_path / "nothing"), cwd=tmp_path, check=False)
    assert elsewhere.returncode == 2 and "nothing does not exist" in elsewhere.stderr  # the command line wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min-wrods = 3\n", "error: newsbeam.toml: unknown key 'min-wrods' (did you mean 'min-words'?)"),
        ('min-words = "ten"\n', "error: newsbeam.toml: 'min-words' must be an integer, not a string ('ten')"),
    ],
)
def test_an_unknown_key_or_a_wrong_type_exits_2_naming_the_key_and_the_file(tmp_path, text, message):
    (tmp_path / "newsbeam.toml").write_text(text, encoding="utf-8")
    result = run_cli("run", "--output", str(tmp_path / "out"), cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [message]
    assert not (tmp_path / "out").exists()


def test_a_missing_config_file_exits_2(tmp_path):
    result = run_cli("stories", "--config", "absent.toml", cwd=tmp_path, check=False)
    assert (result.returncode, result.stderr.strip()) == (2, "error: --config absent.toml: no such file")
