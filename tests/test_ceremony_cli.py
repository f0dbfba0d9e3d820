"""End to end through the CLI: keys -> plan -> prepare -> sign -> merge ->
verify -> python-tuf's ngclient, and the refusals on the way."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.fixtures_core import (
    PASSPHRASES,
    ngclient_refresh,
    publish_online,
    run_cli,
    sign_as,
    software_signer,
    write_plan,
)


def _prepare(workdir: Path) -> Path:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output
    return req


def test_key_generate_writes_encrypted_0600_key_and_tuf_public_key(tmp_path: Path) -> None:
    priv, pub = tmp_path / "k.pem", tmp_path / "k.pub.json"
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ecdsa-p256",
        "--private-out",
        priv,
        "--public-out",
        pub,
        input="a-long-passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in priv.read_bytes()
    doc = json.loads(pub.read_text())
    assert set(doc) == {"keytype", "scheme", "keyval"}
    from tuf_ceremony.keys import keyid_of

    assert f"keyid: {keyid_of(doc)}" in r.output
    assert "a-long-passphrase" not in r.output


def test_key_generate_refuses_existing_output_and_short_passphrase(tmp_path: Path) -> None:
    pub = tmp_path / "k.pub.json"
    pub.write_text("keep me")
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ed25519",
        "--private-out",
        tmp_path / "k.pem",
        "--public-out",
        pub,
        input="a-long-passphrase\n",
    )
    assert r.exit_code == 7
    assert pub.read_text() == "keep me"
    assert not (tmp_path / "k.pem").exists()
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ed25519",
        "--private-out",
        tmp_path / "j.pem",
        "--public-out",
        tmp_path / "j.pub.json",
        input="short\n",
    )
    assert r.exit_code == 3
    assert not (tmp_path / "j.pem").exists()


@pytest.mark.parametrize("keytype", ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"])
def test_every_software_key_type_signs_a_ceremony(tmp_path: Path, keytype: str) -> None:
    for name in ("k1", "online"):
        r = run_cli(
            "key",
            "generate",
            "--type",
            keytype,
            "--private-out",
            tmp_path / f"{name}.pem",
            "--public-out",
            tmp_path / f"{name}.pub.json",
            input="passphrase-x\n",
        )
        assert r.exit_code == 0, r.output
    plan = write_plan(tmp_path / "plan.toml", root=(["k1"], 1), targets=(["k1"], 1))
    assert run_cli("prepare", plan, "--out", tmp_path / "req.json").exit_code == 0
    r = run_cli(
        "sign",
        tmp_path / "req.json",
        "--key",
        tmp_path / "k1.pem",
        "--out",
        tmp_path / "b.json",
        "--yes",
        input="passphrase-x\n",
    )
    assert r.exit_code == 0, r.output
    r = run_cli("merge", tmp_path / "req.json", tmp_path / "b.json", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "1.root.json").is_file()


def test_full_ceremony_is_accepted_by_python_tuf_client(workdir: Path) -> None:
    req = _prepare(workdir)
    r = run_cli(
        "sign", req, "--key", workdir / "alice.pem", "--out", workdir / "a.json", input=PASSPHRASES["alice"] + "\ny\n"
    )
    assert r.exit_code == 0, r.output
    # what the keyholder is shown before signing
    for needle in (
        "root version 1",
        "targets version 1",
        "expires",
        "needs 2 of these 3 keys to sign: alice, bob, carol.",
        "(alice)",
        "(bob)",
        "(carol)",
        "SHA-256 of the bytes signed",
        "read aloud",
        "It will sign",
    ):
        assert needle in r.output, needle
    assert PASSPHRASES["alice"] not in r.output + (r.stderr or "")
    sign_as(workdir, req, "bob")

    r = run_cli("status", req, workdir / "a.json")
    assert r.exit_code == 1
    assert "bob" in r.output and "NO" in r.output
    r = run_cli("status", req, workdir / "a.json", workdir / "bob.bundle.json", "--json")
    assert r.exit_code == 0
    status = json.loads(r.output)
    assert status["complete"] is True
    root_status = status["roles"][0]
    assert root_status["thresholds"][0]["missing"][0].startswith("carol")

    out = workdir / "repo"
    r = run_cli("merge", req, workdir / "a.json", workdir / "bob.bundle.json", "--out", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["1.root.json", "1.targets.json"]

    r = run_cli("verify", out)
    assert r.exit_code == 0, r.output

    publish_online(out, software_signer(workdir, "online"))
    updater = ngclient_refresh(out, (out / "1.root.json").read_bytes(), workdir / "client")
    assert updater.get_targetinfo("nothing.txt") is None
    assert (workdir / "client" / "root.json").read_bytes() == (out / "1.root.json").read_bytes()


def test_merge_below_threshold_writes_nothing(workdir: Path) -> None:
    req = _prepare(workdir)
    a = sign_as(workdir, req, "alice")
    out = workdir / "out"
    r = run_cli("merge", req, a, "--out", out)
    assert r.exit_code == 1
    assert "threshold not met" in r.stderr and "bob" in r.stderr
    assert not out.exists()


def test_merge_refuses_tampered_signature(workdir: Path) -> None:
    req = _prepare(workdir)
    a = sign_as(workdir, req, "alice")
    b = sign_as(workdir, req, "bob")
    doc = json.loads(b.read_text())
    sig = doc["signatures"][0]["sig"]
    doc["signatures"][0]["sig"] = ("0" if sig[10] != "0" else "1").join([sig[:10], sig[11:]])
    b.write_text(json.dumps(doc))
    r = run_cli("merge", req, a, b, "--out", workdir / "out")
    assert r.exit_code == 4
    assert f"{b}: invalid signature by bob" in r.stderr
    assert not (workdir / "out").exists()


def test_merge_refuses_bundle_from_another_request(workdir: Path) -> None:
    req = _prepare(workdir)
    a = sign_as(workdir, req, "alice")
    other_dir = workdir / "other"
    other_dir.mkdir()
    for p in workdir.glob("*.pub.json"):
        (other_dir / p.name).write_bytes(p.read_bytes())
    plan2 = write_plan(other_dir / "plan.toml")
    req2 = other_dir / "request.json"
    from tests.test_redteam_payloads import a_day_ago  # a fixed past date expires

    assert run_cli("prepare", plan2, "--out", req2, "--at", a_day_ago()).exit_code == 0
    b_other = sign_as(workdir, req2, "bob", workdir / "bob-other.json")
    r = run_cli("merge", req, a, b_other, "--out", workdir / "out")
    assert r.exit_code == 4
    assert f"{b_other}: was made for another signing request" in r.stderr
    assert not (workdir / "out").exists()


def test_merge_refuses_the_same_bundle_twice(workdir: Path) -> None:
    req = _prepare(workdir)
    a = sign_as(workdir, req, "alice")
    copy = workdir / "copy-of-alice.json"
    copy.write_bytes(a.read_bytes())
    r = run_cli("merge", req, a, copy, "--out", workdir / "out")
    assert r.exit_code == 4
    assert str(copy) in r.stderr and "same bundle" in r.stderr
    # a second, separately made bundle of the same key is a duplicate too
    a2 = sign_as(workdir, req, "alice", workdir / "alice-again.json")
    b = sign_as(workdir, req, "bob")
    r = run_cli("merge", req, a, a2, b, "--out", workdir / "out")
    assert r.exit_code == 4
    assert f"{a2}: duplicate: alice" in r.stderr
    assert not (workdir / "out").exists()


def test_merge_refuses_unauthorized_key(workdir: Path) -> None:
    req = _prepare(workdir)
    a = sign_as(workdir, req, "alice")
    b = sign_as(workdir, req, "bob")
    carol = sign_as(workdir, req, "carol")  # carol may sign root only
    doc = json.loads(carol.read_text())
    assert [s["role"] for s in doc["signatures"]] == ["root"]
    # forge: claim carol's signature is for targets
    rq = json.loads(req.read_text())
    targets = next(p for p in rq["payloads"] if p["role"] == "targets")
    doc["signatures"][0].update(role="targets", version=1, digest=targets["digest"])
    carol.write_text(json.dumps(doc))
    r = run_cli("merge", req, a, b, carol, "--out", workdir / "out")
    assert r.exit_code == 4
    assert "carol" in r.stderr and "not authorized to sign targets" in r.stderr


def test_sign_refuses_key_in_no_role(workdir: Path) -> None:
    req = _prepare(workdir)
    r = run_cli(
        "sign",
        req,
        "--key",
        workdir / "dave.pem",
        "--out",
        workdir / "d.json",
        "--yes",
        input=PASSPHRASES["dave"] + "\n",
    )
    assert r.exit_code == 4
    assert "not in any role" in r.stderr
    assert not (workdir / "d.json").exists()


def test_sign_wrong_passphrase(workdir: Path) -> None:
    req = _prepare(workdir)
    r = run_cli(
        "sign", req, "--key", workdir / "alice.pem", "--out", workdir / "a.json", "--yes", input="not-the-passphrase\n"
    )
    assert r.exit_code == 5
    assert "wrong passphrase" in r.stderr
    assert "not-the-passphrase" not in r.output + r.stderr
    assert not (workdir / "a.json").exists()


def test_sign_declined_confirmation_writes_nothing(workdir: Path) -> None:
    req = _prepare(workdir)
    r = run_cli(
        "sign", req, "--key", workdir / "alice.pem", "--out", workdir / "a.json", input=PASSPHRASES["alice"] + "\nn\n"
    )
    assert r.exit_code == 8
    assert not (workdir / "a.json").exists()


def test_existing_outputs_are_never_replaced_without_force(workdir: Path) -> None:
    req = _prepare(workdir)
    before = req.read_bytes()
    r = run_cli("prepare", workdir / "plan.toml", "--out", req)
    assert r.exit_code == 7 and "exists" in r.stderr and str(req) in r.stderr
    assert req.read_bytes() == before
    a = sign_as(workdir, req, "alice")
    r = run_cli("sign", req, "--key", workdir / "alice.pem", "--out", a, "--yes", input=PASSPHRASES["alice"] + "\n")
    assert r.exit_code == 7
    b = sign_as(workdir, req, "bob")
    out = workdir / "out"
    out.mkdir()
    (out / "1.root.json").write_text("old")
    r = run_cli("merge", req, a, b, "--out", out)
    assert r.exit_code == 7
    assert (out / "1.root.json").read_text() == "old"
    assert not (out / "1.targets.json").exists()
    r = run_cli("merge", req, a, b, "--out", out, "--force")
    assert r.exit_code == 0
    assert (out / "1.root.json").read_text() != "old"
    r = run_cli("prepare", workdir / "plan.toml", "--out", req, "--force", "--at", "2026-01-01T00:00:00Z")
    assert r.exit_code == 0 and req.read_bytes() != before


def test_no_traceback_on_internal_paths(workdir: Path) -> None:
    r = run_cli("sign", workdir / "missing.json", "--key", workdir / "alice.pem", "--out", workdir / "x.json", "--yes")
    assert r.exit_code == 3
    assert "Traceback" not in r.output + r.stderr
    assert r.stderr.strip().count("\n") == 0


def test_example_plan_prepares(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    r = run_cli("prepare", root / "ceremonies" / "example" / "plan.toml", "--out", tmp_path / "request.json")
    assert r.exit_code == 0, r.stderr
    assert "root (v1): 3 of 5 needed" in r.output
    assert "targets (v1): 2 of 3 needed" in r.output
    for name in ("nitrokey-2947", "nitrokey-3189", "yubihsm-460", "yubihsm-461", "yubihsm-462"):
        assert name in r.output
    r = run_cli("status", tmp_path / "request.json")
    assert r.exit_code == 1
    assert "yubihsm-460" in r.output


def test_signing_path_never_touches_the_network(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    req = _prepare(workdir)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the signing path opened a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    a = sign_as(workdir, req, "alice")
    b = sign_as(workdir, req, "bob")
    r = run_cli("merge", req, a, b, "--out", workdir / "out")
    assert r.exit_code == 0, r.stderr
