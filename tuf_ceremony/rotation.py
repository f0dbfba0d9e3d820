"""Urgent rotations without a plan (``rotate``): revoke and add keys of one
role of the trusted root, with guard rails."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Root, Targets

from tuf_ceremony.errors import InputError, RotationError
from tuf_ceremony.keys import keyid_of, load_public_key, public_der
from tuf_ceremony.plan import TOP_LEVEL_ROLES
from tuf_ceremony.prepare import check_root_rotation
from tuf_ceremony.request import Payload, SigningRequest
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.trusted import TrustedState


@dataclass
class RotationSpec:
    role: str
    revoke: list[str] = field(default_factory=list)  # keyids, keyid prefixes or names
    add: list[str] = field(default_factory=list)  # public key files or pkcs11: URIs
    threshold: int | None = None
    expires: datetime | None = None


def resolve_key(ref: str, root: Root, names: dict[str, str]) -> str:
    """A keyid of ``root`` from a name, a full keyid or a unique prefix (>= 8)."""
    by_name = [kid for kid, n in names.items() if n == ref and kid in root.keys]
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


def rotate(trusted: TrustedState, spec: RotationSpec, now: datetime,
           names: dict[str, str], ceremony: str, warnings: list[str]) -> SigningRequest:
    if spec.role not in TOP_LEVEL_ROLES:
        raise InputError(f"--role {spec.role}: choose root, targets, snapshot or timestamp")
    old_md = trusted.root
    old: Root = old_md.signed
    new = Root.from_dict(copy.deepcopy(old.to_dict()))
    new.version = old.version + 1
    if spec.expires is not None:
        new.expires = spec.expires
    if new.expires <= now:
        raise RotationError(
            f"the new root would expire at {fmt_time(new.expires)}, which is not after "
            "now: give --expires", source=str(trusted.root_path))
    role = new.roles[spec.role]
    revoked: set[str] = set()
    for ref in spec.revoke:
        kid = resolve_key(ref, old, names)
        if kid not in role.keyids:
            raise InputError(f"--revoke {ref}: key {kid[:12]} is not a {spec.role} key")
        new.revoke_key(kid, spec.role)
        revoked.add(kid)
    names = dict(names)
    key_objects: dict[str, Key] = {kid: k for kid, k in old.keys.items()
                                   if keyid_of(k.to_dict()) == kid}
    for ref in spec.add:
        if ref.startswith("pkcs11:"):
            from tuf_ceremony.signers import public_key_from_uri

            key = public_key_from_uri(ref)
            label = ref
        else:
            key = load_public_key(ref)
            label = Path(ref).name.split(".")[0]
        material = public_der(key)
        for kid in new.roles[spec.role].keyids:
            if public_der(new.keys[kid]) == material:
                raise InputError(f"is already a {spec.role} key ({kid[:12]})", source=ref)
        new.add_key(key, spec.role)
        names.setdefault(key.keyid, label)
        key_objects[key.keyid] = key
    if spec.threshold is not None:
        if spec.threshold < 1:
            raise RotationError(f"--threshold {spec.threshold} must be at least 1")
        role.threshold = spec.threshold
    if len(role.keyids) == role.threshold and len(role.keyids) > 1:
        warnings.append(f"{spec.role}: threshold {role.threshold} equals the number of keys: "
                        "losing one key locks this role")
    # compromised / revoked root keys cannot be counted on to sign the rotation
    available = {public_der(k) for kid, k in old.keys.items()
                 if not (spec.role == "root" and kid in revoked)}
    check_root_rotation(old, new, available, str(trusted.root_path))

    payloads = [Payload("root", Metadata(new))]
    trusted_targets = None
    if spec.role == "targets":
        if trusted.targets is None:
            warnings.append("no N.targets.json in the trusted directory: the current targets "
                            "metadata must be re-signed by the new targets keys separately")
        else:
            trusted_targets = trusted.targets
            t = Targets.from_dict(copy.deepcopy(trusted.targets.signed.to_dict()))
            t.version += 1
            t.expires = spec.expires or t.expires
            if t.expires <= now:
                raise RotationError("the re-signed targets would be expired: give --expires")
            payloads.append(Payload("targets", Metadata(t)))
    for kid in list(names):
        if kid not in key_objects:
            names.pop(kid)
    for kid in key_objects:
        names.setdefault(kid, f"key-{kid[:8]}")
    return SigningRequest(
        ceremony=ceremony,
        created=fmt_time(now),
        payloads=payloads,
        key_names=names,
        names_keys=key_objects,
        trusted_root=old_md,
        trusted_targets=trusted_targets,
    )
