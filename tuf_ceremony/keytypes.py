"""Key types: the one table of the key types tuf-ceremony makes, and the one
EC point decoder.

:data:`KEY_TYPES` names the key types ``key generate`` offers (software files
and PKCS#11 tokens alike) with their TUF ``keytype`` and ``scheme``.
:func:`kind_of` names the kind of any public key, including kinds tuf-ceremony
reads but does not make (P-521, other RSA sizes).

:func:`decode_ec_point` turns an X9.62 EC point into a public key. It reads the
point as TUF metadata carries it (legacy hex keyval) and as PKCS#11 returns
it in ``CKA_EC_POINT`` (a DER OCTET STRING, or the bare point from some
modules). Curves come from cryptography's OID lookup, never a local list of
curve classes.

The table imports nothing heavy; the functions load cryptography when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


@dataclass(frozen=True)
class KeyKind:
    """A kind of key and how TUF names its signatures."""

    name: str  # "ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072", ... "rsa-4096"
    keytype: str  # TUF keytype
    scheme: str  # TUF signature scheme
    bits: int  # curve or modulus size
    hash_name: str | None  # digest the scheme signs (None: Ed25519 hashes itself)
    curve_oid: str | None = None  # dotted OID of the EC (or Edwards) curve

    @property
    def is_ec(self) -> bool:
        return self.keytype == "ecdsa"


ED25519_OID = "1.3.101.112"

# The key types tuf-ceremony generates, in the order offered to users.
KEY_TYPES: dict[str, KeyKind] = {
    "ed25519": KeyKind("ed25519", "ed25519", "ed25519", 256, None, ED25519_OID),
    "ecdsa-p256": KeyKind("ecdsa-p256", "ecdsa", "ecdsa-sha2-nistp256", 256, "sha256", "1.2.840.10045.3.1.7"),
    "ecdsa-p384": KeyKind("ecdsa-p384", "ecdsa", "ecdsa-sha2-nistp384", 384, "sha384", "1.3.132.0.34"),
    "rsa-3072": KeyKind("rsa-3072", "rsa", "rsassa-pss-sha256", 3072, "sha256"),
}

# ECDSA schemes (TUF and legacy keytype-as-scheme spellings) -> curve OID.
_EC_SCHEMES: dict[str, tuple[str, int, str]] = {
    "ecdsa-sha2-nistp256": ("1.2.840.10045.3.1.7", 256, "sha256"),
    "ecdsa-sha2-nistp384": ("1.3.132.0.34", 384, "sha384"),
    "ecdsa-sha2-nistp521": ("1.3.132.0.35", 521, "sha512"),
}


def ec_curve(oid: str) -> ec.EllipticCurve:
    """The cryptography curve of a dotted OID; ValueError when unsupported."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        return ec.get_curve_for_oid(x509.ObjectIdentifier(oid))()
    except (LookupError, UnsupportedAlgorithm, ValueError):
        raise ValueError(f"unsupported EC curve {oid}") from None


def ec_curve_for_scheme(scheme: str) -> ec.EllipticCurve:
    """The curve an ECDSA scheme (``ecdsa-sha2-nistp256`` ...) signs on."""
    entry = _EC_SCHEMES.get(scheme)
    if entry is None:
        raise ValueError(f"unknown ECDSA scheme {scheme!r}")
    return ec_curve(entry[0])


def _unwrap_point(data: bytes, lengths: set[int]) -> bytes:
    """The bare point: as given when its length is a point's, else the
    content of a DER OCTET STRING holding one."""
    if len(data) in lengths:
        return data
    from asn1crypto.core import OctetString

    try:
        inner = bytes(OctetString.load(data, strict=True).native)
    except (ValueError, TypeError):
        raise ValueError(f"unexpected EC point encoding ({len(data)} bytes)") from None
    if len(inner) not in lengths:
        raise ValueError(f"unexpected EC point length ({len(inner)} bytes)")
    return inner


def decode_ec_point(curve: ec.EllipticCurve, data: bytes) -> ec.EllipticCurvePublicKey:
    """An X9.62 point (uncompressed or compressed, bare or DER OCTET STRING)
    on ``curve`` as a public key; ValueError when it is not one."""
    from cryptography.hazmat.primitives.asymmetric import ec

    size = (curve.key_size + 7) // 8
    point = _unwrap_point(data, {2 * size + 1, size + 1})
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)


def decode_ed25519_point(data: bytes) -> ed25519.Ed25519PublicKey:
    """An Ed25519 public key from its 32 bytes (bare or DER OCTET STRING)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PublicKey.from_public_bytes(_unwrap_point(data, {32}))


def direct_verify(public: PublicKeyTypes, scheme: str, signature: bytes, data: bytes) -> None:
    """Verify ``signature`` over ``data`` with a cryptography public key the
    way securesystemslib's ``SSlibKey`` does for ``scheme``: Ed25519 as is,
    ECDSA as DER over the scheme's hash. The key must be of the scheme's kind
    and curve (decoded for it: :func:`decode_ec_point`, :func:`kind_of`).

    Raises cryptography's ``InvalidSignature`` when it does not verify and
    ValueError for any other scheme or a key of another kind."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if scheme == "ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, data)
        return
    entry = _EC_SCHEMES.get(scheme)
    if entry is None or not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError(f"scheme {scheme!r} is not verified directly for a {type(public).__name__}")
    from cryptography.hazmat.primitives import hashes

    name = entry[2]
    algorithm = hashes.SHA256() if name == "sha256" else hashes.SHA384() if name == "sha384" else hashes.SHA512()
    public.verify(signature, data, ec.ECDSA(algorithm))


def is_ecdsa_scheme(scheme: str) -> bool:
    """Whether ``scheme`` is one of TUF's ECDSA schemes."""
    return scheme in _EC_SCHEMES


def kind_of(public: PublicKeyTypes) -> KeyKind:
    """The kind of a cryptography public key; ValueError when TUF has no
    scheme tuf-ceremony signs with for it."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(public, ed25519.Ed25519PublicKey):
        return KEY_TYPES["ed25519"]
    if isinstance(public, ec.EllipticCurvePublicKey):
        for scheme, (oid, bits, hash_name) in _EC_SCHEMES.items():
            if public.curve.name == ec_curve(oid).name:
                return KeyKind(f"ecdsa-p{bits}", "ecdsa", scheme, bits, hash_name, oid)
        raise ValueError(f"unsupported curve {public.curve.name}")
    if isinstance(public, rsa.RSAPublicKey):
        return KeyKind(f"rsa-{public.key_size}", "rsa", "rsassa-pss-sha256", public.key_size, "sha256")
    raise ValueError(f"unsupported key type {type(public).__name__}")
