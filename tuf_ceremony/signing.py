"""Signing a request: which roles a key may sign, and the signing itself.

The signer is any securesystemslib ``Signer`` (software key, PKCS#11 token);
the core never asks for secrets itself: the signer factory was given the
injected secrets handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from securesystemslib.signer import Key, Signer

from tuf_ceremony.bundle import BundleSignature, SignatureBundle
from tuf_ceremony.errors import InputError, SignatureRefused, UnauthorizedKeyError
from tuf_ceremony.keys import public_der
from tuf_ceremony.request import SigningRequest


@dataclass(frozen=True)
class SigningSlot:
    """One signature to make: a payload role and the keyid to sign as."""

    role: str
    version: int
    keyid: str
    key: Key


def authorized_keys(request: SigningRequest, role: str) -> dict[str, Key]:
    """Keys whose signatures count for ``role``'s payload.

    For root: the new root's root keys and, on a rotation, the trusted root's
    root keys (spec 5.3.4). For targets: the targets keys of the new root.
    """
    out: dict[str, Key] = {}
    new_root = request.new_root
    for kid in new_root.roles[role].keyids:
        out[kid] = new_root.keys[kid]
    if role == "root" and request.trusted_root is not None:
        old = request.trusted_root.signed
        for kid in old.roles["root"].keyids:
            if kid in old.keys:  # a trusted root may list a keyid without a key
                out.setdefault(kid, old.keys[kid])
    return out


def _material(key: Key) -> bytes | None:
    try:
        return public_der(key)
    except ValueError:
        return None


def delegator_sets(request: SigningRequest, role: str) -> list[tuple[str, list[str], dict[str, Key]]]:
    """The thresholds a ``role`` payload must meet: (label, keyids, keys).

    Root: the new root's root role and, on a rotation, the trusted root's
    (spec 5.3.4). Targets: the targets role of the new root.
    """
    new_root = request.new_root
    sets = [
        (
            "new root" if role == "root" and request.trusted_root is not None else role,
            list(new_root.roles[role].keyids),
            dict(new_root.keys),
        )
    ]
    if role == "root" and request.trusted_root is not None:
        old = request.trusted_root.signed
        sets.insert(0, ("old root", list(old.roles["root"].keyids), dict(old.keys)))
    return sets


def slots_for(request: SigningRequest, public_key: Key) -> list[SigningSlot]:
    """Every (role, keyid) this key material must sign in ``request``.

    Keys are matched by key material, so a key listed under another keyid
    (other scheme, custom fields) still signs under the keyid the metadata uses.
    A key signs each payload once per keyid its delegators know it by: once,
    unless the trusted root lists the same key under another keyid than the
    new root (a client checks the old root's threshold by its keyids). Never
    twice for one threshold: within one role a key has one keyid (payloads
    with a key under two keyids are refused at load; in a trusted root only
    the first keyid of a key is used, and the policy counts the key once).
    """
    material = public_der(public_key)
    slots: list[SigningSlot] = []
    for payload in request.payloads:
        chosen: list[str] = []
        for _label, keyids, keys in delegator_sets(request, payload.role):
            for kid in keyids:
                if kid in keys and _material(keys[kid]) == material:
                    if kid not in chosen:
                        chosen.append(kid)
                        slots.append(SigningSlot(payload.role, payload.version, kid, keys[kid]))
                    break
    return slots


def check_not_expired(request: SigningRequest, now: datetime | None = None) -> None:
    """Refuse a request with a payload already expired at ``now`` (the
    machine's clock by default): a client refuses an expired root or targets,
    so signing or merging it only locks clients out until the next ceremony.
    A hostile request may carry one; ``prepare`` and ``rotate`` never make one."""
    from tuf_ceremony.timeutil import fmt_time, utcnow

    when = now or utcnow()
    for payload in request.payloads:
        signed = payload.metadata.signed
        if signed.is_expired(when):
            raise InputError(
                f"{payload.role} version {payload.version} expired at "
                f"{fmt_time(signed.expires)} (now {fmt_time(when)}): clients refuse expired "
                "metadata; refusing to sign or merge it",
                source=request.source,
            )


def require_slots(request: SigningRequest, public_key: Key, key_label: str) -> list[SigningSlot]:
    check_not_expired(request)
    slots = slots_for(request, public_key)
    if not slots:
        raise UnauthorizedKeyError(
            f"key {public_key.keyid[:12]} is not in any role of this request "
            f"(roles: {', '.join(p.role for p in request.payloads)}); wrong key or wrong request?",
            source=key_label,
        )
    return slots


def sign_slots(
    request: SigningRequest,
    slots: list[SigningSlot],
    signer_for: Callable[[Key], Signer],
    signer_name: str,
    created: str,
) -> SignatureBundle:
    """Sign every slot, verify each new signature, and return the bundle."""
    sigs: list[BundleSignature] = []
    for slot in slots:
        payload = request.payload(slot.role)
        assert payload is not None
        signer = signer_for(slot.key)
        signature = signer.sign(payload.signed_bytes)
        if signature.keyid != slot.keyid:
            raise SignatureRefused(
                f"signer produced keyid {signature.keyid[:12]}, expected {slot.keyid[:12]}", source=request.source
            )
        try:
            slot.key.verify_signature(signature, payload.signed_bytes)
        except Exception as e:  # noqa: BLE001 - any failure: the signature is not written
            raise SignatureRefused(
                f"the new signature on {slot.role} v{slot.version} does not verify against "
                f"key {slot.keyid[:12]} ({e}); nothing was written",
                source=request.source,
            ) from None
        sigs.append(BundleSignature(slot.role, slot.version, payload.digest, slot.keyid, signature.signature))
    first = slots[0]
    return SignatureBundle(
        request_id=request.request_id,
        created=created,
        signer_keyid=first.keyid,
        signer_name=signer_name,
        signatures=sigs,
    )
