"""`tuf-ceremony key attest` through real PKCS#11 (SoftHSM2).

SoftHSM2 cannot make attestations, so the tokens here hold the real
attestation certificates as certificate objects, labelled as Yubico's ykcs11
labels them, next to a public key object with the attested key: the fetching
path (find the key, pick its attestation and device certificate by content,
verify, write) runs exactly as on a YubiKey; `key verify-attestation` then
verifies the written files.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.attestation_forge import load, piv_files, psf_files
from tests.fixtures_core import run_cli
from tests.fixtures_softhsm import USER_PIN, SoftHSM


def _store_objects(
    hsm: SoftHSM, token: str, pub_pem: Path, key_id: bytes, key_label: str, certs: list[tuple[str, bytes, Path]]
) -> None:
    import pkcs11
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    public = load_pem_public_key(pub_pem.read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    curve = {"secp256r1": "secp256r1", "secp384r1": "secp384r1"}[public.curve.name]
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    octet = bytes([0x04, len(point)]) + point
    lib = pkcs11.lib(os.path.realpath(hsm.module))
    tok = lib.get_token(token_label=token)
    with tok.open(rw=True, user_pin=USER_PIN) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                Attribute.KEY_TYPE: KeyType.EC,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.ID: key_id,
                Attribute.LABEL: key_label,
                Attribute.VERIFY: True,
                Attribute.EC_PARAMS: encode_named_curve_parameters(curve),
                Attribute.EC_POINT: octet,
            }
        )
        for label, cert_id, path in certs:
            cert = load(path)
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.ID: cert_id,
                    Attribute.LABEL: label,
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.ISSUER: cert.issuer.public_bytes(),
                    Attribute.VALUE: cert.public_bytes(Encoding.DER),
                }
            )


@pytest.fixture
def ykpiv_token(pkcs11_fresh: SoftHSM) -> str:
    """A token laid out as ykcs11 shows a YubiKey whose slot 9c holds the key
    of Sigstore keyholder 13078778 (plus an unrelated f9 of another device,
    which must not be picked)."""
    label = f"ykpiv-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(label)
    pub, (slot_cert, f9) = piv_files("13078778")
    _, (_, other_f9) = piv_files("14454335")
    _store_objects(
        pkcs11_fresh,
        label,
        pub,
        b"\x02",
        "Public key for Digital Signature",
        [
            ("X.509 Certificate for PIV Attestation", b"\x19", other_f9),
            ("X.509 Certificate for PIV Attestation 9c", b"\x02", slot_cert),
            ("X.509 Certificate for PIV Attestation", b"\x19", f9),
        ],
    )
    from tuf_ceremony.signers.pkcs11 import close_sessions

    close_sessions()
    return label


def test_key_attest_yubikey_layout_then_verify(ykpiv_token: str, tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    r = run_cli("key", "attest", f"pkcs11:token={ykpiv_token};id=%02", "--out", out)
    assert r.exit_code == 0, r.output
    assert ("attested: YubiKey serial 13078778 slot 9c, generated on device, PIN always, touch always") in r.output
    assert f"read from key 'Public key for Digital Signature' on token '{ykpiv_token}'" in r.output
    for name in ("key-attestation.pem", "device-certificate.pem", "public-key.pem"):
        assert (out / name).is_file()
    # the device certificate written is the one that signed, not the other f9
    pub, (slot_cert, f9) = piv_files("13078778")
    assert load(out / "device-certificate.pem") == load(f9)
    assert load(out / "key-attestation.pem") == load(slot_cert)
    v = run_cli(
        "key", "verify-attestation", out / "public-key.pem", out / "key-attestation.pem", out / "device-certificate.pem"
    )
    assert v.exit_code == 0, v.output
    assert "serial 13078778" in v.output
    # the keyholder's own exported key is the same key
    v2 = run_cli("key", "verify-attestation", pub, out / "key-attestation.pem", out / "device-certificate.pem")
    assert v2.exit_code == 0, v2.output
    # never overwrites without --force
    again = run_cli("key", "attest", f"pkcs11:token={ykpiv_token};id=%02", "--out", out)
    assert again.exit_code == 7, again.output
    forced = run_cli("key", "attest", f"pkcs11:token={ykpiv_token};id=%02", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output


def test_key_attest_yubihsm_layout(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    """A YubiHSM 2 shows the device certificate as X.509 opaque object 0."""
    label = f"yubihsm-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(label)
    pub, (att, device) = psf_files("0013200460", "targets")
    _store_objects(
        pkcs11_fresh,
        label,
        pub,
        b"\x00\x04",
        "tuf-targets",
        [
            ("attestation", b"\x00\x00", device),
            ("tuf-targets", b"\x00\x04", att),
        ],
    )
    from tuf_ceremony.signers.pkcs11 import close_sessions

    close_sessions()
    out = tmp_path / "hsm"
    r = run_cli("key", "attest", f"pkcs11:token={label};object=tuf-targets", "--out", out)
    assert r.exit_code == 0, r.output
    assert "attested: YubiHSM 2 serial 13200460, generated on device, not exportable" in r.output
    v = run_cli("key", "verify-attestation", pub, out / "key-attestation.pem", out / "device-certificate.pem", "--json")
    assert v.exit_code == 0, v.output


def test_key_attest_refuses_before_writing(ykpiv_token: str, tmp_path: Path) -> None:
    """A chain that does not verify (here: only the new Yubico root trusted)
    writes nothing."""
    roots = Path(__file__).parent.parent / "tuf_ceremony" / "attestation" / "roots"
    out = tmp_path / "nothing"
    r = run_cli(
        "key",
        "attest",
        f"pkcs11:token={ykpiv_token};id=%02",
        "--out",
        out,
        "--roots",
        roots / "yubico-attestation-root-1.pem",
    )
    assert r.exit_code == 1, r.output
    assert "does not lead to a trusted YubiKey PIV root" in r.output
    assert not out.exists()


def test_key_attest_without_attestation_objects(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    """SoftHSM2's own keys have no attestation: the vendor commands are shown."""
    out = tmp_path / "x"
    r = run_cli("key", "attest", "pkcs11:token=tuf-test-a;object=p256", "--out", out)
    assert r.exit_code == 6, r.output
    assert "shows no attestation certificate for this key" in r.output
    # the slot follows ykcs11's ids (01 -> 9a, 02 -> 9c, ...)
    assert f"ykman piv keys attest 9a {out}/key-attestation.pem" in r.output
    assert f"ykman piv certificates export f9 {out}/device-certificate.pem" in r.output
    assert "yubihsm-shell -a sign-attestation-certificate -i 0x" in r.output
    assert "yubihsm-shell -a get-opaque -i 0" in r.output
    assert not out.exists()
