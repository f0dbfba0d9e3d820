"""Keys on PKCS#11 tokens: YubiKey PIV (ykcs11), YubiHSM 2, OpenSC, SoftHSM2.

One module per concern, as securesystemslib keeps one file per backend:

* :mod:`.uri` -- RFC 7512 ``pkcs11:`` URIs (parse, format; refuses PINs);
* :mod:`.encoding` -- key types on tokens: mechanisms, EC_PARAMS, public
  keys from token attributes, signature encodings;
* :mod:`.modules` -- module discovery (URI, ``$TUF_CEREMONY_PKCS11_MODULE``,
  usual install locations);
* :mod:`.tokens` -- the tokens of a module and which ones a URI selects;
* :mod:`.sessions` -- one session and one login per token per process;
* :mod:`.lookup` -- the objects of a key, and the one key a URI names;
* :mod:`.signer` -- :class:`PKCS11Signer`, the securesystemslib ``Signer``
  for the ``pkcs11:`` scheme (:func:`register`);
* :mod:`.admin` -- token administration: list, generate, full key URIs.

Every failure a keyholder can act on is a :class:`~tuf_ceremony.errors.CeremonyError`
with a one-line message naming the token.
"""

from __future__ import annotations

from tuf_ceremony.keytypes import KEY_TYPES
from tuf_ceremony.signers.pkcs11.admin import KeyInfo, TokenInfo, generate_key, key_uri_for, list_tokens
from tuf_ceremony.signers.pkcs11.modules import DEFAULT_MODULES, ENV_MODULE
from tuf_ceremony.signers.pkcs11.sessions import (
    Notify,
    SessionStats,
    close_sessions,
    refresh_modules,
    reset_session_stats,
    session_stats,
)
from tuf_ceremony.signers.pkcs11.signer import (
    PKCS11Signer,
    open_pkcs11_signer,
    read_public_key,
    register,
    set_default_notify,
)
from tuf_ceremony.signers.pkcs11.uri import PKCS11URI, format_uri, is_pkcs11_uri, parse_uri

__all__ = [
    "DEFAULT_MODULES",
    "ENV_MODULE",
    "KEY_TYPES",
    "PKCS11URI",
    "KeyInfo",
    "Notify",
    "PKCS11Signer",
    "SessionStats",
    "TokenInfo",
    "close_sessions",
    "format_uri",
    "generate_key",
    "is_pkcs11_uri",
    "key_uri_for",
    "list_tokens",
    "open_pkcs11_signer",
    "parse_uri",
    "read_public_key",
    "refresh_modules",
    "register",
    "reset_session_stats",
    "session_stats",
    "set_default_notify",
]
