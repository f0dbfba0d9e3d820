"""RSTUF's own CLI computes a key's keyid before it adds x-rstuf-key-name
(repository_service_tuf/cli/admin/helpers.py: ``SSlibKey.from_crypto``, then
``unrecognized_fields[KEY_NAME_FIELD] = name``, then ``root.add_key``), so a
root made by RSTUF lists its keys under keyids that do not cover the whole
key. tuf-ceremony never signs such a root, but takes one as the *trusted*
root (matched by key material): the next root is made with tuf-ceremony,
RSTUF holds it pending, keyholders import, sign and send one signature per
keyid, and RSTUF's threshold rule (by keyid, trusted and new root) is met."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey
from tuf.api.metadata import Metadata, Root

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as
from tests.test_rstuf_cli import bootstrap_ceremony, rstuf_plan
from tuf_ceremony.keys import keyid_of


def _rstuf_made_root(workdir: Path) -> tuple[Path, dict[str, str]]:
    """Root v1 as RSTUF's CLI makes it: keyids over keytype, scheme and
    keyval only (the key still carries x-rstuf-key-name), signed by alice and
    bob under those keyids. Returns its directory and name -> legacy keyid."""
    meta = bootstrap_ceremony(workdir)
    doc = json.loads((meta / "1.root.json").read_text())
    signed = doc["signed"]
    renamed: dict[str, str] = {}
    for kid, key in list(signed["keys"].items()):
        renamed[kid] = keyid_of({k: key[k] for k in ("keytype", "scheme", "keyval")})
        signed["keys"][renamed[kid]] = signed["keys"].pop(kid)
    for role in signed["roles"].values():
        role["keyids"] = [renamed[k] for k in role["keyids"]]
    md: Metadata[Root] = Metadata.from_dict({"signed": signed, "signatures": []})
    legacy: dict[str, str] = {}
    for kid, key in md.signed.keys.items():
        name = key.unrecognized_fields["x-rstuf-key-name"]
        legacy[name] = kid
        if name in ("alice", "bob"):
            priv = load_pem_private_key((workdir / f"{name}.pem").read_bytes(), PASSPHRASES[name].encode())
            md.sign(CryptoSigner(priv, SSlibKey.from_dict(kid, key.to_dict())), append=True)
    out = workdir / "rstuf-meta"
    out.mkdir()
    md.to_file(str(out / "1.root.json"))
    return out, legacy


def _payload(path: Path) -> Any:
    return json.loads(path.read_text())


def test_rstuf_made_trusted_root_round_trip(workdir: Path) -> None:
    trusted, legacy = _rstuf_made_root(workdir)
    plan = rstuf_plan(workdir, "v2", ["alice", "bob", "carol"], 2)
    req2 = workdir / "req2.json"
    r = run_cli("prepare", plan, "--trusted", trusted, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    alice = sign_as(workdir, req2, "alice", workdir / "alice.b2.json")
    pending = workdir / "pending.json"
    r = run_cli("export", "rstuf", "pending", req2, alice, "--out", pending)
    assert r.exit_code == 0, r.output + r.stderr

    # the keyholder imports RSTUF's answer against their own copy of root v1
    imported = workdir / "imported.json"
    r = run_cli("import", "rstuf", pending, "--trusted", trusted, "--out", imported)
    assert r.exit_code == 0, r.output + r.stderr
    assert "lists 3 key(s) under keyids computed before x-rstuf-key-name was added" in " ".join(r.stderr.split())
    bob = sign_as(workdir, imported, "bob", workdir / "bob.b2.json")

    # one signature per call: the bundle holds bob's under both keyids
    out = workdir / "bob.sign.json"
    r = run_cli("export", "rstuf", "sign", imported, bob, "--out", out)
    assert r.exit_code == 3 and "holds 2 root signatures" in r.stderr
    assert "write one payload per keyid with --keyid" in r.stderr and not out.exists()
    new_kid = keyid_of(json.loads((workdir / "bob.rstuf.pub.json").read_text()))
    payloads = []
    for kid in (legacy["bob"], new_kid):
        p = workdir / f"bob.{kid[:8]}.json"
        r = run_cli("export", "rstuf", "sign", imported, bob, "--out", p, "--keyid", kid[:10])
        assert r.exit_code == 0, r.output + r.stderr
        payloads.append(_payload(p))
        assert payloads[-1]["signature"]["keyid"] == kid
    r = run_cli("export", "rstuf", "sign", imported, bob, "--out", workdir / "x.json", "--keyid", "ffff")
    assert r.exit_code == 3 and "--keyid ffff matches 0 of the root signatures" in r.stderr

    # RSTUF's rule (worker sign_metadata): a signature counts by keyid, and
    # both the trusted root's and the new root's thresholds must be met
    v1: Metadata[Root] = Metadata.from_file(str(trusted / "1.root.json"))
    md: Metadata[Root] = Metadata.from_dict(_payload(pending)["data"]["metadata"]["root"])
    assert not _meets(v1, md)
    for p in payloads:
        sig = Signature.from_dict(dict(p["signature"]))
        md.signatures[sig.keyid] = sig
    assert _meets(v1, md)


def _meets(trusted: Metadata[Root], md: Metadata[Root]) -> bool:
    from tuf.api.exceptions import UnsignedMetadataError

    try:
        trusted.verify_delegate("root", md)
        md.verify_delegate("root", md)
    except UnsignedMetadataError:
        return False
    return True
