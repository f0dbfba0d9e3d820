"""The one threshold policy of tuf-ceremony.

A role's threshold is met when valid signatures by at least ``threshold``
*distinct public keys* among the role's keys are present. Keys are compared by
their material (DER SubjectPublicKeyInfo), never by keyid: the same public key
listed under two keyids (another scheme, custom fields, another encoding)
counts once. ``sign``, ``status``, ``merge``, the trusted-chain check and
``verify`` all decide through :func:`evaluate_threshold`; python-tuf's
``verify_delegate`` (which counts keyids) may only ever be a second check.

The caller verifies signatures (software and token keys through
securesystemslib, legacy encodings through :mod:`tuf_ceremony.verify.legacy`)
and passes the set of keyids whose signature over the payload verified.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ThresholdResult:
    """How one role stands against its threshold.

    ``signed`` holds one keyid per distinct public key that signed (the first
    listed keyid of that key with a valid signature); ``unsigned`` one keyid
    per distinct key that did not. ``duplicate_keys`` lists groups of keyids
    that name the same public key; ``unusable`` keyids whose key material
    could not be decoded or that have no key at all (never counted).
    """

    role: str
    threshold: int
    signed: tuple[str, ...]
    unsigned: tuple[str, ...]
    duplicate_keys: tuple[tuple[str, ...], ...] = ()
    repeated_keyids: tuple[str, ...] = ()
    unusable: tuple[str, ...] = ()

    @property
    def distinct_keys(self) -> int:
        return len(self.signed) + len(self.unsigned)

    @property
    def met(self) -> bool:
        return self.threshold >= 1 and len(self.signed) >= self.threshold

    @property
    def satisfiable(self) -> bool:
        """Whether the role could ever reach its threshold."""
        return 1 <= self.threshold <= self.distinct_keys


def evaluate_threshold(
    role: str,
    keyids: Sequence[str],
    threshold: int,
    material: Mapping[str, bytes | None],
    verified: Collection[str],
) -> ThresholdResult:
    """Count valid signatures for ``role`` by distinct public keys.

    ``keyids``: the keyids the delegator lists for the role, in order.
    ``material``: keyid -> key material (DER SPKI), or None when the key is
    unknown or cannot be decoded (such a keyid never counts).
    ``verified``: keyids whose signature over the payload verified against
    the key the delegator gives for that keyid.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    unusable: list[str] = []
    groups: dict[bytes, list[str]] = {}
    for kid in keyids:
        if kid in seen:
            if kid not in repeated:
                repeated.append(kid)
            continue
        seen.add(kid)
        mat = material.get(kid)
        if mat is None:
            unusable.append(kid)
            continue
        groups.setdefault(mat, []).append(kid)
    signed: list[str] = []
    unsigned: list[str] = []
    duplicates: list[tuple[str, ...]] = []
    for group in groups.values():
        if len(group) > 1:
            duplicates.append(tuple(group))
        good = [k for k in group if k in verified]
        (signed if good else unsigned).append(good[0] if good else group[0])
    return ThresholdResult(
        role=role,
        threshold=threshold,
        signed=tuple(signed),
        unsigned=tuple(unsigned),
        duplicate_keys=tuple(duplicates),
        repeated_keyids=tuple(repeated),
        unusable=tuple(unusable),
    )


def key_material(key: Any) -> bytes | None:
    """DER SubjectPublicKeyInfo of a securesystemslib key, None when it
    cannot be decoded (such a key never counts toward a threshold)."""
    from tuf_ceremony.keys import public_der

    try:
        return public_der(key)
    except (ValueError, TypeError):
        return None


def verified_keyids(
    keys: Mapping[str, Any], keyids: Sequence[str], data: bytes, signatures: Mapping[str, Any]
) -> set[str]:
    """The keyids among ``keyids`` whose signature in ``signatures`` verifies
    over ``data`` against the key ``keys`` gives for that keyid."""
    good: set[str] = set()
    for kid in keyids:
        key = keys.get(kid)
        sig = signatures.get(kid)
        if key is None or sig is None:
            continue
        try:
            key.verify_signature(sig, data)
        except Exception:  # noqa: BLE001, S112 - any failure means: not a valid signature
            continue
        good.add(kid)
    return good


def check_role(
    delegator_keys: Mapping[str, Any],
    role: str,
    keyids: Sequence[str],
    threshold: int,
    data: bytes,
    signatures: Mapping[str, Any],
) -> ThresholdResult:
    """Verify ``signatures`` over ``data`` and evaluate ``role``'s threshold.

    ``delegator_keys``: keyid -> securesystemslib Key, as the delegator
    (root, or targets for a delegation) lists them; ``signatures``: keyid ->
    securesystemslib Signature.
    """
    material = {kid: key_material(delegator_keys[kid]) if kid in delegator_keys else None for kid in keyids}
    verified = verified_keyids(delegator_keys, keyids, data, signatures)
    return evaluate_threshold(role, keyids, threshold, material, verified)


def check_delegate(delegator: Any, role: str, data: bytes, signatures: Mapping[str, Any]) -> ThresholdResult:
    """:func:`check_role` for a python-tuf ``Root`` (top-level roles) or
    ``Targets`` (delegated roles, by name) as the delegator."""
    if (
        hasattr(delegator, "roles")
        and role in getattr(delegator, "roles", {})
        and getattr(delegator, "type", "") == "root"
    ):
        r = delegator.roles[role]
        return check_role(delegator.keys, role, r.keyids, r.threshold, data, signatures)
    d = delegator.delegations
    if d is None:
        raise ValueError(f"{role} is not delegated")
    if d.roles is not None and role in d.roles:
        r = d.roles[role]
    elif d.succinct_roles is not None and d.succinct_roles.is_delegated_role(role):
        r = d.succinct_roles
    else:
        raise ValueError(f"{role} is not delegated")
    return check_role(d.keys, role, r.keyids, r.threshold, data, signatures)


def distinct_key_count(keys: Mapping[str, Any], keyids: Sequence[str]) -> int:
    """How many distinct, usable public keys ``keyids`` name (what "t of n"
    must show for n: a key listed under two keyids is one key)."""
    return len({m for m in (key_material(keys[k]) for k in set(keyids) if k in keys) if m is not None})
