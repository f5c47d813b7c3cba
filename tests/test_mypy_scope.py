"""`make lint` type-checks every plain-logic module: each module that imports no Beam is in [tool.mypy]."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "transforms", "schemas")


def imports_beam(path: Path) -> bool:
    """True if the module imports apache_beam anywhere (at the top or inside a function)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "apache_beam" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "apache_beam":
            return True
    return False


def has_code(path: Path) -> bool:
    """False for an empty package marker (nothing but a docstring)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def mypy_files() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["files"]


def covered(module: str, files: list[str]) -> bool:
    return any(module == f or module.startswith(f.rstrip("/") + "/") for f in files)


def plain_modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if has_code(path) and not imports_beam(path):
                found.append(path.relative_to(REPO).as_posix())
    return found


def test_every_module_without_beam_is_type_checked():
    files = mypy_files()
    missing = [m for m in plain_modules() if not covered(m, files)]
    assert missing == [], f"add these plain-logic modules to [tool.mypy] files in pyproject.toml: {missing}"


def test_every_listed_path_exists():
    assert [f for f in mypy_files() if not (REPO / f).exists()] == []


def test_the_beam_check_sees_imports_inside_functions(tmp_path):
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def f():\n    from apache_beam.io import filesystems\n    return filesystems\n")
    plain = tmp_path / "plain.py"
    plain.write_text('"""Doc."""\n\nimport json\n')
    marker = tmp_path / "__init__.py"
    marker.write_text('"""Only a docstring."""\n')
    assert imports_beam(lazy) and not imports_beam(plain)
    assert has_code(plain) and not has_code(marker)
