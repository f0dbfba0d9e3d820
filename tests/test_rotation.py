"""Root rotation and key-compromise recovery, through the CLI."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from tests.fixtures_core import (
    ngclient_refresh,
    publish_online,
    rotate_cli,
    run_cli,
    sign_as,
    software_signer,
    write_plan,
)
from tests.fixtures_softhsm import USER_PIN, SoftHSM, cli_token_key


def _ceremony(
    workdir: Path, plan: Path, signers: list[str], out: Path, trusted: Path | None = None, tag: str = ""
) -> Path:
    req = workdir / f"request{tag}.json"
    args: list[str | Path] = ["prepare", plan, "--out", req]
    if trusted is not None:
        args += ["--trusted", trusted]
    r = run_cli(*args)
    assert r.exit_code == 0, r.output + r.stderr
    bundles = [sign_as(workdir, req, s, workdir / f"{s}{tag}.bundle.json") for s in signers]
    r = run_cli("merge", req, *bundles, "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    return req


@pytest.fixture
def v1(workdir: Path) -> Path:
    """A repository directory holding 1.root.json and 1.targets.json
    (root: alice, bob, carol 2-of-3; targets: alice, bob 2-of-2)."""
    repo = workdir / "repo"
    _ceremony(workdir, write_plan(workdir / "plan1.toml"), ["alice", "bob"], repo, tag="1")
    return repo


def test_v1_v2_v3_chain_reaches_python_tuf_client(workdir: Path, v1: Path) -> None:
    # v2 by plan: carol revoked, dave added; targets gains carol
    plan2 = write_plan(
        workdir / "plan2.toml", root=(["alice", "bob", "dave"], 2), targets=(["alice", "bob", "carol"], 2)
    )
    req2 = workdir / "request2.json"
    r = run_cli("prepare", plan2, "--trusted", v1, "--out", req2)
    assert r.exit_code == 0, r.stderr
    assert "root key removed carol" in r.output.replace("root: key", "root key")
    r = run_cli(
        "sign", req2, "--key", workdir / "alice.pem", "--out", workdir / "a2.json", "--yes", input="alice-passphrase\n"
    )
    assert r.exit_code == 0, r.stderr
    assert "The old root (version 1) needs 2 of these 3 keys to sign: alice, bob, carol." in r.output
    assert "The new root (version 2) needs 2 of these 3 keys to sign: alice, bob, dave." in r.output
    assert "root: key added dave" in r.output
    # alice is in both sets: one signature per payload, counted for both
    bundle = json.loads((workdir / "a2.json").read_text())
    assert [s["role"] for s in bundle["signatures"]] == ["root", "targets"]
    b2 = sign_as(workdir, req2, "bob", workdir / "b2.json")
    r = run_cli("status", req2, workdir / "a2.json", b2)
    assert r.exit_code == 0, r.output
    assert "old root v2" in r.output and "new root v2" in r.output
    r = run_cli("merge", req2, workdir / "a2.json", b2, "--out", v1)
    assert r.exit_code == 0, r.stderr
    assert (v1 / "2.root.json").is_file() and (v1 / "2.targets.json").is_file()

    # v3 by rotate: targets loses bob, gains erin, threshold stays 2
    req3 = workdir / "request3.json"
    r = rotate_cli(v1, req3, "--role", "targets", "--revoke", "bob", "--add", workdir / "erin.pub.json", names=plan2)
    assert r.exit_code == 0, r.stderr
    assert "targets: key removed bob" in r.output and "targets: key added erin" in r.output
    bundles = [sign_as(workdir, req3, n, workdir / f"{n}3.json") for n in ("alice", "dave", "erin")]
    r = run_cli("merge", req3, *bundles, "--out", v1)
    assert r.exit_code == 0, r.stderr
    assert (v1 / "3.root.json").is_file() and (v1 / "3.targets.json").is_file()

    r = run_cli("verify", v1, "--names", plan2)
    assert r.exit_code == 0, r.output + r.stderr

    publish_online(v1, software_signer(workdir, "online"))
    ngclient_refresh(v1, (v1 / "1.root.json").read_bytes(), workdir / "client")
    trusted = json.loads((workdir / "client" / "root.json").read_text())
    assert trusted["signed"]["version"] == 3
    targets = json.loads((workdir / "client" / "targets.json").read_text())
    assert targets["signed"]["version"] == 3


def test_v2_signed_only_by_new_keys_is_refused(workdir: Path, v1: Path) -> None:
    plan2 = write_plan(
        workdir / "plan2.toml",
        root=(["dave", "erin", "alice"], 2),
        keys=["alice", "bob", "carol", "dave", "erin", "online"],
    )
    req2 = workdir / "request2.json"
    assert run_cli("prepare", plan2, "--trusted", v1, "--out", req2).exit_code == 0
    bundles = [sign_as(workdir, req2, n, workdir / f"{n}2.json") for n in ("dave", "erin")]
    out = workdir / "out2"
    r = run_cli("merge", req2, *bundles, "--out", out)
    assert r.exit_code == 1
    assert "old root v2 has 0 of 2" in r.stderr
    assert not out.exists()


def test_v2_signed_only_by_old_keys_is_refused(workdir: Path, v1: Path) -> None:
    plan2 = write_plan(
        workdir / "plan2.toml",
        root=(["alice", "dave", "erin"], 2),
        keys=["alice", "bob", "carol", "dave", "erin", "online"],
    )
    req2 = workdir / "request2.json"
    assert run_cli("prepare", plan2, "--trusted", v1, "--out", req2).exit_code == 0
    bundles = [sign_as(workdir, req2, n, workdir / f"{n}2.json") for n in ("bob", "carol")]
    r = run_cli("merge", req2, *bundles, "--out", workdir / "out2")
    assert r.exit_code == 1
    assert "new root v2 has 0 of 2" in r.stderr
    assert not (workdir / "out2").exists()


def test_renewal_is_a_plan_with_new_expiry(workdir: Path, v1: Path) -> None:
    req2 = workdir / "renew.json"
    r = run_cli("prepare", workdir / "plan1.toml", "--trusted", v1, "--out", req2, "--at", "2027-06-01T00:00:00Z")
    assert r.exit_code == 0, r.stderr
    assert "no key or threshold changes (renewal)" in r.output
    assert "no content changes (renewal)" in r.output
    assert "expiry" in r.output
    bundles = [sign_as(workdir, req2, n, workdir / f"{n}r.json") for n in ("alice", "bob")]
    assert run_cli("merge", req2, *bundles, "--out", v1).exit_code == 0
    doc = json.loads((v1 / "2.root.json").read_text())
    assert doc["signed"]["expires"] == "2028-05-31T00:00:00Z"


def test_online_key_rotation_lists_what_to_resign(workdir: Path, v1: Path) -> None:
    req = workdir / "online.json"
    r = rotate_cli(
        v1,
        req,
        "--role",
        "timestamp",
        "--revoke",
        "online",
        "--add",
        workdir / "online2.pub.json",
        names=workdir / "plan1.toml",
    )
    assert r.exit_code == 0, r.stderr
    assert "timestamp: ONLINE KEY CHANGED" in r.output
    bundles = [sign_as(workdir, req, n, workdir / f"{n}o.json") for n in ("alice", "bob")]
    r = run_cli("status", req, *bundles, "--json")
    assert r.exit_code == 0
    actions = json.loads(r.output)["actions"]
    assert any(a.startswith("timestamp:") for a in actions)
    assert any("bins" in a for a in actions)
    r = run_cli("merge", req, *bundles, "--out", v1, "--json")
    assert r.exit_code == 0, r.stderr
    merged = json.loads(r.stdout)  # the flush note goes to stderr
    assert merged["actions"] == actions
    assert str(v1 / "2.root.json") in merged["written"]
    again = workdir / "again"  # a copy of the history the request builds on (issue 9)
    again.mkdir()
    for name in ("1.root.json", "1.targets.json"):
        shutil.copy2(v1 / name, again / name)
    r = run_cli("merge", req, *bundles, "--out", again)
    assert "ACTION REQUIRED: timestamp:" in r.output


def test_guard_rail_threshold_of_root_keys_lost(workdir: Path, v1: Path) -> None:
    out = workdir / "r.json"
    r = rotate_cli(
        v1,
        out,
        "--role",
        "root",
        "--revoke",
        "alice",
        "--revoke",
        "bob",
        "--add",
        workdir / "dave.pub.json",
        "--add",
        workdir / "erin.pub.json",
        names=workdir / "plan1.toml",
    )
    assert r.exit_code == 9
    assert "a normal rotation is impossible" in r.stderr and "out of band" in r.stderr
    assert not out.exists()
    # the same through a plan that no longer lists two of the three old root keys
    plan = write_plan(
        workdir / "plan2.toml",
        root=(["carol", "dave", "erin"], 2),
        targets=(["carol", "dave"], 2),
        keys=["carol", "dave", "erin", "online"],
    )
    r = run_cli("prepare", plan, "--trusted", v1, "--out", out)
    assert r.exit_code == 9 and "out of band" in r.stderr
    assert not out.exists()


def test_guard_rail_new_role_cannot_meet_threshold(workdir: Path, v1: Path) -> None:
    out = workdir / "r.json"
    r = rotate_cli(v1, out, "--role", "targets", "--revoke", "bob", names=workdir / "plan1.toml")
    assert r.exit_code == 9
    assert "new targets role has 1 key(s), fewer than its threshold 2" in r.stderr
    assert not out.exists()
    r = run_cli(
        "rotate", "--trusted", v1, "--role", "root", "--threshold", "4", "--names", workdir / "plan1.toml", "--out", out
    )
    assert r.exit_code == 9 and "fewer than its threshold 4" in r.stderr


def test_guard_rail_equal_threshold_warns(workdir: Path, v1: Path) -> None:
    r = rotate_cli(v1, workdir / "r.json", "--role", "root", "--threshold", "3", names=workdir / "plan1.toml")
    assert r.exit_code == 0
    assert "root: threshold 3 equals the number of keys" in r.stderr


def test_rotate_unknown_key_and_bad_trusted_dir(workdir: Path, v1: Path) -> None:
    r = run_cli("rotate", "--trusted", v1, "--role", "root", "--revoke", "mallory", "--out", workdir / "r.json")
    assert r.exit_code == 3 and "mallory" in r.stderr
    r = run_cli(
        "rotate", "--trusted", workdir / "nowhere", "--role", "root", "--threshold", "2", "--out", workdir / "r.json"
    )
    assert r.exit_code == 3 and "not found" in r.stderr
    broken = workdir / "broken"
    shutil.copytree(v1, broken)
    (broken / "1.root.json").write_text("{")
    r = run_cli("prepare", workdir / "plan1.toml", "--trusted", broken, "--out", workdir / "r.json")
    assert r.exit_code == 3 and "1.root.json" in r.stderr


def test_request_for_a_version_other_than_n_plus_1_is_refused(workdir: Path, v1: Path) -> None:
    req = workdir / "r.json"
    assert run_cli("prepare", workdir / "plan1.toml", "--trusted", v1, "--out", req).exit_code == 0
    from tuf_ceremony.request import load_request

    request = load_request(req)
    request.payloads[0].metadata.signed.version = 3
    for p in request.payloads:
        p.__dict__.pop("signed_bytes", None)
        p.__dict__.pop("digest", None)
    request.__dict__.pop("request_id", None)
    req.write_bytes(request.to_bytes())
    r = run_cli("status", req)
    assert r.exit_code == 3
    assert "only version 2 can follow" in r.stderr


def test_trusted_dir_with_gap_is_refused(workdir: Path, v1: Path) -> None:
    req2 = workdir / "renew.json"
    assert run_cli("prepare", workdir / "plan1.toml", "--trusted", v1, "--out", req2).exit_code == 0
    bundles = [sign_as(workdir, req2, n, workdir / f"{n}g.json") for n in ("alice", "bob")]
    assert run_cli("merge", req2, *bundles, "--out", v1).exit_code == 0
    (v1 / "2.root.json").rename(v1 / "3.root.json")
    r = run_cli("rotate", "--trusted", v1, "--role", "root", "--threshold", "2", "--out", workdir / "x.json")
    assert r.exit_code == 1


def test_rotate_adds_a_token_key_by_uri(workdir: Path, v1: Path, pkcs11_fresh: SoftHSM) -> None:
    """A compromised targets key replaced by a new key on a token: --add takes
    the key's pkcs11: URI, and the new keyholder signs with the token."""
    token = f"rot-{uuid.uuid4().hex[:8]}"
    uri = f"pkcs11:token={token};object=targets-new"
    cli_token_key(pkcs11_fresh, token, uri, workdir / "tok.pub.json")
    req = workdir / "rot.json"
    r = rotate_cli(v1, req, "--role", "targets", "--revoke", "bob", "--add", uri, names=workdir / "plan1.toml")
    assert r.exit_code == 0, r.stderr
    assert f"targets: key added {uri}" in r.output
    a = sign_as(workdir, req, "alice", workdir / "a-rot.json")
    b = sign_as(workdir, req, "bob", workdir / "b-rot.json")  # bob still signs root v2 (old set)
    r = run_cli("sign", req, "--key", uri, "--out", workdir / "tok.json", "--yes", input=USER_PIN + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    r = run_cli("merge", req, a, b, workdir / "tok.json", "--out", v1)
    assert r.exit_code == 0, r.stderr
    targets = json.loads((v1 / "2.targets.json").read_text())
    assert len(targets["signatures"]) == 2
