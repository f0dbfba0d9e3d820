"""Token administration: list tokens and keys, generate keys, full key URIs."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pkcs11
from pkcs11 import Attribute, TokenFlag
from pkcs11 import exceptions as p11e
from securesystemslib.signer import Key, SecretsHandler

from tuf_ceremony.errors import InputError, TokenError
from tuf_ceremony.keytypes import KEY_TYPES, kind_of
from tuf_ceremony.signers.pkcs11.encoding import generation_for
from tuf_ceremony.signers.pkcs11.lookup import KeyObjects, Located, key_objects, locate_key
from tuf_ceremony.signers.pkcs11.modules import modules
from tuf_ceremony.signers.pkcs11.sessions import STATS, pooled
from tuf_ceremony.signers.pkcs11.signer import read_public_key
from tuf_ceremony.signers.pkcs11.tokens import TokenRef, find_tokens, pin_state, token_error, token_refs
from tuf_ceremony.signers.pkcs11.uri import format_uri, parse_uri

Notify = Callable[[str], None]


@dataclass(frozen=True)
class KeyInfo:
    """A key visible on a token without login."""

    label: str
    id: str  # hex
    keytype: str  # ed25519, ecdsa-p256, ecdsa-p384, rsa-3072, ... or "unknown (...)"
    uri: str


@dataclass(frozen=True)
class TokenInfo:
    """A token in a slot, and its keys."""

    module: str
    slot_id: int
    label: str
    manufacturer: str
    model: str
    serial: str
    pin_state: str  # ok, count low, final try, locked, no user PIN, not initialized
    uri: str
    keys: list[KeyInfo]


def _key_info(located: Located) -> KeyInfo:
    group = located.group
    try:
        public = group.crypto_public()
        keytype = kind_of(public).name if public is not None else "unknown"
    except (ValueError, p11e.PKCS11Error) as e:
        keytype = f"unknown ({e})"
    return KeyInfo(label=group.label or "", id=group.key_id.hex(), keytype=keytype, uri=format_uri(located.uri()))


def _token_info(ref: TokenRef) -> TokenInfo:
    keys: list[KeyInfo] = []
    if ref.flags & TokenFlag.TOKEN_INITIALIZED:
        entry = pooled(ref)
        groups = sorted(key_objects(entry), key=lambda g: (g.key_id, g.label or ""))
        keys = [_key_info(Located(entry, group)) for group in groups]
    return TokenInfo(
        module=ref.module.path,
        slot_id=int(ref.slot.slot_id),
        label=ref.label,
        manufacturer=ref.manufacturer,
        model=ref.model,
        serial=ref.serial,
        pin_state=pin_state(ref.flags),
        uri=format_uri(ref.uri()),
        keys=keys,
    )


def list_tokens(module: str | None = None) -> list[TokenInfo]:
    """Every token of the module (or of every module found) and the keys
    visible on it without logging in."""
    return [_token_info(ref) for mod in modules(None, module) for ref in token_refs(mod, initialized_only=False)]


def _next_free_id(groups: list[KeyObjects]) -> bytes:
    used = {g.key_id for g in groups}
    for n in range(1, 256):
        candidate = bytes([n])
        if candidate not in used:
            return candidate
    return os.urandom(16)


def _check_new_key_is_free(ref: TokenRef, groups: list[KeyObjects], label: str, key_id: bytes | None) -> None:
    for group in groups:
        if label in group.labels:
            raise InputError(
                f"{ref.describe()} already holds an object labelled {label!r}; choose another object= label"
            )
        if key_id is not None and group.key_id == key_id:
            raise InputError(f"{ref.describe()} already holds an object with id {key_id.hex()}; choose another id=")


def generate_key(
    uri: str,
    keytype: str,
    secrets_handler: SecretsHandler | None,
    notify: Notify | None = None,
) -> Key:
    """Generate a key pair on the token the URI selects: sensitive, not
    extractable, labelled ``object``, with CKA_ID ``id`` (else the next free
    one-byte id). Refuses when an object with that label or id exists."""
    parsed = parse_uri(uri)
    kind = KEY_TYPES.get(keytype)
    if kind is None:
        raise InputError(f"unknown key type {keytype!r}; choose one of {', '.join(KEY_TYPES)}")
    if not parsed.object:
        raise InputError("the PKCS#11 URI must name the new key: add object=LABEL")
    refs = find_tokens(parsed)
    if len(refs) > 1:
        candidates = " | ".join(format_uri(r.uri()) for r in refs)
        raise InputError(f"the PKCS#11 URI matches {len(refs)} tokens; use one of: {candidates}")
    ref = refs[0]
    entry = pooled(ref)
    gen = generation_for(kind)
    mechs = entry.mechanisms()
    if gen.mechanism not in mechs or not gen.sign_mechanisms & mechs:
        raise TokenError(
            f"{ref.describe()} cannot generate or sign with {keytype} keys "
            "(mechanism not supported by this token); choose another --type"
        )
    entry.login(secrets_handler, notify)
    existing = key_objects(entry)
    _check_new_key_is_free(ref, existing, parsed.object, parsed.id)
    key_id = parsed.id if parsed.id is not None else _next_free_id(existing)
    public_template: dict[Attribute, Any] = {Attribute.PRIVATE: False}
    if gen.ec_params is not None:
        public_template[Attribute.EC_PARAMS] = gen.ec_params
    private_template: dict[Attribute, Any] = {
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
    }
    try:
        with ref.token.open(rw=True) as rw_session:
            STATS.sessions_opened += 1
            rw_session.generate_keypair(
                gen.key_type,
                gen.length,
                id=key_id,
                label=parsed.object,
                store=True,
                capabilities=pkcs11.MechanismFlag.SIGN | pkcs11.MechanismFlag.VERIFY,
                mechanism=gen.mechanism,
                public_template=public_template,
                private_template=private_template,
            )
    except p11e.PKCS11Error as e:
        raise token_error(ref, f"generating a {keytype} key failed", e) from None
    return read_public_key(format_uri(ref.uri(parsed.object, key_id)))


def key_uri_for(uri: str) -> str:
    """The full URI (token, serial, object, id) of the one key ``uri`` selects."""
    return format_uri(locate_key(parse_uri(uri)).uri())
