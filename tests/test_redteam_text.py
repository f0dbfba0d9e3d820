"""Red team, second wave: hostile text that still reached the terminal raw.

``--debug`` printed Python's own traceback, whose last line is the exception
message: a file name from the stick (``\\x1b[31m...``, bidi) went to stderr
as raw bytes, and an internal error re-raised under ``--debug`` left with
Python's exit 1 instead of the documented 70."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_core import run_cli
from tuf_ceremony.errors import ExitCode

RAW = ("\x1b", "\u202e", "\x07", "\r")


def _no_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, (ch, text)


def test_debug_traceback_escapes_a_hostile_file_name(tmp_path: Path) -> None:
    bad = tmp_path / "\x1b]0;owned\x07\x1b[31mreq\u202enosj.json"
    bad.write_text("{")
    r = run_cli("--debug", "status", bad)
    assert r.exit_code == ExitCode.INVALID_INPUT
    assert "Traceback" in r.stderr
    _no_raw(r.output + r.stderr)
    assert "\\x1b]0;owned\\x07\\x1b[31mreq\\u202enosj.json" in r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("tuf-ceremony: error: ") and "not valid JSON" in last


def test_debug_keeps_exit_70_and_escapes_an_internal_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuf_ceremony.request as request

    def boom(path: object) -> None:
        raise RuntimeError(f"bug reading {path}")

    monkeypatch.setattr(request, "load_request", boom)
    name = tmp_path / "\x1b[2Jr\u202e.json"
    r = run_cli("--debug", "status", name)
    assert r.exit_code == ExitCode.INTERNAL_ERROR
    assert "Traceback" in r.stderr and "RuntimeError" in r.stderr
    _no_raw(r.output + r.stderr)
    assert "\\x1b[2Jr\\u202e.json" in r.stderr
