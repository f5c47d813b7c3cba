"""The shared rules sit below the stages: sources and extraction import them, never each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

TRANSFORMS = Path(__file__).resolve().parents[3] / "transforms"


def imported_packages(package: str, root: Path = TRANSFORMS) -> dict[str, set[str]]:
    """{other transforms package: modules of ``package`` importing it}, imports inside functions included."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == "transforms" and parts[1] != package:
                    found.setdefault(parts[1], set()).add(path.relative_to(root).as_posix())
    return found


def test_sources_never_import_the_extraction_package():
    assert "text" not in imported_packages("sources")


def test_the_shared_rules_import_no_stage():
    assert set(imported_packages("normalise")) <= {"run"}


def test_the_check_sees_an_import_of_another_package(tmp_path):
    package = tmp_path / "sources"
    package.mkdir()
    (package / "feeds.py").write_text("def f():\n    from transforms.text.extract import x\n", encoding="utf-8")
    assert imported_packages("sources", tmp_path) == {"text": {"sources/feeds.py"}}
