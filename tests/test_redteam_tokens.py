"""Red team, second wave, with a real PKCS#11 token (SoftHSM2): a token
whose label and key label are hostile text (escape sequences, a bidi
override, rich markup) is shown literally by every command that reports it;
the PIN never appears, even when it is wrong; and token signing opens no
socket (the software signing path is checked in test_ceremony_cli.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures_core import run_cli, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM, cli_token_key
from tests.test_threat_trust import read

HOSTILE = "\x1b[31m\u202e[red]ev"


# Digests and ids are random hex, plain or in groups of four ("167e 2454
# a512 34ac"): a run of them may hold the PIN's digits by chance.
_HEX_RUNS = re.compile(r"[0-9a-f]{8,}|(?:[0-9a-f]{4}[ :]){1,}[0-9a-f]{4}")


def _clean(text: str) -> None:
    for ch in ("\x1b", "\u202e", "\x07"):
        assert ch not in text, (ch, text)
    scrubbed = _HEX_RUNS.sub("<hex>", text)
    assert USER_PIN not in scrubbed and "999999" not in scrubbed, scrubbed


def test_the_pin_check_sees_a_pin_but_not_hex_that_holds_its_digits() -> None:
    _clean("request 167e2454a51234ac5e999fd1e88d5640, digest 167e 2454 a512 1234 ac5e")
    for echoed in (f"PIN: {USER_PIN}", "wrong PIN 999999 for token", f"pin={USER_PIN}\n"):
        with pytest.raises(AssertionError):
            _clean(echoed)


def test_hostile_token_labels_are_shown_literally_and_signing_is_offline(
    pkcs11_fresh: SoftHSM, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    token = f"{HOSTILE}{uuid.uuid4().hex[:6]}"
    uri = f"pkcs11:token={quote(token, safe='')};object={quote(HOSTILE, safe='')}"
    r = cli_token_key(pkcs11_fresh, token, uri, workdir / "tok.pub.json")
    _clean(r.output + r.stderr)

    r = run_cli("key", "list")
    assert r.exit_code == 0, r.stderr
    _clean(r.output + r.stderr)
    assert "\\x1b[31m\\u202e[red]ev" in r.output  # markup not applied, escapes visible
    r = run_cli("key", "list", "--json")
    assert r.exit_code == 0 and "\x1b" not in r.output

    plan = write_plan(workdir / "plan.toml", targets=(["tok"], 1), keys=["alice", "bob", "carol", "tok", "online"])
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0

    # a wrong PIN: refused, the token named escaped, no PIN echoed
    r = run_cli("sign", req, "--key", uri, "--out", workdir / "bad.json", "--yes", input="999999\n")
    assert r.exit_code == 5, (r.exit_code, r.output, r.stderr)
    _clean(r.output + r.stderr)
    assert not (workdir / "bad.json").exists()

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token signing path opened a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    r = run_cli("sign", req, "--key", uri, "--out", workdir / "tok.bundle.json", "--yes", input=USER_PIN + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    _clean(r.output + r.stderr)
    assert [s["role"] for s in read(workdir / "tok.bundle.json")["signatures"]] == ["targets"]
