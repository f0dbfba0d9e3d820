"""Software keys: encrypted PKCS#8 PEM files, for rehearsals and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, Key, SecretsHandler, Signer, SSlibKey

from tuf_ceremony.errors import AuthenticationError, InputError
from tuf_ceremony.files import read_bytes
from tuf_ceremony.keys import key_from_dict
from tuf_ceremony.keytypes import KEY_TYPES, ec_curve

MIN_PASSPHRASE = 8


def generate_private_key(keytype: str) -> Any:
    """A new private key of one of the kinds in :data:`KEY_TYPES`."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    kind = KEY_TYPES.get(keytype)
    if kind is None:
        raise InputError(f"unknown key type {keytype!r} (choose from {', '.join(KEY_TYPES)})")
    if kind.keytype == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind.is_ec and kind.curve_oid is not None:
        return ec.generate_private_key(ec_curve(kind.curve_oid))
    return rsa.generate_private_key(public_exponent=65537, key_size=kind.bits)


def public_key_of(private_key: Any) -> Key:
    """The TUF public key (keyid over the whole key dict) of a private key."""
    tmp = SSlibKey.from_crypto(private_key.public_key())
    return key_from_dict(tmp.to_dict(), "<generated key>")


def encrypted_pem(private_key: Any, passphrase: str) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        PrivateFormat,
    )

    if len(passphrase) < MIN_PASSPHRASE:
        raise InputError(f"passphrase too short (at least {MIN_PASSPHRASE} characters)")
    data: bytes = private_key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase.encode())
    )
    return data


def public_key_path(private_path: Path) -> Path:
    """Where ``key generate`` writes the public key of a software key by
    default: ``alice.pem`` -> ``alice.pub.json`` (``alice.pem.pub.json`` for
    a file name without the ``.pem`` suffix)."""
    if private_path.suffix == ".pem":
        return private_path.with_suffix(".pub.json")
    return private_path.with_name(private_path.name + ".pub.json")


def _beside(private_path: Path) -> Path | None:
    for candidate in (public_key_path(private_path), private_path.with_name(private_path.name + ".pub.json")):
        if candidate.is_file():
            return candidate
    return None


class SoftwareKeySource:
    """A private key file; the passphrase is asked only when needed.

    When the public key file that ``key generate`` wrote sits beside it
    (:func:`public_key_path`), its roles can be shown before the passphrase
    is asked. That file is untrusted: once the key is unlocked, the private
    key must match it, or nothing is signed.
    """

    def __init__(self, path: Path, secrets: SecretsHandler) -> None:
        self.path = path
        self.label = str(path)
        self._secrets = secrets
        self._data = read_bytes(path, "private key file")
        if b"PRIVATE KEY-----" not in self._data:
            raise InputError("not a PEM private key (PKCS#8)", source=self.label)
        self._encrypted = b"ENCRYPTED PRIVATE KEY" in self._data
        self._private: Any = None
        self._claimed: Key | None = None
        self._claimed_path: Path | None = None
        if not self._encrypted:
            self._private = self._load(None)
        else:
            self._claimed_path = _beside(path)
            if self._claimed_path is not None:
                from tuf_ceremony.keys import load_public_key

                self._claimed = load_public_key(self._claimed_path)

    def _load(self, password: bytes | None) -> Any:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            return load_pem_private_key(self._data, password)
        except (ValueError, TypeError) as e:
            if password is not None and ("decrypt" in str(e).lower() or "password" in str(e).lower()):
                raise AuthenticationError("wrong passphrase for this key file", source=self.label) from None
            raise InputError("not a usable PEM private key", source=self.label) from None

    def known_public_key(self) -> Key | None:
        """The public key, if it can be had without the passphrase: from an
        unencrypted key, or (untrusted until :meth:`unlock`) from the public
        key file beside an encrypted one."""
        if self._private is not None:
            return public_key_of(self._private)
        return self._claimed

    def unlock(self) -> Key:
        if self._private is None:
            from tuf_ceremony.text import safe

            secret = self._secrets(f"passphrase for {safe(self.path.name, 80)}")
            private = self._load(secret.encode())
            if self._claimed is not None:
                from tuf_ceremony.keys import public_der

                if public_der(public_key_of(private)) != public_der(self._claimed):
                    raise InputError(
                        f"the private key does not match the public key file beside it "
                        f"({safe(self._claimed_path, 120)}); nothing was signed",
                        source=self.label,
                    )
            self._private = private
        return public_key_of(self._private)

    def signer_for(self, key: Key) -> Signer:
        if self._private is None:
            self.unlock()
        if not isinstance(key, SSlibKey):
            raise InputError(f"key {key.keyid[:12]} is not a key type software keys can sign", source=self.label)
        return CryptoSigner(self._private, key)
