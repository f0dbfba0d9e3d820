"""`tuf-ceremony verify --attestations DIR`: which root and targets keys of
the newest root come with a valid hardware attestation, on Sigstore's
published root history with its keyholders' YubiKey attestations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.attestation_forge import PIV, forged_hsm, piv_files, write_cert
from tests.fixtures_core import run_cli

HISTORY = Path(__file__).parent / "data" / "sigstore-root-history"
# root version 15's root/targets keys and the YubiKeys that attest them
ATTESTED_V15 = {
    "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2": 14470876,
    "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06": 15938765,
    "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222": 15938791,
    "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70": 18158855,
}
# v15 expired 2026-11-20; judge the history before that
AT = "2026-11-01T00:00:00Z"


def _json(output: str) -> dict[str, Any]:
    doc = json.loads(output[: output.rindex("}") + 1])
    assert isinstance(doc, dict)
    return doc


def test_sigstore_history_shows_which_keys_are_attested_yubikeys() -> None:
    r = run_cli("verify", HISTORY, "--attestations", PIV, "--at", AT, "--json")
    assert r.exit_code == 0, r.output
    doc = _json(r.output)["attestations"]
    assert doc["root_version"] == 15
    keys = {k["keyid"]: k for k in doc["keys"]}
    assert len(keys) == 5 and doc["attested"] == 4
    for kid, serial in ATTESTED_V15.items():
        k = keys[kid]
        assert k["attested"] is True and set(k["roles"]) == {"root", "targets"}
        assert k["attestation"]["serial"] == serial
        assert k["attestation"]["claims"]["pin_policy"] == "always"
        assert k["attestation"]["claims"]["touch_policy"] == "always"
    (missing,) = [k for k in keys.values() if not k["attested"]]
    assert missing["reason"] == "no attestation given"
    assert missing["name"] == "@lance"


def test_text_report() -> None:
    r = run_cli("verify", HISTORY, "--attestations", PIV, "--at", AT)
    assert r.exit_code == 0, r.output
    assert "Hardware attestation (root version 15: 4 of 5 keys attested)" in r.output
    assert "@joshuagl (a687e5bf4fab)" in r.output
    assert "YubiKey serial 18158855 slot 9c, generated on device" in r.output
    assert "no attestation given" in r.output


def test_matched_by_key_material_not_file_names(tmp_path: Path) -> None:
    """Files renamed and flattened, plus a forged attestation for a Sigstore
    key: only genuine ones count."""
    d = tmp_path / "att"
    d.mkdir()
    for i, serial in enumerate(("14470876", "15938765")):
        _, (slot, f9) = piv_files(serial)
        shutil.copy(slot, d / f"a{i}.pem")
        shutil.copy(f9, d / f"b{i}.crt")
    # a forged chain (Yubico's names, self-made root) certifying @joshuagl's key
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pub, _ = piv_files("18158855")
    key = load_pem_public_key(pub.read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    forged = forged_hsm(public=key)
    write_cert(d / "forged.pem", forged.leaf)
    write_cert(d / "forged-device.pem", forged.device.cert)
    write_cert(d / "forged-subca.pem", forged.subca.cert)
    (d / "notes.txt").write_text("not a certificate")
    r = run_cli("verify", HISTORY, "--attestations", d, "--at", AT, "--json")
    assert r.exit_code == 0, r.output
    doc = _json(r.output)["attestations"]
    keys = {k["keyid"]: k for k in doc["keys"]}
    assert doc["attested"] == 2
    joshua = keys["a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70"]
    assert joshua["attested"] is False
    assert joshua["reason"].startswith("refused: ")
    assert "signature does not verify" in joshua["reason"]
    assert doc["files_skipped"] == 1


def test_attestations_dir_missing() -> None:
    r = run_cli("verify", HISTORY, "--attestations", "/nonexistent-dir", "--at", AT)
    assert r.exit_code == 3, r.output
    assert "/nonexistent-dir: not a directory of attestation certificates" in r.output
    assert "Traceback" not in r.output
