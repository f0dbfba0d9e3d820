"""Key types and encodings: the one KEY_TYPES table, the one EC point decoder
(metadata hex points and PKCS#11 CKA_EC_POINT alike), python-pkcs11's EC
parameter encoding, and the version check of the function list C_Login goes
through (on a real SoftHSM2 module)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.fixtures_softhsm import SoftHSM
from tuf_ceremony.keytypes import (
    KEY_TYPES,
    decode_ec_point,
    decode_ed25519_point,
    ec_curve,
    ec_curve_for_scheme,
    kind_of,
)
from tuf_ceremony.signers import software
from tuf_ceremony.signers.pkcs11 import KEY_TYPES as PKCS11_KEY_TYPES
from tuf_ceremony.signers.pkcs11.encoding import der_signature, generation_for


def _der_octet_string(data: bytes) -> bytes:
    from asn1crypto.core import OctetString

    return bytes(OctetString(data).dump())


def test_one_key_types_table() -> None:
    assert PKCS11_KEY_TYPES is KEY_TYPES
    assert list(KEY_TYPES) == ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"]
    for name, kind in KEY_TYPES.items():  # software keys of every kind, named by the table
        public = software.generate_private_key(name).public_key()
        assert kind_of(public) == kind


@pytest.mark.parametrize("scheme", ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"])
def test_ec_point_decoder_reads_every_encoding(scheme: str) -> None:
    curve = ec_curve_for_scheme(scheme)
    public = ec.generate_private_key(curve).public_key()
    raw = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    compressed = public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    for encoded in (raw, compressed, _der_octet_string(raw), _der_octet_string(compressed)):
        assert decode_ec_point(curve, encoded) == public
    with pytest.raises(ValueError, match="EC point"):
        decode_ec_point(curve, raw[:-1])
    with pytest.raises(ValueError, match="EC point"):
        decode_ec_point(curve, _der_octet_string(raw[:-1]))
    assert kind_of(public).scheme == scheme


def test_ed25519_point_bare_or_wrapped() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert decode_ed25519_point(raw) == public
    assert decode_ed25519_point(_der_octet_string(raw)) == public
    with pytest.raises(ValueError):
        decode_ed25519_point(raw + b"\0")


def test_unsupported_curves_and_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported curve"):
        kind_of(ec.generate_private_key(ec.SECP256K1()).public_key())
    with pytest.raises(ValueError, match="unknown ECDSA scheme"):
        ec_curve_for_scheme("ecdsa-sha2-nistp999")
    with pytest.raises(ValueError, match="unsupported EC curve"):
        ec_curve("1.2.3.4")


def test_pkcs11_generation_parameters_come_from_python_pkcs11() -> None:
    from pkcs11.util.ec import encode_named_curve_parameters

    assert generation_for(KEY_TYPES["ecdsa-p256"]).ec_params == encode_named_curve_parameters("secp256r1")
    assert generation_for(KEY_TYPES["ecdsa-p384"]).ec_params == encode_named_curve_parameters("secp384r1")
    assert generation_for(KEY_TYPES["ed25519"]).ec_params == bytes.fromhex("06032b6570")
    assert generation_for(KEY_TYPES["rsa-3072"]).length == 3072


def test_ecdsa_signature_encoding() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = 12345, 67890
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert decode_dss_signature(der_signature(KEY_TYPES["ecdsa-p256"], raw)) == (r, s)
    assert der_signature(KEY_TYPES["ed25519"], raw) == raw
    with pytest.raises(ValueError):
        der_signature(KEY_TYPES["ecdsa-p256"], raw[:-1])


def test_login_goes_through_a_version_checked_function_list(pkcs11_fresh: SoftHSM) -> None:
    import pkcs11

    from tuf_ceremony.signers.pkcs11.sessions import lowlevel

    calls = lowlevel(pkcs11_fresh.module)
    assert calls.version[0] in (2, 3)
    # the function list is the module's own: its version is the cryptoki
    # version C_GetInfo reports through python-pkcs11
    assert calls.version == tuple(pkcs11.lib(pkcs11_fresh.module).cryptoki_version)


def test_direct_verify_is_securesystemslibs_rule_and_refuses_mismatched_kinds() -> None:
    """keytypes.direct_verify (verify's Ed25519 and legacy ECDSA keys, the
    PKCS#11 signer's check) agrees with securesystemslib on P-521 too, and
    refuses a key of another kind than its scheme's."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from securesystemslib.signer import Signature, SSlibKey

    from tuf_ceremony.keytypes import direct_verify

    priv = ec.generate_private_key(ec.SECP521R1())
    sig = priv.sign(b"data", ec.ECDSA(hashes.SHA512()))
    direct_verify(priv.public_key(), "ecdsa-sha2-nistp521", sig, b"data")
    key = SSlibKey.from_crypto(priv.public_key())
    key.verify_signature(Signature(key.keyid, sig.hex()), b"data")
    with pytest.raises(InvalidSignature):
        direct_verify(priv.public_key(), "ecdsa-sha2-nistp521", sig, b"other")
    ed = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="not verified directly"):
        direct_verify(ed.public_key(), "ecdsa-sha2-nistp256", ed.sign(b"data"), b"data")
    with pytest.raises(ValueError, match="not verified directly"):
        direct_verify(priv.public_key(), "rsassa-pss-sha256", sig, b"data")
