"""The modules' imports, read with ``ast``: cycles between packages, and streaming modules importing batch wrappers.

A package here is ``pipeline``, ``schemas`` or one stage of ``transforms`` (``transforms.sources``,
``transforms.text``, …: a stage's subpackages belong to it). Every import counts, at the top of a
module or inside a function. A batch wrapper is a stage's ``batch.py`` or the batch writer
``transforms/output/tables.py``; a streaming module is a stage's ``streaming.py``, the streaming
writer ``transforms/output/panes.py`` or the streaming graph ``pipeline/streaming.py``. What both
paths need lives in the stage's ``rules.py`` (or another plain module), never in a batch wrapper.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGES = ("pipeline", "schemas", "transforms")
BATCH_WRAPPERS = ("transforms.output.tables",)
STREAMING_MODULES = ("transforms.output.panes", "pipeline.streaming")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Every module under ``root``'s ``packages`` → the modules of those packages it imports."""
    paths = {module_name(root, p): p for package in packages for p in sorted((root / package).rglob("*.py"))}
    imports: dict[str, set[str]] = {}
    for module, path in paths.items():
        found: set[str] = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, node.module, node.level, is_package)
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in paths}
        imports[module] = {name for name in found if name in paths and name != module}
    return imports


def _absolute(module: str, name: str | None, level: int, is_package: bool) -> str:
    if not level:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def package_of(module: str) -> str:
    """``transforms.sources.feeds.rules`` → ``transforms.sources``; ``pipeline.analyst.query`` → ``pipeline``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "transforms" and len(parts) > 1 else parts[0]


def package_edges(imports: Mapping[str, set[str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(importing package, imported package) → the (module, module) imports that make the edge."""
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for module, targets in sorted(imports.items()):
        for target in sorted(targets):
            a, b = package_of(module), package_of(target)
            if a != b:
                edges.setdefault((a, b), []).append((module, target))
    return edges


def package_cycles(imports: Mapping[str, set[str]]) -> list[list[str]]:
    """Groups of packages that import each other, directly or around a loop (strongly connected, > 1 package)."""
    graph: dict[str, set[str]] = {}
    for a, b in package_edges(imports):
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; a few dozen packages, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def is_batch_wrapper(module: str) -> bool:
    return module.startswith("transforms.") and module.endswith(".batch") or module in BATCH_WRAPPERS


def is_streaming_module(module: str) -> bool:
    return module.startswith("transforms.") and module.endswith(".streaming") or module in STREAMING_MODULES


def streaming_imports_of_batch(imports: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """(streaming module, batch wrapper it imports) pairs."""
    return sorted(
        (module, target)
        for module, targets in imports.items()
        if is_streaming_module(module)
        for target in targets
        if is_batch_wrapper(target)
    )
