"""Keys as found in real-world metadata, including legacy encodings.

Older TUF implementations (go-tuf before 2023, the Sigstore root up to v4)
wrote ECDSA keys as hex-encoded uncompressed EC points with keytype
``ecdsa-sha2-nistp256`` and a ``keyid_hash_algorithms`` field. securesystemslib
only reads PEM for ECDSA now. :class:`VerifyingKey` is a securesystemslib
``SSlibKey`` (same schemes, same verification code) whose public key object is
decoded once -- from PEM or, for the legacy encoding, from the EC point -- and
cached, so one key verifies thousands of signatures cheaply.

Expiry dates are parsed leniently here too: old metadata carries fractional
seconds and UTC offsets that python-tuf (which wants ``YYYY-MM-DDTHH:MM:SSZ``)
refuses.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from securesystemslib.signer import Key, Signature, SSlibKey

from tuf_ceremony.keys import keyid_of, public_der

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


class VerifyingKey(SSlibKey):
    """An SSlibKey that decodes its public key once and reads legacy hex EC
    points. Verification itself is securesystemslib's (``SSlibKey._verify``)."""

    _cached: Any = None

    def _crypto_key(self) -> Any:
        if self._cached is None:
            public = self.keyval["public"]
            if self.keytype.startswith("ecdsa") and _HEX.match(public):
                from tuf_ceremony.keytypes import decode_ec_point, ec_curve_for_scheme

                self._cached = decode_ec_point(ec_curve_for_scheme(self.scheme), bytes.fromhex(public))
            else:
                self._cached = super()._crypto_key()
        return self._cached

    def verify_fast(self, keyid: str, sig_hex: str, data: bytes) -> bool:
        """Whether ``sig_hex`` is a valid signature over ``data``.

        Ed25519 goes straight to the cached cryptography key (exactly what
        ``SSlibKey._verify`` does for that scheme); every other scheme goes
        through securesystemslib."""
        if self.scheme == "ed25519" and self.keytype == "ed25519":
            from cryptography.exceptions import InvalidSignature

            try:
                self._crypto_key().verify(bytes.fromhex(sig_hex), data)
            except (InvalidSignature, ValueError, TypeError):
                return False
            return True
        try:
            self.verify_signature(Signature(keyid, sig_hex), data)
        except Exception:  # noqa: BLE001 - any failure means "does not verify"
            return False
        return True

    def verify_signature(self, signature: Signature, data: bytes) -> None:
        if self.keytype != self.scheme:
            super().verify_signature(signature, data)
            return
        # keytype == scheme ("ecdsa-sha2-nistp256") is deprecated; the
        # report says so once, securesystemslib need not warn per signature.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            super().verify_signature(signature, data)


@dataclass
class KeyEntry:
    """A key of a metadata file: the verifying key (None when it cannot be
    decoded), its key material for comparisons, and anomalies."""

    keyid: str
    key: Key | None
    der: bytes | None
    legacy: bool
    computed_keyid: str | None
    error: str | None = None

    @property
    def keyid_matches(self) -> bool:
        return self.computed_keyid is None or self.computed_keyid == self.keyid


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
        from securesystemslib.signer import KEY_FOR_TYPE_AND_SCHEME

        cls = KEY_FOR_TYPE_AND_SCHEME.get(
            (str(key_dict.get("keytype")), str(key_dict.get("scheme")))
        )
        if cls is SSlibKey:
            key: Key = VerifyingKey.from_dict(keyid, dict(key_dict))
        else:
            key = Key.from_dict(keyid, dict(key_dict))
    except (KeyError, TypeError, ValueError) as e:
        return KeyEntry(keyid, None, None, legacy, computed, f"unsupported key ({e})")
    try:
        der: bytes | None = public_der(key)
    except Exception:  # noqa: BLE001 - any decoding failure means "unusable"
        der = None
    if der is None and isinstance(key, SSlibKey):
        return KeyEntry(keyid, None, None, legacy, computed, "public key cannot be decoded")
    return KeyEntry(keyid, key, der, legacy, computed)


_STRICT_EXPIRES = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_LENIENT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


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
