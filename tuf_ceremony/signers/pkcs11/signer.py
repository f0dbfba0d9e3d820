"""The securesystemslib ``Signer`` for keys on PKCS#11 tokens.

:class:`PKCS11Signer` is registered for the ``pkcs11:`` URI scheme by
:func:`register`, so ``Signer.from_priv_key_uri("pkcs11:...", key,
secrets_handler)`` and python-tuf's ``Metadata.sign(signer)`` work with keys
that never leave their token. The public key read from the token must match
the key the caller expects, and every signature is verified with the
caller's key before it is returned: ECDSA and Ed25519 by cryptography's
``verify`` on the key decoded once (the call securesystemslib makes, without
decoding the key again for every signature), RSA-PSS by securesystemslib.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from pkcs11 import Attribute, ObjectClass, Session, SignMixin
from pkcs11 import exceptions as p11e
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import SIGNER_FOR_URI_SCHEME, Key, SecretsHandler, Signature, Signer

from tuf_ceremony.errors import AuthenticationError, InputError, SignatureRefused, TokenError
from tuf_ceremony.keys import crypto_public_key, public_der
from tuf_ceremony.keytypes import KeyKind, direct_verify, kind_of
from tuf_ceremony.signers.pkcs11.encoding import der_signature, sign_mechanism, tuf_key
from tuf_ceremony.signers.pkcs11.lookup import Located, attr, locate_key
from tuf_ceremony.signers.pkcs11.tokens import token_error
from tuf_ceremony.signers.pkcs11.uri import SCHEME, format_uri, parse_uri

Notify = Callable[[str], None]

_DEFAULT_NOTIFY: list[Notify | None] = [None]


def set_default_notify(notify: Notify | None) -> None:
    """The callable told "touch your key" by signers made through
    ``Signer.from_priv_key_uri`` (which cannot pass one)."""
    _DEFAULT_NOTIFY[0] = notify


class PKCS11Signer(Signer):
    """Signs with a private key that stays on a PKCS#11 token.

    Make it with :func:`open_pkcs11_signer` or ``Signer.from_priv_key_uri``.
    """

    SCHEME = SCHEME

    def __init__(
        self,
        located: Located,
        public_key: Key,
        kind: KeyKind,
        secrets_handler: SecretsHandler | None,
        notify: Notify | None,
    ) -> None:
        self._located = located
        self._public_key = public_key
        self._kind = kind
        self._secrets_handler = secrets_handler
        self._notify = notify
        self._priv_cache: tuple[Session, SignMixin, bool] | None = None
        self._verify = _verifier(public_key, kind)
        try:
            self._mechanism = sign_mechanism(kind, located.entry.mechanisms(), located.entry.ref.describe())
        except ValueError as e:
            raise TokenError(str(e)) from None

    @property
    def public_key(self) -> Key:
        return self._public_key

    @property
    def uri(self) -> str:
        """The full URI of the key (token, serial, object, id)."""
        return format_uri(self._located.uri())

    @property
    def token_label(self) -> str:
        return self._located.entry.ref.label

    @classmethod
    def from_priv_key_uri(
        cls,
        priv_key_uri: str,
        public_key: Key,
        secrets_handler: SecretsHandler | None = None,
    ) -> PKCS11Signer:
        return open_pkcs11_signer(priv_key_uri, public_key, secrets_handler, _DEFAULT_NOTIFY[0])

    def _private_key(self) -> tuple[SignMixin, bool]:
        """The private key object and its CKA_ALWAYS_AUTHENTICATE, cached for
        the current session (a replaced session invalidates the cache)."""
        entry = self._located.entry
        session = entry.session
        cached = self._priv_cache
        if cached is not None and cached[0] is session:
            return cached[1], cached[2]
        group = self._located.group
        template: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if group.key_id:
            template[Attribute.ID] = group.key_id
        elif group.label:
            template[Attribute.LABEL] = group.label
        try:
            objs = list(session.get_objects(template))
        except p11e.PKCS11Error as e:
            raise token_error(entry.ref, "cannot find the private key", e) from None
        if not objs:
            raise TokenError(f"key not found: {self._located.where()} has no private key")
        if len(objs) > 1:
            raise TokenError(f"{self._located.where()}: several private keys share its id")
        priv = objs[0]
        if not isinstance(priv, SignMixin):
            raise TokenError(f"{self._located.where()}: the private key object is not one that signs")
        always_auth = bool(attr(priv, Attribute.ALWAYS_AUTHENTICATE, False))
        self._priv_cache = (session, priv, always_auth)
        return priv, always_auth

    def _needs_touch(self, always_auth: bool) -> bool:
        """A YubiKey (ykcs11) may have a touch policy we cannot read over
        PKCS#11; an always-authenticate key waits for its PIN/touch too."""
        ref = self._located.entry.ref
        yubikey = "yubico" in ref.manufacturer.lower() and "yubihsm" not in ref.model.lower()
        return always_auth or yubikey

    def _raw_sign(self, priv: SignMixin, data: bytes, pin: str | None) -> bytes:
        mech = self._mechanism
        try:
            return bytes(priv.sign(data, mechanism=mech.mechanism, mechanism_param=mech.param, pin=pin))
        except p11e.PKCS11Error as e:
            # the key's name is read from the token only when there is an
            # error to name it in, before the session is replaced
            raise self._sign_error(e) from None

    def _sign_error(self, e: p11e.PKCS11Error) -> Exception:
        entry = self._located.entry
        where = self._located.where()
        entry.replace_session()
        if isinstance(e, p11e.UserNotLoggedIn):
            return AuthenticationError(
                f"{where}: the touch or PIN was not given; run again and touch the key when asked"
            )
        if isinstance(e, (p11e.PinIncorrect, p11e.PinLocked)):
            return token_error(entry.ref, "context-specific login", e)
        if isinstance(e, (p11e.MechanismInvalid, p11e.MechanismParamInvalid, p11e.KeyTypeInconsistent)):
            return TokenError(
                f"{entry.ref.describe()} does not support {self._mechanism.mechanism.name} for {where}; "
                "use a key type this token supports"
            )
        return token_error(entry.ref, f"signing with {where} failed", e)

    def sign(self, payload: bytes) -> Signature:
        """Sign on the token; the signature is verified before it is returned."""
        entry = self._located.entry
        entry.login(self._secrets_handler, self._notify)
        priv, always_auth = self._private_key()
        prehash = self._mechanism.prehash
        data = hashlib.new(prehash, payload).digest() if prehash is not None else payload
        if self._notify is not None and self._needs_touch(always_auth):
            self._notify(f"Touch the key on token '{entry.ref.label}' now")
        pin = entry.pin if always_auth else None
        if always_auth and pin is None:
            raise AuthenticationError(
                f"{self._located.where()} asks for its PIN at every signature, but no PIN was given at login"
            )
        raw = self._raw_sign(priv, data, pin)
        try:
            encoded = der_signature(self._kind, raw)
        except ValueError:
            raise SignatureRefused(f"{self._located.where()} returned a malformed signature") from None
        signature = Signature(self._public_key.keyid, encoded.hex())
        try:
            self._verify(signature, payload)
        except (InvalidSignature, UnverifiedSignatureError, ValueError) as e:
            raise SignatureRefused(
                f"{self._located.where()} made a signature that does not verify with key "
                f"{self._public_key.keyid[:12]}; not using it ({type(e).__name__})"
            ) from None
        return signature


def _verifier(key: Key, kind: KeyKind) -> Callable[[Signature, bytes], None]:
    """Verification of a signature with ``key`` (raises when it fails):
    :func:`~tuf_ceremony.keytypes.direct_verify` on the key decoded once for
    Ed25519 and ECDSA, securesystemslib for any other kind."""
    if kind.keytype in ("ecdsa", "ed25519"):
        try:
            public = crypto_public_key(key)
        except (ValueError, TypeError):
            return key.verify_signature  # securesystemslib decides (and says why)
        scheme = kind.scheme
        return lambda sig, data: direct_verify(public, scheme, bytes.fromhex(sig.signature), data)
    return key.verify_signature


def register() -> None:
    """Register :class:`PKCS11Signer` for ``pkcs11:`` URIs (idempotent)."""
    SIGNER_FOR_URI_SCHEME[PKCS11Signer.SCHEME] = PKCS11Signer


def _kind_from_key(key: Key) -> KeyKind:
    kind = kind_of(crypto_public_key(key))
    if kind.scheme != key.scheme:
        raise ValueError(f"scheme {key.scheme} is not supported for {kind.name} keys")
    return kind


def open_pkcs11_signer(
    uri: str,
    public_key: Key | None,
    secrets_handler: SecretsHandler | None,
    notify: Notify | None = None,
) -> PKCS11Signer:
    """A signer for the key ``uri`` names.

    ``public_key`` is the key the signatures must verify with (the one in the
    metadata); its material must equal the token's public key. ``None`` means:
    use the key read from the token. No PIN is asked here; the first
    :meth:`PKCS11Signer.sign` on a token asks once.
    """
    located = locate_key(parse_uri(uri), secrets_handler, notify)
    crypto_public = located.public()
    if crypto_public is None:
        # Only the private key is there; its public part must come from the
        # caller (then the first signature proves it).
        if public_key is None:
            raise TokenError(f"cannot read the public key of {located.where()}; give the public key file")
        try:
            kind = _kind_from_key(public_key)
        except ValueError as e:
            raise InputError(f"unsupported public key: {e}") from None
        return PKCS11Signer(located, public_key, kind, secrets_handler, notify)
    try:
        kind = kind_of(crypto_public)
    except ValueError as e:
        raise TokenError(f"{located.where()}: {e}") from None
    token_key = tuf_key(crypto_public, format_uri(located.uri()))
    if public_key is None:
        public_key = token_key
    else:
        _check_same_key(located, public_key, token_key, kind)
    return PKCS11Signer(located, public_key, kind, secrets_handler, notify)


def _check_same_key(located: Located, expected: Key, token_key: Key, kind: KeyKind) -> None:
    try:
        expected_der = public_der(expected)
    except (ValueError, TypeError) as e:
        raise InputError(f"unusable public key {expected.keyid[:12]}: {e}") from None
    if expected_der != public_der(token_key):
        raise SignatureRefused(
            f"{located.where()} is not key {expected.keyid[:12]}: the key material "
            "on the token differs from the public key in the metadata"
        )
    if expected.scheme != kind.scheme:
        raise SignatureRefused(
            f"{located.where()} signs with {kind.scheme}, but key "
            f"{expected.keyid[:12]} declares scheme {expected.scheme}"
        )


def read_public_key(uri: str) -> Key:
    """The public key of a token key, as a TUF key (no login needed)."""
    located = locate_key(parse_uri(uri))
    public = located.public()
    if public is None:
        raise TokenError(
            f"the public key of {located.where()} is not readable without logging in "
            "(no public key object or certificate on the token)"
        )
    try:
        kind_of(public)
    except ValueError as e:
        raise TokenError(f"{located.where()}: {e}") from None
    return tuf_key(public, format_uri(located.uri()))
