"""Hardware keys through the CLI, on SoftHSM2 tokens: key generate --uri,
key export, key list, and a full ceremony signed by three keyholders on three
tokens that python-tuf's client accepts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.fixtures_core import (
    ngclient_refresh,
    publish_online,
    run_cli,
    software_signer,
    write_plan,
)
from tests.fixtures_softhsm import USER_PIN, SoftHSM
from tuf_ceremony.keys import keyid_of
from tuf_ceremony.signers.pkcs11 import close_sessions, reset_session_stats, session_stats

PIN_INPUT = USER_PIN + "\n"


def _label(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_key_generate_export_and_list(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    token = _label("cli-gen")
    pin = "pin-never-shown"
    serial = pkcs11_fresh.new_token(token, pin=pin)
    uri = f"pkcs11:token={token};object=root-key"
    pub = tmp_path / "root-key.pub.json"
    r = run_cli("key", "generate", "--type", "ecdsa-p256", "--uri", uri, "--public-out", pub, input=pin + "\n")
    assert r.exit_code == 0, r.output
    doc = json.loads(pub.read_text())
    assert (doc["keytype"], doc["scheme"]) == ("ecdsa", "ecdsa-sha2-nistp256")
    assert f"keyid: {keyid_of(doc)}" in r.output
    full_uri = f"pkcs11:token={token};serial={serial};object=root-key;id=%01"
    assert f"on token, PKCS#11 URI: {full_uri}\n" in r.output or f"URI:\n{full_uri}\n" in r.output
    assert pin not in r.output + r.stderr

    exported = tmp_path / "exported.pub.json"
    r = run_cli("key", "export", uri, "--public-out", exported)  # no PIN needed
    assert r.exit_code == 0, r.output
    assert exported.read_bytes() == pub.read_bytes()
    assert full_uri in r.output

    r = run_cli("key", "list")
    assert r.exit_code == 0, r.output
    for needle in (token, serial, "SoftHSM project", "ecdsa-p256", full_uri):
        assert needle in r.output, needle
    r = run_cli("key", "list", "--json")
    listed = {t["label"]: t for t in json.loads(r.output)}
    assert listed[token]["pin_state"] == "ok"
    assert listed[token]["keys"] == [{"label": "root-key", "id": "01", "keytype": "ecdsa-p256", "uri": full_uri}]

    # the same label again: refused, nothing written
    again = tmp_path / "again.pub.json"
    r = run_cli("key", "generate", "--type", "ed25519", "--uri", uri, "--public-out", again, input=pin + "\n")
    assert r.exit_code == 3
    assert "already holds an object labelled 'root-key'" in r.stderr
    assert not again.exists()
    # an existing output file is refused before the token is touched
    r = run_cli("key", "export", uri, "--public-out", pub)
    assert r.exit_code == 7


def test_key_list_and_export_errors(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    r = run_cli("key", "list", "--module", "/nonexistent/libnothing.so")
    assert r.exit_code == 6
    assert "cannot load a PKCS#11 module; tried: /nonexistent/libnothing.so (file not found)" in r.stderr
    out = tmp_path / "k.pub.json"
    r = run_cli("key", "export", "pkcs11:object=p256", "--public-out", out)
    assert r.exit_code == 3
    assert "matches 2 keys" in r.stderr
    for token in ("tuf-test-a", "tuf-test-b"):
        assert f"pkcs11:token={token};serial={pkcs11_fresh.tokens[token]};object=p256" in r.stderr
    r = run_cli("key", "export", "pkcs11:token=tuf-test-a;object=p256?pin-value=4321", "--public-out", out)
    assert r.exit_code == 3
    assert "never goes on the command line" in r.stderr and "4321" not in r.stderr
    r = run_cli("key", "export", "pkcs11:token=tuf-test-a;object=missing", "--public-out", out)
    assert r.exit_code == 6
    assert "key not found" in r.stderr
    assert not out.exists()


# Long on purpose: one scenario, step by step in the order people run it.
def test_three_keyholders_on_three_tokens(pkcs11_fresh: SoftHSM, workdir: Path) -> None:
    """prepare -> sign (x3, on tokens) -> merge -> verify -> python-tuf client."""
    uris = {}
    for name, keytype in (("kh1", "ecdsa-p256"), ("kh2", "ed25519"), ("kh3", "ecdsa-p384")):
        token = _label(name)
        pkcs11_fresh.new_token(token)
        uris[name] = f"pkcs11:token={token};object={name}"
        r = run_cli(
            "key",
            "generate",
            "--type",
            keytype,
            "--uri",
            uris[name],
            "--public-out",
            workdir / f"{name}.pub.json",
            input=PIN_INPUT,
        )
        assert r.exit_code == 0, r.output
    plan = write_plan(workdir / "plan.toml", root=(["kh1", "kh2", "kh3"], 2), targets=(["kh1", "kh2"], 2))
    # a plan may name a token key by its URI instead of a public key file
    text = plan.read_text().replace('kh3 = "kh3.pub.json"', f'kh3 = "{uris["kh3"]}"')
    plan.write_text(text)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output

    # kh1 signs root and targets with one token: one PIN, asked once (a second
    # prompt would find stdin empty and fail), one session, one login.
    close_sessions()
    reset_session_stats()
    r = run_cli("sign", req, "--key", uris["kh1"], "--out", workdir / "kh1.json", "--yes", input=PIN_INPUT)
    assert r.exit_code == 0, r.output
    stats = session_stats()
    assert (stats.sessions_opened, stats.logins, stats.pin_prompts) == (1, 1, 1)
    bundle = json.loads((workdir / "kh1.json").read_text())
    assert sorted(s["role"] for s in bundle["signatures"]) == ["root", "targets"]

    # a wrong PIN: exit 5, nothing written
    close_sessions()
    r = run_cli("sign", req, "--key", uris["kh2"], "--out", workdir / "kh2.json", "--yes", input="999999\n")
    assert r.exit_code == 5, r.output
    assert "wrong PIN for token" in r.stderr and "999999" not in r.output + r.stderr
    assert not (workdir / "kh2.json").exists()
    close_sessions()
    r = run_cli("sign", req, "--key", uris["kh2"], "--out", workdir / "kh2.json", "--yes", input=PIN_INPUT)
    assert r.exit_code == 0, r.output
    close_sessions()
    r = run_cli("sign", req, "--key", uris["kh3"], "--out", workdir / "kh3.json", "--yes", input=PIN_INPUT)
    assert r.exit_code == 0, r.output

    out = workdir / "repo"
    r = run_cli("merge", req, workdir / "kh1.json", workdir / "kh2.json", workdir / "kh3.json", "--out", out)
    assert r.exit_code == 0, r.output
    r = run_cli("verify", out)
    assert r.exit_code == 0, r.output
    root = json.loads((out / "1.root.json").read_text())
    assert len(root["signatures"]) == 3
    publish_online(out, software_signer(workdir, "online"))
    ngclient_refresh(out, (out / "1.root.json").read_bytes(), workdir / "client")
    assert (workdir / "client" / "root.json").read_bytes() == (out / "1.root.json").read_bytes()


def test_sign_refuses_uri_with_pin_and_foreign_token_key(pkcs11_fresh: SoftHSM, workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    reset_session_stats()
    r = run_cli(
        "sign", req, "--key", "pkcs11:token=tuf-test-a;object=p256?pin-value=1234", "--out", workdir / "x.json", "--yes"
    )
    assert r.exit_code == 3
    assert "never goes on the command line" in r.stderr and "1234" not in r.stderr
    # a token key that is in no role of the request is refused before any PIN
    r = run_cli("sign", req, "--key", "pkcs11:token=tuf-test-a;object=p256", "--out", workdir / "x.json", "--yes")
    assert r.exit_code == 4, r.output
    assert not (workdir / "x.json").exists()
    assert session_stats().pin_prompts == 0
