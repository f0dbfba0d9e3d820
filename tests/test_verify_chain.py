"""``verify`` on root chains made with python-tuf: rotation steps, gaps,
repeated versions, rollbacks, thresholds, duplicate keys, ceremony output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import Metadata, Root, Targets

from tests.fixtures_repo import Chain, VerifyCli, root_md, write_signed


def test_good_chain_reports_every_step(verify_cli: VerifyCli, root_chain: Chain) -> None:
    a, _, _, d, _ = root_chain.signers
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 0, r.out
    steps = r.json()["root_chain"]
    assert [s["version"] for s in steps] == [1, 2, 3]
    v2 = steps[1]
    assert v2["old_threshold"]["valid"] == 2 and v2["old_threshold"]["threshold"] == 2
    assert v2["new_threshold"]["valid"] == 2
    [root_change] = [c for c in v2["changes"] if c["role"] == "root"]
    assert [k["keyid"] for k in root_change["added"]] == [d.public_key.keyid]
    assert [k["keyid"] for k in root_change["removed"]] == [a.public_key.keyid]
    human = verify_cli(root_chain.directory)
    assert human.code == 0
    assert "Root chain" in human.out and "2 (need 2)" in human.out


def test_gap_refused(verify_cli: VerifyCli, root_chain: Chain) -> None:
    (root_chain.directory / "2.root.json").unlink()
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("root-chain-gap")
    assert p["file"] == "3.root.json" and "2" in p["message"]


def test_repeated_version_refused(verify_cli: VerifyCli, root_chain: Chain) -> None:
    a, b, c, d, _ = root_chain.signers
    # root.json claims version 2 too, but differs from 2.root.json
    write_signed(
        root_md(2, [b, c, d], expires=root_md(1, [a]).signed.expires.replace(year=2031)),
        root_chain.directory / "root.json",
        [a, b, d],
    )
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("root-repeated-version")
    assert p["file"] == "root.json" and "2.root.json" in p["message"]
    assert "root.json" in r.err


def test_identical_unversioned_root_is_fine(verify_cli: VerifyCli, root_chain: Chain) -> None:
    shutil.copy(root_chain.directory / "3.root.json", root_chain.directory / "root.json")
    assert verify_cli(root_chain.directory).code == 0


def test_rollback_refused(verify_cli: VerifyCli, root_chain: Chain) -> None:
    shutil.copy(root_chain.directory / "1.root.json", root_chain.directory / "4.root.json")
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("root-rollback")
    assert p["file"] == "4.root.json" and "version 1" in p["message"]


def test_v2_signed_only_by_new_keys_refused(verify_cli: VerifyCli, root_chain: Chain) -> None:
    _, _, c, d, e = root_chain.signers
    for f in ("2.root.json", "3.root.json"):
        (root_chain.directory / f).unlink()
    write_signed(root_md(2, [c, d, e]), root_chain.directory / "2.root.json", [d, e])
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("root-threshold-old")
    assert p["file"] == "2.root.json" and "0 of the 2" in p["message"]
    assert r.json()["root_chain"][1]["new_threshold"]["met"] is True


def test_v2_signed_only_by_old_keys_refused(verify_cli: VerifyCli, root_chain: Chain) -> None:
    a, b, c, d, e = root_chain.signers
    for f in ("2.root.json", "3.root.json"):
        (root_chain.directory / f).unlink()
    write_signed(root_md(2, [c, d, e]), root_chain.directory / "2.root.json", [a, b])
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("root-threshold-new")
    assert p["file"] == "2.root.json"
    assert r.json()["root_chain"][1]["old_threshold"]["met"] is True
    assert "2.root.json" in r.err


def _dup_key(signer: Any) -> tuple[str, dict[str, Any]]:
    """The same public key under another keyid (an extra field changes the keyid)."""
    from tuf_ceremony.keys import keyid_of

    kd = signer.public_key.to_dict()
    kd["x-copy"] = "same key material"
    return keyid_of(kd), kd


def test_same_key_under_two_keyids_is_an_error(verify_cli: VerifyCli, tmp_path: Path) -> None:
    a, b = CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()
    md = root_md(1, [a, b])
    kid2, kd2 = _dup_key(a)
    md.signed.keys[kid2] = SSlibKey.from_dict(kid2, dict(kd2))
    md.signed.roles[Root.type].keyids.append(kid2)
    md.signed.roles[Root.type].threshold = 2
    d = tmp_path / "dup"
    d.mkdir()
    # a signs twice (under both keyids): python-tuf would count 2 of 2
    md.sign(a, append=True)
    sig = md.signatures[a.public_key.keyid]
    from securesystemslib.signer import Signature

    md.signatures[kid2] = Signature(kid2, sig.signature)
    path = d / "1.root.json"
    from tuf.api.serialization.json import JSONSerializer

    path.write_bytes(JSONSerializer(compact=False).serialize(md))
    assert md.signed.get_verification_result(Root.type, md.signed_bytes, md.signatures)
    r = verify_cli(d, "--json")
    assert r.code == 1
    dup = r.problems("duplicate-key")
    assert dup and dup[0]["file"] == "1.root.json" and kid2 in dup[0]["message"]
    assert r.problems("duplicate-signature")
    assert r.json()["root_chain"][0]["new_threshold"]["valid"] == 1


def test_unknown_keyid_signature_listed(verify_cli: VerifyCli, root_chain: Chain) -> None:
    stranger = CryptoSigner.generate_ed25519()
    path = root_chain.directory / "3.root.json"
    md = Metadata.from_file(str(path))
    md.sign(stranger, append=True)
    md.to_file(str(path))
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 0
    [p] = r.problems("unknown-keyid")
    assert p["file"] == "3.root.json" and stranger.public_key.keyid in p["message"]


def test_ceremony_output_with_targets(verify_cli: VerifyCli, root_chain: Chain) -> None:
    a, _, c, d, _ = root_chain.signers
    t = Metadata(Targets(version=1, expires=root_md(1, [a]).signed.expires))
    write_signed(t, root_chain.directory / "1.targets.json", [c, d])
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 0, r.out
    report = r.json()
    roles = {x["role"]: x for x in report["roles"]}
    assert roles["targets"]["present"] and roles["targets"]["threshold"]["met"]
    assert roles["snapshot"]["present"] is False
    assert report["mode"] == "root-history"
    # targets signed only by a key the newest root no longer lists (a was revoked)
    write_signed(t, root_chain.directory / "1.targets.json", [a])
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1
    [p] = r.problems("threshold-not-met")
    assert p["file"] == "1.targets.json"


def test_json_schema_fields(verify_cli: VerifyCli, root_chain: Chain) -> None:
    report = verify_cli(root_chain.directory, "--json", "--at", "2027-01-01T00:00:00Z").json()
    assert report["schema"] == "tuf-ceremony/verify-report"
    assert report["schema_version"] == 1
    for key in (
        "ok",
        "checked_at",
        "directory",
        "root_chain",
        "roles",
        "problems",
        "summary",
        "actions",
        "trusted_root",
        "mode",
    ):
        assert key in report
    assert report["checked_at"] == "2027-01-01T00:00:00Z"
    assert set(report["summary"]) >= {"errors", "warnings", "infos", "root_versions"}
    for p in report["problems"]:
        assert set(p) >= {"severity", "file", "role", "code", "message"}
    json.dumps(report)


def test_bad_at_and_missing_dir(verify_cli: VerifyCli, tmp_path: Path) -> None:
    assert verify_cli(tmp_path, "--at", "yesterday").code == 2
    r = verify_cli(tmp_path / "nope")
    assert r.code == 3 and "nope" in r.err
    r = verify_cli(tmp_path)
    assert r.code == 3 and "no root metadata" in r.err


def test_names_from_ceremony_plan(verify_cli: VerifyCli, workdir: Path) -> None:
    from tests.fixtures_core import software_signer, write_plan
    from tuf_ceremony.keys import load_public_key

    plan = write_plan(workdir / "plan.toml")
    keys = {n: load_public_key(workdir / f"{n}.pub.json") for n in ("alice", "bob", "carol")}
    root = Root(consistent_snapshot=True, expires=root_md(1, []).signed.expires)
    for k in keys.values():
        root.add_key(k, Root.type)
    root.roles[Root.type].threshold = 2
    md = Metadata(root)
    out = workdir / "repo"
    out.mkdir()
    signers = [software_signer(workdir, "alice"), software_signer(workdir, "bob")]
    write_signed(md, out / "1.root.json", signers)
    r = verify_cli(out, "--names", plan, "--json")
    assert r.code == 0, r.err
    step = r.json()["root_chain"][0]
    assert sorted(k["name"] for k in step["new_threshold"]["signers"]) == ["alice", "bob"]
    assert [k["name"] for k in step["new_threshold"]["missing"]] == ["carol"]
    human = verify_cli(out, "--names", plan)
    assert "alice" in human.out and "bob" in human.out
    # a signing request made from the plan carries the same names
    from tests.fixtures_core import run_cli

    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    r = verify_cli(out, "--names", req, "--json")
    step = r.json()["root_chain"][0]
    assert sorted(k["name"] for k in step["new_threshold"]["signers"]) == ["alice", "bob"]
    bad = workdir / "names.json"
    bad.write_text("[1, 2]")
    r = verify_cli(out, "--names", bad)
    assert r.code == 3 and "names.json" in r.err


def test_trusted_root_that_differs_is_refused(verify_cli: VerifyCli, root_chain: Chain, tmp_path: Path) -> None:
    a, b, c, _, _ = root_chain.signers
    other = write_signed(root_md(1, [a, b, c], threshold=1), tmp_path / "other-1.root.json", [a])
    r = verify_cli(root_chain.directory, "--trusted-root", other, "--json")
    assert r.code == 1
    [p] = r.problems("root-anchor-mismatch")
    assert p["file"] == "1.root.json"
    # the real v1 as anchor: the chain continues from version 2
    good = tmp_path / "trusted.json"
    shutil.copy(root_chain.directory / "1.root.json", good)
    r = verify_cli(root_chain.directory, "--trusted-root", good, "--json")
    assert r.code == 0
    assert [s["version"] for s in r.json()["root_chain"]] == [1, 2, 3]


def test_same_keyid_signing_twice_is_an_error(verify_cli: VerifyCli, root_chain: Chain) -> None:
    path = root_chain.directory / "3.root.json"
    data = json.loads(path.read_text())
    data["signatures"].append(dict(data["signatures"][0]))
    path.write_text(json.dumps(data, indent=1))
    r = verify_cli(root_chain.directory, "--json")
    assert r.code == 1, r.err
    [p] = r.problems("duplicate-signature")
    assert p["file"] == "3.root.json" and data["signatures"][0]["keyid"] in p["message"]
    assert r.json()["root_chain"][-1]["new_threshold"]["valid"] == 2
