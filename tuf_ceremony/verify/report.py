"""The verification report: a plain data model, serialized to the stable JSON
schema documented in ``docs/verify-report.md``.

Every class has ``to_dict``; the CLI renders the same objects as tables. New
fields may be added (readers must ignore unknown fields); renaming or removing
one bumps :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA = "tuf-ceremony/verify-report"
SCHEMA_VERSION = 1

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(slots=True)
class Problem:
    """One finding. ``code`` is a stable machine-readable identifier (see
    docs/verify-report.md); ``message`` is for humans."""

    severity: Severity
    code: str
    message: str
    file: str | None = None
    role: str | None = None
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "role": self.role,
            "version": self.version,
        }

    def one_line(self) -> str:
        where = self.file or self.role or ""
        return f"{where}: {self.message}" if where else self.message


@dataclass(slots=True)
class KeyRef:
    """A key by keyid, with the name a plan or request gave it (display only)."""

    keyid: str
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"keyid": self.keyid, "name": self.name}

    def label(self, short: int = 8) -> str:
        kid = self.keyid[:short]
        return f"{self.name} ({kid})" if self.name else kid


@dataclass(slots=True)
class ThresholdCheck:
    """Whether the signatures over one payload meet one role's threshold.

    ``signers`` are the authorized keys with a valid signature, counted once
    per distinct public key; ``missing`` the authorized keys without one.
    """

    role: str
    threshold: int
    valid: int
    signers: list[KeyRef] = field(default_factory=list)
    missing: list[KeyRef] = field(default_factory=list)
    authorized: int = 0

    @property
    def met(self) -> bool:
        return self.valid >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "threshold": self.threshold,
            "valid": self.valid,
            "met": self.met,
            "authorized_keys": self.authorized,
            "signers": [k.to_dict() for k in self.signers],
            "missing": [k.to_dict() for k in self.missing],
        }

    def summary(self) -> str:
        return f"{self.valid} of {self.threshold}"


@dataclass(slots=True)
class RoleChange:
    """How one top-level role's keys and threshold changed in a root step."""

    role: str
    added: list[KeyRef] = field(default_factory=list)
    removed: list[KeyRef] = field(default_factory=list)
    threshold_old: int | None = None
    threshold_new: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.threshold_old != self.threshold_new)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "added": [k.to_dict() for k in self.added],
            "removed": [k.to_dict() for k in self.removed],
            "threshold_old": self.threshold_old,
            "threshold_new": self.threshold_new,
        }


@dataclass(slots=True)
class RootStep:
    """One root version of the chain. The trust anchor has ``old is None``."""

    version: int
    file: str
    expires: str
    anchor: bool
    new: ThresholdCheck
    old: ThresholdCheck | None = None
    expired: bool | None = None
    legacy_key_encoding: bool = False
    changes: list[RoleChange] = field(default_factory=list)
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "file": self.file,
            "anchor": self.anchor,
            "expires": self.expires,
            "expired": self.expired,
            "legacy_key_encoding": self.legacy_key_encoding,
            "old_threshold": self.old.to_dict() if self.old else None,
            "new_threshold": self.new.to_dict(),
            "changes": [c.to_dict() for c in self.changes if c.changed],
            "ok": self.ok,
        }


@dataclass(slots=True)
class RoleReport:
    """One non-root role: top-level targets/snapshot/timestamp or a delegated
    role (hashed bin, succinct bin, ...)."""

    role: str
    delegator: str
    present: bool
    file: str | None = None
    version: int | None = None
    expires: str | None = None
    expired: bool | None = None
    threshold: ThresholdCheck | None = None
    targets: int | None = None
    kind: str = "top-level"
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "delegator": self.delegator,
            "kind": self.kind,
            "present": self.present,
            "file": self.file,
            "version": self.version,
            "expires": self.expires,
            "expired": self.expired,
            "threshold": self.threshold.to_dict() if self.threshold else None,
            "targets": self.targets,
            "ok": self.ok,
        }


@dataclass(slots=True)
class Report:
    """The whole verification result."""

    directory: str
    checked_at: str
    strict: bool
    warn_days: int
    mode: str = "root-history"
    trusted_root: dict[str, Any] = field(default_factory=dict)
    root_chain: list[RootStep] = field(default_factory=list)
    roles: list[RoleReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        *,
        file: str | None = None,
        role: str | None = None,
        version: int | None = None,
    ) -> Problem:
        p = Problem(severity, code, message, file, role, version)
        self.problems.append(p)
        return p

    def count(self, severity: Severity) -> int:
        return sum(1 for p in self.problems if p.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def summary(self) -> dict[str, Any]:
        versions = [s.version for s in self.root_chain]
        delegated = [r for r in self.roles if r.delegator not in ("root",)]
        return {
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "infos": self.count("info"),
            "root_versions": [min(versions), max(versions)] if versions else None,
            "newest_root_version": max(versions) if versions else None,
            "roles_checked": sum(1 for r in self.roles if r.present),
            "delegated_roles": sum(1 for r in delegated if r.kind != "top-level"),
            "targets_checked": sum(r.targets or 0 for r in self.roles),
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "ok": self.ok,
            "checked_at": self.checked_at,
            "directory": self.directory,
            "mode": self.mode,
            "strict": self.strict,
            "warn_days": self.warn_days,
            "trusted_root": self.trusted_root,
            "root_chain": [s.to_dict() for s in self.root_chain],
            "roles": [r.to_dict() for r in self.roles],
            "problems": [p.to_dict() for p in self.problems],
            "actions": list(self.actions),
            "summary": self.summary(),
        }
        for k, v in self.extensions.items():
            out.setdefault(k, v)
        return out
