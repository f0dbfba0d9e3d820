"""Issue 9, the trust core: forged signing requests whose result python-tuf
would have accepted are refused by ``sign`` or ``merge`` (docs/threat-model.md).

Each attack test (1) forges a request the way a hostile coordinator would:
edit the JSON, then :func:`reseal` it (recompute the payload digests and the
request id, which anyone can), (2) shows that python-tuf accepts the metadata
the old ``merge`` would have written (``Metadata.from_dict`` and
``verify_delegate`` against the real trusted root and the new root), and
(3) shows that ``sign`` or ``merge`` now refuses it with one line naming the
file and the problem, no traceback, and nothing written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import Metadata

from tests.fixtures_core import (
    PASSPHRASES,
    ngclient_refresh,
    publish_online,
    run_cli,
    sign_as,
    software_signer,
    write_plan,
)
from tuf_ceremony.keys import canonical_bytes, keyid_of
from tuf_ceremony.policy import check_delegate

# --- helpers ---------------------------------------------------------------------------------


def reseal(doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute every payload digest and the request id, as anyone can: the
    seal only catches accidents, never an attacker."""
    for p in doc["payloads"]:
        p["version"] = p["signed"]["version"]
        p["digest"] = hashlib.sha256(canonical_bytes(p["signed"])).hexdigest()
    body = {k: v for k, v in doc.items() if k != "request_id"}
    doc["request_id"] = hashlib.sha256(canonical_bytes(body)).hexdigest()
    return doc


def read(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def write_forged(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(reseal(doc), indent=1))
    return path


def payload(doc: dict[str, Any], role: str) -> dict[str, Any]:
    p: dict[str, Any] = next(p for p in doc["payloads"] if p["role"] == role)
    return p


def key_json(workdir: Path, name: str) -> dict[str, Any]:
    return read(workdir / f"{name}.pub.json")


def kid(workdir: Path, name: str) -> str:
    return keyid_of(key_json(workdir, name))


def tuf_sign(signed: dict[str, Any], *signers: Any) -> Metadata[Any]:
    """What the old merge wrote: the payload with the keyholders' signatures."""
    md: Metadata[Any] = Metadata.from_dict({"signed": copy.deepcopy(signed), "signatures": []})
    for s in signers:
        md.sign(s, append=True)
    return md


def signer_as(workdir: Path, name: str, keyid: str) -> CryptoSigner:
    """``name``'s private key, signing under another ``keyid``."""
    real = software_signer(workdir, name)
    k = real.public_key
    return CryptoSigner(real._private_key, SSlibKey(keyid, k.keytype, k.scheme, dict(k.keyval)))


def python_tuf_accepts_root(trusted: Metadata[Any], new: Metadata[Any]) -> None:
    """Spec 5.3.4 as python-tuf's client checks it: raises when refused."""
    trusted.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    new.signed.verify_delegate("root", new.signed_bytes, new.signatures)


def assert_refused(r: Result, code: int, source: Path | str, *needles: str) -> None:
    err = r.stderr
    assert r.exit_code == code, (r.exit_code, r.output, err)
    assert "Traceback" not in r.output + err
    lines = [ln for ln in err.splitlines() if ln.startswith("tuf-ceremony: error:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tuf-ceremony: error: {source}"), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def sign_cli(workdir: Path, req: Path, name: str, out: Path, *extra: str | Path) -> Result:
    return run_cli(
        "sign", req, "--key", workdir / f"{name}.pem", "--out", out, "--yes", *extra, input=PASSPHRASES[name] + "\n"
    )


def all_commands_refuse(workdir: Path, req: Path, code: int, *needles: str) -> None:
    """sign, status and merge all refuse ``req``; nothing is written."""
    out = workdir / "never"
    cases: list[list[str | Path]] = [
        ["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "x.json", "--yes"],
        ["status", req],
        ["merge", req, workdir / "alice.bundle.json", "--out", out],
    ]
    for args in cases:
        r = run_cli(*args, input=PASSPHRASES["alice"] + "\n")
        assert_refused(r, code, req, *needles)
    assert not (workdir / "x.json").exists() and not out.exists()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def repo(workdir: Path) -> Path:
    """The published repository: 1.root.json (alice, bob, carol 2-of-3) and
    1.targets.json (alice, bob 2-of-2) from a real ceremony."""
    plan = write_plan(workdir / "plan1.toml")
    req = workdir / "request1.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    out = workdir / "repo"
    r = run_cli("merge", req, *bundles, "--out", out)
    assert r.exit_code == 0, r.stderr
    return out


@pytest.fixture
def renewal(workdir: Path, repo: Path) -> Path:
    """An honest request for root v2 / targets v2 (a renewal) from the repo;
    alice has signed it (alice.bundle.json)."""
    req = workdir / "request2.json"
    r = run_cli("prepare", workdir / "plan1.toml", "--trusted", repo, "--out", req)
    assert r.exit_code == 0, r.stderr
    sign_as(workdir, req, "alice")
    return req


def real_root(repo: Path) -> Metadata[Any]:
    return Metadata.from_bytes((repo / "1.root.json").read_bytes())


# --- attack: forged trusted section ----------------------------------------------------------


def test_attack_forged_trusted_root_hides_a_new_root_key(workdir: Path, repo: Path, renewal: Path) -> None:
    """The coordinator replaces the request's trusted root by a fake v1 that
    already lists dave, so the screen compares v2 (which adds dave) with the
    fake and shows no key change. Real clients accept v2: alice and bob sign
    it, a threshold of the real v1 and of v2."""
    doc = read(renewal)
    root2 = payload(doc, "root")["signed"]
    dave = key_json(workdir, "dave")
    dave_kid = keyid_of(dave)
    root2["keys"][dave_kid] = dave
    root2["roles"]["root"]["keyids"].append(dave_kid)
    fake = copy.deepcopy(doc["trusted"]["root"]["signed"])
    fake["keys"][dave_kid] = dave
    fake["roles"]["root"] = {"keyids": [dave_kid], "threshold": 1}
    fake_md = tuf_sign(fake, software_signer(workdir, "dave"))  # self-signed: passes load
    doc["trusted"]["root"] = fake_md.to_dict()
    doc["keys"][dave_kid] = {"name": "dave", "key": dave}
    forged = write_forged(workdir / "forged.json", doc)

    # before: python-tuf accepts what alice and bob would have signed, and its
    # client, bootstrapped with the published root, updates to it
    merged = tuf_sign(root2, software_signer(workdir, "alice"), software_signer(workdir, "bob"))
    python_tuf_accepts_root(real_root(repo), merged)
    mirror = workdir / "mirror"
    shutil.copytree(repo, mirror)
    (mirror / "2.root.json").write_bytes(merged.to_bytes())
    publish_online(mirror, software_signer(workdir, "online"))
    ngclient_refresh(mirror, (repo / "1.root.json").read_bytes(), workdir / "client")
    client_root = read(workdir / "client" / "root.json")["signed"]
    assert dave_kid in client_root["roles"]["root"]["keyids"]

    # now: a keyholder who pins their own copy is refused, by directory or file
    for pin in (repo, repo / "1.root.json"):
        r = sign_cli(workdir, forged, "bob", workdir / "b.json", "--trusted", pin)
        assert_refused(r, 1, forged, "trusted root version 1", "differs from your copy")
        assert not (workdir / "b.json").exists()
    # a keyholder who does not pin sees "NOT PINNED" and the fake's digest,
    # which differs from the published one
    r = sign_cli(workdir, forged, "bob", workdir / "b.json")
    assert r.exit_code == 0, r.stderr
    fake_digest = hashlib.sha256(fake_md.signed_bytes).hexdigest()
    real_digest = hashlib.sha256(real_root(repo).signed_bytes).hexdigest()
    assert "NOT PINNED" in r.output and fake_digest in r.output and real_digest not in r.output
    a = workdir / "a-forged.json"
    assert sign_cli(workdir, forged, "alice", a).exit_code == 0
    d = workdir / "d-forged.json"  # dave, the coordinator, signs for his fake old root
    assert sign_cli(workdir, forged, "dave", d).exit_code == 0
    # merge into the published repository: its 1.root.json is not the request's
    r = run_cli("merge", forged, a, workdir / "b.json", d, "--out", repo)
    assert_refused(r, 1, repo, "1.root.json differs from the request's trusted root")
    assert not (repo / "2.root.json").exists()
    # nor into an empty directory: the request builds on a history it lacks
    r = run_cli("merge", forged, a, workdir / "b.json", d, "--out", workdir / "fresh")
    assert_refused(r, 1, workdir / "fresh", "holds no 1.root.json")
    assert not (workdir / "fresh").exists()


def test_attack_forged_trusted_targets_hides_a_new_target(workdir: Path, repo: Path, renewal: Path) -> None:
    """The trusted targets are replaced by a fake v1 that already has the
    attacker's target, so v2 shows "no content changes". The fake is signed
    by dave, who is no targets key of the trusted root."""
    doc = read(renewal)
    evil = {"length": 6, "hashes": {"sha256": hashlib.sha256(b"pwned\n").hexdigest()}}
    targets2 = payload(doc, "targets")["signed"]
    targets2["targets"]["evil.tar.gz"] = evil
    fake = copy.deepcopy(doc["trusted"]["targets"]["signed"])
    fake["targets"]["evil.tar.gz"] = evil
    doc["trusted"]["targets"] = tuf_sign(fake, software_signer(workdir, "dave")).to_dict()
    forged = write_forged(workdir / "forged.json", doc)

    merged = tuf_sign(targets2, software_signer(workdir, "alice"), software_signer(workdir, "bob"))
    real_root(repo).signed.verify_delegate("targets", merged.signed_bytes, merged.signatures)

    all_commands_refuse(workdir, forged, 3, "trusted.targets: not signed by the trusted root's targets keys")


def test_attack_first_root_downgrade(workdir: Path, repo: Path) -> None:
    """A request that claims to start a new repository (no trusted root) is
    refused by a keyholder who holds the published root, and merge refuses
    to write it over an existing history."""
    plan = write_plan(workdir / "planx.toml", root=(["alice", "dave"], 1), targets=(["dave"], 1))
    req = workdir / "first.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    r = sign_cli(workdir, req, "alice", workdir / "a.json", "--trusted", repo)
    assert_refused(r, 1, req, "has no trusted root", "version 1")
    a = sign_as(workdir, req, "dave")
    for force in ((), ("--force",)):  # even --force never replaces a published root
        r = run_cli("merge", req, a, "--out", repo, *force)
        assert_refused(r, 1, repo, "holds root version(s) 1", "no trusted root")
    assert real_root(repo).signed.roles["root"].threshold == 2


def test_attack_stale_request_after_a_newer_root(workdir: Path, repo: Path, renewal: Path) -> None:
    """A request built on root v1 is refused once the keyholder's copy is at
    v2 (and the trusted root more than one version ahead cannot be checked)."""
    b = sign_as(workdir, renewal, "bob")
    assert run_cli("merge", renewal, workdir / "alice.bundle.json", b, "--out", repo).exit_code == 0
    old = workdir / "old-request.json"
    assert run_cli("prepare", workdir / "plan1.toml", "--trusted", repo, "--out", old, "--force").exit_code == 0
    # a stale one: built from a copy of the repository as it was at v1
    v1only = workdir / "v1only"
    v1only.mkdir()
    shutil.copy2(repo / "1.root.json", v1only / "1.root.json")
    shutil.copy2(repo / "1.targets.json", v1only / "1.targets.json")
    stale = workdir / "stale.json"
    assert run_cli("prepare", workdir / "plan1.toml", "--trusted", v1only, "--out", stale).exit_code == 0
    r = sign_cli(workdir, stale, "carol", workdir / "c.json", "--trusted", repo)
    assert_refused(r, 1, stale, "your copy", "is already version 2", "stale")
    # the keyholder whose copy is at v1 is asked to sign on top of v2: chained
    r = sign_cli(workdir, old, "carol", workdir / "c.json", "--trusted", v1only / "1.root.json")
    assert r.exit_code == 0, r.stderr
    assert "follows your trusted root version 1" in r.output or "checked against" in r.output


# --- attack: a key is its material -----------------------------------------------------------


def test_attack_key_swapped_under_a_keyid(workdir: Path, repo: Path, renewal: Path) -> None:
    """Root v2 keeps carol's keyid (and name) with dave's key: the screen says
    "carol", and from v2 on dave signs roots as carol. Alice and bob sign v2;
    python-tuf counts keyids and accepts it, and dave's signature under
    carol's keyid then counts."""
    doc = read(renewal)
    root2 = payload(doc, "root")["signed"]
    carol_kid = kid(workdir, "carol")
    root2["keys"][carol_kid] = key_json(workdir, "dave")
    forged = write_forged(workdir / "forged.json", doc)

    merged = tuf_sign(root2, software_signer(workdir, "alice"), software_signer(workdir, "bob"))
    python_tuf_accepts_root(real_root(repo), merged)
    v3 = dict(copy.deepcopy(root2), version=3)
    by_dave = tuf_sign(v3, signer_as(workdir, "dave", carol_kid), software_signer(workdir, "bob"))
    merged.signed.verify_delegate("root", by_dave.signed_bytes, by_dave.signatures)

    all_commands_refuse(workdir, forged, 3, f"keyid {carol_kid[:16]} is not the SHA-256 of its key")


def test_attack_one_key_counted_twice(workdir: Path, repo: Path, renewal: Path) -> None:
    """Root v2 gives targets to dave under two keyids (the same key, once
    with a custom field: both keyids are honest SHA-256 values) with
    threshold 2: one key looks like two keyholders. python-tuf accepts a
    targets signed twice by dave."""
    doc = read(renewal)
    root2 = payload(doc, "root")["signed"]
    dave = key_json(workdir, "dave")
    dave2 = {**dave, "x-backup": "hsm-2"}
    k1, k2 = keyid_of(dave), keyid_of(dave2)
    root2["keys"][k1] = dave
    root2["keys"][k2] = dave2
    root2["roles"]["targets"] = {"keyids": [k1, k2], "threshold": 2}
    doc["keys"][k1] = {"name": "dave", "key": dave}
    doc["keys"][k2] = {"name": "dave-backup", "key": dave2}
    forged = write_forged(workdir / "forged.json", doc)

    new_root = Metadata.from_dict({"signed": copy.deepcopy(root2), "signatures": []}).signed
    targets2 = payload(doc, "targets")["signed"]
    merged = tuf_sign(targets2, signer_as(workdir, "dave", k1), signer_as(workdir, "dave", k2))
    new_root.verify_delegate("targets", merged.signed_bytes, merged.signatures)  # keyids: 2
    policy = check_delegate(new_root, "targets", merged.signed_bytes, merged.signatures)
    assert not policy.met and len(policy.signed) == 1  # the one policy: one key

    all_commands_refuse(workdir, forged, 3, f"keyids {k1[:16]} and {k2[:16]} are the same public key")


def test_attack_names_not_bound_to_material(workdir: Path, renewal: Path) -> None:
    """Two keys shown under one name, a name for a key in no payload, one key
    under two names: all refused at load."""
    base = read(renewal)
    alice_kid, bob_kid = kid(workdir, "alice"), kid(workdir, "bob")
    doc = copy.deepcopy(base)
    doc["keys"][bob_kid]["name"] = "alice"
    all_commands_refuse(
        workdir, write_forged(workdir / "f1.json", doc), 3, "the name 'alice' is given to two different keys"
    )
    doc = copy.deepcopy(base)
    erin = key_json(workdir, "erin")
    doc["keys"][keyid_of(erin)] = {"name": "erin", "key": erin}
    all_commands_refuse(workdir, write_forged(workdir / "f2.json", doc), 3, "names a key that is in no payload")
    doc = copy.deepcopy(base)
    alice = key_json(workdir, "alice")
    alice2 = {**alice, "x-note": "same key"}
    payload(doc, "root")["signed"]["keys"][keyid_of(alice2)] = alice2  # a key in no role
    doc["keys"][keyid_of(alice2)] = {"name": "alice-2", "key": alice2}
    all_commands_refuse(workdir, write_forged(workdir / "f3.json", doc), 3, "one public key has two names")
    assert alice_kid in base["keys"]


# --- attack: satisfiable, well-formed payloads -----------------------------------------------


def test_attack_unsatisfiable_threshold_locks_a_role(workdir: Path, repo: Path, renewal: Path) -> None:
    """Root v2 sets snapshot's threshold to 2 of its 1 key: clients accept the
    root, and the repository can never sign a snapshot again."""
    doc = read(renewal)
    root2 = payload(doc, "root")["signed"]
    root2["roles"]["snapshot"]["threshold"] = 2
    forged = write_forged(workdir / "forged.json", doc)
    merged = tuf_sign(root2, software_signer(workdir, "alice"), software_signer(workdir, "bob"))
    python_tuf_accepts_root(real_root(repo), merged)
    all_commands_refuse(workdir, forged, 3, "roles.snapshot: threshold 2 is not between 1 and its 1 distinct key(s)")


def test_attack_unsafe_delegated_role_name(workdir: Path, repo: Path, renewal: Path) -> None:
    """A delegation named ../../root: python-tuf reads it; a client or a
    publisher writing N.ROLE.json would write outside the directory."""
    doc = read(renewal)
    targets2 = payload(doc, "targets")["signed"]
    online = key_json(workdir, "online")
    targets2["delegations"] = {
        "keys": {keyid_of(online): online},
        "roles": [
            {"name": "../../root", "keyids": [keyid_of(online)], "threshold": 1, "terminating": True, "paths": ["*"]}
        ],
    }
    forged = write_forged(workdir / "forged.json", doc)
    merged = tuf_sign(targets2, software_signer(workdir, "alice"), software_signer(workdir, "bob"))
    real_root(repo).signed.verify_delegate("targets", merged.signed_bytes, merged.signatures)
    assert "../../root" in merged.signed.delegations.roles
    all_commands_refuse(workdir, forged, 3, "role name is not a safe file name")


def test_attack_private_material_in_a_payload_key(workdir: Path, renewal: Path) -> None:
    """A delegation key carrying a private field: refused, never echoed."""
    doc = read(renewal)
    online = key_json(workdir, "online")
    leaked = {**online, "keyval": {**online["keyval"], "private": "SECRET-0123456789"}}
    targets2 = payload(doc, "targets")["signed"]
    targets2["delegations"] = {
        "keys": {keyid_of(leaked): leaked},
        "roles": [{"name": "bins", "keyids": [keyid_of(leaked)], "threshold": 1, "terminating": True, "paths": ["*"]}],
    }
    forged = write_forged(workdir / "forged.json", doc)
    Metadata.from_dict({"signed": copy.deepcopy(targets2), "signatures": []})  # python-tuf: ok
    cases: list[list[str | Path]] = [
        ["status", forged],
        ["sign", forged, "--key", workdir / "alice.pem", "--out", workdir / "x.json", "--yes"],
    ]
    for args in cases:
        r = run_cli(*args, input=PASSPHRASES["alice"] + "\n")
        assert_refused(r, 3, forged, "keyval must hold 'public' only")
        assert "SECRET-0123456789" not in r.output + r.stderr


def test_attack_version_jump(workdir: Path, renewal: Path) -> None:
    """Targets without trusted targets must start at 1; versions are bounded."""
    doc = read(renewal)
    doc["trusted"]["targets"] = None
    payload(doc, "targets")["signed"]["version"] = 7
    all_commands_refuse(workdir, write_forged(workdir / "f.json", doc), 3, "only version 1 can be first")
    doc = read(renewal)
    payload(doc, "targets")["signed"]["version"] = 2**31
    all_commands_refuse(
        workdir, write_forged(workdir / "g.json", doc), 3, "version must be a whole number from 1 to 2147483647"
    )


def test_attack_trusted_root_counted_by_keyid(workdir: Path, renewal: Path) -> None:
    """A trusted root that lists one key under two keyids with threshold 2,
    signed once under each: python-tuf's keyid counting accepts its
    self-signature; the one policy counts one key and refuses the request."""
    doc = read(renewal)
    dave = key_json(workdir, "dave")
    dave2 = {**dave, "x-copy": "1"}
    k1, k2 = keyid_of(dave), keyid_of(dave2)
    fake = copy.deepcopy(doc["trusted"]["root"]["signed"])
    fake["keys"].update({k1: dave, k2: dave2})
    fake["roles"]["root"] = {"keyids": [k1, k2], "threshold": 2}
    fake_md = tuf_sign(fake, signer_as(workdir, "dave", k1), signer_as(workdir, "dave", k2))
    fake_md.signed.verify_delegate("root", fake_md.signed_bytes, fake_md.signatures)
    from tuf_ceremony.policy import distinct_key_count

    assert distinct_key_count(fake_md.signed.keys, [k1, k2]) == 1
    doc["trusted"]["root"] = fake_md.to_dict()
    all_commands_refuse(
        workdir,
        write_forged(workdir / "f.json", doc),
        3,
        "trusted.root: not signed by its own threshold (1 of 2 distinct keys)",
    )


# --- pinned trust, honest cases --------------------------------------------------------------


def test_sign_trusted_pins_an_honest_request(workdir: Path, repo: Path, renewal: Path) -> None:
    for pin in (repo, repo / "1.root.json"):
        out = workdir / f"b-{pin.name}.json"
        r = sign_cli(workdir, renewal, "bob", out, "--trusted", pin)
        assert r.exit_code == 0, r.stderr
        assert "pinned" in r.output.lower() and out.is_file()
    # a first root says so
    plan = write_plan(workdir / "planf.toml")
    first = workdir / "first.json"
    assert run_cli("prepare", plan, "--out", first).exit_code == 0
    r = sign_cli(workdir, first, "alice", workdir / "af.json")
    assert r.exit_code == 0 and "first root" in r.output.lower()


def test_sign_trusted_refuses_a_broken_copy(workdir: Path, renewal: Path) -> None:
    bad = workdir / "bad-root.json"
    bad.write_text("{}")
    r = sign_cli(workdir, renewal, "bob", workdir / "b.json", "--trusted", bad)
    assert_refused(r, 3, bad, "not valid TUF metadata")
    r = sign_cli(workdir, renewal, "bob", workdir / "b.json", "--trusted", workdir / "nope")
    assert_refused(r, 3, workdir / "nope", "not found")
    # a copy whose root is not signed by its own threshold is no anchor
    unsigned = workdir / "unsigned"
    unsigned.mkdir()
    doc = read(workdir / "repo" / "1.root.json")
    doc["signatures"] = doc["signatures"][:1]
    (unsigned / "1.root.json").write_text(json.dumps(doc))
    for pin in (unsigned, unsigned / "1.root.json"):
        r = sign_cli(workdir, renewal, "bob", workdir / "b.json", "--trusted", pin)
        assert_refused(r, 1, unsigned / "1.root.json", "not signed by a threshold of its own root keys")
    assert not (workdir / "b.json").exists()


def test_merge_refuses_a_directory_with_another_history(workdir: Path, repo: Path, renewal: Path) -> None:
    b = sign_as(workdir, renewal, "bob")
    # another repository: same plan, another first root
    other = workdir / "other"
    req = workdir / "other-request.json"
    from tests.test_redteam_payloads import a_day_ago  # a fixed past date expires

    assert run_cli("prepare", workdir / "plan1.toml", "--out", req, "--at", a_day_ago()).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}-o.json") for n in ("alice", "bob")]
    assert run_cli("merge", req, *bundles, "--out", other).exit_code == 0
    r = run_cli("merge", renewal, workdir / "alice.bundle.json", b, "--out", other)
    assert_refused(r, 1, other, "1.root.json differs")
    assert not (other / "2.root.json").exists()
    # the right repository takes it
    r = run_cli("merge", renewal, workdir / "alice.bundle.json", b, "--out", repo)
    assert r.exit_code == 0, r.stderr


# --- slots: one signature per key and threshold ----------------------------------------------


def test_sign_makes_one_signature_per_payload_for_a_key_in_both_roots(workdir: Path, renewal: Path) -> None:
    bundle = read(workdir / "alice.bundle.json")
    roles = [s["role"] for s in bundle["signatures"]]
    assert roles == ["root", "targets"]  # alice is in old and new root: one root signature


def test_key_under_another_keyid_in_the_old_root_signs_once_per_threshold(workdir: Path) -> None:
    """The published root knows alice's key with a custom field (another
    keyid); root v2 lists it plainly. A client checks the old root's
    threshold by the old keyids, so alice signs v2 once under each keyid,
    and each threshold counts her once. python-tuf's client accepts v2."""
    custom = {**key_json(workdir, "alice"), "x-owner": "alice@example.org"}
    (workdir / "alice.pub.json").write_text(json.dumps(custom))
    plan1 = write_plan(workdir / "plan1.toml")
    req1 = workdir / "r1.json"
    assert run_cli("prepare", plan1, "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    repo = workdir / "repo"
    assert run_cli("merge", req1, *bundles, "--out", repo).exit_code == 0
    plain = {k: v for k, v in custom.items() if k != "x-owner"}
    (workdir / "alice.pub.json").write_text(json.dumps(plain))
    req2 = workdir / "r2.json"
    r = run_cli("prepare", plan1, "--trusted", repo, "--out", req2)
    assert r.exit_code == 0, r.stderr
    a2 = sign_as(workdir, req2, "alice", workdir / "a2.json")
    sigs = read(a2)["signatures"]
    root_sigs = [s["keyid"] for s in sigs if s["role"] == "root"]
    assert sorted(root_sigs) == sorted([keyid_of(custom), keyid_of(plain)])
    assert [s["role"] for s in sigs].count("targets") == 1
    b2 = sign_as(workdir, req2, "bob", workdir / "b2.json")
    r = run_cli("status", req2, a2, b2, "--json")
    assert r.exit_code == 0, r.output
    roles = json.loads(r.output)["roles"]
    for t in roles[0]["thresholds"]:
        assert len(t["signed"]) == 2, t  # alice once, bob once: old root and new root
    assert run_cli("merge", req2, a2, b2, "--out", repo).exit_code == 0
    publish_online(repo, software_signer(workdir, "online"))
    ngclient_refresh(repo, (repo / "1.root.json").read_bytes(), workdir / "client")
    assert read(workdir / "client" / "root.json")["signed"]["version"] == 2


def test_legacy_keyids_in_the_trusted_root_are_reported(workdir: Path, renewal: Path) -> None:
    """Sigstore's root v11 lists a key under a legacy keyid: allowed in the
    trusted section (compared by key material), and sign says so."""
    data = Path(__file__).parent / "data" / "sigstore-root-history"
    legacy = json.loads((data / "11.root.json").read_text())
    doc = read(renewal)
    doc["trusted"] = {"root": legacy, "targets": None}
    root = payload(doc, "root")["signed"]
    root["version"] = 12
    payload(doc, "targets")["signed"]["version"] = 1
    forged = write_forged(workdir / "legacy.json", doc)
    r = sign_cli(workdir, forged, "alice", workdir / "a.json")
    assert r.exit_code == 0, r.stderr
    assert "1 key(s) under legacy keyids" in r.stderr
    assert [s["role"] for s in read(workdir / "a.json")["signatures"]] == ["root", "targets"]


def test_a_key_under_a_legacy_keyid_is_named_by_its_material(workdir: Path, renewal: Path) -> None:
    """A trusted root that lists alice's key under a keyid that is not the
    SHA-256 of the key: the screen and status name it "alice" (the name of
    that public key), and it counts once per threshold."""
    doc = read(renewal)
    alice_kid = kid(workdir, "alice")
    legacy = hashlib.sha256(b"legacy alice").hexdigest()
    fake = copy.deepcopy(doc["trusted"]["root"]["signed"])
    fake["keys"][legacy] = copy.deepcopy(fake["keys"][alice_kid])
    role = fake["roles"]["root"]
    role["keyids"] = [legacy if k == alice_kid else k for k in role["keyids"]]
    doc["trusted"]["root"] = tuf_sign(
        fake, signer_as(workdir, "alice", legacy), software_signer(workdir, "bob")
    ).to_dict()
    forged = write_forged(workdir / "legacy.json", doc)
    a = workdir / "a.json"
    r = sign_cli(workdir, forged, "alice", a)
    assert r.exit_code == 0, r.stderr
    assert "1 key(s) under legacy keyids" in r.stderr
    assert sorted(s["keyid"] for s in read(a)["signatures"] if s["role"] == "root") == sorted([legacy, alice_kid])
    r = run_cli("status", forged, a, "--json")
    old_root = json.loads(r.output)["roles"][0]["thresholds"][0]
    assert old_root["label"] == "old root"
    assert old_root["signed"] == [f"alice ({legacy[:12]})"]


def test_trusted_root_listing_a_keyid_without_a_key(workdir: Path, renewal: Path) -> None:
    """A (self-signed) trusted root whose root role lists a keyid it has no
    key for: that keyid never counts, and nothing crashes."""
    doc = read(renewal)
    fake = copy.deepcopy(doc["trusted"]["root"]["signed"])
    ghost = "ab" * 32
    fake["roles"]["root"]["keyids"].append(ghost)
    doc["trusted"]["root"] = tuf_sign(
        fake, software_signer(workdir, "alice"), software_signer(workdir, "bob")
    ).to_dict()
    forged = write_forged(workdir / "ghost.json", doc)
    a = workdir / "a.json"
    assert sign_cli(workdir, forged, "alice", a).exit_code == 0
    b = workdir / "b.json"
    assert sign_cli(workdir, forged, "bob", b).exit_code == 0
    r = run_cli("status", forged, a, b, "--json")
    assert r.exit_code == 0, r.stderr
    old_root = json.loads(r.output)["roles"][0]["thresholds"][0]
    assert old_root["met"] and len(old_root["signed"]) == 2
