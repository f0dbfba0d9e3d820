"""Issue 9 with a real PKCS#11 token (SoftHSM2): one token key listed under
two keyids must not reach a threshold of 2 (docs/threat-model.md)."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

from securesystemslib.signer import SSlibKey
from tuf.api.metadata import Metadata, Targets

from tests.fixtures_core import run_cli, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM, cli_token_key, pin_handler
from tests.test_threat_trust import assert_refused, key_json, payload, read, write_forged
from tuf_ceremony.keys import keyid_of
from tuf_ceremony.policy import check_delegate


def test_attack_token_key_counted_twice(pkcs11_fresh: SoftHSM, workdir: Path) -> None:
    """The request gives targets to one token key under two keyids (the key,
    and the key with a custom field) with threshold 2. Signed by the one
    token under both keyids, python-tuf accepts the targets; the one policy
    counts one key, and ``sign`` with the token refuses the request."""
    from tuf_ceremony.signers import open_key_source

    token = f"threat-{uuid.uuid4().hex[:8]}"
    uri = f"pkcs11:token={token};object=targets"
    cli_token_key(pkcs11_fresh, token, uri, workdir / "tok.pub.json")
    plan = write_plan(workdir / "plan.toml", targets=(["tok"], 1), keys=["alice", "bob", "carol", "tok", "online"])
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0

    doc = read(req)
    root = payload(doc, "root")["signed"]
    tok = key_json(workdir, "tok")
    tok2 = {**tok, "x-slot": "backup"}
    k1, k2 = keyid_of(tok), keyid_of(tok2)
    root["keys"][k2] = tok2
    root["roles"]["targets"] = {"keyids": [k1, k2], "threshold": 2}
    doc["keys"][k2] = {"name": "tok-backup", "key": tok2}
    forged = write_forged(workdir / "forged.json", doc)

    # before: the token signs the targets under both keyids; python-tuf counts 2
    new_root = Metadata.from_dict({"signed": copy.deepcopy(root), "signatures": []}).signed
    targets = Metadata[Targets].from_dict(
        {"signed": copy.deepcopy(payload(doc, "targets")["signed"]), "signatures": []}
    )
    source = open_key_source(uri, pin_handler())
    for kid, kd in ((k1, tok), (k2, tok2)):
        key = SSlibKey.from_dict(kid, copy.deepcopy(kd))
        targets.sign(source.signer_for(key), append=True)
    new_root.verify_delegate("targets", targets.signed_bytes, targets.signatures)
    result = check_delegate(new_root, "targets", targets.signed_bytes, targets.signatures)
    assert len(result.signed) == 1 and not result.met and result.duplicate_keys == ((k1, k2),)

    # now: refused before the PIN is asked, nothing written
    r = run_cli("sign", forged, "--key", uri, "--out", workdir / "tok.bundle.json", "--yes", input=USER_PIN + "\n")
    assert_refused(r, 3, forged, f"keyids {k1[:16]} and {k2[:16]} are the same public key")
    assert not (workdir / "tok.bundle.json").exists()
    # the honest request signs with the token, once for targets
    r = run_cli("sign", req, "--key", uri, "--out", workdir / "tok.bundle.json", "--yes", input=USER_PIN + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    bundle = read(workdir / "tok.bundle.json")
    assert [(s["role"], s["keyid"]) for s in bundle["signatures"]] == [("targets", k1)]
