"""Key types and encodings on PKCS#11 tokens.

How each kind of :data:`tuf_ceremony.keytypes.KEY_TYPES` is generated and
signed with (mechanisms, EC_PARAMS, RSA-PSS parameters), and how a token's
public key attributes become a cryptography public key. EC parameters and
signatures go through python-pkcs11's :mod:`pkcs11.util.ec`; EC points through
the one decoder in :mod:`tuf_ceremony.keytypes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import MGF, Attribute, KeyType, Mechanism, Object
from pkcs11.util.ec import encode_ecdsa_signature, encode_named_curve_parameters
from securesystemslib.signer import Key, SSlibKey

from tuf_ceremony.keys import key_from_dict
from tuf_ceremony.keytypes import (
    ED25519_OID,
    KeyKind,
    decode_ec_point,
    decode_ed25519_point,
    ec_curve,
)

# RSASSA-PSS as TUF's rsassa-pss-sha256: SHA-256, MGF1-SHA-256, salt of 32 bytes.
RSA_PSS_PARAMS: tuple[Mechanism, MGF, int] = (Mechanism.SHA256, MGF.SHA256, 32)

# PKCS#11 v3.0 names Edwards curves by OID; v2.40-era modules by this
# PrintableString (RFC 8410 curve name).
_PRINTABLE_ED25519 = b"\x13\x0cedwards25519"


@dataclass(frozen=True)
class Generation:
    """How a token makes a key pair of one kind."""

    key_type: KeyType
    mechanism: Mechanism
    sign_mechanisms: frozenset[Mechanism]  # the token needs one of these
    length: int | None  # RSA modulus bits; None for EC
    ec_params: bytes | None  # DER EC_PARAMS of the public key template


def generation_for(kind: KeyKind) -> Generation:
    """The key-pair generation of a kind from the KEY_TYPES table."""
    if kind.keytype == "ed25519":
        return Generation(
            KeyType.EC_EDWARDS,
            Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            frozenset({Mechanism.EDDSA}),
            None,
            encode_named_curve_parameters(ED25519_OID),
        )
    if kind.is_ec:
        assert kind.curve_oid is not None
        return Generation(
            KeyType.EC,
            Mechanism.EC_KEY_PAIR_GEN,
            frozenset({Mechanism.ECDSA, _ECDSA_ON_TOKEN[kind.hash_name or "sha256"]}),
            None,
            encode_named_curve_parameters(kind.curve_oid),
        )
    return Generation(
        KeyType.RSA,
        Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        frozenset({Mechanism.SHA256_RSA_PKCS_PSS, Mechanism.RSA_PKCS_PSS}),
        kind.bits,
        None,
    )


_ECDSA_ON_TOKEN: dict[str, Mechanism] = {
    "sha256": Mechanism.ECDSA_SHA256,
    "sha384": Mechanism.ECDSA_SHA384,
    "sha512": Mechanism.ECDSA_SHA512,
}


@dataclass(frozen=True)
class SignMechanism:
    """A mechanism, its parameter, and the digest to compute on the host
    first (None: the token hashes, or the scheme needs no digest)."""

    mechanism: Mechanism
    param: tuple[Mechanism, MGF, int] | None
    prehash: str | None


def sign_mechanism(kind: KeyKind, available: set[Mechanism], where: str) -> SignMechanism:
    """The mechanism to sign ``kind``'s scheme with, among the token's;
    ValueError naming what is missing."""
    if kind.keytype == "ed25519":
        if Mechanism.EDDSA not in available:
            raise ValueError(
                f"{where} cannot sign with Ed25519 (no CKM_EDDSA; YubiKeys before "
                "firmware 5.7 lack it): use an ecdsa-p256 key on this token"
            )
        return SignMechanism(Mechanism.EDDSA, None, None)
    if kind.is_ec:
        hash_name = kind.hash_name or "sha256"
        if Mechanism.ECDSA in available:  # hash on the host
            return SignMechanism(Mechanism.ECDSA, None, hash_name)
        on_token = _ECDSA_ON_TOKEN[hash_name]
        if on_token in available:
            return SignMechanism(on_token, None, None)
        raise ValueError(f"{where} cannot sign with ECDSA (no CKM_ECDSA)")
    if Mechanism.SHA256_RSA_PKCS_PSS in available:
        return SignMechanism(Mechanism.SHA256_RSA_PKCS_PSS, RSA_PSS_PARAMS, None)
    if Mechanism.RSA_PKCS_PSS in available:
        return SignMechanism(Mechanism.RSA_PKCS_PSS, RSA_PSS_PARAMS, "sha256")
    raise ValueError(f"{where} cannot sign with RSA-PSS (no CKM_RSA_PKCS_PSS)")


def der_signature(kind: KeyKind, raw: bytes) -> bytes:
    """The signature as TUF carries it: ECDSA's r||s from the token becomes
    DER (python-pkcs11's encoder); others are unchanged. ValueError when an
    ECDSA signature cannot be split."""
    if not kind.is_ec:
        return raw
    if not raw or len(raw) % 2:
        raise ValueError("malformed ECDSA signature")
    return bytes(encode_ecdsa_signature(raw))


def _curve_oid(params: bytes) -> str:
    from asn1crypto.keys import ECDomainParameters

    if params == _PRINTABLE_ED25519:
        return ED25519_OID
    try:
        decoded = ECDomainParameters.load(params, strict=True)
        if decoded.name != "named":
            raise ValueError("explicit curve parameters")
        return str(decoded.chosen.dotted)
    except (ValueError, TypeError) as e:
        raise ValueError(f"unreadable EC_PARAMS ({e})") from None


def public_from_attrs(obj: Object) -> PublicKeyTypes:
    """The cryptography public key of a token object (public key, or a
    private key exposing its public attributes); ValueError when the key
    type or curve is not one tuf-ceremony signs with."""
    key_type = obj[Attribute.KEY_TYPE]
    if key_type == KeyType.RSA:
        n = int.from_bytes(obj[Attribute.MODULUS], "big")
        e = int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if key_type not in (KeyType.EC, KeyType.EC_EDWARDS):
        raise ValueError(f"unsupported key type {key_type!r}")
    oid = _curve_oid(bytes(obj[Attribute.EC_PARAMS]))
    point = bytes(obj[Attribute.EC_POINT])
    if key_type == KeyType.EC_EDWARDS or oid == ED25519_OID:
        if oid != ED25519_OID:
            raise ValueError("unsupported Edwards curve (only Ed25519 is)")
        return decode_ed25519_point(point)
    return decode_ec_point(ec_curve(oid), point)


def tuf_key(public: PublicKeyTypes, source: str) -> Key:
    """The TUF key (keyid over its whole dict) of a token's public key."""
    return key_from_dict(SSlibKey.from_crypto(public).to_dict(), source)
