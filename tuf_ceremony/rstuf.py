"""Hand-off to RSTUF (Repository Service for TUF), the service PyPI's
Warehouse integrates for PEP 458.

Payloads (RSTUF API, checked against repository-service-tuf-api 1.0.1 and
the ``rstuf`` CLI 1.0.0b1, see docs/handoff.md):

- ``POST /api/v1/bootstrap``: ``{"settings": {"roles": {"root": {"expiration": days},
  "targets": ..., "snapshot": ..., "timestamp": ..., "bins": {"expiration": days,
  "number_of_delegated_bins": n}}}, "metadata": {"root": <signed root>}, "timeout": 300}``
- ``POST /api/v1/metadata/``: ``{"metadata": {"root": <signed root N+1>}}``
- ``POST /api/v1/metadata/sign``: ``{"role": "root", "signature": {"keyid": .., "sig": ..}}``
- ``GET /api/v1/metadata/sign`` answers ``{"data": {"metadata": {"root": <pending root>,
  "trusted_root": <trusted root>}}, "message": ...}``.

RSTUF signs targets, snapshot, timestamp and its bins with one online key,
named in root by the key's ``x-rstuf-online-key-uri`` field; key names are
``x-rstuf-key-name``.

The update path and the pending-signing response pass root through RSTUF's
pydantic model (``TUFMetadata``), which keeps of a key only ``keytype``,
``scheme``, ``keyval`` (``public``, ``issuer``, ``identity``), ``name``,
``x-rstuf-key-name`` and ``x-rstuf-online-key-uri`` (and drops those whose
value is null), of a role only ``keyids`` and ``threshold``, of a signature
only ``keyid``, ``sig`` and ``bundle``. Anything else is silently dropped,
which changes the signed bytes: every signature over them stops verifying.
:func:`model_losses` computes exactly what that model would drop or reject.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from securesystemslib.signer import Key, Signature
from tuf.api.metadata import Metadata, Root

from tuf_ceremony.errors import FormatError, InputError, VerificationError
from tuf_ceremony.text import safe, safe_quoted

KEY_NAME_FIELD = "x-rstuf-key-name"
ONLINE_KEY_URI_FIELD = "x-rstuf-online-key-uri"
ONLINE_ROLES = ("targets", "snapshot", "timestamp")

# What RSTUF's TUFMetadata model (common_models.py) keeps.
_KEY_FIELDS_KEPT = {"keytype", "scheme", "keyval", "name", KEY_NAME_FIELD, ONLINE_KEY_URI_FIELD}
_KEY_FIELDS_NULLABLE = {"name", KEY_NAME_FIELD, ONLINE_KEY_URI_FIELD}
_KEYVAL_KEYS = {"public", "issuer", "identity"}
_ROLE_FIELDS_KEPT = {"keyids", "threshold"}
_ROLE_NAMES = {"root", "targets", "snapshot", "timestamp", "bins"}
_SIGNATURE_FIELDS_KEPT = {"keyid", "sig", "bundle"}
_SIGNED_FIELDS = {
    "_type",
    "version",
    "spec_version",
    "expires",
    "keys",
    "consistent_snapshot",
    "roles",
    "meta",
    "targets",
    "delegations",
}

DEFAULT_DAYS = {"timestamp": 1, "snapshot": 1, "targets": 365, "bins": 1}
DEFAULT_BINS = 256


@dataclass
class Losses:
    """What RSTUF's model does to a metadata document."""

    dropped: list[str]  # fields silently removed
    rejected: list[str]  # fields the API answers 422 for

    @property
    def any(self) -> bool:
        return bool(self.dropped or self.rejected)

    def summary(self, limit: int = 6) -> str:
        parts = [f"drops {', '.join(self.dropped[:limit])}"] if self.dropped else []
        if len(self.dropped) > limit:
            parts[-1] += f" and {len(self.dropped) - limit} more"
        if self.rejected:
            parts.append(f"rejects {', '.join(self.rejected[:limit])}")
        return "; ".join(parts)


def _extension_name_ok(name: str) -> bool:
    # RSTUF: an unrecognized field must be named x-<vendor>-<name>
    return name.startswith("x") and len(name.split("-")) >= 3


def _key_losses(where: str, key: dict[str, Any], dropped: list[str], rejected: list[str]) -> None:
    """What RSTUF's model drops from, or rejects in, one key of ``keys``."""
    for f in sorted(set(key) - _KEY_FIELDS_KEPT):
        dropped.append(f"{where}.{safe(f, 60)}")
    for f in sorted(_KEY_FIELDS_NULLABLE & set(key)):
        if key[f] is None:
            dropped.append(f"{where}.{f} (null)")
        elif not isinstance(key[f], str):
            rejected.append(f"{where}.{f} (not a string)")
    keyval = key.get("keyval")
    if isinstance(keyval, dict):
        for f in sorted(set(keyval) - _KEYVAL_KEYS):
            rejected.append(f"{where}.keyval.{safe(f, 60)}")
        for f, v in sorted(keyval.items()):
            if not isinstance(v, str):
                rejected.append(f"{where}.keyval.{safe(f, 60)} (not a string)")


def model_losses(md: dict[str, Any]) -> Losses:
    """The fields RSTUF's ``TUFMetadata`` model would drop from, or reject
    in, the metadata dict ``md`` (update path and pending-signing answers)."""
    dropped: list[str] = []
    rejected: list[str] = []
    for i, sig in enumerate(md.get("signatures", [])):
        for f in sorted(set(sig) - _SIGNATURE_FIELDS_KEPT):
            dropped.append(f"signatures[{i}].{safe(f, 60)}")
    signed = md.get("signed", {})
    for f in sorted(set(signed) - _SIGNED_FIELDS):
        if not _extension_name_ok(f):
            rejected.append(f"signed.{safe(f, 60)} (not named x-<vendor>-<name>)")
    for kid, key in sorted((signed.get("keys") or {}).items()):
        _key_losses(f"keys.{kid[:12]}", key, dropped, rejected)
    for role, info in sorted((signed.get("roles") or {}).items()):
        if role not in _ROLE_NAMES:
            rejected.append(f"roles.{safe(role, 60)} (RSTUF knows only {', '.join(sorted(_ROLE_NAMES))})")
            continue
        for f in sorted(set(info) - _ROLE_FIELDS_KEPT):
            dropped.append(f"roles.{role}.{safe(f, 60)}")
    return Losses(dropped, rejected)


def online_key(root: Root, source: str) -> Key:
    """The one online key RSTUF signs targets, snapshot and timestamp with."""
    keyids = {r: root.roles[r].keyids for r in ONLINE_ROLES}
    for r, kids in keyids.items():
        if len(kids) != 1 or root.roles[r].threshold != 1:
            raise InputError(
                f"root's {r} role has {len(kids)} key(s), threshold {root.roles[r].threshold}: "
                "RSTUF signs targets, snapshot and timestamp with one online key "
                "(threshold 1)",
                source=source,
            )
    if len({kids[0] for kids in keyids.values()}) != 1:
        raise InputError(
            "root's targets, snapshot and timestamp roles use different keys: "
            "RSTUF signs all three with one online key",
            source=source,
        )
    kid = keyids["timestamp"][0]
    key = root.keys[kid]
    uri = key.unrecognized_fields.get(ONLINE_KEY_URI_FIELD)
    if not isinstance(uri, str) or not uri:
        raise InputError(
            f"the online key {kid[:12]} has no {ONLINE_KEY_URI_FIELD} field: RSTUF cannot "
            "find its signer (add the field to the key file in the plan, e.g. "
            f'"{ONLINE_KEY_URI_FIELD}": "fn:<file name>")',
            source=source,
        )
    return key


def _signature_check(root_md: Metadata[Root], source: str, trusted: Metadata[Root] | None = None) -> int:
    """Every signature must verify (RSTUF refuses the bootstrap otherwise),
    by a root key of this root or of the trusted one; returns how many."""
    root = root_md.signed
    for kid, sig in root_md.signatures.items():
        key = root.keys.get(kid) if kid in root.roles["root"].keyids else None
        if key is None and trusted is not None and kid in trusted.signed.roles["root"].keyids:
            key = trusted.signed.keys.get(kid)
        if key is None:
            raise VerificationError(
                f"signature by {kid[:12]} is not by a root key"
                + (
                    ""
                    if trusted
                    else " (of this root; give --trusted for signatures by keys of the previous root only)"
                ),
                source=source,
            )
        try:
            key.verify_signature(sig, root_md.signed_bytes)
        except Exception:  # noqa: BLE001 - any failure: an invalid signature
            raise VerificationError(f"signature by {kid[:12]} does not verify", source=source) from None
    return len(root_md.signatures)


def check_payload_root(
    root_md: Metadata[Root], source: str, *, allow_losses: bool, trusted: Metadata[Root] | None = None
) -> tuple[Losses, bool]:
    """Checks common to bootstrap and update; returns RSTUF's losses and
    whether the root's own threshold is met (by distinct keys)."""
    from tuf_ceremony.policy import check_delegate

    online_key(root_md.signed, source)
    _signature_check(root_md, source, trusted)
    losses = model_losses(root_md.to_dict())
    if losses.rejected:
        raise FormatError(f"RSTUF's API would refuse this root: {losses.summary()}", source=source)
    if losses.dropped and not allow_losses:
        raise FormatError(
            f"RSTUF's metadata update path would change this root: it {losses.summary()}, "
            "so no signature over it would verify at RSTUF; build the root without "
            "those fields",
            source=source,
        )
    result = check_delegate(root_md.signed, "root", root_md.signed_bytes, root_md.signatures)
    return losses, result.met


def bootstrap_payload(
    root_md: Metadata[Root],
    source: str,
    *,
    now: datetime,
    days: dict[str, int],
    bins: int,
    timeout: int = 300,
    delegations: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The ``POST /api/v1/bootstrap`` body and warnings: hash bins, or the
    custom ``delegations`` (a TUF delegations object) instead."""
    warnings: list[str] = []
    if root_md.signed.version != 1:
        raise InputError(
            f"is root version {root_md.signed.version}: RSTUF bootstraps from "
            "root version 1 (use 'export rstuf update' for later versions)",
            source=source,
        )
    if not root_md.signatures:
        raise VerificationError("has no signature: RSTUF needs at least one", source=source)
    losses, met = check_payload_root(root_md, source, allow_losses=True)
    if losses.dropped:
        warnings.append(
            f"{source}: RSTUF API releases before 1.0.1 pass a bootstrap root through a "
            f"model that {losses.summary()}, which breaks its signatures; 1.0.1 keeps them"
        )
    if not met:
        warnings.append(
            f"{source}: root's threshold is not met: RSTUF keeps it pending signatures (GET /api/v1/metadata/sign)"
        )
    if delegations is None and (bins < 2 or bins > 16384 or bins & (bins - 1)):
        raise InputError(f"--bins {bins}: RSTUF takes a power of two from 2 to 16384")
    root_days = days.get("root")
    if root_days is None:
        root_days = max(1, math.ceil((root_md.signed.expires - now).total_seconds() / 86400))
    roles: dict[str, Any] = {"root": {"expiration": root_days}}
    for role in ("targets", "snapshot", "timestamp"):
        roles[role] = {"expiration": days.get(role, DEFAULT_DAYS[role])}
    if delegations is None:
        roles["bins"] = {"expiration": days.get("bins", DEFAULT_DAYS["bins"]), "number_of_delegated_bins": bins}
    for role, v in roles.items():
        if v["expiration"] < 1:
            raise InputError(f"{role} expiration must be at least 1 day")
    if delegations is not None:
        roles["delegations"] = delegations
    return ({"settings": {"roles": roles}, "metadata": {"root": root_md.to_dict()}, "timeout": timeout}, warnings)


def update_payload(
    root_md: Metadata[Root], source: str, trusted: Metadata[Root] | None
) -> tuple[dict[str, Any], list[str]]:
    """The ``POST /api/v1/metadata/`` body; refused when RSTUF would drop
    any field of it."""
    warnings: list[str] = []
    if root_md.signed.version < 2:
        raise InputError("is root version 1: use 'export rstuf bootstrap'", source=source)
    _, met = check_payload_root(root_md, source, allow_losses=False, trusted=trusted)
    if trusted is not None:
        from tuf_ceremony.policy import check_delegate

        tv = trusted.signed.version
        if root_md.signed.version != tv + 1:
            raise VerificationError(
                f"is root version {root_md.signed.version}, the trusted root is version {tv}: only {tv + 1} can follow",
                source=source,
            )
        if not check_delegate(trusted.signed, "root", root_md.signed_bytes, root_md.signatures).met:
            met = False
    if not met:
        warnings.append(
            f"{source}: a root threshold is not met: RSTUF keeps this root "
            "pending signatures (GET /api/v1/metadata/sign)"
        )
    return {"metadata": {"root": root_md.to_dict()}}, warnings


def sign_payload(keyid: str, sig: str, role: str = "root") -> dict[str, Any]:
    """The ``POST /api/v1/metadata/sign`` body for one signature."""
    return {"role": role, "signature": {"keyid": keyid, "sig": sig}}


def pending_response(root_md: Metadata[Root], trusted: Metadata[Root] | None) -> dict[str, Any]:
    """A ``GET /api/v1/metadata/sign`` answer, for RSTUF's own CLI
    (``rstuf admin metadata sign --in FILE``)."""
    metadata: dict[str, Any] = {"root": root_md.to_dict()}
    if trusted is not None:
        metadata["trusted_root"] = trusted.to_dict()
    return {"data": {"metadata": metadata}, "message": "Metadata role(s) pending signing"}


@dataclass
class Pending:
    root: Metadata[Root]
    trusted_root: Metadata[Root] | None


def _md(obj: Any, source: str, entry: str) -> Metadata[Root]:
    if not isinstance(obj, dict):
        raise FormatError(f"{entry}: must be an object", source=source)
    try:
        md: Metadata[Any] = Metadata.from_dict(dict(obj))
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(f"{entry}: not valid TUF metadata ({type(e).__name__}: {safe(e)})", source=source) from None
    if md.signed.type != "root":
        raise FormatError(f"{entry}: is {safe(md.signed.type)} metadata, expected root", source=source)
    return md


def parse_pending(doc: Any, source: str) -> Pending:
    """Read a ``GET /api/v1/metadata/sign`` answer (untrusted)."""
    import copy

    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("data"), dict)
        or not isinstance(doc["data"].get("metadata"), dict)
    ):
        raise FormatError('not an RSTUF pending-signing answer (expected {"data": {"metadata": {...}}})', source=source)
    metadata = doc["data"]["metadata"]
    pending = sorted(k for k in metadata if not str(k).startswith("trusted_"))
    if not pending:
        raise FormatError("RSTUF has no metadata pending signing in this answer", source=source)
    others = [k for k in pending if k != "root"]
    if others:
        raise FormatError(
            f"pending role(s) {', '.join(safe(k, 40) for k in others)}: tuf-ceremony signs "
            "a pending root (RSTUF signs its other roles online)",
            source=source,
        )
    unknown = sorted(set(metadata) - {"root", "trusted_root", "trusted_targets"})
    if unknown:
        raise FormatError(f"unknown entry {safe_quoted(unknown[0], 40)} in data.metadata", source=source)
    root = _md(copy.deepcopy(metadata["root"]), source, "data.metadata.root")
    trusted = None
    if metadata.get("trusted_root") is not None:
        trusted = _md(copy.deepcopy(metadata["trusted_root"]), source, "data.metadata.trusted_root")
    _check_existing_signatures(root, trusted, source)
    return Pending(root, trusted)


def _check_existing_signatures(root_md: Metadata[Root], trusted: Metadata[Root] | None, source: str) -> None:
    """Signatures RSTUF already holds must verify over the bytes it sent:
    when one does not, RSTUF's answer is not what it stores (its model drops
    custom fields of keys and roles), and a signature made now would not
    count there either."""
    for kid, sig in root_md.signatures.items():
        key = root_md.signed.keys.get(kid)
        if key is None and trusted is not None:
            key = trusted.signed.keys.get(kid)  # a key of the trusted root only
        if key is None:
            raise VerificationError(
                f"the pending root holds a signature by {kid[:12]}, a key of neither root", source=source
            )
        try:
            key.verify_signature(Signature(kid, sig.signature), root_md.signed_bytes)
        except Exception:  # noqa: BLE001 - any failure: it does not verify
            raise VerificationError(
                f"the pending root's signature by {kid[:12]} does not verify over the root "
                "RSTUF sent: RSTUF's answer differs from the root it stores (its API drops "
                "custom fields of keys and roles); a new signature would not count there",
                source=source,
            ) from None


def key_name(key: Key) -> str | None:
    name = key.unrecognized_fields.get(KEY_NAME_FIELD)
    return name if isinstance(name, str) and name else None


def load_pinned_root(path: Any) -> tuple[Metadata[Root], str]:
    """The keyholder's own trusted root: a root history directory (checked
    as a chain) or one root file (checked against its own threshold)."""
    from pathlib import Path

    from tuf_ceremony.policy import check_delegate
    from tuf_ceremony.trusted import load_metadata, load_trusted

    p = Path(path)
    if p.is_dir():
        state = load_trusted(p)
        return state.root, str(state.root_path)
    md: Metadata[Root] = load_metadata(p, "root")
    if not check_delegate(md.signed, "root", md.signed_bytes, md.signatures).met:
        raise VerificationError("not signed by a threshold of its own root keys", source=str(p))
    return md, str(p)


def _stale_keyids(root: Root) -> list[str]:
    from tuf_ceremony.keys import keyid_of

    return [kid for kid, key in root.keys.items() if keyid_of(key.to_dict()) != kid]


def _pending_trusted(
    pending: Pending, source: str, pinned: tuple[Metadata[Root], str] | None, warnings: list[str]
) -> Metadata[Root] | None:
    """The trusted root for RSTUF's pending root: the keyholder's pinned copy
    (RSTUF's must be the same document), else RSTUF's, with a warning."""
    from tuf_ceremony.words import digest_words

    version = pending.root.signed.version
    trusted = pending.trusted_root
    if pinned is not None:
        pin_md, pin_src = pinned
        if version == 1:
            raise VerificationError(
                f"RSTUF's pending root is version 1 (a bootstrap), but a trusted root was "
                f"pinned ({pin_src}, version {pin_md.signed.version})",
                source=source,
            )
        if trusted is not None and trusted.signed_bytes != pin_md.signed_bytes:
            raise VerificationError(
                f"RSTUF's trusted root (version {trusted.signed.version}) is not your pinned "
                f"trusted root {pin_src} (version {pin_md.signed.version})",
                source=source,
            )
        trusted = pin_md
    elif trusted is not None:
        from tuf_ceremony.request import sha256_hex

        digest = sha256_hex(trusted.signed_bytes)
        warnings.append(
            f"{source}: the trusted root (version {trusted.signed.version}, SHA-256 {digest}, "
            f"words {' '.join(digest_words(digest))}) comes from RSTUF's answer and is NOT "
            "PINNED: give --trusted with your own copy"
        )
    if version > 1 and trusted is None:
        raise VerificationError(
            f"pending root version {version} needs its trusted root "
            f"(version {version - 1}): RSTUF sent none; give --trusted",
            source=source,
        )
    return trusted


def _check_pending_keyids(root: Root, trusted: Metadata[Root] | None, source: str, warnings: list[str]) -> None:
    """Refuse a pending root whose keyids do not cover every key field (made by
    RSTUF's CLI); warn when the trusted root has such keyids."""
    version = root.version
    stale = _stale_keyids(root)
    if stale:
        steps = (
            "prepare PLAN, then export rstuf bootstrap"
            if version == 1
            else "prepare PLAN --trusted DIR, then export rstuf update"
        )
        raise FormatError(
            f"pending root v{version}: keyid {stale[0][:16]} is not the SHA-256 of its key "
            f"(RSTUF's CLI computes a keyid, then adds {KEY_NAME_FIELD}); tuf-ceremony signs "
            f"only roots whose keyids cover every field: make root v{version} with "
            f"tuf-ceremony instead (key names in the key files; {steps})",
            source=source,
        )
    if trusted is not None:
        legacy = _stale_keyids(trusted.signed)
        if legacy:
            warnings.append(
                f"{source}: the trusted root (version {trusted.signed.version}) lists "
                f"{len(legacy)} key(s) under keyids computed before {KEY_NAME_FIELD} was "
                "added (RSTUF's CLI): they are matched and counted by key material"
            )


def _pending_key_names(roots: list[Metadata[Root]], source: str) -> tuple[dict[str, str], dict[str, Key]]:
    """Names and keys (by true keyid) of every key of ``roots``: one name per
    key material, from RSTUF's key name or the keyid."""
    from tuf_ceremony.keys import keyid_of, public_der

    names: dict[str, str] = {}
    keys: dict[str, Key] = {}
    by_material: dict[bytes, str] = {}
    used: set[str] = set()
    for md in roots:
        for listed_kid, key in sorted(md.signed.keys.items()):
            # a trusted root's key under a legacy keyid is named under its
            # true keyid (the request's keys table is keyed by SHA-256 of the
            # key); the request finds it by key material
            kid = keyid_of(key.to_dict())
            if kid in keys:
                continue
            if kid != listed_kid:
                key = Key.from_dict(kid, key.to_dict())
            try:
                material = public_der(key)
            except (ValueError, TypeError):
                raise FormatError(f"key {kid[:16]}: key material cannot be decoded", source=source) from None
            if material in by_material:
                names[kid] = by_material[material]
            else:
                base = key_name(key) or f"rstuf-{kid[:8]}"
                name = base if base not in used else f"{base}-{kid[:8]}"
                used.add(name)
                by_material[material] = name
                names[kid] = name
            keys[kid] = key
    return names, keys


def request_from_pending(
    pending: Pending,
    source: str,
    *,
    created: str,
    pinned: tuple[Metadata[Root], str] | None,
    ceremony: str | None = None,
) -> tuple[Any, list[str]]:
    """A signing request for RSTUF's pending root, and warnings.

    The trusted root is the keyholder's pinned copy when given (RSTUF's must
    then be the same document); else RSTUF's, reported as not pinned.
    """
    from tuf_ceremony.request import Payload, SigningRequest

    warnings: list[str] = []
    root = pending.root
    version = root.signed.version
    trusted = _pending_trusted(pending, source, pinned, warnings)
    _check_pending_keyids(root.signed, trusted, source, warnings)
    names, keys = _pending_key_names([root] if trusted is None else [root, trusted], source)
    unsigned: Metadata[Root] = Metadata.from_dict({"signed": root.signed.to_dict(), "signatures": []})
    request = SigningRequest(
        ceremony=ceremony or f"rstuf-root-v{version}",
        created=created,
        payloads=[Payload("root", unsigned)],
        key_names=names,
        names_keys=keys,
        trusted_root=trusted,
        trusted_targets=None,
        online={},
    )
    return request, warnings


def _days(value: str, now: datetime, entry: str, source: str) -> int:
    from tuf_ceremony.timeutil import parse_expiry

    try:
        when = parse_expiry(value, now)
    except ValueError as e:
        raise InputError(f"{entry}: {e}", source=source) from None
    days = math.ceil((when - now).total_seconds() / 86400)
    if days < 1:
        raise InputError(f"{entry}: {value} is less than a day away: RSTUF counts whole days", source=source)
    return days


_RSTUF_ROLE_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


def settings_from_plan(
    plan: Any, root: Root, now: datetime, delegation_days: int
) -> tuple[dict[str, int], int | None, dict[str, Any] | None]:
    """Expiration days of targets, snapshot and timestamp, and bins or custom
    delegations, as a ceremony plan describes them.

    The root must be the plan's (same online key): RSTUF builds targets and
    its delegations itself, from these settings.
    """
    source = str(plan.path)
    planned = {plan.keys[n].key.keyid for n in plan.roles["timestamp"].keys}
    if planned != set(root.roles["timestamp"].keyids):
        raise InputError(
            "the plan's online (timestamp) key is not the root's: give the plan the root was prepared from",
            source=source,
        )
    days: dict[str, int] = {}
    for role in ("targets", "snapshot", "timestamp"):
        value = plan.roles[role].expires
        if value is None:
            raise InputError(f"roles.{role}.expires: RSTUF needs an expiration for {role}", source=source)
        days[role] = _days(value, now, f"roles.{role}.expires", source)
    if plan.succinct is not None:
        return days, 2**plan.succinct.bit_length, None
    if not plan.delegations:
        return days, None, None
    keys: dict[str, Any] = {}
    roles: list[dict[str, Any]] = []
    for d in plan.delegations:
        entry = f"roles.targets.delegations ({safe(d.name, 60)})"
        if not _RSTUF_ROLE_NAME.match(d.name):
            raise InputError(
                f"{entry}: RSTUF allows only a-z, A-Z, 0-9, - and _ in delegated role names", source=source
            )
        if not d.paths or any(not p for p in d.paths):
            raise InputError(
                f"{entry}: RSTUF delegates by non-empty paths only (not path_hash_prefixes)", source=source
            )
        keyids = []
        for name in d.keys:
            key = plan.keys[name].key
            keys[key.keyid] = key.to_dict()
            keyids.append(key.keyid)
        roles.append(
            {
                "name": d.name,
                "terminating": d.terminating,
                "keyids": keyids,
                "threshold": d.threshold,
                "paths": list(d.paths),
                "x-rstuf-expire-policy": delegation_days,
            }
        )
    delegations = {"keys": keys, "roles": roles}
    losses = model_losses({"signed": {"keys": keys}})
    if losses.any:
        raise InputError(f"delegation keys: RSTUF's model {losses.summary()}", source=source)
    return days, None, delegations
