"""Ceremony plans: the reviewed TOML document an admin prepares before the day.

A plan is validated completely before anything is written; every error names
the plan file and the entry (``plan.toml: roles.root.threshold: ...``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key
from tuf.api.metadata import TOP_LEVEL_ROLE_NAMES, Root, Snapshot, Targets, Timestamp

from tuf_ceremony.content import TargetFilePlan, parse_target_files
from tuf_ceremony.errors import CeremonyError, InputError, PlanError
from tuf_ceremony.files import read_bytes
from tuf_ceremony.keys import NamedKey, load_public_key, public_der
from tuf_ceremony.timeutil import parse_expiry
from tuf_ceremony.wellformed import unsafe_name_reason

# python-tuf's TOP_LEVEL_ROLE_NAMES, in the order plans and screens show them.
TOP_LEVEL_ROLES: tuple[str, ...] = tuple(
    sorted(TOP_LEVEL_ROLE_NAMES, key=(Root.type, Targets.type, Snapshot.type, Timestamp.type).index)
)
ONLINE_ROLES = ("snapshot", "timestamp")

_PLAN_FIELDS = {"ceremony", "keys", "roles", "targets"}
_CEREMONY_FIELDS = {"name", "consistent_snapshot", "description"}
_ROLE_FIELDS = {"keys", "threshold", "expires", "require_attestation"}
_TARGETS_FIELDS = _ROLE_FIELDS | {"delegations", "succinct_delegations"}
_DELEGATION_FIELDS = {"name", "keys", "threshold", "paths", "path_hash_prefixes", "terminating"}
_SUCCINCT_FIELDS = {"keys", "threshold", "bit_length", "name_prefix"}


@dataclass(frozen=True)
class RolePlan:
    """Keys (by name), threshold and expiry of one role."""

    name: str
    keys: tuple[str, ...]
    threshold: int
    expires: str | None


@dataclass(frozen=True)
class DelegationPlan:
    """A delegation from targets to an online role (e.g. PEP 458 "bins")."""

    name: str
    keys: tuple[str, ...]
    threshold: int
    paths: tuple[str, ...] | None
    path_hash_prefixes: tuple[str, ...] | None
    terminating: bool


@dataclass(frozen=True)
class SuccinctPlan:
    """TAP 15 succinct hash delegations from targets."""

    keys: tuple[str, ...]
    threshold: int
    bit_length: int
    name_prefix: str


@dataclass
class Plan:
    """A validated ceremony plan."""

    path: Path
    name: str
    consistent_snapshot: bool
    keys: dict[str, NamedKey]
    roles: dict[str, RolePlan]
    delegations: list[DelegationPlan] = field(default_factory=list)
    succinct: SuccinctPlan | None = None
    warnings: list[str] = field(default_factory=list)
    # [[targets.files]]: the complete set of target files, None to keep the trusted ones
    target_files: list[TargetFilePlan] | None = None
    # key name -> verified hardware attestation (tuf_ceremony.attestation.evidence)
    attestations: dict[str, Any] = field(default_factory=dict)

    def key_names(self) -> dict[str, str]:
        """keyid -> name, for display."""
        return {nk.keyid: name for name, nk in self.keys.items()}

    def role_keys(self, role: str) -> list[Key]:
        return [self.keys[n].key for n in self.roles[role].keys]

    def expiry(self, role: str, now: datetime) -> datetime:
        value = self.roles[role].expires
        if value is None:
            raise PlanError(f"roles.{role}.expires: missing", source=str(self.path))
        try:
            return parse_expiry(value, now)
        except ValueError as e:
            raise PlanError(f"roles.{role}.expires: {e}", source=str(self.path)) from None


def _err(plan_path: Path, entry: str, message: str) -> PlanError:
    return PlanError(f"{entry}: {message}", source=str(plan_path))


def _check_fields(path: Path, entry: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _err(path, entry, "must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _err(path, entry, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return table


def _key_list(path: Path, entry: str, value: Any, known: dict[str, NamedKey]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _err(path, f"{entry}.keys", "must be a non-empty list of key names")
    seen: set[str] = set()
    for name in value:
        if not isinstance(name, str):
            raise _err(path, f"{entry}.keys", f"entries must be key names, got {name!r}")
        if name not in known:
            raise _err(path, f"{entry}.keys", f"unknown key name {name!r} (not in [keys])")
        if name in seen:
            raise _err(path, f"{entry}.keys", f"key {name!r} is listed twice")
        seen.add(name)
    return tuple(value)


def _threshold(path: Path, entry: str, value: Any, nkeys: int, warnings: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(path, f"{entry}.threshold", "must be a whole number")
    if value < 1 or value > nkeys:
        raise _err(path, f"{entry}.threshold", f"{value} is not between 1 and the {nkeys} key(s)")
    if value == nkeys and nkeys > 1:
        warnings.append(f"{path}: {entry}: threshold {value} equals the number of keys: losing one key locks this role")
    return value


def _expires(path: Path, entry: str, value: Any, required: bool) -> str | None:
    if value is None:
        if required:
            raise _err(path, f"{entry}.expires", "missing (a duration like 365d or an RFC 3339 time)")
        return None
    if not isinstance(value, str):
        # TOML datetimes arrive as datetime objects
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise _err(path, f"{entry}.expires", "timestamp has no time zone; add Z for UTC")
            return value.isoformat()
        raise _err(path, f"{entry}.expires", "must be a duration like 365d or an RFC 3339 time")
    try:
        from tuf_ceremony.timeutil import utcnow

        parse_expiry(value, utcnow())
    except ValueError as e:
        raise _err(path, f"{entry}.expires", str(e)) from None
    return value


def check_uri_chooses_no_module(uri: str, where: str = "") -> None:
    """A plan, a request or ``rotate --add`` never chooses the PKCS#11 module
    to load (it is code that runs): ``module-path`` / ``module-name`` are
    refused there. Modules come from the operator's ``--key`` URI, ``--module``,
    ``$TUF_CEREMONY_PKCS11_MODULE`` or the known system locations."""
    from tuf_ceremony.signers.pkcs11.uri import parse_uri

    parsed = parse_uri(uri)
    if parsed.module_path is not None or parsed.module_name is not None:
        raise InputError(
            f"{where}a key URI here must not choose the PKCS#11 module (module-path or "
            "module-name): modules come only from the operator (--key, --module, "
            "$TUF_CEREMONY_PKCS11_MODULE or the system locations)"
        )


def _load_key(plan_path: Path, name: str, value: Any) -> NamedKey:
    entry = f"keys.{name}"
    if isinstance(value, dict):  # { public = "...", attestation = [...] }
        from tuf_ceremony.attestation.evidence import key_table_public

        value = key_table_public(plan_path, name, value)
    if not isinstance(value, str) or not value:
        raise _err(plan_path, entry, "must be a public key file path or a pkcs11: URI")
    if value.startswith("pkcs11:"):
        from tuf_ceremony.signers import public_key_from_uri

        try:
            check_uri_chooses_no_module(value)
            key = public_key_from_uri(value)
        except CeremonyError as e:
            raise _err(plan_path, entry, str(e)) from None
        return NamedKey(name, key, value)
    key_path = (plan_path.parent / value).resolve()
    try:
        key = load_public_key(key_path)
    except InputError as e:
        raise _err(plan_path, entry, str(e)) from None
    return NamedKey(name, key, str(key_path))


def _read_toml(p: Path) -> dict[str, Any]:
    """A plan file's TOML document; every decoding failure is a one-line PlanError."""
    data = read_bytes(p, "ceremony plan")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PlanError("not UTF-8 text", source=str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise PlanError(f"broken TOML: {e}", source=str(p)) from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise PlanError("broken TOML: a number with too many digits", source=str(p)) from None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a ceremony plan. Raises PlanError/InputError."""
    p = Path(path)
    doc = _read_toml(p)
    return parse_plan(doc, p)


def load_plan_names(path: str | Path) -> tuple[dict[str, str], list[str]]:
    """keyid -> name from a plan's ``[keys]`` alone, for display (``--names``):
    public key files are read, ``pkcs11:`` URIs are NOT resolved (no token
    needs to be plugged in). Returns the names and the key names given by a
    URI, whose keyid cannot be known without the token."""
    p = Path(path)
    doc = _read_toml(p)
    raw_keys = doc.get("keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise _err(p, "keys", 'missing or empty: name each public key (alice = "alice.pub.json")')
    names: dict[str, str] = {}
    by_uri: list[str] = []
    for kname, value in raw_keys.items():
        public = value.get("public") if isinstance(value, dict) else value
        if isinstance(public, str) and public.startswith("pkcs11:"):
            by_uri.append(kname)
            continue
        nk = _load_key(p, kname, public)
        names[nk.keyid] = kname
    return names, by_uri


def parse_plan(doc: dict[str, Any], p: Path) -> Plan:
    _check_fields(p, "plan", doc, _PLAN_FIELDS)
    warnings: list[str] = []
    name, consistent = _ceremony(p, doc)
    keys, attestations = _plan_keys(p, doc)
    roles, delegations, succinct = _plan_roles(p, doc, keys, attestations, warnings)
    target_files = parse_target_files(p, doc["targets"]) if "targets" in doc else None
    unpinned = [f.entry for f in target_files or [] if f.sha256 is None]
    if unpinned:
        warnings.append(
            f"{p}: {len(unpinned)} target file(s) without a sha256 pin ({unpinned[0]}"
            f"{', ...' if len(unpinned) > 1 else ''}): a change since the plan was reviewed "
            "cannot be detected; pin them with `tuf-ceremony targets hash`"
        )
    from tuf_ceremony.clients import role_key_warnings

    role_keys = {f"roles.{r}": [(n, keys[n].key) for n in rp.keys] for r, rp in roles.items()}
    role_keys.update({f"delegation {d.name}": [(n, keys[n].key) for n in d.keys] for d in delegations})
    if succinct is not None:
        role_keys["succinct delegations"] = [(n, keys[n].key) for n in succinct.keys]
    warnings += role_key_warnings(str(p), role_keys)
    return Plan(
        p,
        name,
        consistent,
        keys,
        roles,
        delegations,
        succinct,
        warnings,
        target_files=target_files,
        attestations=attestations,
    )


def _ceremony(p: Path, doc: dict[str, Any]) -> tuple[str, bool]:
    """The plan's [ceremony] table: its name and consistent_snapshot."""
    ceremony = _check_fields(p, "ceremony", doc.get("ceremony", {}), _CEREMONY_FIELDS)
    name = ceremony.get("name", p.stem)
    if not isinstance(name, str):
        raise _err(p, "ceremony.name", "must be a string")
    if not name or len(name) > 200:
        raise _err(p, "ceremony.name", "must be 1 to 200 characters")
    consistent = ceremony.get("consistent_snapshot", True)
    if not isinstance(consistent, bool):
        raise _err(p, "ceremony.consistent_snapshot", "must be true or false")
    return name, consistent


def _plan_keys(p: Path, doc: dict[str, Any]) -> tuple[dict[str, NamedKey], dict[str, Any]]:
    """The plan's [keys] table, one name per public key, and the attestation
    evidence of the keys that give one."""
    raw_keys = doc.get("keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise _err(p, "keys", 'missing or empty: name each public key (alice = "alice.pub.json")')
    keys: dict[str, NamedKey] = {}
    by_material: dict[bytes, str] = {}
    attestations: dict[str, Any] = {}
    for kname, value in raw_keys.items():
        nk = _load_key(p, kname, value)
        if isinstance(value, dict) and "attestation" in value:
            from tuf_ceremony.attestation.evidence import plan_key_evidence
            from tuf_ceremony.timeutil import utcnow

            attestations[kname] = plan_key_evidence(p, kname, value, nk.key, utcnow())
        material = public_der(nk.key)
        if material in by_material:
            raise _err(p, f"keys.{kname}", f"is the same public key as keys.{by_material[material]}")
        by_material[material] = kname
        keys[kname] = nk
    return keys, attestations


def _plan_roles(
    p: Path,
    doc: dict[str, Any],
    keys: dict[str, NamedKey],
    attestations: dict[str, Any],
    warnings: list[str],
) -> tuple[dict[str, RolePlan], list[DelegationPlan], SuccinctPlan | None]:
    """The plan's [roles] tables: every top-level role, and the delegations
    (or succinct delegations) of targets."""
    raw_roles = _check_fields(p, "roles", doc.get("roles"), set(TOP_LEVEL_ROLES))
    roles: dict[str, RolePlan] = {}
    delegations: list[DelegationPlan] = []
    succinct: SuccinctPlan | None = None
    for role in TOP_LEVEL_ROLES:
        entry = f"roles.{role}"
        if role not in raw_roles:
            raise _err(p, entry, "missing")
        allowed = _TARGETS_FIELDS if role == "targets" else _ROLE_FIELDS
        table = _check_fields(p, entry, raw_roles[role], allowed)
        rkeys = _key_list(p, entry, table.get("keys"), keys)
        threshold = _threshold(p, entry, table.get("threshold"), len(rkeys), warnings)
        expires = _expires(p, entry, table.get("expires"), required=role in ("root", "targets"))
        if "require_attestation" in table:
            from tuf_ceremony.attestation.evidence import check_required

            check_required(p, entry, table["require_attestation"], rkeys, attestations)
        roles[role] = RolePlan(role, rkeys, threshold, expires)
        if role == "targets":
            delegations = _delegations(p, table.get("delegations", []), keys, warnings)
            if "succinct_delegations" in table:
                if delegations:
                    raise _err(
                        p,
                        "roles.targets.succinct_delegations",
                        "cannot be combined with roles.targets.delegations",
                    )
                succinct = _succinct(p, table["succinct_delegations"], keys, warnings)
    return roles, delegations, succinct


def _delegations(p: Path, value: Any, keys: dict[str, NamedKey], warnings: list[str]) -> list[DelegationPlan]:
    if not isinstance(value, list):
        raise _err(p, "roles.targets.delegations", "must be an array of tables")
    out: list[DelegationPlan] = []
    names: set[str] = set()
    for i, raw in enumerate(value):
        entry = f"roles.targets.delegations[{i}]"
        t = _check_fields(p, entry, raw, _DELEGATION_FIELDS)
        dname = t.get("name")
        if not isinstance(dname, str) or not dname:
            raise _err(p, f"{entry}.name", "missing")
        if dname in TOP_LEVEL_ROLES or dname in names:
            raise _err(p, f"{entry}.name", f"{dname!r} is a top-level role or used twice")
        unsafe = unsafe_name_reason(dname)
        if unsafe:
            raise _err(p, f"{entry}.name", f"not a safe file name: {unsafe}")
        names.add(dname)
        dkeys = _key_list(p, entry, t.get("keys"), keys)
        thr = _threshold(p, entry, t.get("threshold"), len(dkeys), warnings)
        paths = t.get("paths")
        prefixes = t.get("path_hash_prefixes")
        if (paths is None) == (prefixes is None):
            raise _err(p, entry, "give exactly one of paths or path_hash_prefixes")
        chosen = paths if paths is not None else prefixes
        if not isinstance(chosen, list) or not all(isinstance(x, str) for x in chosen):
            raise _err(p, entry, "paths / path_hash_prefixes must be a list of strings")
        terminating = t.get("terminating", False)
        if not isinstance(terminating, bool):
            raise _err(p, f"{entry}.terminating", "must be true or false")
        out.append(
            DelegationPlan(
                dname,
                dkeys,
                thr,
                tuple(paths) if paths is not None else None,
                tuple(prefixes) if prefixes is not None else None,
                terminating,
            )
        )
    return out


def _succinct(p: Path, value: Any, keys: dict[str, NamedKey], warnings: list[str]) -> SuccinctPlan:
    entry = "roles.targets.succinct_delegations"
    t = _check_fields(p, entry, value, _SUCCINCT_FIELDS)
    skeys = _key_list(p, entry, t.get("keys"), keys)
    thr = _threshold(p, entry, t.get("threshold"), len(skeys), warnings)
    bits = t.get("bit_length")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 32:
        raise _err(p, f"{entry}.bit_length", "must be a whole number from 1 to 32")
    prefix = t.get("name_prefix", "bin")
    if not isinstance(prefix, str) or not prefix:
        raise _err(p, f"{entry}.name_prefix", "must be a non-empty string")
    longest = f"{prefix}-{'f' * len(f'{2**bits - 1:x}')}"
    unsafe = unsafe_name_reason(prefix) or unsafe_name_reason(longest)
    if unsafe:
        raise _err(p, f"{entry}.name_prefix", f"not a safe file name: {unsafe}")
    return SuccinctPlan(skeys, thr, bits, prefix)
