"""Attestation policy edges, through the CLI: a keyholder's own attested key
never acts as a device certificate (even when every CA above it is given
with --roots), a PIV device certificate must look like an f9 one, the U2F
root counts only directly above a certificate it named an f9 certificate,
and the signing screen judges validity by the keyholder's clock too, not
only by the request's (untrusted) creation time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from cryptography import x509

from tests.attestation_forge import (
    PIV,
    Issuer,
    copied_extensions,
    forged_hsm,
    issue,
    load,
    name,
    new_key,
    pem,
    piv_files,
    self_signed,
    write_cert,
    write_public,
)
from tests.fixtures_core import PASSPHRASES, run_cli
from tests.fixtures_softhsm import SoftHSM
from tests.test_attestation_plan import _plan


def verify(*args: str | Path) -> Result:
    return run_cli("key", "verify-attestation", *args)


def _refused(r: Result, *fragments: str) -> None:
    out = " ".join(r.output.split())
    assert r.exit_code == 1, out
    assert "Traceback" not in out
    for f in fragments:
        assert f in out, out


def test_attested_hsm_key_used_as_a_ca_is_refused(tmp_path: Path) -> None:
    """The holder of a (here: forged, trusted with --roots) attested YubiHSM
    key signs an 'attestation' of a software key with it. Even with the
    Sub-CA trusted at any place (--roots), the attested key is no device."""
    forged = forged_hsm()
    roots, _pub, files = forged.write(tmp_path)
    subca_roots = tmp_path / "root-and-subca.pem"
    subca_roots.write_bytes(roots.read_bytes() + pem(forged.subca.cert))
    # control: the forged chain itself verifies under its own roots
    ok = verify(write_public(tmp_path / "att.pub.pem", forged.leaf_key), *files, "--roots", subca_roots)
    assert ok.exit_code == 0, ok.output
    software = new_key()
    real_leaf = load(
        Path(__file__).parent / "data" / "psf-2020-ceremony" / "0013200460" / "0013200460_root_attestation.der"
    )
    fake = issue(
        name("YubiHSM Attestation id:0x0009"),
        software.public_key(),
        Issuer(forged.leaf, forged.leaf_key),
        forged.leaf_key,
        ca=None,
        extensions=copied_extensions(real_leaf, {}),
    )
    pub = write_public(tmp_path / "software.pub.pem", software)
    r = verify(pub, write_cert(tmp_path / "fake.pem", fake), *files, "--roots", subca_roots)
    _refused(
        r,
        "which is not a device certificate (it is itself a key attestation)",
        "only the device's attestation key may attest a key",
    )


def _forged_piv(
    tmp_path: Path, *, f9_cn: str = "Yubico PIV Attestation", f9_yubico_ext: bool = True
) -> tuple[Path, Path, list[Path], Issuer, Issuer]:
    """A YubiKey-like chain under a self-made root: root -> f9 -> slot 9c."""
    _real_pub, (real_leaf_file, real_f9_file) = piv_files("13078778")
    real_leaf, real_f9 = load(real_leaf_file), load(real_f9_file)
    root = self_signed("Yubico PIV Root CA Serial 263751")
    f9_key = new_key()
    f9 = issue(
        name(f9_cn),
        f9_key.public_key(),
        root,
        root.key,
        extensions=copied_extensions(real_f9, {}) if f9_yubico_ext else [],
    )
    slot_key = new_key()
    leaf = issue(
        real_leaf.subject,
        slot_key.public_key(),
        Issuer(f9, f9_key),
        f9_key,
        ca=None,
        extensions=copied_extensions(real_leaf, {}),
    )
    roots = write_cert(tmp_path / "piv-root.pem", root.cert)
    pub = write_public(tmp_path / "slot.pub.pem", slot_key)
    files = [write_cert(tmp_path / "slot.pem", leaf), write_cert(tmp_path / "f9.pem", f9)]
    return roots, pub, files, Issuer(leaf, slot_key), root


def test_attested_yubikey_key_used_as_a_ca_is_refused(tmp_path: Path) -> None:
    roots, pub, files, slot, _root = _forged_piv(tmp_path)
    ok = verify(pub, *files, "--roots", roots)
    assert ok.exit_code == 0, ok.output
    software = new_key()
    fake = issue(
        name("YubiKey PIV Attestation 9c"),
        software.public_key(),
        slot,
        slot.key,
        ca=None,
        extensions=copied_extensions(slot.cert, {}),
    )
    both = tmp_path / "root-and-f9.pem"
    both.write_bytes(roots.read_bytes() + files[1].read_bytes())
    r = verify(
        write_public(tmp_path / "sw.pub.pem", software),
        write_cert(tmp_path / "fake.pem", fake),
        *files,
        "--roots",
        both,
    )
    _refused(r, "'CN=YubiKey PIV Attestation 9c' from", "it is itself a key attestation")


def test_piv_device_certificate_must_state_its_firmware(tmp_path: Path) -> None:
    """A certificate without Yubico's f9 extension (for example a FIDO batch
    certificate) does not attest PIV keys."""
    roots, pub, files, _slot, _root = _forged_piv(tmp_path, f9_yubico_ext=False)
    _refused(verify(pub, *files, "--roots", roots), "a YubiKey f9 certificate states the firmware (.3.3)")


def test_u2f_root_only_directly_above_an_f9_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The U2F root mostly signs FIDO batch certificates: a certificate under
    it counts as a device certificate only when it is named as an f9 one. The
    forged root stands in for the U2F root here (its fingerprint is put in the
    set the rule applies to); the real 2018 sample keeps verifying."""
    from tuf_ceremony.attestation import verify as verify_mod

    roots, pub, files, _slot, root = _forged_piv(tmp_path, f9_cn="Yubico U2F EE Serial 1234")
    from cryptography.hazmat.primitives import hashes

    monkeypatch.setattr(
        verify_mod, "F9_ONLY_ROOTS", {*verify_mod.F9_ONLY_ROOTS, root.cert.fingerprint(hashes.SHA256()).hex()}
    )
    _refused(
        verify(pub, *files, "--roots", roots),
        "which is trusted only directly above a YubiKey f9 certificate",
        "FIDO/U2F attestation certificates",
    )
    good = tmp_path / "good"
    good.mkdir()
    roots2, pub2, files2, _s, root2 = _forged_piv(good)
    monkeypatch.setattr(
        verify_mod, "F9_ONLY_ROOTS", {*verify_mod.F9_ONLY_ROOTS, root2.cert.fingerprint(hashes.SHA256()).hex()}
    )
    ok = verify(pub2, *files2, "--roots", roots2)
    assert ok.exit_code == 0, ok.output
    d = PIV / "go-piv-2018-u2f-root"
    leaf = load(d / "key_cert.pem")
    from cryptography.hazmat.primitives import serialization

    real_pub = tmp_path / "2018.pub.pem"
    real_pub.write_bytes(
        leaf.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    r = verify(real_pub, d / "key_cert.pem", d / "device_cert.pem", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["root"]["subject"] == "CN=Yubico U2F Root CA Serial 457200631"


def test_sign_judges_validity_by_the_keyholders_clock(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request says it was made in 2026, when the PSF chains were valid;
    the keyholder's clock says 2072, after they expired (2071-10-05): the
    screen says NOT VERIFIED rather than trusting the request's date."""
    from tuf_ceremony.attestation import evidence

    plan = _plan(workdir)
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    monkeypatch.setattr(evidence, "_NOW", [datetime(2072, 1, 1, tzinfo=UTC)])
    monkeypatch.setattr(evidence, "_CHECKS", {})
    s = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "a.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    out = " ".join(s.output.split())
    assert "hardware: NOT VERIFIED: certificate" in out, out
    assert "expired on 2071-10-05" in out
    assert "generated on device, not exportable" not in out


def test_key_attestation_subjects_are_not_device_names() -> None:
    """Guard for the test data: every real f9 certificate carries .3.3 and
    no .3.8 (what the device rule relies on)."""
    for folder in sorted(PIV.iterdir()):
        f9 = next(folder.glob("*device_cert.pem"))
        exts = {e.oid.dotted_string for e in load(f9).extensions if isinstance(e.value, x509.UnrecognizedExtension)}
        assert "1.3.6.1.4.1.41482.3.3" in exts and "1.3.6.1.4.1.41482.3.8" not in exts


def test_slot_9a_attestation_labelled_as_9c_is_shown_as_9a(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    """A token (untrusted: labels and CKA_IDs are anyone's to set) holds a
    key under slot 9c's id and label, with a slot *9a* attestation labelled
    as 9c's. The slot shown is the one the device signed (the attestation's
    subject), never the label or id: the 2018 sample says 9a, PIN once."""
    import uuid

    from cryptography.hazmat.primitives import serialization

    from tests.test_attestation_pkcs11 import _store_objects
    from tuf_ceremony.signers.pkcs11 import close_sessions

    d = PIV / "go-piv-2018-u2f-root"
    leaf = load(d / "key_cert.pem")
    pub = tmp_path / "9a.pub.pem"
    pub.write_bytes(
        leaf.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    label = f"ykpiv-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(label)
    _store_objects(
        pkcs11_fresh,
        label,
        pub,
        b"\x02",
        "Public key for Digital Signature",
        [
            ("X.509 Certificate for PIV Attestation 9c", b"\x02", d / "key_cert.pem"),
            ("X.509 Certificate for PIV Attestation", b"\x19", d / "device_cert.pem"),
        ],
    )
    close_sessions()
    out = tmp_path / "evidence"
    r = run_cli("key", "attest", f"pkcs11:token={label};id=%02", "--out", out)
    assert r.exit_code == 0, r.output
    assert "slot 9a, generated on device, PIN once, touch never" in r.output, r.output
    assert "slot 9c" not in r.output
