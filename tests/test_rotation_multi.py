"""`rotate` with several roles in one new root, scoped options, online keys
replaced in every delegation of the targets (PEP 458 bins, succinct bins),
and the name guard rails (issue 9 item 9). Through the CLI, with python-tuf's
client reading the result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

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

BINS = """
[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
paths = ["*"]
terminating = true
"""

SUCCINCT = """
[roles.targets.succinct_delegations]
keys = ["online"]
threshold = 1
bit_length = 4
name_prefix = "bin"
"""


def _v1(workdir: Path, extra: str = "") -> Path:
    """1.root.json + 1.targets.json: root alice, bob, carol 2-of-3;
    targets alice, bob 2-of-2; online key for snapshot and timestamp."""
    plan = write_plan(workdir / "plan.toml", extra=extra)
    req = workdir / "v1.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.v1.json") for n in ("alice", "bob")]
    repo = workdir / "repo"
    r = run_cli("merge", req, *bundles, "--out", repo)
    assert r.exit_code == 0, r.output
    return repo


def _keyid(workdir: Path, name: str) -> str:
    from tuf_ceremony.keys import load_public_key

    return str(load_public_key(workdir / f"{name}.pub.json").keyid)


def _signed(path: Path) -> dict[str, Any]:
    signed = json.loads(path.read_text())["signed"]
    assert isinstance(signed, dict)
    return signed


def test_two_roles_in_one_root(workdir: Path) -> None:
    """bob is compromised and holds root and targets: one rotation takes him
    out of both and puts erin in both."""
    repo = _v1(workdir)
    req = workdir / "rot.json"
    r = rotate_cli(
        repo,
        req,
        "--role",
        "root",
        "--role",
        "targets",
        "--revoke",
        "bob",
        "--add",
        workdir / "erin.pub.json",
        names=workdir / "plan.toml",
    )
    assert r.exit_code == 0, r.output
    assert "root: key removed bob" in r.output and "root: key added erin" in r.output
    assert "targets: key removed bob" in r.output and "targets: key added erin" in r.output
    doc = json.loads(req.read_text())
    assert [p["role"] for p in doc["payloads"]] == ["root", "targets"]
    assert doc["ceremony"] == "rotate-root-targets"
    root = doc["payloads"][0]["signed"]
    bob, erin = _keyid(workdir, "bob"), _keyid(workdir, "erin")
    for role in ("root", "targets"):
        assert bob not in root["roles"][role]["keyids"]
        assert erin in root["roles"][role]["keyids"]
    assert bob not in root["keys"]
    # old root: alice + carol; new root: alice + carol (+ erin); targets: alice + erin
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.rot.json") for n in ("alice", "carol", "erin")]
    r = run_cli("merge", req, *bundles, "--out", repo)
    assert r.exit_code == 0, r.output + r.stderr
    publish_online(repo, software_signer(workdir, "online"))
    ngclient_refresh(repo, (repo / "1.root.json").read_bytes(), workdir / "client")
    assert _signed(workdir / "client" / "root.json")["version"] == 2
    assert _signed(workdir / "client" / "targets.json")["version"] == 2


def test_scoped_options(workdir: Path) -> None:
    repo = _v1(workdir)
    req = workdir / "rot.json"
    r = rotate_cli(
        repo,
        req,
        "--role",
        "root",
        "--role",
        "targets",
        "--revoke",
        "targets:bob",
        "--add",
        f"targets:{workdir / 'erin.pub.json'}",
        "--add",
        f"root:{workdir / 'dave.pub.json'}",
        "--threshold",
        "root:3",
        names=workdir / "plan.toml",
    )
    assert r.exit_code == 0, r.output + r.stderr
    root = json.loads(req.read_text())["payloads"][0]["signed"]
    bob, erin, dave = (_keyid(workdir, n) for n in ("bob", "erin", "dave"))
    assert bob in root["roles"]["root"]["keyids"]
    assert bob not in root["roles"]["targets"]["keyids"]
    assert erin in root["roles"]["targets"]["keyids"] and erin not in root["roles"]["root"]["keyids"]
    assert dave in root["roles"]["root"]["keyids"] and dave not in root["roles"]["targets"]["keyids"]
    assert root["roles"]["root"]["threshold"] == 3
    assert root["roles"]["targets"]["threshold"] == 2


def test_scope_outside_the_named_roles_is_refused(workdir: Path) -> None:
    repo = _v1(workdir)
    out = workdir / "rot.json"
    r = rotate_cli(repo, out, "--role", "root", "--revoke", "targets:bob", names=workdir / "plan.toml")
    assert r.exit_code == 3
    assert "targets is not one of the --role given (root)" in r.stderr
    assert not out.exists()
    r = run_cli("rotate", "--trusted", repo, "--role", "root", "--threshold", "root:many", "--out", out)
    assert r.exit_code == 3 and "not a whole number" in r.stderr


def test_revoked_key_left_in_another_role_is_warned(workdir: Path) -> None:
    repo = _v1(workdir)
    r = rotate_cli(
        repo,
        workdir / "rot.json",
        "--role",
        "targets",
        "--revoke",
        "bob",
        "--add",
        workdir / "erin.pub.json",
        names=workdir / "plan.toml",
    )
    assert r.exit_code == 0, r.output
    assert "bob is still a root key: add --role root" in r.stderr


@pytest.mark.parametrize("layout", ["bins", "succinct"])
def test_online_key_replaced_in_every_delegation(workdir: Path, layout: str) -> None:
    """PEP 458: the compromised online key signs snapshot, timestamp and the
    delegation to the bins. One rotation replaces it everywhere: root v2 for
    snapshot and timestamp, targets v2 for the delegation."""
    repo = _v1(workdir, BINS if layout == "bins" else SUCCINCT)
    online, online2 = _keyid(workdir, "online"), _keyid(workdir, "online2")
    t1 = _signed(repo / "1.targets.json")
    assert online in t1["delegations"]["keys"]
    req = workdir / "online.json"
    r = rotate_cli(
        repo,
        req,
        "--role",
        "snapshot",
        "--role",
        "timestamp",
        "--revoke",
        "online",
        "--add",
        workdir / "online2.pub.json",
        names=workdir / "plan.toml",
    )
    assert r.exit_code == 0, r.output + r.stderr
    name = "bins" if layout == "bins" else "succinct bins bin-*"
    assert f"targets: delegation {name}: key online replaced by online2" in r.output
    doc = json.loads(req.read_text())
    assert [p["role"] for p in doc["payloads"]] == ["root", "targets"]
    root, targets = (p["signed"] for p in doc["payloads"])
    for role in ("snapshot", "timestamp"):
        assert root["roles"][role]["keyids"] == [online2]
    assert targets["version"] == 2
    assert list(targets["delegations"]["keys"]) == [online2]
    if layout == "bins":
        assert targets["delegations"]["roles"][0]["keyids"] == [online2]
        assert targets["delegations"]["roles"][0]["paths"] == ["*"]
    else:
        succinct = targets["delegations"]["succinct_roles"]
        assert succinct["keyids"] == [online2] and succinct["bit_length"] == 4
    # the old key is in no role of what the keyholders sign
    assert online not in json.dumps(root["roles"]) and online not in json.dumps(targets)

    bundles = [sign_as(workdir, req, n, workdir / f"{n}.o.json") for n in ("alice", "bob")]
    r = run_cli("merge", req, *bundles, "--out", repo)
    assert r.exit_code == 0, r.output + r.stderr
    assert "ACTION REQUIRED" in r.output
    assert _signed(repo / "2.targets.json")["delegations"]["keys"].keys() == {online2}
    r = run_cli("verify", repo, "--names", workdir / "plan.toml")
    assert r.exit_code == 0, r.output + r.stderr
    publish_online(repo, software_signer(workdir, "online2"))
    ngclient_refresh(repo, (repo / "1.root.json").read_bytes(), workdir / "client")
    assert _signed(workdir / "client" / "targets.json")["version"] == 2


def test_delegation_left_below_its_threshold_is_refused(workdir: Path) -> None:
    """snapshot and timestamp keep a second key, but the bins delegation has
    only the revoked one: without a replacement it could never be signed."""
    plan = workdir / "plan2.toml"
    plan.write_text("""
[keys]
alice = "alice.pub.json"
bob = "bob.pub.json"
online = "online.pub.json"
online2 = "online2.pub.json"
[roles.root]
keys = ["alice", "bob"]
threshold = 2
expires = "365d"
[roles.targets]
keys = ["alice", "bob"]
threshold = 2
expires = "365d"
[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
paths = ["*"]
[roles.snapshot]
keys = ["online", "online2"]
threshold = 1
expires = "1d"
[roles.timestamp]
keys = ["online", "online2"]
threshold = 1
expires = "1d"
""")
    req = workdir / "v1.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.v1.json") for n in ("alice", "bob")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "repo").exit_code == 0
    out = workdir / "x.json"
    r = rotate_cli(workdir / "repo", out, "--role", "snapshot", "--role", "timestamp", "--revoke", "online", names=plan)
    assert r.exit_code == 9, r.output + r.stderr
    assert "delegation bins would keep 0 key(s), fewer than its threshold 1" in r.stderr
    assert not out.exists()
    # with a replacement the same rotation goes through, the key replaced in bins
    r = rotate_cli(
        workdir / "repo",
        out,
        "--role",
        "snapshot",
        "--role",
        "timestamp",
        "--revoke",
        "online",
        "--add",
        "timestamp:" + str(workdir / "erin.pub.json"),
        names=plan,
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "targets: delegation bins: key online replaced by erin" in r.output
    targets = json.loads(out.read_text())["payloads"][1]["signed"]
    assert list(targets["delegations"]["keys"]) == [_keyid(workdir, "erin")]


def test_role_left_without_keys_is_refused(workdir: Path) -> None:
    """The new key is scoped to snapshot: timestamp would keep no key at all."""
    repo = _v1(workdir, BINS)
    out = workdir / "x.json"
    r = rotate_cli(
        repo,
        out,
        "--role",
        "snapshot",
        "--role",
        "timestamp",
        "--revoke",
        "online",
        "--add",
        "snapshot:" + str(workdir / "online2.pub.json"),
        names=workdir / "plan.toml",
    )
    assert r.exit_code == 9
    assert "new timestamp role has 0 key(s), fewer than its threshold 1" in r.stderr
    assert not out.exists()


def test_revoke_refuses_a_shared_name(workdir: Path) -> None:
    """Issue 9 item 9: a names file that gives two keys one name cannot pick
    which one --revoke removes."""
    repo = _v1(workdir)
    names = workdir / "names.json"
    names.write_text(json.dumps({_keyid(workdir, "alice"): "board", _keyid(workdir, "bob"): "board"}))
    out = workdir / "x.json"
    r = rotate_cli(repo, out, "--role", "root", "--revoke", "board", "--add", workdir / "dave.pub.json", names=names)
    assert r.exit_code == 3
    assert "2 keys share that name" in r.stderr and "give the keyid" in r.stderr
    assert not out.exists()
    # the keyid works
    r = rotate_cli(
        repo,
        out,
        "--role",
        "root",
        "--revoke",
        _keyid(workdir, "bob")[:16],
        "--add",
        workdir / "dave.pub.json",
        names=names,
    )
    assert r.exit_code == 0, r.output + r.stderr


def test_add_never_reuses_an_existing_name(workdir: Path) -> None:
    """Issue 9 item 9: a new key in a file called alice.pub.json is not shown
    as "alice" next to the real alice."""
    repo = _v1(workdir)
    impostor = workdir / "stick"
    impostor.mkdir()
    shutil.copy(workdir / "dave.pub.json", impostor / "alice.pub.json")
    out = workdir / "x.json"
    r = rotate_cli(repo, out, "--role", "root", "--add", impostor / "alice.pub.json", names=workdir / "plan.toml")
    assert r.exit_code == 0, r.output + r.stderr
    doc = json.loads(out.read_text())
    names = [k["name"] for k in doc["keys"].values()]
    assert len(names) == len(set(names))
    dave = _keyid(workdir, "dave")
    assert doc["keys"][dave]["name"] == f"alice-{dave[:8]}"
    assert doc["keys"][_keyid(workdir, "alice")]["name"] == "alice"
    assert f"root: key added alice-{dave[:8]}" in r.output


def test_at_accepts_a_date(workdir: Path) -> None:
    repo = _v1(workdir)
    out = workdir / "x.json"
    r = rotate_cli(repo, out, "--role", "root", "--threshold", "2", "--at", "2026-11-01", "--expires", "30d")
    assert r.exit_code == 0, r.output + r.stderr
    doc = json.loads(out.read_text())
    assert doc["created"] == "2026-11-01T00:00:00Z"
    assert doc["payloads"][0]["signed"]["expires"] == "2026-12-01T00:00:00Z"


def test_names_from_a_plan_without_its_tokens(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--names plan.toml` reads names from the plan's public key files and
    never opens a token: a key named by a pkcs11: URI is left unnamed (with a
    note saying how to name it), the request of the last ceremony names it."""
    repo = _v1(workdir)
    # the plan of record now names carol by a URI of a token that is not here
    plan = workdir / "plan.toml"
    uri_plan = workdir / "uri-plan.toml"
    uri_plan.write_text(
        plan.read_text().replace('carol = "carol.pub.json"', 'carol = "pkcs11:token=carol;object=root"')
    )
    monkeypatch.setenv("TUF_CEREMONY_PKCS11_MODULE", str(workdir / "no-such-module.so"))
    out = workdir / "x.json"
    r = rotate_cli(repo, out, "--role", "root", "--revoke", "bob", "--add", workdir / "dave.pub.json", names=uri_plan)
    assert r.exit_code == 0, r.output + r.stderr
    assert "key(s) carol are named by a pkcs11: URI" in r.stderr
    doc = json.loads(out.read_text())
    names = {k: v["name"] for k, v in doc["keys"].items()}
    assert names[_keyid(workdir, "alice")] == "alice"
    assert names[_keyid(workdir, "carol")] != "carol"
    assert "root: key removed bob" in r.output
    # the request of the v1 ceremony names every key, carol included
    r = rotate_cli(
        repo,
        out,
        "--role",
        "root",
        "--revoke",
        "carol",
        "--add",
        workdir / "dave.pub.json",
        "--force",
        names=[uri_plan, workdir / "v1.json"],
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "root: key removed carol" in r.output
    # and verify takes the same plan without the token
    r = run_cli("verify", repo, "--names", uri_plan)
    assert r.exit_code == 0, r.output + r.stderr
    assert "alice" in r.output


def test_hostile_names_are_shown_escaped(workdir: Path) -> None:
    """Names from a --names file are untrusted: escape codes in them are shown
    visibly in rotate's errors and warnings, never sent to the terminal."""
    repo = _v1(workdir)
    names = workdir / "names.json"
    evil = "bob\x1b[2J\u202e"
    names.write_text(json.dumps({_keyid(workdir, "alice"): "alice", _keyid(workdir, "bob"): evil}))
    r = rotate_cli(repo, workdir / "x.json", "--role", "snapshot", "--revoke", "alice", names=names)
    assert r.exit_code == 3 and "is not a snapshot key" in r.stderr
    r = rotate_cli(
        repo, workdir / "y.json", "--role", "targets", "--revoke", evil, "--add", workdir / "erin.pub.json", names=names
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "is still a root key" in r.stderr
    for text in (r.stderr, r.output):
        assert "\x1b" not in text and "\u202e" not in text
