"""Keys as found in real-world metadata, including legacy encodings.

Older TUF implementations (go-tuf before 2023, the Sigstore root up to v4)
wrote ECDSA keys as hex-encoded uncompressed EC points with keytype
``ecdsa-sha2-nistp256`` and a ``keyid_hash_algorithms`` field; securesystemslib
reads only PEM for ECDSA now. :class:`KeyEntry` decodes such a point with
cryptography and verifies its signatures with cryptography directly (ECDSA
over the scheme's hash, DER signatures, the scheme's curve -- what
securesystemslib does for PEM keys). Ed25519 keys (every hashed bin's) are
decoded once with cryptography too and verified directly, exactly as
securesystemslib's ``SSlibKey`` does for that scheme; every other key
verifies through securesystemslib's public ``Key.verify_signature``.

Expiry dates are parsed leniently here too: old metadata carries fractional
seconds and UTC offsets that python-tuf (which wants ``YYYY-MM-DDTHH:MM:SSZ``)
refuses.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from securesystemslib.signer import Key, Signature, SSlibKey

from tuf_ceremony.keys import crypto_public_key, keyid_of
from tuf_ceremony.keytypes import direct_verify, is_ecdsa_scheme

_HEX = re.compile(r"^[0-9a-fA-F]+$")


def is_legacy_encoding(key_dict: dict[str, Any]) -> bool:
    """True for an ECDSA key whose public value is a hex EC point, not PEM."""
    keytype = key_dict.get("keytype")
    keyval = key_dict.get("keyval")
    if not isinstance(keytype, str) or not keytype.startswith("ecdsa"):
        return False
    if not isinstance(keyval, dict):
        return False
    public = keyval.get("public")
    return isinstance(public, str) and bool(_HEX.match(public))


@dataclass
class KeyEntry:
    """A key of a metadata file: the securesystemslib key (None when it
    cannot be used), its key material for comparisons, and anomalies."""

    keyid: str
    key: Key | None
    der: bytes | None
    legacy: bool
    computed_keyid: str | None
    error: str | None = None
    # a cryptography public key verified directly (Ed25519, legacy ECDSA)
    direct: Any = field(default=None, repr=False, compare=False)

    @property
    def keyid_matches(self) -> bool:
        return self.computed_keyid is None or self.computed_keyid == self.keyid

    def verifies(self, sig_hex: str, data: bytes) -> bool:
        """Whether ``sig_hex`` is a valid signature by this key over ``data``."""
        if self.key is None:
            return False
        if self.direct is not None:
            return _verify_direct(self.direct, self.key.scheme, sig_hex, data)
        try:
            with warnings.catch_warnings():
                # keytype == scheme ("ecdsa-sha2-nistp256") is deprecated: the
                # report says so once, not securesystemslib per signature
                warnings.simplefilter("ignore", DeprecationWarning)
                self.key.verify_signature(Signature(self.keyid, sig_hex), data)
        except Exception:  # noqa: BLE001 - any failure means "does not verify"
            return False
        return True


def _verify_direct(public: Any, scheme: str, sig_hex: str, data: bytes) -> bool:
    try:
        direct_verify(public, scheme, bytes.fromhex(sig_hex), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _verifies_directly(key: Key, legacy: bool) -> bool:
    """Legacy hex ECDSA points (securesystemslib reads only PEM) and raw
    Ed25519 keys are verified with cryptography directly; every other key
    through securesystemslib."""
    if legacy:
        return is_ecdsa_scheme(key.scheme)
    public = key.keyval.get("public")
    return (
        key.keytype == key.scheme == "ed25519" and isinstance(public, str) and not public.lstrip().startswith("-----")
    )


def load_key_entry(keyid: str, key_dict: Any) -> KeyEntry:
    """Build a :class:`KeyEntry` from a metadata ``keys`` entry. Never raises:
    a key that cannot be used carries ``error`` and counts for nothing."""
    if not isinstance(key_dict, dict):
        return KeyEntry(keyid, None, None, False, None, "key is not a JSON object")
    try:
        computed: str | None = keyid_of(key_dict)
    except Exception:  # noqa: BLE001 - canonical encoding refused (floats, ...)
        computed = None
    legacy = is_legacy_encoding(key_dict)
    try:
        key = Key.from_dict(keyid, dict(key_dict))
    except (KeyError, TypeError, ValueError) as e:
        return KeyEntry(keyid, None, None, legacy, computed, f"unsupported key ({e})")
    try:
        public = crypto_public_key(key)
        der: bytes | None = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        direct = public if _verifies_directly(key, legacy) else None
    except Exception:  # noqa: BLE001 - any decoding failure means "unusable"
        der = direct = None
    if der is None and isinstance(key, SSlibKey):
        return KeyEntry(keyid, None, None, legacy, computed, "public key cannot be decoded")
    return KeyEntry(keyid, key, der, legacy, computed, direct=direct)


_STRICT_EXPIRES = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_LENIENT = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$")


def parse_expires(value: Any) -> tuple[datetime, bool]:
    """Parse an ``expires`` value. Returns the time (UTC, fractions kept to
    the microsecond) and whether it has the standard ``...Z`` form that
    python-tuf requires. Raises ValueError when it is no RFC 3339 time."""
    if not isinstance(value, str):
        raise ValueError(f"expires must be a string, not {type(value).__name__}")
    return _parse_expires(value)


@functools.lru_cache(maxsize=4096)
def _parse_expires(value: str) -> tuple[datetime, bool]:
    # thousands of hashed bins share a handful of expiry dates
    if _STRICT_EXPIRES.match(value):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), True
    m = _LENIENT.match(value)
    if not m:
        raise ValueError(f"expires {value!r} is not an RFC 3339 time")
    date, time, frac, offset = m.groups()
    micro = (frac or "0")[:6].ljust(6, "0")
    tz = "+00:00" if offset in ("Z", "z") else offset
    dt = datetime.fromisoformat(f"{date}T{time}.{micro}{tz}")
    return dt.astimezone(UTC), False
