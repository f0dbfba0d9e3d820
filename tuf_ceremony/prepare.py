"""Building signing requests from a plan (``prepare``)."""

from __future__ import annotations

from datetime import datetime

from securesystemslib.signer import Key
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    Root,
    SuccinctRoles,
    Targets,
)

from tuf_ceremony.content import hash_target_files
from tuf_ceremony.errors import RotationError
from tuf_ceremony.keys import keyid_of, public_der
from tuf_ceremony.plan import ONLINE_ROLES, TOP_LEVEL_ROLES, Plan
from tuf_ceremony.request import Payload, SigningRequest
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.trusted import TrustedState


def build_root(plan: Plan, version: int, now: datetime) -> Root:
    root = Root(
        version=version,
        expires=plan.expiry("root", now),
        consistent_snapshot=plan.consistent_snapshot,
    )
    for role in TOP_LEVEL_ROLES:
        for key in plan.role_keys(role):
            root.add_key(key, role)
        root.roles[role].threshold = plan.roles[role].threshold
    return root


def build_targets(plan: Plan, version: int, now: datetime, trusted: Targets | None) -> Targets:
    targets = Targets(version=version, expires=plan.expiry("targets", now))
    if trusted is not None:
        targets.targets = dict(trusted.targets)
        targets.delegations = trusted.delegations
        targets.unrecognized_fields = dict(trusted.unrecognized_fields)
    if plan.delegations or plan.succinct:
        keys: dict[str, Key] = {}
        if plan.succinct is not None:
            s = plan.succinct
            skeys = [plan.keys[n].key for n in s.keys]
            keys = {k.keyid: k for k in skeys}
            succinct = SuccinctRoles(
                keyids=[k.keyid for k in skeys],
                threshold=s.threshold,
                bit_length=s.bit_length,
                name_prefix=s.name_prefix,
            )
            targets.delegations = Delegations(keys=keys, succinct_roles=succinct)
        else:
            roles: dict[str, DelegatedRole] = {}
            for d in plan.delegations:
                dkeys = [plan.keys[n].key for n in d.keys]
                keys.update({k.keyid: k for k in dkeys})
                roles[d.name] = DelegatedRole(
                    name=d.name,
                    keyids=[k.keyid for k in dkeys],
                    threshold=d.threshold,
                    terminating=d.terminating,
                    paths=list(d.paths) if d.paths is not None else None,
                    path_hash_prefixes=(list(d.path_hash_prefixes) if d.path_hash_prefixes is not None else None),
                )
            targets.delegations = Delegations(keys=keys, roles=roles)
    return targets


def request_names(
    plan_names: dict[str, Key], plan_labels: dict[str, str], trusted_root: Root | None
) -> tuple[dict[str, str], dict[str, Key]]:
    """Names for every key a signer may see: the plan's, and the trusted
    root's keys matched by key material (an old key keeps its name)."""
    names = dict(plan_labels)
    keys = dict(plan_names)
    if trusted_root is not None:
        by_material = {public_der(k): kid for kid, k in plan_names.items()}
        for kid, key in trusted_root.keys.items():
            if kid in keys or keyid_of(key.to_dict()) != kid:
                continue
            try:
                material = public_der(key)
            except ValueError:
                continue
            if material in by_material:
                names[kid] = names[by_material[material]]
            else:
                names[kid] = f"trusted-{kid[:8]}"
            keys[kid] = key
    return names, keys


def check_root_rotation(trusted: Root, new_root: Root, available: set[bytes], source: str) -> None:
    """Guard rails of a root rotation.

    ``available`` is the key material of the keys that can still sign: when
    fewer trusted root keys remain than the trusted threshold, no client can
    ever accept the new root through the chain: say so instead of producing a
    request no one can complete.
    """
    old_role = trusted.roles["root"]
    remaining = [kid for kid in old_role.keyids if public_der(trusted.keys[kid]) in available]
    if len(remaining) < old_role.threshold:
        raise RotationError(
            f"only {len(remaining)} of the trusted root's {len(old_role.keyids)} root keys "
            f"remain, fewer than its threshold {old_role.threshold}: a normal rotation is "
            "impossible; root must be replaced out of band (see docs/rotation.md)",
            source=source,
        )
    for role in TOP_LEVEL_ROLES:
        r = new_root.roles[role]
        if len(r.keyids) < r.threshold:
            raise RotationError(
                f"new {role} role has {len(r.keyids)} key(s), fewer than its threshold "
                f"{r.threshold}: it could never be signed",
                source=source,
            )


def prepare_from_plan(plan: Plan, now: datetime, trusted: TrustedState | None = None) -> SigningRequest:
    """The signing request for the next root and targets versions."""
    trusted_root = trusted.root.signed if trusted else None
    root_version = trusted_root.version + 1 if trusted_root else 1
    root = build_root(plan, root_version, now)
    trusted_targets = trusted.targets.signed if trusted and trusted.targets else None
    targets_version = trusted_targets.version + 1 if trusted_targets else 1
    targets = build_targets(plan, targets_version, now, trusted_targets)
    if plan.target_files is not None:
        targets.targets = hash_target_files(plan.target_files, str(plan.path))
    if trusted_root is not None:
        available = {public_der(nk.key) for nk in plan.keys.values()}
        check_root_rotation(trusted_root, root, available, str(plan.path))
    plan_keys = {nk.keyid: nk.key for nk in plan.keys.values()}
    names, keys = request_names(plan_keys, plan.key_names(), trusted_root)
    # names only for keys that appear in what is signed or trusted (issue 9)
    used = _keyids_in(root, targets, trusted)
    names = {k: v for k, v in names.items() if k in used}
    keys = {k: v for k, v in keys.items() if k in used}
    online = {r: {"expires": plan.roles[r].expires or ""} for r in ONLINE_ROLES if plan.roles[r].expires}
    return SigningRequest(
        ceremony=plan.name,
        created=fmt_time(now),
        payloads=[
            Payload("root", Metadata(root)),
            Payload("targets", Metadata(targets)),
        ],
        key_names=names,
        names_keys=keys,
        trusted_root=trusted.root if trusted else None,
        trusted_targets=trusted.targets if trusted else None,
        online=online,
        # hardware attestations from the plan, per keyid (sign re-verifies them)
        attestations={plan.keys[n].keyid: ev.ders for n, ev in plan.attestations.items() if plan.keys[n].keyid in keys},
    )


def _keyids_in(root: Root, targets: Targets, trusted: TrustedState | None) -> set[str]:
    used = set(root.keys)
    if targets.delegations is not None:
        used |= set(targets.delegations.keys)
    if trusted is not None:
        used |= set(trusted.root.signed.keys)
        t = trusted.targets.signed if trusted.targets else None
        if t is not None and t.delegations is not None:
            used |= set(t.delegations.keys)
    return used


def check_new_request(request: SigningRequest, now: datetime, source: str) -> SigningRequest:
    """Every rule a loaded request obeys, applied to a request ``prepare`` or
    ``rotate`` built, before it is written: the document is serialized and
    parsed back exactly as ``sign`` will read it (errors name ``source``, the
    plan or trusted directory). Payloads must not have expired already."""
    import json

    from tuf_ceremony.errors import InputError
    from tuf_ceremony.request import parse_request

    for p in request.payloads:
        expires = p.metadata.signed.expires
        if expires <= now:
            raise InputError(
                f"{p.role} version {p.version} would expire at {fmt_time(expires)}, which is "
                f"not after the preparation time {fmt_time(now)}: give a later expiry",
                source=source,
            )
    return parse_request(json.loads(request.to_bytes()), source)
