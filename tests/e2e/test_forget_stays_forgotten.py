"""A forgotten article's text stays down: the same text under any other URL is dropped and counted.

The article is in Arabic (with a Cyrillic one beside it that stays), forgotten by URL; a later
run brings its exact text under two new URLs (a mirror and a syndicating outlet): no row comes
back, the run reconciles, and the copies are counted as copies of a forgotten article.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e.test_commands import WORLD, articles

pytestmark = pytest.mark.e2e


def _write(folder: Path, name: str, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return folder


def test_the_same_text_under_another_url_after_forget_is_dropped_not_a_row(tmp_path):
    forgotten, other = WORLD[1], WORLD[0]  # Arabic, taken down; Russian, kept
    out = tmp_path / "out"
    run_cli("run", "--input", str(_write(tmp_path / "in1", "a.jsonl", [forgotten, other])), "--output", str(out))
    run_cli("forget", "--output", str(out), forgotten["url"])
    assert forgotten["text"][:40] not in {a["text"][:40] for a in articles(out)}

    copies = [
        {**forgotten, "url": "https://mirror.example.net/copy", "source": "Mirror"},
        {**forgotten, "url": "https://syndicate.example.org/2024/story?12", "source": "Syndicate"},
    ]
    rerun = run_cli("run", "-v", "--input", str(_write(tmp_path / "in2", "b.jsonl", copies)), "--output", str(out))

    rows = articles(out)
    assert [a["url"] for a in rows if a["text"][:40] == forgotten["text"][:40]] == []
    assert len(rows) == 1  # the other article stays
    assert "reconciled        yes" in rerun.stdout
    counted = rerun.stdout.split("dedup.copies_of_forgotten", 1)[1].split("\n", 1)[0]
    assert counted.split()[-1] == "2", rerun.stdout
