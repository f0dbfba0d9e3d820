"""No function over 60 lines without a reason (issue 14's shape rule): the
package has none; a longer test or benchmark says why on the line above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 60
REASON = "# Long on purpose:"


def long_functions(folder: str) -> list[tuple[str, str, int, bool]]:
    """(file, function, lines, has a reason) of every function over LIMIT lines."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMIT:
                    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                    reason = first >= 2 and lines[first - 2].strip().startswith(REASON)
                    found.append((str(path.relative_to(ROOT)), node.name, length, reason))
    return found


def test_package_functions_are_at_most_60_lines() -> None:
    assert long_functions("tuf_ceremony") == []


def test_longer_tests_and_benchmarks_give_their_reason() -> None:
    unexplained = [f for folder in ("tests", "benchmarks", "ceremonies") for f in long_functions(folder) if not f[3]]
    assert unexplained == []
