"""``import rstuf`` and the sign/pending exports on hostile or odd input:
every refusal is one line naming the file, a non-zero exit, nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.fixtures_core import run_cli, sign_as, write_plan
from tests.test_rstuf_cli import bootstrap_ceremony, rstuf_plan


def _v2_pending(workdir: Path) -> tuple[Path, Path, Path]:
    """meta (root v1), the v2 request and RSTUF's pending answer holding
    alice's signature."""
    meta = bootstrap_ceremony(workdir)
    plan = rstuf_plan(workdir, "v2", ["alice", "bob", "carol"], 2)
    req2 = workdir / "req2.json"
    r = run_cli("prepare", plan, "--trusted", meta, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    alice = sign_as(workdir, req2, "alice", workdir / "alice.b2.json")
    pending = workdir / "pending.json"
    r = run_cli("export", "rstuf", "pending", req2, alice, "--out", pending)
    assert r.exit_code == 0, r.output + r.stderr
    return meta, req2, pending


def _refused(r: Result, code: int, *needles: str) -> None:
    assert r.exit_code == code, r.output + r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1, r.stderr
    assert "Traceback" not in r.output + r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def test_import_without_pin_warns_and_shows_the_digest(workdir: Path) -> None:
    _, _, pending = _v2_pending(workdir)
    out = workdir / "req.json"
    r = run_cli("import", "rstuf", pending, "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    assert "NOT PINNED" in r.stderr and "give --trusted" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["ceremony"] == "rstuf-root-v2"
    assert doc["trusted"]["root"]["signed"]["version"] == 1
    assert "root version 2" in r.output


def test_import_refuses_a_trusted_root_that_is_not_the_pinned_one(workdir: Path) -> None:
    _, _, pending = _v2_pending(workdir)
    # another repository's root v1, pinned by mistake or swapped by RSTUF's answer
    other = workdir / "other"
    other.mkdir()
    for p in workdir.glob("*.pub.json"):
        (other / p.name).write_bytes(p.read_bytes())
    plan = write_plan(other / "plan.toml", root=(["alice"], 1), targets=(["alice"], 1))
    assert run_cli("prepare", plan, "--out", other / "r.json").exit_code == 0
    b = sign_as(workdir, other / "r.json", "alice", other / "a.json")
    assert run_cli("merge", other / "r.json", b, "--out", other / "meta").exit_code == 0
    out = workdir / "req.json"
    r = run_cli("import", "rstuf", pending, "--trusted", other / "meta" / "1.root.json", "--out", out)
    _refused(r, 1, str(pending), "is not your pinned trusted root")
    assert not out.exists()


def test_import_refuses_an_answer_whose_fields_rstuf_dropped(workdir: Path) -> None:
    """RSTUF's pending answer passes root through a model that drops custom
    fields of keys: alice's signature, made over the full root, no longer
    verifies over what RSTUF sends, and neither would a new one."""
    meta, _, pending = _v2_pending(workdir)
    doc = json.loads(pending.read_text())
    root = doc["data"]["metadata"]["root"]["signed"]
    for key in root["keys"].values():
        key.pop("x-rstuf-key-name", None)
    pending.write_text(json.dumps(doc))
    out = workdir / "req.json"
    r = run_cli("import", "rstuf", pending, "--trusted", meta, "--out", out)
    _refused(r, 1, str(pending), "does not verify over the root RSTUF sent", "drops custom fields")
    assert not out.exists()


def test_import_refuses_keys_named_after_their_keyid(workdir: Path) -> None:
    """RSTUF's own ceremony computes a keyid, then adds x-rstuf-key-name:
    the keyid no longer covers the key."""
    from tuf_ceremony.keys import keyid_of

    _, req2, _ = _v2_pending(workdir)
    request = json.loads(req2.read_text())
    trusted = request["trusted"]["root"]
    signed = trusted["signed"]
    renamed: dict[str, str] = {}
    for kid, key in list(signed["keys"].items()):
        base = {k: key[k] for k in ("keytype", "scheme", "keyval")}
        renamed[kid] = keyid_of(base)
        signed["keys"][renamed[kid]] = signed["keys"].pop(kid)
    for role in signed["roles"].values():
        role["keyids"] = [renamed[k] for k in role["keyids"]]
    signed["version"] = 1
    pending = workdir / "rstuf-made.json"
    pending.write_text(
        json.dumps({"data": {"metadata": {"root": {"signed": signed, "signatures": []}}}, "message": "pending"})
    )
    out = workdir / "req.json"
    r = run_cli("import", "rstuf", pending, "--out", out)
    _refused(
        r,
        3,
        str(pending),
        "pending root v1: keyid",
        "is not the SHA-256 of its key",
        "RSTUF's CLI computes a keyid, then adds x-rstuf-key-name",
        "make root v1 with tuf-ceremony instead",
        "prepare PLAN, then export rstuf bootstrap",
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "doc, needle",
    [
        ({"data": None}, "not an RSTUF pending-signing answer"),
        ({"data": {"metadata": {}}}, "no metadata pending signing"),
        ({"data": {"metadata": {"targets": {"signed": {}, "signatures": []}}}}, "pending role(s) targets"),
        (
            {"data": {"metadata": {"root": {"signed": {"_type": "root"}, "signatures": []}}}},
            "data.metadata.root: not valid TUF metadata",
        ),
        ({"data": {"metadata": {"root": [], "trusted_evil\x1b[2J": {}}}}, 'unknown entry "trusted_evil\\x1b[2J"'),
        ({"data": {"metadata": {"root": []}}}, "data.metadata.root: must be an object"),
    ],
)
def test_import_refuses_malformed_answers(tmp_path: Path, doc: Any, needle: str) -> None:
    pending = tmp_path / "pending.json"
    pending.write_text(json.dumps(doc))
    out = tmp_path / "req.json"
    r = run_cli("import", "rstuf", pending, "--out", out)
    _refused(r, 3, str(pending), needle)
    assert "\x1b" not in r.stderr
    assert not out.exists()


def test_import_of_a_later_root_needs_a_trusted_root(workdir: Path) -> None:
    _, _, pending = _v2_pending(workdir)
    doc = json.loads(pending.read_text())
    del doc["data"]["metadata"]["trusted_root"]
    pending.write_text(json.dumps(doc))
    r = run_cli("import", "rstuf", pending, "--out", workdir / "req.json")
    _refused(r, 1, "needs its trusted root (version 1): RSTUF sent none; give --trusted")


def test_rstuf_signature_import_refuses_forged_or_foreign_signatures(workdir: Path) -> None:
    meta, _, pending = _v2_pending(workdir)
    req = workdir / "req.json"
    assert run_cli("import", "rstuf", pending, "--trusted", meta, "--out", req).exit_code == 0
    carol = sign_as(workdir, req, "carol", workdir / "carol.json")
    sig = json.loads(carol.read_text())["signatures"][0]
    good = {"role": "root", "signature": {"keyid": sig["keyid"], "sig": sig["sig"]}}
    cases = [
        ({"role": "root", "signature": {"keyid": sig["keyid"], "sig": "00" * 64}}, 4, "invalid signature by carol"),
        ({"role": "root", "signature": {"keyid": "ab" * 32, "sig": sig["sig"]}}, 4, "is not authorized to sign root"),
        ({"role": "targets", "signature": good["signature"]}, 4, "which the request does not"),
        ({"role": "root", "signature": {"keyid": sig["keyid"]}}, 3, "not an RSTUF sign payload"),
    ]
    for doc, code, needle in cases:
        f = workdir / "sig.json"
        f.write_text(json.dumps(doc))
        out = workdir / "bundle.json"
        r = run_cli("import", "rstuf-signature", f, "--request", req, "--out", out)
        _refused(r, code, str(f), needle)
        assert not out.exists()
    f = workdir / "sig.json"
    f.write_text(json.dumps(good))
    r = run_cli("import", "rstuf-signature", f, "--request", req, "--out", workdir / "b.json")
    assert r.exit_code == 0, r.output + r.stderr
    assert "carol" in r.output and "verified" in r.output


def test_export_sign_takes_one_root_signature(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "req.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    alice = sign_as(workdir, req, "alice")  # root and targets
    out = workdir / "sign.json"
    r = run_cli("export", "rstuf", "sign", req, alice, "--out", out)
    _refused(r, 3, str(alice), "holds a targets signature")
    assert not out.exists()
    carol = sign_as(workdir, req, "carol")  # root only
    r = run_cli("export", "rstuf", "sign", req, carol, "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    doc = json.loads(out.read_text())
    assert doc["role"] == "root" and set(doc["signature"]) == {"keyid", "sig"}
    # a bundle for another request is refused like in merge
    other = sign_as(workdir, req, "bob")
    data = json.loads(other.read_text())
    data["request_id"] = hashlib.sha256(b"another").hexdigest()
    other.write_text(json.dumps(data))
    r = run_cli("export", "rstuf", "sign", req, other, "--out", workdir / "s2.json")
    assert r.exit_code == 4 and "was made for another signing request" in r.stderr


def test_update_refuses_role_fields_rstuf_drops_and_bootstrap_warns(workdir: Path) -> None:
    """A root N+1 whose role carries a custom field (signed by a threshold of
    both roots) would reach RSTUF without it: refused. The same kind of field
    on a key in a bootstrap root only warns (API 1.0.1 keeps it)."""
    import shutil

    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner, SSlibKey
    from tuf.api.metadata import Metadata

    from tests.fixtures_core import PASSPHRASES
    from tuf_ceremony.keys import load_public_key

    meta = bootstrap_ceremony(workdir)
    v1 = Metadata.from_file(str(meta / "1.root.json"))
    v2 = Metadata.from_dict(v1.to_dict())
    v2.signatures.clear()
    v2.signed.version = 2
    v2.signed.roles["root"].unrecognized_fields["x-acme-note"] = "reviewed"
    for name in ("alice", "bob"):
        private = load_pem_private_key((workdir / f"{name}.pem").read_bytes(), PASSPHRASES[name].encode())
        named = load_public_key(workdir / f"{name}.rstuf.pub.json")
        assert isinstance(named, SSlibKey)
        v2.sign(CryptoSigner(private, named), append=True)
    repo = workdir / "repo"
    shutil.copytree(meta, repo)
    v2.to_file(str(repo / "2.root.json"))
    out = workdir / "update.json"
    r = run_cli("export", "rstuf", "update", repo, "--trusted", meta, "--out", out)
    _refused(r, 3, str(repo / "2.root.json"), "roles.root.x-acme-note")
    assert not out.exists()

    # a key field RSTUF's model drops, in a bootstrap root
    doc = json.loads((workdir / "bob.rstuf.pub.json").read_text())
    doc["x-acme-badge"] = "hsm-7"
    (workdir / "bob.rstuf.pub.json").write_text(json.dumps(doc))
    plan = rstuf_plan(workdir, "badge", ["alice", "bob"], 2)
    req = workdir / "req-badge.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.badge.json") for n in ("alice", "bob", "online")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "badge").exit_code == 0
    out = workdir / "bootstrap.json"
    r = run_cli("export", "rstuf", "bootstrap", workdir / "badge", "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    assert "before 1.0.1" in r.stderr and "x-acme-badge" in r.stderr
    assert json.loads(out.read_text())["metadata"]["root"] == json.loads(
        (workdir / "badge" / "1.root.json").read_text()
    )


def test_import_shows_hostile_key_names_literally(workdir: Path) -> None:
    """Key names come from RSTUF's answer: escape sequences, newlines, bidi
    controls and markup are shown, never obeyed."""
    from tuf_ceremony.keys import keyid_of

    _, req2, _ = _v2_pending(workdir)
    signed = json.loads(req2.read_text())["trusted"]["root"]["signed"]
    renamed: dict[str, str] = {}
    keys: dict[str, Any] = {}
    for kid, key in signed["keys"].items():
        key = dict(key, **{"x-rstuf-key-name": key["x-rstuf-key-name"] + "\x1b[2J\n[bold]evil[/bold]\u202e"})
        renamed[kid] = keyid_of(key)
        keys[renamed[kid]] = key
    signed["keys"] = keys
    for role in signed["roles"].values():
        role["keyids"] = [renamed[k] for k in role["keyids"]]
    pending = workdir / "hostile.json"
    pending.write_text(json.dumps({"data": {"metadata": {"root": {"signed": signed, "signatures": []}}}}))
    r = run_cli("import", "rstuf", pending, "--out", workdir / "req.json")
    assert r.exit_code == 0, r.output + r.stderr
    assert "FIRST ROOT" in r.output
    assert "alice\\x1b[2J\\x0a[bold]evil[/bold]\\u202e" in r.output
    for bad in ("\x1b", "\u202e", "\nevil"):
        assert bad not in r.output + r.stderr
