"""Exit codes live in one module (``pipeline/exit_codes.py``), each with its meaning; nothing else declares one."""

from __future__ import annotations

import ast
import signal
from pathlib import Path

from pipeline import exit_codes
from pipeline.docs_reference import exit_codes_page

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / "pipeline" / "exit_codes.py"


def declared_exit_codes(source: str) -> list[str]:
    """Names bound at module level to an int literal or an ExitCode whose name says it is an exit code."""
    found = []
    for node in ast.parse(source).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        is_code = (isinstance(value, ast.Constant) and type(value.value) is int) or (
            isinstance(value, ast.Call) and getattr(value.func, "id", None) == "ExitCode"
        )
        found += [t.id for t in targets if isinstance(t, ast.Name) and "EXIT" in t.id and is_code]
    return found


def test_no_module_but_exit_codes_declares_an_exit_code():
    elsewhere = {
        path.relative_to(REPO).as_posix(): names
        for package in ("pipeline", "transforms", "schemas")
        for path in sorted((REPO / package).rglob("*.py"))
        if path != HOME and (names := declared_exit_codes(path.read_text(encoding="utf-8")))
    }
    assert elsewhere == {}, f"declare these in pipeline/exit_codes.py and import them from there: {elsewhere}"


def test_the_check_finds_a_declaration_and_the_home_module_has_them_all():
    assert declared_exit_codes("TIMEOUT_EXIT = 7\nRETRIES = 3\nname_exit: int = 2\n") == ["TIMEOUT_EXIT"]
    assert sorted(declared_exit_codes(HOME.read_text(encoding="utf-8"))) == sorted(
        n for n, _ in exit_codes.exit_codes()
    )


def test_every_code_has_a_meaning_and_the_generated_page_lists_every_number():
    page = exit_codes_page()
    for name, code in exit_codes.exit_codes():
        assert code.meaning.strip(), name
        assert f"| {int(code)} |" in page and code.meaning in page, name
    assert [number for number, _ in exit_codes.by_number()] == [0, 1, 2, 3, 4, 5, 6, 130, 143]


def test_an_interrupt_exits_as_a_shell_reports_the_signal():
    assert exit_codes.interrupted_exit_code(signal.SIGINT) == exit_codes.INTERRUPTED_EXIT == 130
    assert exit_codes.interrupted_exit_code(signal.SIGTERM) == exit_codes.TERMINATED_EXIT == 143


def test_an_exit_code_is_an_int_that_survives_pickling():
    import pickle

    again = pickle.loads(pickle.dumps(exit_codes.LEASE_HELD_EXIT))
    assert again == 4 and isinstance(again, int) and again.meaning == exit_codes.LEASE_HELD_EXIT.meaning
