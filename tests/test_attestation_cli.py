"""`tuf-ceremony key verify-attestation`: the real PSF 2020 YubiHSM 2 and
Sigstore YubiKey attestations verify; forged, foreign, mismatched, imported,
exportable, expired and broken ones are refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives import hashes, serialization

from tests.attestation_forge import (
    HSM_SERIALS,
    PIV,
    SIGSTORE_SERIALS,
    copied_extensions,
    expired,
    forged_hsm,
    issue,
    load,
    name,
    new_key,
    piv_files,
    psf_files,
    self_signed,
    write_cert,
    write_public,
)
from tests.fixtures_core import run_cli

ROOTS = Path(__file__).parent.parent / "tuf_ceremony" / "attestation" / "roots"


def verify(*args: str | Path) -> Result:
    return run_cli("key", "verify-attestation", *args)


@pytest.mark.parametrize("serial", HSM_SERIALS)
@pytest.mark.parametrize("role", ["root", "targets"])
def test_psf_yubihsm_attestations_verify(serial: str, role: str) -> None:
    pub, files = psf_files(serial, role)
    r = verify(pub, *files)
    assert r.exit_code == 0, r.output
    number = int(serial)
    assert f"attested: YubiHSM 2 serial {number}, generated on device, not exportable" in r.output
    assert "origin: generated on device (0x01)" in r.output
    assert "capabilities: sign-ecdsa" in r.output
    assert "exportable under wrap: no" in r.output
    assert f"label: tuf-{role}" in r.output
    assert "CN=Yubico YubiHSM 6742036 Sub-CA  [bundled]" in r.output
    assert "root: CN=Yubico YubiHSM Root CA" in r.output
    # files may come in any order
    r2 = verify(pub, *reversed(files))
    assert r2.exit_code == 0, r2.output


def test_psf_json() -> None:
    pub, files = psf_files("0013200461", "root")
    r = verify(pub, *files, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["valid"] is True and doc["kind"] == "yubihsm2"
    assert doc["serial"] == 13200461 and doc["firmware"] == "2.1.2"
    claims = doc["claims"]
    assert claims["origin"] == 1 and claims["generated_on_device"] is True
    assert claims["exportable_under_wrap"] is False
    assert claims["object_id"] == 3 and claims["label"] == "tuf-root"
    assert claims["domains"] == [1]
    assert doc["root"]["fingerprint"] == ("094a3ac493c2bdcd65a54bdf40190f52bb03f7156397a3fc69d8aa9a392fb724")
    assert [c["subject"] for c in doc["chain"]] == [
        "CN=YubiHSM Attestation id:0x0003",
        "CN=YubiHSM Attestation (13200461)",
        "CN=Yubico YubiHSM 6742036 Sub-CA",
        "CN=Yubico YubiHSM Root CA",
    ]


@pytest.mark.parametrize("serial", SIGSTORE_SERIALS)
def test_sigstore_yubikey_attestations_verify(serial: str) -> None:
    pub, files = piv_files(serial)
    r = verify(pub, *files, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["kind"] == "yubikey-piv" and doc["serial"] == int(serial)
    assert doc["slot"] == "9c"
    assert doc["claims"]["pin_policy"] == "always"
    assert doc["claims"]["touch_policy"] == "always"
    assert doc["root"]["subject"] == "CN=Yubico PIV Root CA Serial 263751"
    assert doc["warnings"] == []


def test_yubikey_text_output() -> None:
    pub, files = piv_files("13078778")
    r = verify(pub, *files)
    assert r.exit_code == 0, r.output
    assert ("attested: YubiKey serial 13078778 slot 9c, generated on device, PIN always, touch always") in r.output
    assert "firmware 5.2.6, form factor USB-C keychain" in r.output


def test_new_pki_firmware_574() -> None:
    pub, files = piv_files("32718477")
    r = verify(pub, *files, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["firmware"] == "5.7.4" and doc["slot"] == "9a"
    assert [c["subject"] for c in doc["chain"]][2:] == [
        "CN=Yubico PIV Attestation B 1",
        "CN=Yubico Attestation Intermediate B 1",
        "CN=Yubico Attestation Root 1",
    ]
    assert "touch policy 'never': the key signs without a touch" in doc["warnings"]


def test_old_samples_strict_x509_rejects_are_accepted_by_signature() -> None:
    """5970478: f9 without basicConstraints; 2018: f9 under the U2F root
    (pathLen 0). Both are signed by Yubico: accepted (docs/hardware.md)."""
    pub, files = piv_files("5970478")
    r = verify(pub, *files, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["serial"] == 5970478


def test_2018_u2f_root_sample(tmp_path: Path) -> None:
    d = PIV / "go-piv-2018-u2f-root"
    leaf = load(d / "key_cert.pem")
    pub = tmp_path / "k.pem"
    pub.write_bytes(
        leaf.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    r = verify(pub, d / "key_cert.pem", d / "device_cert.pem", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["root"]["subject"] == "CN=Yubico U2F Root CA Serial 457200631"
    assert doc["serial"] is None
    assert "the attestation states no device serial (.3.7)" in doc["warnings"]


# --- refusals -------------------------------------------------------------------------------


def refused(r: Result, *fragments: str, code: int = 1) -> None:
    out = r.output
    assert r.exit_code == code, out
    assert "Traceback" not in out
    for f in fragments:
        assert f in out, out


def test_attestation_for_another_key() -> None:
    pub, _ = psf_files("0013200460", "targets")
    _, files = psf_files("0013200460", "root")
    refused(verify(pub, *files), "attests another key", "0013200460_root_attestation.der")
    # a Sigstore keyholder's slot certificate with another keyholder's key
    pub2, _ = piv_files("14454335")
    _, files2 = piv_files("13078778")
    refused(verify(pub2, *files2), "attests another key")


def test_json_refusal() -> None:
    pub, _ = psf_files("0013200460", "targets")
    _, files = psf_files("0013200460", "root")
    r = verify(pub, *files, "--json")
    assert r.exit_code == 1
    doc = json.loads(r.output[: r.output.rindex("}") + 1])
    assert doc["valid"] is False and "attests another key" in doc["reason"]


def test_cross_device_f9_swap() -> None:
    """Every f9 certificate has the same name: the issuer is found by
    signature, and another device's f9 does not sign this slot certificate."""
    pub, (leaf, _) = piv_files("13078778")
    _, (_, other_f9) = piv_files("14454335")
    refused(verify(pub, leaf, other_f9), "is not signed by the device certificate given", "another device")


def test_device_certificate_missing() -> None:
    pub, (leaf, _) = psf_files("0013200462", "root")
    refused(verify(pub, leaf), "device certificate that signed", "is missing", "CN=YubiHSM Attestation (13200462)")


def test_self_made_ca_copying_yubico_names(tmp_path: Path) -> None:
    """A self-made 'Yubico YubiHSM Root CA' and Sub-CA, with the real device
    key's certificate re-issued under them: names match, keys do not."""
    real_device = load(psf_files("0013200460", "root")[1][1])
    root = self_signed("Yubico YubiHSM Root CA")
    subca_key = new_key()
    subca = issue(name("Yubico YubiHSM 6742036 Sub-CA"), subca_key.public_key(), root, root.key)
    from tests.attestation_forge import Issuer

    device = issue(
        real_device.subject,
        real_device.public_key(),
        Issuer(subca, subca_key),
        subca_key,
        extensions=copied_extensions(real_device, {}),
    )
    pub, (leaf, _) = psf_files("0013200460", "root")
    files = [
        leaf,
        write_cert(tmp_path / "device.pem", device),
        write_cert(tmp_path / "subca.pem", subca),
        write_cert(tmp_path / "root.pem", root.cert),
    ]
    refused(
        verify(pub, *files),
        "names 'CN=Yubico YubiHSM 6742036 Sub-CA' (bundled) as its issuer, but the signature does not verify",
        "not a genuine Yubico chain",
    )


def test_self_made_piv_root_copying_yubico_name(tmp_path: Path) -> None:
    real_f9 = load(piv_files("13078778")[1][1])
    fake = self_signed("Yubico PIV Root CA Serial 263751")
    f9 = issue(real_f9.subject, real_f9.public_key(), fake, fake.key, extensions=copied_extensions(real_f9, {}))
    pub, (leaf, _) = piv_files("13078778")
    files = [leaf, write_cert(tmp_path / "f9.pem", f9), write_cert(tmp_path / "r.pem", fake.cert)]
    refused(verify(pub, *files), "'CN=Yubico PIV Root CA Serial 263751' (bundled)", "signature does not verify")


def test_forged_chain_refused_without_its_root_accepted_with_roots(tmp_path: Path) -> None:
    """Control: a forged chain with good claims is refused against the
    bundled roots and verifies only when its root is given with --roots."""
    roots, pub, files = forged_hsm().write(tmp_path)
    refused(verify(pub, *files), "not a genuine Yubico chain")
    r = verify(pub, *files, "--roots", roots)
    assert r.exit_code == 0, r.output
    assert "given with --roots" in r.output


def test_imported_key_refused(tmp_path: Path) -> None:
    roots, pub, files = forged_hsm(origin=bytes.fromhex("03020002")).write(tmp_path)
    refused(verify(pub, *files, "--roots", roots), "not generated on the YubiHSM 2", "origin imported (0x02)")


def test_imported_under_wrap_refused(tmp_path: Path) -> None:
    roots, pub, files = forged_hsm(origin=bytes.fromhex("03020011")).write(tmp_path)
    refused(verify(pub, *files, "--roots", roots), "not generated on the YubiHSM 2", "imported under wrap (0x11)")


def test_exportable_key_refused(tmp_path: Path) -> None:
    roots, pub, files = forged_hsm(capabilities=bytes.fromhex("0309000000000000010080")).write(tmp_path)
    refused(verify(pub, *files, "--roots", roots), "exportable-under-wrap capability")


def test_expired_chain_refused(tmp_path: Path) -> None:
    roots, pub, files = forged_hsm(not_after=expired()).write(tmp_path)
    refused(verify(pub, *files, "--roots", roots), "expired on")


def test_real_chain_at_times_outside_validity() -> None:
    pub, files = psf_files("0013200460", "root")
    refused(verify(pub, *files, "--at", "2072-01-01T00:00:00Z"), "expired on 2071-10-05")
    refused(verify(pub, *files, "--at", "2016-06-01T00:00:00Z"), "not valid before 2017-01-01")
    ok = verify(pub, *files, "--at", "2030-01-01T00:00:00Z")
    assert ok.exit_code == 0, ok.output


def test_tampered_attestation_refused(tmp_path: Path) -> None:
    pub, (leaf, device) = psf_files("0013200461", "targets")
    data = bytearray(leaf.read_bytes())
    data[-5] ^= 0x01  # inside the signature
    bad = tmp_path / "tampered.der"
    bad.write_bytes(bytes(data))
    refused(verify(pub, bad, device), "is not signed by the device certificate given")


def test_wrong_anchor(tmp_path: Path) -> None:
    pub, files = piv_files("32718477")
    refused(
        verify(pub, *files, "--roots", ROOTS / "yubico-piv-root-ca-263751.pem"),
        "does not lead to a trusted YubiKey PIV root",
    )
    pub2, files2 = piv_files("13078778")
    refused(
        verify(pub2, *files2, "--roots", ROOTS / "yubico-attestation-root-1.pem"),
        "does not lead to a trusted YubiKey PIV root",
    )
    # a YubiHSM chain does not end at a YubiKey root, nor the reverse
    pub3, files3 = psf_files("0013200460", "root")
    refused(
        verify(pub3, *files3, "--roots", ROOTS / "yubico-piv-root-ca-263751.pem"),
        "does not lead to a trusted YubiHSM 2 root",
    )


def test_add_roots_keeps_bundled(tmp_path: Path) -> None:
    roots, pub, files = forged_hsm().write(tmp_path)
    r = verify(pub, *files, "--add-roots", roots)
    assert r.exit_code == 0, r.output
    pub2, files2 = psf_files("0013200460", "root")
    r2 = verify(pub2, *files2, "--add-roots", roots)
    assert r2.exit_code == 0, r2.output
    # --roots replaces: the real PSF chain no longer verifies
    refused(verify(pub2, *files2, "--roots", roots), "does not lead to a trusted")


def test_not_an_attestation_certificate(tmp_path: Path) -> None:
    key = new_key()
    root = self_signed("Some CA")
    leaf = issue(name("plain"), key.public_key(), root, root.key, ca=None)
    pub = write_public(tmp_path / "k.pem", key)
    refused(verify(pub, write_cert(tmp_path / "c.pem", leaf)), "holds the key but is not a Yubico key attestation")


def test_malformed_files_exit_3(tmp_path: Path) -> None:
    pub, files = psf_files("0013200460", "root")
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03\x02\x01")
    refused(verify(pub, junk, files[1]), "junk.der", "not an X.509 certificate", code=3)
    refused(verify(pub, pub), "holds no PEM certificate", code=3)
    refused(verify(pub, tmp_path / "missing.der"), "not found", code=3)
    bad_roots = tmp_path / "roots.pem"
    bad_roots.write_bytes(b"nothing")
    refused(verify(pub, *files, "--roots", bad_roots), "not an X.509 certificate", code=3)


def test_bad_at_is_usage_error() -> None:
    pub, files = psf_files("0013200460", "root")
    r = verify(pub, *files, "--at", "yesterday")
    assert r.exit_code == 2
    # the one --at parser's message (timeutil.parse_at): no durations offered
    assert "'yesterday' is neither a date" in r.output and "duration" not in r.output
    assert "Traceback" not in r.output


def test_bundled_roots_manifest() -> None:
    """Each bundled file's SHA-256 and fingerprint match the manifest, and
    the roots are the fingerprints Yubico publishes."""
    import hashlib

    manifest = json.loads((ROOTS / "manifest.json").read_text())
    files = {e["file"]: e for e in manifest["certificates"]}
    assert set(files) == {p.name for p in ROOTS.glob("*.pem")}
    for f, e in files.items():
        data = (ROOTS / f).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"]
        from cryptography import x509

        assert x509.load_pem_x509_certificate(data).fingerprint(hashes.SHA256()).hex() == e["fingerprint"]
        assert e["origin"]
    assert files["yubihsm2-root-ca.pem"]["fingerprint"].startswith("094a3ac4")
    assert files["yubico-piv-root-ca-263751.pem"]["fingerprint"].startswith("63ece914")
    assert files["yubico-attestation-root-1.pem"]["fingerprint"].startswith("62760c6a")


def test_damaged_bundle_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundled root file that differs from the manifest is an error, not a
    new trust anchor."""
    import importlib.resources
    import shutil

    copy = tmp_path / "roots"
    shutil.copytree(ROOTS, copy)
    p = copy / "yubico-piv-root-ca-263751.pem"
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))

    class Files:
        def __truediv__(self, other: str) -> Path:
            return tmp_path / other

    monkeypatch.setattr(importlib.resources, "files", lambda _pkg: Files())
    pub, files = piv_files("13078778")
    refused(
        verify(pub, *files),
        "bundled attestation roots are damaged",
        "yubico-piv-root-ca-263751.pem: SHA-256 differs",
        code=3,
    )


def test_validity_uses_utc() -> None:
    pub, files = psf_files("0013200460", "root")
    r = verify(pub, *files, "--json", "--at", "2071-10-04T23:00:00-02:00")
    assert r.exit_code == 1  # 2071-10-05T01:00Z is past notAfter
    assert "expired on 2071-10-05T00:00:00Z" in json.loads(r.output[: r.output.rindex("}") + 1])["reason"]


def test_at_takes_a_date_as_midnight_utc() -> None:
    """`--at 2026-11-01` works here as in every command that has --at (issue 10)."""
    pub, files = psf_files("0013200461", "root")
    r = verify(pub, *files, "--at", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert "checked at: 2026-11-01T00:00:00Z" in r.output
    r = verify(pub, *files, "--at", "1990-01-01")  # before the certificates were issued
    assert r.exit_code == 1
    for command in (("key", "verify-attestation"), ("key", "attest")):
        h = run_cli(*command, "--help")
        assert "a date" in " ".join(h.output.split()), h.output
