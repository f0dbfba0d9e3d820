"""Urgent rotations without a plan (``rotate``): revoke and add keys of one or
several roles of the trusted root in one new root, with guard rails.

The options of a rotation (docs/rotation.md):

* ``roles``: every top-level role that changes (``--role``, repeatable);
* ``revoke`` / ``add`` / ``thresholds``: each applies to every role in
  ``roles``, or to one of them when written ``ROLE:VALUE``
  (``targets:bob``, ``root:dave.pub.json``, ``root:3``).

A revoked key is also taken out of every delegation of the trusted targets
(PEP 458 "bins", TAP 15 succinct bins) and replaced there by the keys added
to the role(s) it was revoked from: the new request then holds targets M+1
with the delegation keys replaced, so a compromised key is out of every role
the offline keys sign for in one ceremony. Roles below those delegations
(the 16,384 ``bin-n``) are signed online: the request's actions say so.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import Key
from tuf.api.metadata import Delegations, Metadata, Root, Targets

from tuf_ceremony.clients import is_p384, p384_warning
from tuf_ceremony.errors import InputError, RotationError
from tuf_ceremony.keys import keyid_of, load_public_key, public_der
from tuf_ceremony.plan import TOP_LEVEL_ROLES
from tuf_ceremony.prepare import check_root_rotation
from tuf_ceremony.request import Payload, SigningRequest, bind_names
from tuf_ceremony.text import safe
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.trusted import TrustedState


@dataclass
class RotationSpec:
    """What ``rotate`` was asked; values may be scoped as ``ROLE:VALUE``."""

    roles: list[str]
    revoke: list[str] = field(default_factory=list)  # names, keyids or keyid prefixes
    add: list[str] = field(default_factory=list)  # public key files or pkcs11: URIs
    thresholds: list[str] = field(default_factory=list)  # "N" or "ROLE:N"
    expires: datetime | None = None


@dataclass
class RotationResult:
    request: SigningRequest
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done beyond the root roles


def scoped(option: str, value: str, roles: list[str]) -> tuple[list[str], str]:
    """``ROLE:VALUE`` -> ([ROLE], VALUE); ``VALUE`` -> (roles, VALUE).

    Only a top-level role name counts as a scope, so ``pkcs11:token=x`` and
    file paths with colons are values."""
    head, sep, rest = value.partition(":")
    if sep and head in TOP_LEVEL_ROLES:
        if head not in roles:
            raise InputError(f"{option} {value}: {head} is not one of the --role given ({', '.join(roles)})")
        if not rest:
            raise InputError(f"{option} {value}: nothing after {head}:")
        return [head], rest
    return list(roles), value


def resolve_key(ref: str, root: Root, names: dict[str, str]) -> str:
    """A keyid of ``root`` from a name, a full keyid or a unique prefix (>= 8).

    A name that several keys share is refused: it could revoke the wrong one.
    """
    by_name = sorted(kid for kid, n in names.items() if n == ref and kid in root.keys)
    if len(by_name) > 1:
        raise InputError(
            f"--revoke {ref}: {len(by_name)} keys share that name "
            f"({', '.join(safe(k[:12]) for k in by_name)}): give the keyid instead"
        )
    if by_name:
        return by_name[0]
    if ref in root.keys:
        return ref
    if len(ref) >= 8:
        matches = [kid for kid in root.keys if kid.startswith(ref.lower())]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"--revoke {ref}: prefix matches {len(matches)} keys; give more")
    raise InputError(f"--revoke {ref}: no key of the trusted root has that name or keyid")


def _material(key: Key) -> bytes | None:
    try:
        return public_der(key)
    except (ValueError, TypeError):
        return None


def _keyids_with(root: Root, role: str, material: bytes | None, keyid: str) -> list[str]:
    """The keyids of ``role`` that are ``keyid`` or carry the same material."""
    out = []
    for kid in root.roles[role].keyids:
        if kid == keyid or (material is not None and _material(root.keys[kid]) == material):
            out.append(kid)
    return out


def _unique_label(label: str, keyid: str, names: dict[str, str]) -> str:
    """``label`` unless another key already has that name."""
    taken = {n for kid, n in names.items() if kid != keyid}
    if label not in taken:
        return label
    for candidate in (f"{label}-{keyid[:8]}", f"new-{keyid[:12]}", f"new-{keyid}"):
        if candidate not in taken:
            return candidate
    raise InputError(f"cannot find a unique name for the new key {keyid[:12]}")


def _load_added(ref: str) -> tuple[Key, str]:
    if ref.startswith("pkcs11:"):
        from tuf_ceremony.plan import check_uri_chooses_no_module
        from tuf_ceremony.signers import public_key_from_uri

        check_uri_chooses_no_module(ref, "--add: ")  # the URI becomes the key's name
        return public_key_from_uri(ref), ref
    return load_public_key(ref), Path(ref).name.split(".")[0] or "new-key"


def _thresholds(spec: RotationSpec) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in spec.thresholds:
        roles, text = scoped("--threshold", value, spec.roles)
        try:
            n = int(text)
        except ValueError:
            raise InputError(f"--threshold {value}: not a whole number") from None
        if n < 1:
            raise RotationError(f"--threshold {value}: must be at least 1")
        if n > 1000:
            raise InputError(f"--threshold {value}: absurdly large")
        for role in roles:
            out[role] = n
    return out


def _replace_keys(d: Delegations, keyids: list[str], revoked: dict[bytes, list[Key]]) -> tuple[list[str], list[str]]:
    """Swap, in one delegated role's ``keyids``, each key whose material is in
    ``revoked`` for its replacements (not already there). Returns (removed, added)."""
    removed: list[str] = []
    added: list[str] = []
    for kid in list(keyids):
        key = d.keys.get(kid)
        material = _material(key) if key is not None else None
        if material is None or material not in revoked:
            continue
        keyids.remove(kid)
        removed.append(kid)
        for new in revoked[material]:
            present = {_material(d.keys[k]) for k in keyids if k in d.keys}
            if _material(new) in present:
                continue
            d.keys[new.keyid] = new
            keyids.append(new.keyid)
            added.append(new.keyid)
    return removed, added


def replace_in_delegations(
    targets: Targets, revoked: dict[bytes, list[Key]], label: dict[str, str], source: str
) -> list[str]:
    """Take every key whose material is in ``revoked`` out of every delegation
    of ``targets`` (roles and succinct roles), adding the replacement keys
    listed for it. Returns one line per delegation changed."""
    d = targets.delegations
    if d is None:
        return []
    notes: list[str] = []
    roles: list[tuple[str, list[str], int]] = []
    if d.roles:
        roles = [(name, r.keyids, r.threshold) for name, r in d.roles.items()]
    if d.succinct_roles is not None:
        s = d.succinct_roles
        roles.append((f"succinct bins {s.name_prefix}-*", s.keyids, s.threshold))
    for name, keyids, threshold in roles:
        removed, added = _replace_keys(d, keyids, revoked)
        if not removed:
            continue
        if len(keyids) < threshold:
            raise RotationError(
                f"delegation {safe(name, 80)} would keep {len(keyids)} key(s), fewer than its threshold "
                f"{threshold}: --add a replacement key",
                source=source,
            )
        what = ", ".join(label.get(k, k[:12]) for k in removed)
        by = ", ".join(label.get(k, k[:12]) for k in added) or "no key"
        notes.append(f"targets: delegation {name}: key {what} replaced by {by}")
    in_use = {k for _, keyids, _ in roles for k in keyids}
    for kid in list(d.keys):
        if kid not in in_use:
            del d.keys[kid]
    return notes


@dataclass
class _Revoked:
    """What the ``--revoke`` options took out of the new root."""

    roles_left: dict[bytes, set[str]] = field(default_factory=dict)  # material -> roles it left
    root_material: set[bytes] = field(default_factory=set)  # material that left root
    label: dict[bytes, str] = field(default_factory=dict)  # material -> name shown


def _checked_roles(spec: RotationSpec) -> list[str]:
    """The ``--role`` values, in TOP_LEVEL_ROLES order; unknown ones refused."""
    roles = [r for r in TOP_LEVEL_ROLES if r in spec.roles]
    unknown = [r for r in spec.roles if r not in TOP_LEVEL_ROLES]
    if unknown or not roles:
        raise InputError(f"--role {unknown[0] if unknown else ''}: choose root, targets, snapshot or timestamp")
    return roles


def _next_root(trusted: TrustedState, spec: RotationSpec, now: datetime) -> Root:
    """A copy of the trusted root as version N+1, expiring after ``now``."""
    old: Root = trusted.root.signed
    new = Root.from_dict(copy.deepcopy(old.to_dict()))
    new.version = old.version + 1
    if spec.expires is not None:
        new.expires = spec.expires
    if new.expires <= now:
        raise RotationError(
            f"the new root would expire at {fmt_time(new.expires)}, which is not after now: give --expires",
            source=str(trusted.root_path),
        )
    return new


def _revoke(old: Root, new: Root, spec: RotationSpec, names: dict[str, str]) -> _Revoked:
    """Apply every ``--revoke`` to ``new`` (each key resolved in ``old``)."""
    revoked = _Revoked()
    for ref in spec.revoke:
        scope, value = scoped("--revoke", ref, spec.roles)
        kid = resolve_key(value, old, names)
        material = _material(old.keys[kid])
        left: list[str] = []
        for role in scope:
            for held in _keyids_with(new, role, material, kid):
                new.revoke_key(held, role)
                left.append(role)
        if not left:
            raise InputError(
                f"--revoke {ref}: key {safe(names.get(kid, kid[:12]), 60)} is not a {' or '.join(scope)} key"
            )
        if material is not None:
            revoked.roles_left.setdefault(material, set()).update(left)
            revoked.label[material] = names.get(kid, kid[:12])
            if "root" in left:
                revoked.root_material.add(material)
    return revoked


def _add(
    new: Root, spec: RotationSpec, names: dict[str, str], key_objects: dict[str, Key], warnings: list[str]
) -> dict[str, list[Key]]:
    """Apply every ``--add`` to ``new``: to every named role (or the one scoped),
    never under another key's name. Returns the keys added, per role."""
    added_to: dict[str, list[Key]] = {r: [] for r in spec.roles}
    for ref in spec.add:
        scope, value = scoped("--add", ref, spec.roles)
        key, label = _load_added(value)
        material = public_der(key)
        if is_p384(key):
            warnings.append(p384_warning(f"--add {value}"))
        for existing in new.keys.values():
            if _material(existing) == material:
                key = existing  # the same key already in root: keep its keyid
                break
        for role in scope:
            for kid in new.roles[role].keyids:
                if _material(new.keys[kid]) == material:
                    raise InputError(f"is already a {role} key ({safe(kid[:12])})", source=value)
            new.add_key(key, role)
            added_to[role].append(key)
        if key.keyid not in names:
            names[key.keyid] = _unique_label(label, key.keyid, names)
        key_objects[key.keyid] = key
    return added_to


def _set_thresholds(new: Root, spec: RotationSpec, warnings: list[str]) -> None:
    """Apply ``--threshold``; warn where losing one key would lock a role."""
    for role, n in _thresholds(spec).items():
        new.roles[role].threshold = n
    for role in spec.roles:
        r = new.roles[role]
        if len(r.keyids) == r.threshold and len(r.keyids) > 1:
            warnings.append(
                f"{role}: threshold {r.threshold} equals the number of keys: losing one key locks this role"
            )


def _warn_still_held(new: Root, revoked: _Revoked, warnings: list[str]) -> None:
    """Warn about each revoked key that some role not rotated still holds."""
    for material in revoked.roles_left:
        still = [
            role for role in TOP_LEVEL_ROLES if any(_material(new.keys[k]) == material for k in new.roles[role].keyids)
        ]
        if still:
            warnings.append(
                f"{revoked.label[material]} is still a {' and '.join(still)} key: "
                f"add --role {' --role '.join(still)} to take it out of every role"
            )


def _next_targets(
    trusted: TrustedState,
    spec: RotationSpec,
    now: datetime,
    revoked: _Revoked,
    added_to: dict[str, list[Key]],
    labels: dict[str, str],
    warnings: list[str],
) -> tuple[Targets | None, list[str]]:
    """Targets M+1 when the targets role rotates or a delegation held a revoked
    key (replaced by the keys added to the role(s) it left), with one note per
    delegation changed; (None, []) otherwise."""
    if trusted.targets is None:
        if "targets" in spec.roles:
            warnings.append(
                "no N.targets.json in the trusted directory: the current targets "
                "metadata must be re-signed by the new targets keys separately"
            )
        elif revoked.roles_left:
            warnings.append(
                "no N.targets.json in the trusted directory: delegations signed by "
                "a revoked key were not checked; replace the key there separately"
            )
        return None, []
    replacements = {m: [k for role in sorted(left) for k in added_to[role]] for m, left in revoked.roles_left.items()}
    t = Targets.from_dict(copy.deepcopy(trusted.targets.signed.to_dict()))
    delegation_notes = replace_in_delegations(t, replacements, labels, str(trusted.targets_path or trusted.directory))
    if "targets" not in spec.roles and not delegation_notes:
        return None, []
    t.version += 1
    t.expires = spec.expires or t.expires
    if t.expires <= now:
        raise RotationError("the re-signed targets would be expired: give --expires")
    return t, delegation_notes


def _names_for(key_objects: dict[str, Key], names: dict[str, str]) -> dict[str, str]:
    """One unique name per key of the request (generated where none was given)."""
    out = {kid: n for kid, n in names.items() if kid in key_objects}
    for kid in key_objects:
        if kid not in out:
            out[kid] = _unique_label(f"key-{kid[:8]}", kid, out)
    return out


def rotate(
    trusted: TrustedState, spec: RotationSpec, now: datetime, names: dict[str, str], ceremony: str
) -> RotationResult:
    spec.roles = _checked_roles(spec)
    old_md = trusted.root
    old: Root = old_md.signed
    new = _next_root(trusted, spec, now)
    names = dict(names)
    key_objects: dict[str, Key] = {kid: k for kid, k in old.keys.items() if keyid_of(k.to_dict()) == kid}
    warnings: list[str] = []
    revoked = _revoke(old, new, spec, names)
    added_to = _add(new, spec, names, key_objects, warnings)
    _set_thresholds(new, spec, warnings)
    # compromised / revoked root keys cannot be counted on to sign the rotation
    available = {m for k in old.keys.values() if (m := _material(k)) is not None and m not in revoked.root_material}
    check_root_rotation(old, new, available, str(trusted.root_path))
    _warn_still_held(new, revoked, warnings)

    payloads = [Payload("root", Metadata(new))]
    t, notes = _next_targets(trusted, spec, now, revoked, added_to, dict(names), warnings)
    if t is not None:
        payloads.append(Payload("targets", Metadata(t)))
        for d_key in t.delegations.keys.values() if t.delegations else []:
            key_objects.setdefault(d_key.keyid, d_key)
    names = _names_for(key_objects, names)
    request = SigningRequest(
        ceremony=ceremony,
        created=fmt_time(now),
        payloads=payloads,
        key_names=bind_names(names, key_objects),  # one name per public key (issue 9)
        names_keys=key_objects,
        trusted_root=old_md,
        trusted_targets=trusted.targets if t is not None else None,
    )
    return RotationResult(request, warnings, notes)
