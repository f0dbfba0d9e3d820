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


class SoftwareKeySource:
    """A private key file; the passphrase is asked only when needed."""

    def __init__(self, path: Path, secrets: SecretsHandler) -> None:
        self.path = path
        self.label = str(path)
        self._secrets = secrets
        self._data = read_bytes(path, "private key file")
        if b"PRIVATE KEY-----" not in self._data:
            raise InputError("not a PEM private key (PKCS#8)", source=self.label)
        self._encrypted = b"ENCRYPTED PRIVATE KEY" in self._data
        self._private: Any = None
        if not self._encrypted:
            self._private = self._load(None)

    def _load(self, password: bytes | None) -> Any:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            return load_pem_private_key(self._data, password)
        except (ValueError, TypeError) as e:
            if password is not None and ("decrypt" in str(e).lower()
                                         or "password" in str(e).lower()):
                raise AuthenticationError("wrong passphrase for this key file",
                                          source=self.label) from None
            raise InputError("not a usable PEM private key", source=self.label) from None

    def known_public_key(self) -> Key | None:
        """The public key, if it can be had without the passphrase."""
        return public_key_of(self._private) if self._private is not None else None

    def unlock(self) -> Key:
        if self._private is None:
            secret = self._secrets(f"passphrase for {self.path.name}")
            self._private = self._load(secret.encode())
        return public_key_of(self._private)

    def signer_for(self, key: Key) -> Signer:
        if self._private is None:
            self.unlock()
        if not isinstance(key, SSlibKey):
            raise InputError(f"key {key.keyid[:12]} is not a key type software keys can sign",
                             source=self.label)
        return CryptoSigner(self._private, key)
