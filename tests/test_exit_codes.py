"""Exit codes come from one table (tuf_ceremony.errors.ExitCode / EXIT_TABLE):
the README's table and ``tuf-ceremony --help`` say what it says, no module
exits with a literal number, and the CLI really exits with the table's codes."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli
from tuf_ceremony import errors
from tuf_ceremony.errors import EXIT_CODES, EXIT_TABLE, CeremonyError, ExitCode, exit_codes_help

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tuf_ceremony"


def _readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, flags=re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_readme_table_is_the_table() -> None:
    assert _readme_table() == EXIT_CODES
    assert list(EXIT_CODES) == sorted(EXIT_CODES)  # README order: ascending


def test_help_lists_every_code_as_the_table_does() -> None:
    # the installed entry point, at 80 columns, as a user sees it
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-c", "from tuf_ceremony.cli.main import main; main()", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    flat = " ".join(proc.stdout.split())
    assert f"Exit codes: {exit_codes_help()}" in flat
    for code, (short, _) in EXIT_TABLE.items():
        assert f"{int(code)} {short}" in flat


def test_every_error_class_carries_a_code_of_the_table() -> None:
    classes = [obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, CeremonyError)]
    assert len(classes) >= 10
    for cls in classes:
        assert isinstance(cls.exit_code, ExitCode), cls
        assert cls.exit_code in EXIT_TABLE, cls
        assert cls.exit_code not in (ExitCode.OK, ExitCode.INTERNAL_ERROR), cls


def _literal_exits(path: Path) -> list[str]:
    """Calls of exit()/sys.exit()/ctx.exit()/SystemExit() with a number, and
    ``exit_code = <number>`` assignments."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("exit", "SystemExit", "Exit") and any(
                isinstance(a, ast.Constant) and type(a.value) is int for a in node.args
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            if (
                any(
                    isinstance(t, ast.Name | ast.Attribute) and getattr(t, "id", getattr(t, "attr", "")) == "exit_code"
                    for t in targets
                )
                and isinstance(value, ast.Constant)
                and type(value.value) is int
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_literal_exit_code_outside_the_table() -> None:
    offenders = [
        hit for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "errors.py" for hit in _literal_exits(path)
    ]
    assert offenders == []


def test_the_checker_sees_literal_exits(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\nsys.exit(3)\nclass E:\n    exit_code = 4\nctx.exit(ExitCode.OK)\n", encoding="utf-8")
    assert _literal_exits(sample) == ["sample.py:2: sys.exit(3)", "sample.py:4: exit_code = 4"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--no-such-option"], ExitCode.USAGE),
        (["status", "/nonexistent/request.json"], ExitCode.INVALID_INPUT),
        (["--version"], ExitCode.OK),
    ],
)
def test_cli_exits_with_the_table_codes(args: list[str], expected: ExitCode) -> None:
    r = run_cli(*args)
    assert r.exit_code == expected, r.output


def test_invalid_input_is_exit_3_through_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "request.json"
    bad.write_text("{not json", encoding="utf-8")
    r = run_cli("status", bad)
    assert r.exit_code == ExitCode.INVALID_INPUT
    assert "request.json" in r.stderr
