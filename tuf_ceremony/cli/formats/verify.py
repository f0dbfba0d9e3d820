"""``verify`` reports: the root chain, the roles, the findings, the verdict.

The report (:mod:`tuf_ceremony.verify.report`) holds the strings as found in
the repository: file names, role names, key names from name files and the
messages quoting them are untrusted, and pass :func:`~tuf_ceremony.text.safe`
here. The text fits the output width: the tables keep to short columns, the
long lists (signers, key changes, findings) are wrapped lines under them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tuf_ceremony.cli.formats import JsonValue, labelled
from tuf_ceremony.cli.screens import table_lines, wrap
from tuf_ceremony.text import safe
from tuf_ceremony.verify.report import KeyRef, Report, RoleReport, RootStep, ThresholdCheck

#: Delegated roles listed one by one up to this many; beyond, a summary per delegator.
MAX_ROLE_ROWS = 40
#: Findings listed per severity (all of them are in --json).
MAX_PROBLEM_ROWS = 100


class AttestationAudit(Protocol):
    """The hardware attestation section (tuf_ceremony.attestation)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class VerifyResult:
    """The verification report, and the attestation audit when one was asked."""

    report: Report
    attestations: AttestationAudit | None = None

    def to_json(self) -> JsonValue:
        doc: dict[str, Any] = self.report.to_dict()
        if self.attestations is not None:
            doc["attestations"] = self.attestations.to_dict()
        return doc


def _key(ref: KeyRef) -> str:
    kid = safe(ref.keyid[:8])
    return f"{safe(ref.name, 60)} ({kid})" if ref.name else kid


def _keys(refs: list[KeyRef]) -> str:
    return ", ".join(_key(r) for r in refs) or "-"


def _met(check: ThresholdCheck | None) -> str:
    # "5 (need 3)": valid signatures of distinct keys, and the threshold ("5 of 3" misread)
    return f"{check.valid} (need {check.threshold})" if check is not None else "-"


class VerifyText:
    """The verification report in plain text."""

    def __init__(self, width: int) -> None:
        self.width = width

    @property
    def is_json(self) -> bool:
        return False

    def _wrap(self, text: str) -> list[str]:
        return wrap(text, self.width)

    def render(self, result: VerifyResult) -> str:
        report = result.report
        lines = self._heading(report)
        if report.root_chain:
            lines += ["", *self._root_chain(report.root_chain)]
        if report.roles:
            lines += ["", *self._roles(report.roles)]
        if report.problems:
            lines += ["", *self._findings(report)]
        lines += ["", *self._verdict(report)]
        return "\n".join(lines)

    def _heading(self, report: Report) -> list[str]:
        lines = labelled("tuf-ceremony verify", safe(report.directory, None), self.width)
        lines += self._wrap(
            f"checked at {safe(report.checked_at)}; {safe(report.mode)}{'; strict' if report.strict else ''}"
        )
        tr = report.trusted_root
        if tr:
            lines += self._wrap(
                f"trust anchor: {safe(tr.get('file'), None)} (root version {safe(tr.get('version'))}, "
                f"from {safe(tr.get('source'))})"
            )
        return lines

    def _root_chain(self, chain: list[RootStep]) -> list[str]:
        rows = []
        for s in chain:
            version = str(s.version)
            if s.file != f"{s.version}.root.json":
                version += f" ({safe(s.file, 60)})"
            if s.legacy_key_encoding:
                version += " legacy keys"
            expires = safe(s.expires) + (" (expired)" if s.expired else "")
            rows.append(
                [version, "anchor" if s.old is None else _met(s.old), _met(s.new), expires, "ok" if s.ok else "FAIL"]
            )
        lines = ["Root chain", *table_lines(("version", "old root", "new root", "expires", "status"), rows, self.width)]
        lines.append("Signed by (root keys with a valid signature):")
        for s in chain:
            lines += self._wrap(f"  v{s.version}: {_keys(s.new.signers)}")
        changes = [(s.version, c) for s in chain for c in s.changes if c.changed]
        if changes:
            lines.append("Key changes:")
            for number, c in changes:
                parts = []
                if c.added:
                    parts.append("added " + _keys(c.added))
                if c.removed:
                    parts.append("removed " + _keys(c.removed))
                if c.threshold_old != c.threshold_new:
                    parts.append(f"threshold {c.threshold_old} -> {c.threshold_new}")
                lines += self._wrap(f"  v{number} {safe(c.role)}: " + "; ".join(parts))
        return lines

    def _roles(self, roles: list[RoleReport]) -> list[str]:
        top = [r for r in roles if r.kind == "top-level"]
        delegated = [r for r in roles if r.kind != "top-level"]
        many = len(delegated) > MAX_ROLE_ROWS
        failed = [r for r in delegated if not r.ok]
        listed = top + (failed[:MAX_ROLE_ROWS] if many else delegated)
        rows = [_role_row(r) for r in listed]
        lines = ["Roles", *table_lines(("role", "version", "signed", "expires", "targets", "status"), rows, self.width)]
        if many and len(failed) > MAX_ROLE_ROWS:
            lines += self._wrap(f"... and {len(failed) - MAX_ROLE_ROWS} more failed roles (all in --json)")
        lines.append("Files and signers:")
        for r in listed:
            where = safe(r.file, None) if r.file else "no file"
            signers = _keys(r.threshold.signers) if r.threshold else "-"
            lines += self._wrap(
                f"  {safe(r.role, 80)}: {where}, delegated by {safe(r.delegator, 80)}; signed by {signers}"
            )
        if many:
            lines.append("Delegated roles:")
            lines += [piece for text in _delegated_summary(delegated) for piece in self._wrap(f"  {text}")]
        return lines

    def _findings(self, report: Report) -> list[str]:
        lines = ["Findings"]
        for sev in ("error", "warning", "info"):
            found = [p for p in report.problems if p.severity == sev]
            for p in found[:MAX_PROBLEM_ROWS]:
                where = safe(p.file or p.role or "-", None)
                lines += self._wrap(f"{sev.upper()} {safe(p.code)}: {where}: {safe(p.message, 2000)}")
            if len(found) > MAX_PROBLEM_ROWS:
                lines += self._wrap(f"{sev.upper()}: {len(found) - MAX_PROBLEM_ROWS} more (all of them in --json)")
        return lines

    def _verdict(self, report: Report) -> list[str]:
        s = report.summary()
        verdict = "OK" if report.ok else "FAILED"
        return self._wrap(
            f"{verdict}: {s['errors']} error(s), {s['warnings']} warning(s), {s['infos']} note(s); "
            f"root versions {s['root_versions']}, {s['roles_checked']} role file(s), "
            f"{s['targets_checked']} target(s) checked"
        )


def _role_row(r: RoleReport) -> list[str]:
    status = "ok" if r.ok else "FAIL"
    if not r.present:
        status = "not present" if r.ok else "missing"
    return [
        safe(r.role, 60),
        str(r.version) if r.version is not None else "-",
        _met(r.threshold),
        safe(r.expires or "-") + (" (expired)" if r.expired else ""),
        str(r.targets) if r.targets is not None else "-",
        status,
    ]


def _delegated_summary(roles: list[RoleReport]) -> list[str]:
    groups: dict[tuple[str, str], list[RoleReport]] = {}
    for r in roles:
        groups.setdefault((r.delegator, r.kind), []).append(r)
    out = []
    for (delegator, kind), rs in groups.items():
        present = [r for r in rs if r.present]
        versions = sorted({r.version for r in present if r.version is not None})
        expiries = sorted(r.expires for r in present if r.expires)
        signers: dict[str, KeyRef] = {}
        for r in present:
            if r.threshold:
                for k in r.threshold.signers:
                    signers.setdefault(k.keyid, k)
        thresholds = sorted({r.threshold.threshold for r in present if r.threshold})
        ok = sum(1 for r in rs if r.ok)
        vtext = (str(versions[0]) if len(versions) == 1 else f"{versions[0]}-{versions[-1]}") if versions else "-"
        failed = f", {len(rs) - ok} failed" if ok < len(rs) else ""
        out.append(
            f"{len(rs)} {safe(kind)} roles delegated by {safe(delegator, 80)}: {len(present)} files, "
            f"version {vtext}, threshold {'/'.join(map(str, thresholds)) or '-'}, "
            f"signed by {_keys(list(signers.values()))}, "
            f"earliest expiry {safe(expiries[0]) if expiries else '-'}, "
            f"{sum(r.targets or 0 for r in rs)} targets, {ok} ok{failed}"
        )
    return out
