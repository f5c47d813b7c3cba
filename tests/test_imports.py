"""The packages import each other without a cycle, and no streaming module imports a batch wrapper.

See ``tests/import_graph.py`` for what a package, a batch wrapper and a streaming module are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import (
    module_imports,
    package_cycles,
    package_edges,
    streaming_imports_of_batch,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    return module_imports(REPO)


def test_no_cycle_between_packages(imports):
    cycles = package_cycles(imports)
    edges = package_edges(imports)
    detail = {
        " <-> ".join(group): [
            f"{a} imports {b}" for (pa, pb), pairs in edges.items() if pa in group and pb in group for a, b in pairs
        ]
        for group in cycles
    }
    assert cycles == [], f"packages that import each other: {detail}"


def test_no_streaming_module_imports_a_batch_wrapper(imports):
    found = streaming_imports_of_batch(imports)
    assert found == [], f"move what both paths need into the stage's rules.py: {found}"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_through_three_packages_is_found_with_the_imports_that_make_it(tmp_path):
    root = _tree(
        tmp_path,
        {
            "transforms/__init__.py": "",
            "transforms/text/__init__.py": "",
            "transforms/text/extract.py": "from transforms.sources.document import SourceDocument\n",
            "transforms/sources/__init__.py": "",
            "transforms/sources/document.py": "SourceDocument = object\n",
            "transforms/sources/feeds/__init__.py": "",
            "transforms/sources/feeds/parsing.py": "def f():\n    from transforms.dedup import ledger\n",
            "transforms/dedup/__init__.py": "",
            "transforms/dedup/ledger.py": "import transforms.text.extract\n",
            "schemas/__init__.py": "",
            "pipeline/__init__.py": "from transforms.text import extract\n",
        },
    )
    imports = module_imports(root)
    assert package_cycles(imports) == [["transforms.dedup", "transforms.sources", "transforms.text"]]
    assert package_edges(imports)[("transforms.sources", "transforms.dedup")] == [
        ("transforms.sources.feeds.parsing", "transforms.dedup"),  # an import inside a function counts
        ("transforms.sources.feeds.parsing", "transforms.dedup.ledger"),
    ]
    del imports["transforms.dedup.ledger"]  # the import that closed the cycle
    assert package_cycles(imports) == []


def test_modules_of_one_package_may_import_each_other_and_relative_imports_resolve(tmp_path):
    root = _tree(
        tmp_path,
        {
            "transforms/__init__.py": "",
            "transforms/stories/__init__.py": "",
            "transforms/stories/rules.py": "from .saved import load\n",
            "transforms/stories/saved.py": "from transforms.stories import rules\nload = None\n",
            "schemas/__init__.py": "",
            "pipeline/__init__.py": "",
        },
    )
    imports = module_imports(root)
    assert imports["transforms.stories.rules"] == {"transforms.stories.saved"}
    assert package_cycles(imports) == []


def test_a_streaming_module_importing_a_batch_wrapper_is_found(tmp_path):
    root = _tree(
        tmp_path,
        {
            "transforms/__init__.py": "",
            "transforms/stories/__init__.py": "",
            "transforms/stories/batch.py": "X = 1\n",
            "transforms/stories/rules.py": "Y = 1\n",
            "transforms/stories/streaming.py": "from transforms.stories.batch import X\nfrom .rules import Y\n",
            "transforms/output/__init__.py": "",
            "transforms/output/tables.py": "Z = 1\n",
            "transforms/output/panes.py": "from transforms.output import tables\n",
            "schemas/__init__.py": "",
            "pipeline/__init__.py": "",
        },
    )
    assert streaming_imports_of_batch(module_imports(root)) == [
        ("transforms.output.panes", "transforms.output.tables"),
        ("transforms.stories.streaming", "transforms.stories.batch"),
    ]
