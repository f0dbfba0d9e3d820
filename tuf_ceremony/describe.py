"""What a keyholder is shown before signing, and what changes against the
trusted version, as plain data the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuf.api.metadata import Root, Targets

from tuf_ceremony.plan import ONLINE_ROLES, TOP_LEVEL_ROLES
from tuf_ceremony.request import Payload, SigningRequest
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.words import digest_words, group_hex


@dataclass
class RoleKeys:
    role: str
    threshold: int
    keys: list[str]  # labels "alice (1a2b3c4d5e6f)"

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "threshold": self.threshold, "keys": self.keys}


@dataclass
class PayloadView:
    role: str
    version: int
    expires: str
    digest: str
    digest_grouped: str
    words: list[str]
    roles: list[RoleKeys]  # for root: all top-level roles; for targets: delegations
    signer_sets: list[str]  # "old root: 2 of 3 needed (alice, bob, carol)"
    changes: list[str]
    actions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role, "version": self.version, "expires": self.expires,
            "digest": self.digest, "words": self.words,
            "roles": [r.to_dict() for r in self.roles], "signer_sets": self.signer_sets,
            "changes": self.changes, "actions": self.actions,
        }


def _labels(req: SigningRequest, keyids: list[str]) -> list[str]:
    return [req.label(k) for k in sorted(keyids, key=lambda k: (req.name_of(k) or "~", k))]


def _names(req: SigningRequest, keyids: list[str]) -> str:
    return ", ".join(req.name_of(k) or k[:12] for k in sorted(keyids))


def root_changes(req: SigningRequest, old: Root, new: Root) -> tuple[list[str], list[str]]:
    """Changes in words, and the actions the repository must take after."""
    changes: list[str] = [f"version {old.version} -> {new.version}"]
    actions: list[str] = []
    if old.expires != new.expires:
        changes.append(f"expiry {fmt_time(old.expires)} -> {fmt_time(new.expires)}")
    if old.consistent_snapshot != new.consistent_snapshot:
        changes.append(f"consistent_snapshot {old.consistent_snapshot} -> "
                       f"{new.consistent_snapshot}")
    for role in TOP_LEVEL_ROLES:
        o, n = old.roles[role], new.roles[role]
        added = [k for k in n.keyids if k not in o.keyids]
        removed = [k for k in o.keyids if k not in n.keyids]
        for k in added:
            changes.append(f"{role}: key added {req.label(k)}")
        for k in removed:
            changes.append(f"{role}: key removed {req.label(k)}")
        if o.threshold != n.threshold:
            changes.append(f"{role}: threshold {o.threshold} -> {n.threshold}")
        if role in ONLINE_ROLES and (added or removed):
            changes.append(f"{role}: ONLINE KEY CHANGED")
    if any(set(old.roles[r].keyids) != set(new.roles[r].keyids) for r in ONLINE_ROLES):
        actions.extend(online_resign_actions(old, new))
    if not any(": key " in c or ": threshold " in c for c in changes):
        changes.append("no key or threshold changes (renewal)")
    return changes, actions


def online_resign_actions(old: Root, new: Root) -> list[str]:
    """What the repository must re-sign at once after the new root, before
    clients can update (PEP 458: online key compromise)."""
    acts: list[str] = []
    if set(old.roles["timestamp"].keyids) != set(new.roles["timestamp"].keyids):
        acts.append("timestamp: sign a new timestamp with the new timestamp key(s)")
    if set(old.roles["snapshot"].keyids) != set(new.roles["snapshot"].keyids):
        acts.append("snapshot: sign a new snapshot version with the new snapshot key(s), "
                    "then a new timestamp pointing at it")
    acts.append("delegated roles signed by a replaced online key (e.g. PEP 458 bins): re-sign "
                "every one with a bumped version, then new snapshot and timestamp")
    return acts


def targets_changes(req: SigningRequest, old: Targets, new: Targets) -> list[str]:
    changes = [f"version {old.version} -> {new.version}"]
    if old.expires != new.expires:
        changes.append(f"expiry {fmt_time(old.expires)} -> {fmt_time(new.expires)}")
    added = sorted(set(new.targets) - set(old.targets))
    removed = sorted(set(old.targets) - set(new.targets))
    changed = sorted(p for p in set(new.targets) & set(old.targets)
                     if new.targets[p] != old.targets[p])
    for what, items in (("added", added), ("removed", removed), ("changed", changed)):
        if items:
            changes.append(f"targets {what}: {len(items)} ({', '.join(items[:5])}"
                           f"{', ...' if len(items) > 5 else ''})")
    od = old.delegations.to_dict() if old.delegations else None
    nd = new.delegations.to_dict() if new.delegations else None
    if od != nd:
        changes.append("delegations changed: " + _delegation_summary(req, new))
    if not any(c.startswith(("targets ", "delegations ")) for c in changes):
        changes.append("no content changes (renewal)")
    return changes


def _delegation_summary(req: SigningRequest, targets: Targets) -> str:
    d = targets.delegations
    if d is None:
        return "none"
    if d.succinct_roles is not None:
        s = d.succinct_roles
        return (f"succinct bins {s.name_prefix}-* ({2 ** s.bit_length} bins), "
                f"{s.threshold} of {_names(req, s.keyids)}")
    parts = []
    for name, role in (d.roles or {}).items():
        parts.append(f"{name}: {role.threshold} of {_names(req, role.keyids)}")
    return "; ".join(parts) or "none"


def view_payload(req: SigningRequest, payload: Payload) -> PayloadView:
    signed = payload.metadata.signed
    roles: list[RoleKeys] = []
    signer_sets: list[str] = []
    changes: list[str] = []
    actions: list[str] = []
    if payload.role == "root":
        for role in TOP_LEVEL_ROLES:
            r = signed.roles[role]
            roles.append(RoleKeys(role, r.threshold, _labels(req, r.keyids)))
        new_r = signed.roles["root"]
        if req.trusted_root is not None:
            old = req.trusted_root.signed
            old_r = old.roles["root"]
            signer_sets.append(f"old root (v{old.version}): {old_r.threshold} of "
                               f"{len(old_r.keyids)} needed ({_names(req, old_r.keyids)})")
            signer_sets.append(f"new root (v{signed.version}): {new_r.threshold} of "
                               f"{len(new_r.keyids)} needed ({_names(req, new_r.keyids)})")
            changes, actions = root_changes(req, old, signed)
        else:
            signer_sets.append(f"root (v{signed.version}): {new_r.threshold} of "
                               f"{len(new_r.keyids)} needed ({_names(req, new_r.keyids)})")
            changes = ["first root version: no trusted root to compare with"]
    else:
        tr = req.new_root.roles[payload.role]
        signer_sets.append(f"{payload.role} (v{signed.version}): {tr.threshold} of "
                           f"{len(tr.keyids)} needed ({_names(req, tr.keyids)})")
        roles.append(RoleKeys(payload.role, tr.threshold, _labels(req, tr.keyids)))
        d = signed.delegations
        if d is not None and d.succinct_roles is not None:
            s = d.succinct_roles
            roles.append(RoleKeys(f"{s.name_prefix}-* ({2 ** s.bit_length} succinct bins)",
                                  s.threshold, _labels(req, s.keyids)))
        elif d is not None:
            for name, role in (d.roles or {}).items():
                roles.append(RoleKeys(f"delegation {name}", role.threshold,
                                      _labels(req, role.keyids)))
        if req.trusted_targets is not None:
            changes = targets_changes(req, req.trusted_targets.signed, signed)
        else:
            changes = [f"first targets version: {len(signed.targets)} target(s)"]
    return PayloadView(
        role=payload.role,
        version=payload.version,
        expires=fmt_time(signed.expires),
        digest=payload.digest,
        digest_grouped=group_hex(payload.digest),
        words=digest_words(payload.digest),
        roles=roles,
        signer_sets=signer_sets,
        changes=changes,
        actions=actions,
    )


def view_request(req: SigningRequest) -> list[PayloadView]:
    return [view_payload(req, p) for p in req.payloads]
