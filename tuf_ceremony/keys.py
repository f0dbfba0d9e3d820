"""Public keys: loading key files, keyids, and comparing key material.

A keyid is the SHA-256 of the canonical JSON of the *whole* key dict, custom
fields included (securesystemslib's default keyid covers only keytype, scheme
and keyval, which is wrong for keys that carry custom fields).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securesystemslib.signer import Key, SSlibKey

from tuf_ceremony.errors import InputError
from tuf_ceremony.files import parse_json, read_bytes
from tuf_ceremony.text import safe

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

#: Largest public key file read (bytes).
MAX_KEY_BYTES = 1024 * 1024


def canonical_bytes(obj: Any) -> bytes:
    """securesystemslib's canonical JSON as UTF-8 (through the orjson fast
    path of :mod:`tuf_ceremony.canonical` when it provably gives the same
    bytes)."""
    from tuf_ceremony.canonical import canonical_bytes as fast

    return fast(obj)


def keyid_of(key_dict: dict[str, Any]) -> str:
    """The TUF keyid of a key dict: SHA-256 over its canonical JSON."""
    return hashlib.sha256(canonical_bytes(key_dict)).hexdigest()


def key_from_dict(key_dict: dict[str, Any], source: str) -> Key:
    """A securesystemslib Key whose keyid is computed from every field."""
    try:
        key = Key.from_dict(keyid_of(key_dict), dict(key_dict))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"not a TUF public key ({e})", source=source) from None
    return key


def key_to_dict(key: Key) -> dict[str, Any]:
    d: dict[str, Any] = key.to_dict()
    return d


def _looks_private(data: bytes) -> bool:
    return b"PRIVATE KEY" in data or b'"private"' in data


def _has_private_field(obj: Any) -> bool:
    """Whether a parsed key document has a field named like private material
    anywhere (also when the name was written with JSON escapes)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if isinstance(k, str) and k.lower() in ("private", "private_key", "privkey", "d"):
                    return True
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def load_public_key(path: str | Path) -> Key:
    """Load a public key file: TUF key JSON, or a PEM SubjectPublicKeyInfo.

    A private key given by mistake is refused; its content is never echoed.
    """
    source = str(path)
    data = read_bytes(path, "public key file", MAX_KEY_BYTES)
    if _looks_private(data):
        raise InputError(
            "is a private key, not a public key; refusing to read it (keep it offline)",
            source=source,
        )
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN"):
        return _key_from_pem(data, source)
    obj = parse_json(data, source, "public key file")
    if not isinstance(obj, dict):
        raise InputError("not a TUF public key (expected a JSON object)", source=source)
    obj = dict(obj)
    claimed = obj.pop("keyid", None)
    keyval = obj.get("keyval")
    if _has_private_field(obj):
        raise InputError(
            "carries private key material (a 'private' field); refusing to read it (keep it offline)", source=source
        )
    if not isinstance(keyval, dict) or not isinstance(keyval.get("public"), str):
        raise InputError("not a TUF public key (keyval.public missing)", source=source)
    if set(keyval) != {"public"}:
        raise InputError("not a TUF public key (keyval holds fields other than 'public')", source=source)
    key = key_from_dict(obj, source)
    if claimed is not None and claimed != key.keyid:
        raise InputError(f"states keyid {safe(claimed, 70)} but the key's keyid is {key.keyid}", source=source)
    check_key_usable(key, source)
    return key


def _key_from_pem(data: bytes, source: str) -> Key:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        public = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InputError("not a PEM public key (SubjectPublicKeyInfo)", source=source) from None
    try:
        tmp = SSlibKey.from_crypto(public)
    except ValueError as e:
        raise InputError(f"unsupported public key: {e}", source=source) from None
    d = tmp.to_dict()
    return key_from_dict(d, source)


def check_key_usable(key: Key, source: str) -> None:
    """Refuse keys whose key material cannot be decoded (an auditor would not
    be able to verify anything made with them)."""
    try:
        public_der(key)
    except (ValueError, TypeError) as e:
        raise InputError(f"unusable public key ({e})", source=source) from None


def crypto_public_key(key: Key) -> PublicKeyTypes:
    """The cryptography public key of a TUF key, from any encoding TUF
    metadata carries (PEM, raw Ed25519 hex, legacy hex EC points)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = key.keyval.get("public")
    if not isinstance(public, str):
        raise ValueError("keyval.public is not a string")
    if public.lstrip().startswith("-----BEGIN"):
        return load_pem_public_key(public.encode())
    if key.keytype == "ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    if key.keytype.startswith("ecdsa"):
        from tuf_ceremony.keytypes import decode_ec_point, ec_curve_for_scheme

        return decode_ec_point(ec_curve_for_scheme(key.scheme), bytes.fromhex(public))
    raise ValueError(f"cannot decode a {key.keytype} key")


def public_der(key: Key) -> bytes:
    """DER SubjectPublicKeyInfo of a key, to compare key *material* across
    encodings (PEM, raw hex, legacy hex EC points) and keyids."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return crypto_public_key(key).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class NamedKey:
    """A public key and the name the plan gives it."""

    name: str
    key: Key
    source: str

    @property
    def keyid(self) -> str:
        return str(self.key.keyid)


def private_key_file_unencrypted(path: str | Path) -> bool:
    """Whether ``path`` is a PEM private key that opens without a passphrase
    (``sign`` refuses one outside a rehearsal: a key worth a ceremony is on a
    token, or at least encrypted). False for anything else; never echoes."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = read_bytes(path, "private key file", MAX_KEY_BYTES)
    if b"PRIVATE KEY-----" not in data:
        return False
    try:
        load_pem_private_key(data, None)
    except (TypeError, ValueError):
        return False  # encrypted (TypeError), or not loadable: the signer says which
    except Exception:  # noqa: BLE001 - cryptography raises UnsupportedAlgorithm too
        return False
    return True
