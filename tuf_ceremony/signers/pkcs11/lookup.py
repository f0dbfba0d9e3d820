"""Key lookup: the objects of one key on a token, and the one key a URI names.

A key is its private key, public key and certificate objects sharing a
CKA_ID (or a label, when ids are empty). Its public key comes from the public
key object, else the certificate, else the private key's public attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import Attribute, Object, ObjectClass, Session
from pkcs11 import exceptions as p11e
from securesystemslib.signer import SecretsHandler

from tuf_ceremony.errors import InputError, TokenError
from tuf_ceremony.signers.pkcs11.encoding import public_from_attrs
from tuf_ceremony.signers.pkcs11.sessions import TokenSession, pooled
from tuf_ceremony.signers.pkcs11.tokens import find_tokens, text_of, token_error
from tuf_ceremony.signers.pkcs11.uri import PKCS11URI, format_uri

Notify = Callable[[str], None]


def attr(obj: Object, attribute: Attribute, default: Any = None) -> Any:
    """An attribute of a token object, or ``default`` when it has none."""
    try:
        return obj[attribute]
    except (p11e.PKCS11Error, KeyError, NotImplementedError):
        return default


@dataclass
class KeyObjects:
    """The objects of one key: found by CKA_ID (or label when ids are empty)."""

    key_id: bytes
    labels: list[str] = field(default_factory=list)
    public: Object | None = None
    cert: Object | None = None
    private: Object | None = None

    @property
    def label(self) -> str | None:
        for obj in (self.private, self.public, self.cert):
            if obj is not None:
                raw = attr(obj, Attribute.LABEL, None)  # unreadable (token gone): the next object, or the id
                label = text_of(raw) if raw is not None else None
                if label:
                    return label
        return None

    def crypto_public(self) -> PublicKeyTypes | None:
        """The public key, from a public key object, a certificate or
        the private key's public attributes; None when unreadable."""
        errors: list[str] = []
        if self.public is not None:
            try:
                return public_from_attrs(self.public)
            except (ValueError, p11e.PKCS11Error) as e:
                errors.append(str(e))
        if self.cert is not None:
            from cryptography import x509

            try:
                return x509.load_der_x509_certificate(bytes(self.cert[Attribute.VALUE])).public_key()
            except (ValueError, p11e.PKCS11Error) as e:
                errors.append(str(e))
        if self.private is not None:
            try:
                return public_from_attrs(self.private)
            except (ValueError, KeyError, p11e.PKCS11Error):
                pass
        if errors:
            raise ValueError(errors[0])
        return None


def _key_objects(session: Session) -> list[KeyObjects]:
    groups: dict[tuple[bytes, str], KeyObjects] = {}
    for cls, slot_name in (
        (ObjectClass.PRIVATE_KEY, "private"),
        (ObjectClass.PUBLIC_KEY, "public"),
        (ObjectClass.CERTIFICATE, "cert"),
    ):
        for obj in session.get_objects({Attribute.CLASS: cls}):
            key_id = bytes(attr(obj, Attribute.ID, b"") or b"")
            label = text_of(attr(obj, Attribute.LABEL, "") or "")
            gkey = (key_id, "" if key_id else label)
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = KeyObjects(key_id)
            if getattr(group, slot_name) is None:
                setattr(group, slot_name, obj)
            if label and label not in group.labels:
                group.labels.append(label)
    return list(groups.values())


def key_objects(entry: TokenSession) -> list[KeyObjects]:
    """The keys visible in the token's session (more after login)."""
    try:
        return _key_objects(entry.session)
    except p11e.PKCS11Error as e:
        raise token_error(entry.ref, "cannot list objects", e) from None


def _group_matches(uri: PKCS11URI, group: KeyObjects) -> bool:
    if uri.id is not None and group.key_id != uri.id:
        return False
    # ``type`` is accepted but does not filter: the private key, public key
    # and certificate of one id are one key here.
    return uri.object is None or uri.object in group.labels


@dataclass
class Located:
    """One key, in the pooled session of its token."""

    entry: TokenSession
    group: KeyObjects

    def uri(self) -> PKCS11URI:
        return self.entry.ref.uri(self.group.label, self.group.key_id)

    def where(self) -> str:
        label = self.group.label or self.group.key_id.hex()
        return f"key '{label}' on {self.entry.ref.describe()}"

    def public(self) -> PublicKeyTypes | None:
        """The key's public key (None: only the private key is visible)."""
        try:
            return self.group.crypto_public()
        except ValueError as e:
            raise TokenError(f"cannot read the public key of {self.where()}: {e}") from None
        except p11e.PKCS11Error as e:
            raise token_error(self.entry.ref, "cannot read the public key", e) from None


def _describe_key(uri: PKCS11URI) -> str:
    parts = []
    if uri.object is not None:
        parts.append(f"object={uri.object!r}")
    if uri.id is not None:
        parts.append(f"id={uri.id.hex()}")
    return " and ".join(parts)


def locate_key(
    uri: PKCS11URI,
    secrets_handler: SecretsHandler | None = None,
    notify: Notify | None = None,
) -> Located:
    """The one key the URI selects; logs in (to see private objects) only
    when nothing matches without login and a secrets handler is given.

    A URI that names a token but no key (``pkcs11:token=alice``) selects the
    token's key when it holds exactly one; with several, the error lists the
    full URI of each."""
    if not uri.selects_key and not uri.selects_token:
        raise InputError(
            "the PKCS#11 URI names no token and no key: add token=LABEL, and object=LABEL or "
            "id=%XX when the token holds several keys (tuf-ceremony key list shows the URIs "
            "of the keys on your tokens)"
        )
    refs = find_tokens(uri)
    found: list[Located] = []
    for ref in refs:
        entry = pooled(ref)
        found.extend(Located(entry, group) for group in key_objects(entry) if _group_matches(uri, group))
    if not found and len(refs) == 1 and secrets_handler is not None:
        # The key may be a private object, invisible until login.
        entry = pooled(refs[0])
        if not entry.logged_in:
            entry.login(secrets_handler, notify)
            found = [Located(entry, g) for g in key_objects(entry) if _group_matches(uri, g)]
    if not found:
        where = ", ".join(r.describe() for r in refs)
        names = sorted({g.label or g.key_id.hex() for r in refs for g in key_objects(pooled(r))})
        listing = ", ".join(names) if names else "none visible"
        what = f"no key with {_describe_key(uri)}" if uri.selects_key else "no key"
        raise TokenError(f"key not found: {what} on {where} (keys there: {listing})")
    if len(found) > 1:
        candidates = " | ".join(format_uri(f.uri()) for f in found)
        if not uri.selects_key:
            raise InputError(
                f"the PKCS#11 URI names a token but no key, and {len(found)} keys match; "
                f"use one of these URIs: {candidates}"
            )
        raise InputError(f"the PKCS#11 URI matches {len(found)} keys; use one of these URIs: {candidates}")
    return found[0]
