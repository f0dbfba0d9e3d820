"""What a keyholder is shown before signing, and what changes against the
trusted version, as plain data the CLI renders."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from tuf.api.metadata import Delegations, Role, Root, Targets

from tuf_ceremony.plan import ONLINE_ROLES, TOP_LEVEL_ROLES
from tuf_ceremony.request import Payload, SigningRequest
from tuf_ceremony.text import safe
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
            "role": self.role,
            "version": self.version,
            "expires": self.expires,
            "digest": self.digest,
            "words": self.words,
            "roles": [r.to_dict() for r in self.roles],
            "signer_sets": self.signer_sets,
            "changes": self.changes,
            "actions": self.actions,
        }


def _label(req: SigningRequest, keyid: str) -> str:
    """``alice (1a2b3c4d5e6f)``, the name escaped for display."""
    from tuf_ceremony.text import safe

    name = req.name_of(keyid)
    return f"{safe(name, 60)} ({safe(keyid[:12])})" if name else safe(keyid[:12])


def _labels(req: SigningRequest, keyids: list[str]) -> list[str]:
    return [_label(req, k) for k in sorted(keyids, key=lambda k: (req.name_of(k) or "~", k))]


def _names(req: SigningRequest, keyids: list[str]) -> str:
    from tuf_ceremony.text import safe

    # by name, as the keyholders' screens list them; keys without a name last, by keyid
    named = sorted((str(req.name_of(k)), k) for k in keyids if req.name_of(k))
    unnamed = sorted(k for k in keyids if not req.name_of(k))
    return ", ".join([safe(name, 60) for name, _ in named] + [k[:12] for k in unnamed])


def root_changes(req: SigningRequest, old: Root, new: Root) -> tuple[list[str], list[str]]:
    """Changes in words, and the actions the repository must take after."""
    changes: list[str] = [f"version {old.version} -> {new.version}"]
    actions: list[str] = []
    if old.expires != new.expires:
        changes.append(f"expiry {fmt_time(old.expires)} -> {fmt_time(new.expires)}")
    if old.consistent_snapshot != new.consistent_snapshot:
        changes.append(f"consistent_snapshot {old.consistent_snapshot} -> {new.consistent_snapshot}")
    for role in TOP_LEVEL_ROLES:
        o, n = old.roles[role], new.roles[role]
        added = [k for k in n.keyids if k not in o.keyids]
        removed = [k for k in o.keyids if k not in n.keyids]
        for k in added:
            changes.append(f"{role}: key added {_label(req, k)}")
        for k in removed:
            changes.append(f"{role}: key removed {_label(req, k)}")
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
        acts.append(
            "snapshot: sign a new snapshot version with the new snapshot key(s), then a new timestamp pointing at it"
        )
    acts.append(
        "delegated roles signed by a replaced online key (e.g. PEP 458 bins): re-sign "
        "every one with a bumped version, then new snapshot and timestamp"
    )
    return acts


def targets_changes(req: SigningRequest, old: Targets, new: Targets) -> list[str]:
    changes = [f"version {old.version} -> {new.version}"]
    if old.expires != new.expires:
        changes.append(f"expiry {fmt_time(old.expires)} -> {fmt_time(new.expires)}")
    added = sorted(set(new.targets) - set(old.targets))
    removed = sorted(set(old.targets) - set(new.targets))
    changed = sorted(p for p in set(new.targets) & set(old.targets) if new.targets[p] != old.targets[p])
    for what, items in (("added", added), ("removed", removed), ("changed", changed)):
        if items:
            changes.append(f"targets {what}: {len(items)}")
            changes += [f"  target {what}: {quote(p)}" for p in items]
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
        return (
            f"succinct bins {quote(s.name_prefix)}-* ({2**s.bit_length} bins), {s.threshold} of {_names(req, s.keyids)}"
        )
    roles = d.roles or {}
    if len(roles) > 4:  # e.g. PEP 458's 16,384 bins: counted here, each one in the details
        signers = sorted({f"{r.threshold} of {_names(req, r.keyids)}" for r in roles.values()})
        head = ", ".join(quote(n) for n in list(roles)[:2])
        return (
            f"{len(roles)} delegated roles ({head}, ... each listed in the details), "
            f"signed by {'; '.join(signers[:3])}"
            f"{f' and {len(signers) - 3} other key sets' if len(signers) > 3 else ''}"
        )
    parts = []
    for name, role in roles.items():
        parts.append(f"{quote(name)}: {role.threshold} of {_names(req, role.keyids)}")
    return "; ".join(parts) or "none"


@dataclass
class _Parts:
    """What :func:`view_payload` gathers about one payload."""

    roles: list[RoleKeys] = field(default_factory=list)
    signer_sets: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _needed(label: str, version: int, threshold: int, keyids: list[str], req: SigningRequest) -> str:
    return f"{label} (v{version}): {threshold} of {len(keyids)} needed ({_names(req, keyids)})"


def _root_parts(req: SigningRequest, signed: Any) -> _Parts:
    parts = _Parts()
    for role in TOP_LEVEL_ROLES:
        r = signed.roles[role]
        parts.roles.append(RoleKeys(role, r.threshold, _labels(req, r.keyids)))
    new_r = signed.roles["root"]
    if req.trusted_root is None:
        parts.signer_sets.append(_needed("root", signed.version, new_r.threshold, new_r.keyids, req))
        parts.changes = ["first root version: no trusted root to compare with"]
        return parts
    old = req.trusted_root.signed
    old_r = old.roles["root"]
    parts.signer_sets.append(_needed("old root", old.version, old_r.threshold, old_r.keyids, req))
    parts.signer_sets.append(_needed("new root", signed.version, new_r.threshold, new_r.keyids, req))
    parts.changes, parts.actions = root_changes(req, old, signed)
    return parts


def _targets_parts(req: SigningRequest, role: str, signed: Any) -> _Parts:
    parts = _Parts()
    tr = req.new_root.roles[role]
    parts.signer_sets.append(_needed(role, signed.version, tr.threshold, tr.keyids, req))
    parts.roles.append(RoleKeys(role, tr.threshold, _labels(req, tr.keyids)))
    d = signed.delegations
    if d is not None and d.succinct_roles is not None:
        s = d.succinct_roles
        parts.roles.append(
            RoleKeys(f"{quote(s.name_prefix)}-* ({2**s.bit_length} succinct bins)", s.threshold, _labels(req, s.keyids))
        )
    elif d is not None:
        for name, delegated in (d.roles or {}).items():
            parts.roles.append(
                RoleKeys(f"delegation {quote(name)}", delegated.threshold, _labels(req, delegated.keyids))
            )
    if req.trusted_targets is not None:
        parts.changes = targets_changes(req, req.trusted_targets.signed, signed)
    else:
        parts.changes = [f"first targets version: {len(signed.targets)} target(s)"]
    return parts


def view_payload(req: SigningRequest, payload: Payload) -> PayloadView:
    signed = payload.metadata.signed
    if payload.role == "root":
        parts = _root_parts(req, signed)
    else:
        parts = _targets_parts(req, payload.role, signed)
    return PayloadView(
        role=payload.role,
        version=payload.version,
        expires=fmt_time(signed.expires),
        digest=payload.digest,
        digest_grouped=group_hex(payload.digest),
        words=digest_words(payload.digest),
        roles=parts.roles,
        signer_sets=parts.signer_sets,
        changes=parts.changes,
        actions=parts.actions,
    )


def view_request(req: SigningRequest) -> list[PayloadView]:
    return [view_payload(req, p) for p in req.payloads]


# --- The complete view: every field, in plain text -------------------------------------------

REVIEW_FORMAT = "tuf-ceremony review, format 1"

_PLAIN_KEY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def quote(text: object) -> str:
    """An untrusted string shown whole and unambiguous: escaped by
    :func:`tuf_ceremony.text.safe` (no limit) with ``"`` escaped, in quotes."""
    from tuf_ceremony.text import safe

    return '"' + safe(text, None).replace('"', '\\"') + '"'


def json_value(value: Any) -> str:
    """A JSON leaf as text: strings quoted and escaped, others as in JSON."""
    if isinstance(value, str):
        return quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return repr(value)


def _path_part(key: str) -> str:
    if key and all(ch in _PLAIN_KEY for ch in key):
        return "." + key
    return "[" + quote(key) + "]"


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON tree by path (``roles.root.keyids[0]``); object
    keys sorted, empty objects and arrays kept as leaves."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict) and obj:
        for k in sorted(obj):
            out.update(flatten(obj[k], prefix + _path_part(str(k))))
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix.removeprefix(".") or "(top)"] = obj
    return out


def json_leaves(obj: Any, indent: str = "  ") -> list[str]:
    """``path = value`` for every leaf of ``obj``."""
    return [f"{indent}{path} = {json_value(v)}" for path, v in flatten(obj).items()]


def leaf_diff(old: Any, new: Any, indent: str = "  ") -> list[str]:
    """Every added, removed and changed leaf between two JSON trees."""
    a, b = flatten(old), flatten(new)
    lines: list[str] = []
    for path in sorted(set(a) | set(b)):
        if path not in b:
            lines.append(f"{indent}removed  {path} = {json_value(a[path])}")
        elif path not in a:
            lines.append(f"{indent}added    {path} = {json_value(b[path])}")
        elif a[path] != b[path] or type(a[path]) is not type(b[path]):
            lines.append(f"{indent}changed  {path}: {json_value(a[path])} -> {json_value(b[path])}")
    return lines


def key_name(req: SigningRequest, keyid: str) -> str:
    """The name the request gives a key, escaped, or the start of its keyid."""
    from tuf_ceremony.text import safe

    name = req.name_of(keyid)
    return safe(name, 60) if name else f"key {safe(keyid[:12])}"


def names_sentence(req: SigningRequest, keyids: list[str]) -> str:
    return ", ".join(key_name(req, k) for k in sorted(keyids, key=lambda k: (key_name(req, k), k)))


def signer_sentence(who: str, req: SigningRequest, keyids: list[str], threshold: int) -> str:
    """``The new root (version 2) needs 2 of these 3 keys to sign: alice, bob, carol.``"""
    n = len(keyids)
    if n == 1:
        return f"{who} needs {threshold} of this 1 key to sign: {names_sentence(req, keyids)}."
    return f"{who} needs {threshold} of these {n} keys to sign: {names_sentence(req, keyids)}."


def signer_sentences(req: SigningRequest, payload: Payload) -> list[str]:
    """Who must sign ``payload``, in sentences."""
    signed = payload.metadata.signed
    if payload.role == "root":
        new_r = signed.roles["root"]
        if req.trusted_root is None:
            return [
                signer_sentence(f"This first root (version {signed.version})", req, list(new_r.keyids), new_r.threshold)
            ]
        old = req.trusted_root.signed
        old_r = old.roles["root"]
        return [
            signer_sentence(f"The old root (version {old.version})", req, list(old_r.keyids), old_r.threshold),
            signer_sentence(f"The new root (version {signed.version})", req, list(new_r.keyids), new_r.threshold),
            "Both must be met: the new root is valid only when signed by enough keys of "
            "the old root and of the new one.",
        ]
    tr = req.new_root.roles[payload.role]
    return [
        signer_sentence(f"The {payload.role} metadata (version {signed.version})", req, list(tr.keyids), tr.threshold)
    ]


def _unrecognized(where: str, fields: dict[str, Any]) -> list[str]:
    return [
        f"    UNRECOGNIZED FIELD in {where}: {quote(k)} = {json_value(v)}"
        if not isinstance(v, dict | list) or not v
        else f"    UNRECOGNIZED FIELD in {where}: {quote(k)} holds: "
        + "; ".join(f"{p} = {json_value(x)}" for p, x in flatten(v).items())
        for k, v in sorted(fields.items())
    ]


def _key_lines(req: SigningRequest, keys: dict[str, Any], roles_of: dict[str, list[str]], indent: str) -> list[str]:
    lines: list[str] = []
    for kid in sorted(keys, key=lambda k: (key_name(req, k), k)):
        key = keys[kid]
        in_roles = roles_of.get(kid, [])
        where = ("in roles " + ", ".join(in_roles)) if in_roles else "IN NO ROLE: this key is listed but signs nothing"
        lines.append(f"{indent}{key_name(req, kid)}: keyid {safe(kid, None)}")
        lines.append(f"{indent}  type {quote(key.keytype)}, scheme {quote(key.scheme)}, {where}")
        from tuf_ceremony.attestation.evidence import hardware_line  # ATTEST: re-verified

        hardware = hardware_line(req, kid)
        if hardware is not None:
            lines.append(f"{indent}  {hardware}")
        for k, v in sorted(key.keyval.items()):
            lines.append(f"{indent}  keyval {quote(k)} = {json_value(v)}")
        lines += _unrecognized(f"key {safe(kid[:12])}", key.unrecognized_fields)
    return lines


def root_summary(req: SigningRequest, root: Root) -> list[str]:
    lines = [
        f"  Expires: {fmt_time(root.expires)}",
        f"  spec_version: {quote(root.spec_version)}; consistent_snapshot: {json_value(root.consistent_snapshot)}",
    ]
    roles_of: dict[str, list[str]] = {}
    lines.append("  Roles:")
    for rname in sorted(
        root.roles, key=lambda r: (r not in TOP_LEVEL_ROLES, TOP_LEVEL_ROLES.index(r) if r in TOP_LEVEL_ROLES else 0, r)
    ):
        role = root.roles[rname]
        for k in role.keyids:
            roles_of.setdefault(k, []).append(rname)
        lines.append("    " + signer_sentence(f"{rname}", req, list(role.keyids), role.threshold))
        lines += [f"      keyid {safe(k, None)} ({key_name(req, k)})" for k in role.keyids]
        lines += _unrecognized(f"role {rname}", role.unrecognized_fields)
    lines.append(f"  Keys ({len(root.keys)}):")
    lines += _key_lines(req, root.keys, roles_of, "    ")
    lines += _unrecognized("root", root.unrecognized_fields)
    return lines


def targets_summary(req: SigningRequest, targets: Targets) -> list[str]:
    lines = [f"  Expires: {fmt_time(targets.expires)}", f"  spec_version: {quote(targets.spec_version)}"]
    lines += _target_file_lines(targets)
    d = targets.delegations
    if d is None:
        lines.append("  Delegations: none")
    else:
        lines += _delegation_lines(req, d)
    lines += _unrecognized("targets", targets.unrecognized_fields)
    return lines


def _target_file_lines(targets: Targets) -> list[str]:
    """Each target file: path, length, hashes and custom / unknown fields."""
    lines = [f"  Targets ({len(targets.targets)}):"]
    if not targets.targets:
        lines.append("    none")
    for path in sorted(targets.targets):
        tf = targets.targets[path]
        lines.append(f"    {quote(path)}: length {tf.length}")
        for alg, h in sorted(tf.hashes.items()):
            lines.append(f"      hash {quote(alg)} {quote(h)}")
        for k, v in sorted(tf.unrecognized_fields.items()):
            label = "custom" if k == "custom" else f"UNRECOGNIZED FIELD {quote(k)}"
            leaves = flatten(v)
            for p, x in leaves.items():
                lines.append(
                    f"      {label} {p} = {json_value(x)}" if p != "(top)" else f"      {label} = {json_value(x)}"
                )
    return lines


def _delegation_lines(req: SigningRequest, d: Delegations) -> list[str]:
    """Succinct bins, each delegated role and the delegation keys."""
    roles_of: dict[str, list[str]] = {}
    lines = ["  Delegations:"]
    if d.succinct_roles is not None:
        s = d.succinct_roles
        for k in s.keyids:
            roles_of.setdefault(k, []).append(f"{s.name_prefix}-*")
        lines.append(
            f"    Succinct hash bins: {2**s.bit_length} roles named "
            f"{quote(s.name_prefix)}-<n> (bit_length {s.bit_length})"
        )
        lines.append("      " + signer_sentence("Each bin", req, list(s.keyids), s.threshold))
        lines += [f"        keyid {safe(k, None)} ({key_name(req, k)})" for k in s.keyids]
        lines += _unrecognized("succinct_roles", s.unrecognized_fields)
    for name, role in (d.roles or {}).items():
        for k in role.keyids:
            roles_of.setdefault(k, []).append(quote(name))
        lines.append(f"    Delegated role {quote(name)}:")
        lines.append("      " + signer_sentence("It", req, list(role.keyids), role.threshold))
        lines += [f"        keyid {safe(k, None)} ({key_name(req, k)})" for k in role.keyids]
        if role.paths is not None:
            lines.append(f"      paths ({len(role.paths)}): " + ", ".join(quote(p) for p in role.paths))
        if role.path_hash_prefixes is not None:
            lines.append(
                f"      path_hash_prefixes ({len(role.path_hash_prefixes)}): "
                + ", ".join(quote(p) for p in role.path_hash_prefixes)
            )
        lines.append("      terminating: " + ("yes: a search stops here" if role.terminating else "no"))
        lines += _unrecognized(f"delegated role {name[:40]}", role.unrecognized_fields)
    lines.append(f"    Delegation keys ({len(d.keys)}):")
    lines += _key_lines(req, d.keys, roles_of, "      ")
    lines += _unrecognized("delegations", d.unrecognized_fields)
    return lines


def trusted_summary(req: SigningRequest) -> list[str]:
    """What the request says is trusted now (its own copy: untrusted until pinned)."""
    lines: list[str] = []
    if req.trusted_root is None:
        lines.append("Trusted root: none. This request has no trusted root: it is a first root.")
    else:
        tr = req.trusted_root
        digest = hashlib.sha256(tr.signed_bytes).hexdigest()
        lines.append(
            f"Trusted root (the request's copy): version {tr.signed.version}, expires {fmt_time(tr.signed.expires)}"
        )
        lines.append(f"  SHA-256 of its signed bytes: {digest}")
        lines.append("  Its words: " + numbered_words(digest_words(digest)))
    if req.trusted_targets is None:
        lines.append("Trusted targets: none.")
    else:
        tt = req.trusted_targets
        digest = hashlib.sha256(tt.signed_bytes).hexdigest()
        lines.append(
            f"Trusted targets (the request's copy): version {tt.signed.version}, SHA-256 of its signed bytes: {digest}"
        )
    return lines


def numbered_words(words: list[str]) -> str:
    return " ".join(f"{i}.{w}" for i, w in enumerate(words, 1))


def request_summary(req: SigningRequest) -> list[str]:
    """The plain-language summary of the whole request, then each payload."""
    from tuf_ceremony.text import safe

    lines = [
        f"Ceremony: {quote(req.ceremony)}",
        f"Request id: {safe(req.request_id)}",
        f"Created: {quote(req.created)}",
        f"Payloads to sign: {', '.join(f'{p.role} version {p.version}' for p in req.payloads)}",
    ]
    lines += trusted_summary(req)
    lines.append(f"Names the request gives keys ({len(req.key_names)}):")
    for kid in sorted(req.key_names, key=lambda k: (req.key_names[k], k)):
        lines.append(f"  {quote(req.key_names[kid])}: keyid {safe(kid, None)}")
    if req.online:
        lines.append("Online roles (signed later by the repository, not by you):")
        lines += json_leaves(req.online, "  ")
    for index, payload in enumerate(req.payloads, 1):
        view = view_payload(req, payload)
        lines.append("")
        lines.append(f"== Payload {index} of {len(req.payloads)}: {payload.role} version {payload.version}: summary ==")
        lines.append(f"  SHA-256 of the bytes signed: {payload.digest}")
        lines.append("  (the fingerprint of exactly what your signature covers)")
        lines.append("  Digest words: " + numbered_words(view.words))
        lines += ["  " + s for s in signer_sentences(req, payload)]
        lines.append("  What matters:")
        lines += ["    " + c for c in essential_changes(req, payload)]
        lines.append("  What changes, in short:")
        lines += ["    " + c for c in view.changes]
        for a in view.actions:
            lines.append("  After this root: " + a)
        signed = payload.metadata.signed
        if payload.role == "root":
            lines += root_summary(req, signed)
        else:
            lines += targets_summary(req, signed)
    return lines


# --- The changes that matter, for the confirmation screen ------------------------------------


def _role_order(names: Any) -> list[str]:
    return sorted(names, key=lambda r: (TOP_LEVEL_ROLES.index(r) if r in TOP_LEVEL_ROLES else len(TOP_LEVEL_ROLES), r))


def unrecognized_count(signed: Any) -> int:
    """How many fields python-tuf did not recognize anywhere in ``signed``
    (targets' ``custom`` is a known field and not counted)."""
    n = len(signed.unrecognized_fields)
    if isinstance(signed, Root):
        n += sum(len(k.unrecognized_fields) for k in signed.keys.values())
        n += sum(len(r.unrecognized_fields) for r in signed.roles.values())
    elif isinstance(signed, Targets):
        n += sum(len([f for f in t.unrecognized_fields if f != "custom"]) for t in signed.targets.values())
        d = signed.delegations
        if d is not None:
            n += len(d.unrecognized_fields)
            n += sum(len(k.unrecognized_fields) for k in d.keys.values())
            n += sum(len(r.unrecognized_fields) for r in (d.roles or {}).values())
            if d.succinct_roles is not None:
                n += len(d.succinct_roles.unrecognized_fields)
    return n


def unused_keys(signed: Any) -> list[str]:
    """Keyids listed in ``keys`` that no role (or delegated role) uses."""
    if isinstance(signed, Root):
        used = {k for r in signed.roles.values() for k in r.keyids}
        return sorted(set(signed.keys) - used)
    d = getattr(signed, "delegations", None)
    if d is None:
        return []
    used = {k for r in (d.roles or {}).values() for k in r.keyids}
    if d.succinct_roles is not None:
        used |= set(d.succinct_roles.keyids)
    return sorted(set(d.keys) - used)


def essential_changes(req: SigningRequest, payload: Payload) -> list[str]:
    """The changes that matter in ``payload``, as short sentences: keys
    added and removed, thresholds, online keys, first versions, content
    counts, and a warning for unknown fields."""
    signed = payload.metadata.signed
    if payload.role != "root":
        out = _targets_changes(req, signed)
    elif req.trusted_root is None:
        out = _first_root_sentences(req, signed)
    else:
        out = _root_changes(req, req.trusted_root.signed, signed)
    for kid in unused_keys(signed):
        out.append(f"WARNING: key {_label(req, kid)} is listed but in no role: it signs nothing here.")
    unknown = unrecognized_count(signed)
    if unknown:
        out.append(
            f"WARNING: {unknown} field(s) that tuf-ceremony does not know are signed too (each flagged in the details)."
        )
    return out


def _first_root_sentences(req: SigningRequest, new: Root) -> list[str]:
    """A first root: who signs each role but root."""
    out = ["This request has no trusted root: it is a first root."]
    for rname in _role_order(new.roles):
        if rname == "root":
            continue
        r = new.roles[rname]
        out.append(signer_sentence(rname, req, list(r.keyids), r.threshold))
    return out


def _role_changes(req: SigningRequest, rname: str, o: Role, n: Role) -> list[str]:
    """Keys removed and added, threshold, and an online-key alarm for one role."""
    out: list[str] = []
    removed = [k for k in o.keyids if k not in n.keyids]
    added = [k for k in n.keyids if k not in o.keyids]
    if removed:
        out.append(f"{rname}: key removed: " + ", ".join(_label(req, k) for k in removed))
    if added:
        out.append(f"{rname}: key added: " + ", ".join(_label(req, k) for k in added))
    if o.threshold != n.threshold:
        out.append(f"{rname}: now needs {n.threshold} signature{'' if n.threshold == 1 else 's'} (was {o.threshold}).")
    if rname in ONLINE_ROLES and (added or removed):
        out.append(f"{rname}: ONLINE KEY CHANGED: the repository must re-sign at once (see the details).")
    return out


def _root_changes(req: SigningRequest, old: Root, new: Root) -> list[str]:
    """What root N+1 changes from the trusted root N."""
    out: list[str] = []
    for rname in _role_order(set(old.roles) | set(new.roles)):
        o, n = old.roles.get(rname), new.roles.get(rname)
        if o is None or n is None:
            out.append(f"Role {quote(rname)} is {'added' if o is None else 'removed'}.")
            continue
        out += _role_changes(req, rname, o, n)
    for k in sorted(set(old.keys) & set(new.keys)):
        if old.keys[k].to_dict() != new.keys[k].to_dict():
            out.append(f"The key {_label(req, k)} itself is changed under the same keyid.")
    if old.consistent_snapshot != new.consistent_snapshot:
        out.append(
            f"consistent_snapshot changes from {json_value(old.consistent_snapshot)}"
            f" to {json_value(new.consistent_snapshot)}."
        )
    if old.spec_version != new.spec_version:
        out.append(f"spec_version changes from {quote(old.spec_version)} to {quote(new.spec_version)}.")
    if not out:
        out.append("No key or threshold changes: a renewal with a new expiry.")
    return out


def _targets_changes(req: SigningRequest, targets: Targets) -> list[str]:
    """What targets M+1 changes from the trusted targets M (or a first version)."""
    out: list[str] = []
    d = targets.delegations
    dsum = _delegation_summary(req, targets) if d is not None else "none"
    if req.trusted_targets is None:
        out.append(f"First targets version: {len(targets.targets)} target file(s); delegations: {dsum}.")
        return out
    old_t: Targets = req.trusted_targets.signed
    t_added = set(targets.targets) - set(old_t.targets)
    t_removed = set(old_t.targets) - set(targets.targets)
    t_changed = {p for p in set(targets.targets) & set(old_t.targets) if targets.targets[p] != old_t.targets[p]}
    if t_added or t_removed or t_changed:
        out.append(
            f"Target files: {len(t_added)} added, {len(t_removed)} removed, "
            f"{len(t_changed)} changed (each listed in the details)."
        )
    od = old_t.delegations.to_dict() if old_t.delegations else None
    nd = d.to_dict() if d else None
    if od != nd:
        out.append(f"Delegations change; now: {dsum}.")
    if old_t.unrecognized_fields != targets.unrecognized_fields:
        out.append("Other fields change (see the details).")
    if not out:
        out.append("No content changes: a renewal with a new expiry.")
    return out
