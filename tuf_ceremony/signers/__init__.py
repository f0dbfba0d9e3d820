"""Signers: software keys (encrypted PKCS#8 PEM files) and PKCS#11 tokens.

:func:`open_key_source` turns a ``--key`` argument (a file path or a
``pkcs11:`` URI) into a :class:`KeySource`, the one interface the CLI and the
core use to identify a key and get securesystemslib ``Signer`` objects for it.
Secrets come only through the injected ``secrets`` handler.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from securesystemslib.signer import Key, SecretsHandler, Signer

Notify = Callable[[str], None]


class KeySource(Protocol):
    """A private key the keyholder holds, not yet necessarily unlocked."""

    label: str

    def known_public_key(self) -> Key | None:
        """The public key when it can be had without a secret, else None."""

    def unlock(self) -> Key:
        """Ask for the secret if needed; return the public key."""

    def signer_for(self, key: Key) -> Signer:
        """A Signer producing signatures under ``key``'s keyid."""


class PKCS11KeySource:
    """A key on a PKCS#11 token: the public key is read without the PIN."""

    def __init__(self, uri: str, secrets: SecretsHandler, notify: Notify | None) -> None:
        from tuf_ceremony.signers.pkcs11 import read_public_key

        self.uri = uri
        self.label = uri
        self._secrets = secrets
        self._notify = notify
        self._public = read_public_key(uri)

    def known_public_key(self) -> Key | None:
        return self._public

    def unlock(self) -> Key:
        return self._public

    def signer_for(self, key: Key) -> Signer:
        from tuf_ceremony.signers.pkcs11 import open_pkcs11_signer

        return open_pkcs11_signer(self.uri, key, self._secrets, self._notify)


def open_key_source(spec: str, secrets: SecretsHandler, notify: Notify | None = None) -> KeySource:
    if spec.startswith("pkcs11:"):
        return PKCS11KeySource(spec, secrets, notify)
    from tuf_ceremony.signers.software import SoftwareKeySource

    return SoftwareKeySource(Path(spec), secrets)


def public_key_from_uri(uri: str) -> Key:
    """The public key of a token key, for plans that name keys by URI."""
    from tuf_ceremony.signers.pkcs11 import read_public_key

    key: Key = read_public_key(uri)
    return key
