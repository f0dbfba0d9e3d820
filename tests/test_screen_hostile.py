"""Hostile text in a request is shown, never obeyed.

A coordinator controls the ceremony name, the names given to keys, target
paths, custom metadata, and the file names a keyholder is told about. Each
is filled with markup, terminal escape sequences (clear screen, set the
window title), carriage returns, bidi and zero-width characters, or 10,000
characters, then the request is re-sealed (anyone can recompute its digests
and id) and given to ``sign``: on a terminal (read through a terminal
emulator) and not. The strings appear escaped, the terminal obeys none of
them, and nothing ends in exit 70.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, write_plan
from tests.fixtures_screen import PtySession
from tuf_ceremony.cli.screens import confirmation_lines, summary_lines
from tuf_ceremony.request import load_request, parse_request
from tuf_ceremony.review import render_review

MARKUP = "[bold red]x[/]"
ESCAPES = "\x1b[2J\x1b]0;pwned\x07"
HOSTILE = [MARKUP, ESCAPES, "a\rb", "evil\u202egnp.exe", "zero\u200bwidth", "y" * 10_000]
RAW_BAD = ("\x1b", "\r", "\x07", "\u202e", "\u200b")


def _request_doc(workdir: Path) -> dict[str, Any]:
    (workdir / "f.txt").write_text("file\n")
    extra = '[targets]\n[[targets.files]]\npath = "f.txt"\nsource = "f.txt"\ncustom = { note = "placeholder" }\n'
    plan = write_plan(workdir / "plan.toml", extra=extra)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output + r.stderr
    doc: dict[str, Any] = json.loads(req.read_text())
    return doc


def _reseal(doc: dict[str, Any], path: Path) -> Path:
    """Recompute digests and the request id, as an attacker can."""
    from tuf_ceremony.keys import canonical_bytes
    from tuf_ceremony.request import sha256_hex

    for p in doc["payloads"]:
        p["digest"] = sha256_hex(canonical_bytes(p["signed"]))
    doc.pop("request_id", None)
    doc["request_id"] = sha256_hex(canonical_bytes(doc))
    path.write_text(json.dumps(doc))
    return path


def _hostile_request(workdir: Path, text: str) -> Path:
    doc = _request_doc(workdir)
    doc["ceremony"] = f"pypi {text}"[:200]
    alice = next(k for k, v in doc["keys"].items() if v["name"] == "alice")
    doc["keys"][alice]["name"] = f"alice {text}"[:200]
    targets = next(p for p in doc["payloads"] if p["role"] == "targets")
    targets["signed"]["targets"]["f.txt"]["custom"] = {"note": text, text[:50]: "key"}
    return _reseal(doc, workdir / "hostile.json")


def _assert_escaped(output: str, text: str) -> None:
    for ch in RAW_BAD:
        assert ch not in output, repr(ch)
    if text == MARKUP:
        assert MARKUP in output
    if text == ESCAPES:
        assert "\\x1b[2J\\x1b]0;pwned\\x07" in output
    if text == "a\rb":
        assert "a\\x0db" in output
    if "\u202e" in text:
        assert "evil\\u202egnp.exe" in output
    if "\u200b" in text:
        assert "zero\\u200bwidth" in output


@pytest.mark.parametrize("text", HOSTILE, ids=["markup", "escapes", "cr", "bidi", "zwsp", "long"])
def test_sign_without_terminal_shows_hostile_text_escaped(workdir: Path, text: str) -> None:
    req = _hostile_request(workdir, text)
    out = workdir / "a.bundle.json"
    r = run_cli("sign", req, "--key", workdir / "alice.pem", "--out", out, "--yes", input=PASSPHRASES["alice"] + "\n")
    assert r.exit_code != 70, r.output + r.stderr
    assert "Traceback" not in r.output + r.stderr
    if r.exit_code != 0:  # refused: one clean line naming the file, nothing written
        assert r.stderr.count("\n") == 1 and "hostile.json" in r.stderr, r.stderr
        _assert_escaped(r.stderr, "")
        assert not out.exists()
        return
    _assert_escaped(r.output + r.stderr, text)
    assert out.is_file()
    if text.startswith("y" * 100):
        # the review is complete: the long value is there in full, once escaped
        assert "y" * 10_000 in r.output


@pytest.mark.parametrize("text", HOSTILE, ids=["markup", "escapes", "cr", "bidi", "zwsp", "long"])
def test_screens_hold_no_raw_control_character(workdir: Path, text: str) -> None:
    req = load_request(_hostile_request(workdir, text))
    from tuf_ceremony.signing import slots_for

    alice = next(k for k, v in req.key_names.items() if v.startswith("alice"))
    slots = slots_for(req, req.names_keys[alice])
    assert slots
    for lines in (
        summary_lines(req, slots, None, 80),
        confirmation_lines(req, slots, req.key_names[alice], 80, 24),
        render_review(req).splitlines(),
    ):
        joined = "\n".join(lines)
        _assert_escaped(joined, text)
        for line in lines:
            assert all(ch >= " " for ch in line), repr(line)
    # the confirmation screen still fits 80x24 with hostile names
    conf = confirmation_lines(req, slots, req.key_names[alice], 80, 24)
    assert len(conf) <= 23 and all(len(line) <= 80 for line in conf)


def test_on_a_terminal_escape_sequences_are_not_obeyed(workdir: Path) -> None:
    req = _hostile_request(workdir, ESCAPES + " " + MARKUP + " a\rb \u202e")
    s = PtySession(["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "a.bundle.json"], workdir, 80, 24)
    screen = s.wait_for("-- summary 1/")
    assert "\\x1b[2J\\x1b]0;pwned\\x07" in screen
    assert MARKUP in screen and "a\\x0db" in screen and "\\u202e" in screen
    assert s.screen.title == ""  # the OSC "set window title" was never sent raw
    s.send("q")
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    screen = s.wait_for("[y/N]")
    assert screen.splitlines()[0].startswith("Sign with alice ")
    assert s.screen.title == ""
    s.send("n\r")
    assert s.finish() == 8


def test_hostile_output_file_name_is_shown_escaped(workdir: Path) -> None:
    doc = _request_doc(workdir)
    req = _reseal(doc, workdir / "r.json")
    out = workdir / "alice\u202e[bold]x.json"
    r = run_cli("sign", req, "--key", workdir / "alice.pem", "--out", out, "--yes", input=PASSPHRASES["alice"] + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    assert "Give alice\\u202e[bold]x.json to the coordinator. It holds no secret." in r.output


def test_parse_request_never_crashes_on_hostile_names(workdir: Path) -> None:
    doc = _request_doc(workdir)
    alice = next(k for k, v in doc["keys"].items() if v["name"] == "alice")
    doc["keys"][alice]["name"] = "z" * 10_000
    from tuf_ceremony.errors import FormatError

    sealed = json.loads(_reseal(doc, workdir / "long.json").read_text())
    with pytest.raises(FormatError):
        parse_request(sealed, "long.json")
    r = run_cli(
        "sign",
        workdir / "long.json",
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "x.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r.exit_code == 3 and "long.json" in r.stderr and len(r.stderr) < 400


def test_a_hostile_keyid_is_shown_escaped(workdir: Path) -> None:
    """python-tuf does not check that a keyid is the hash of its key (tuf-ceremony's
    loader does); the display escapes keyids anyway."""
    from tests.test_screen_complete import _with_payload
    from tuf_ceremony.signing import slots_for

    req = load_request(_reseal(_request_doc(workdir), workdir / "r.json"))
    root = req.payload("root")
    assert root is not None
    signed = root.metadata.signed.to_dict()
    online = req.new_root.roles["timestamp"].keyids[0]
    evil = "\x1b]0;pwned\x07" + online[:20]
    signed["keys"][evil] = signed["keys"].pop(online)
    for role in ("snapshot", "timestamp"):
        signed["roles"][role]["keyids"] = [evil]
    changed = _with_payload(req, "root", signed)
    alice = next(k for k, v in req.key_names.items() if v == "alice")
    slots = slots_for(changed, req.names_keys[alice])
    for lines in (
        render_review(changed).splitlines(),
        summary_lines(changed, slots, None, 80),
        confirmation_lines(changed, slots, "alice", 80, 24),
    ):
        for line in lines:
            assert all(ch >= " " for ch in line), repr(line)
    assert "\\x1b]0;pwned\\x07" in render_review(changed)
