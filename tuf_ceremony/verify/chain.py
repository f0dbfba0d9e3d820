"""Root chains (TUF specification 5.3.4).

Root version N+1 is trusted when a threshold of version N's root keys and a
threshold of its own root keys signed it, and its version is exactly N+1. The
trust anchor (the lowest version found, or ``--trusted-root``) must be signed
by a threshold of its own root keys, as python-tuf's client requires. Only
the newest root is judged for expiry (5.3.10); older ones are expected to
have expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.metadata import TOP_LEVEL_ROLE_NAMES

from tuf_ceremony.errors import FormatError, InputError
from tuf_ceremony.files import read_bytes
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.verify.doc import MetaDoc, load_doc
from tuf_ceremony.verify.layout import DirIndex
from tuf_ceremony.verify.legacy import KeyEntry, load_key_entry
from tuf_ceremony.verify.report import KeyRef, Report, RoleChange, RootStep, ThresholdCheck
from tuf_ceremony.verify.sigs import SignatureSet, signature_findings, threshold_check

# python-tuf's top-level role names, in the order the report shows them
TOP_LEVEL = ("root", "targets", "snapshot", "timestamp")
assert set(TOP_LEVEL) == TOP_LEVEL_ROLE_NAMES


@dataclass
class RootDoc:
    doc: MetaDoc
    keys: dict[str, KeyEntry]
    roles: dict[str, tuple[list[str], int]]
    consistent_snapshot: bool

    @property
    def version(self) -> int:
        return self.doc.version

    @property
    def legacy(self) -> bool:
        return any(e.legacy for e in self.keys.values())

    def identity(self) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        return self.doc.payload, tuple(sorted(self.doc.signatures))


def parse_keys(obj: Any, source: str, where: str) -> dict[str, KeyEntry]:
    if not isinstance(obj, dict):
        raise FormatError(f"not valid TUF metadata: '{where}' is not an object", source=source)
    return {kid: load_key_entry(kid, kd) for kid, kd in obj.items()}


def parse_role_entry(obj: Any, source: str, role: str) -> tuple[list[str], int]:
    if not isinstance(obj, dict):
        raise FormatError(f"not valid TUF metadata: role {role} is not an object", source=source)
    keyids = obj.get("keyids")
    threshold = obj.get("threshold")
    if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
        raise FormatError(f"not valid TUF metadata: role {role} keyids must be a list of strings", source=source)
    if type(threshold) is not int or threshold < 1:
        raise FormatError(
            f"not valid TUF metadata: role {role} threshold must be a positive integer",
            source=source,
        )
    return list(keyids), threshold


def parse_root(doc: MetaDoc) -> RootDoc:
    s = doc.signed
    keys = parse_keys(s.get("keys"), doc.file, "keys")
    roles_obj = s.get("roles")
    if not isinstance(roles_obj, dict):
        raise FormatError("not valid TUF metadata: 'roles' is not an object", source=doc.file)
    roles: dict[str, tuple[list[str], int]] = {}
    for name in sorted(TOP_LEVEL_ROLE_NAMES):
        if name not in roles_obj:
            raise FormatError(f"not valid TUF metadata: role {name} is missing", source=doc.file)
    for name, entry in roles_obj.items():
        roles[name] = parse_role_entry(entry, doc.file, name)
    cs = s.get("consistent_snapshot", False)
    if not isinstance(cs, bool):
        raise FormatError("not valid TUF metadata: consistent_snapshot is not a boolean", source=doc.file)
    return RootDoc(doc, keys, roles, cs)


def load_root(path: Path, display: str) -> RootDoc:
    raw = read_bytes(path, "root metadata")
    doc = load_doc(raw, display, "root")
    return parse_root(doc)


def python_tuf_cross_check(doc: MetaDoc, legacy: bool, report: Report, role: str) -> Any:
    """Let python-tuf parse the file too. A file python-tuf cannot read is
    malformed unless it uses a legacy encoding (then it is reported)."""
    import json

    from tuf.api.metadata import Metadata

    try:
        keyids = [k for k, _ in doc.signatures]
        if len(set(keyids)) != len(keyids):
            # python-tuf refuses a keyid signing twice outright; that is
            # reported as an error (duplicate-signature): let python-tuf
            # check everything else
            data = json.loads(doc.raw)
            first: dict[str, Any] = {}
            for sig in data["signatures"]:
                first.setdefault(sig["keyid"], sig)
            data["signatures"] = list(first.values())
            return Metadata.from_dict(data)
        return Metadata.from_bytes(doc.raw)
    except Exception as e:  # noqa: BLE001 - python-tuf raises many kinds
        cause = e.__cause__ or e
        reason = " ".join(str(cause).split()) or type(e).__name__
        if legacy or not doc.standard_expires:
            report.add(
                "info",
                "python-tuf-unreadable",
                f"python-tuf cannot read this version (legacy format: {reason}); verified with legacy decoding",
                file=doc.file,
                role=role,
                version=doc.version,
            )
            return None
        raise FormatError(f"not valid TUF metadata: {reason}", source=doc.file) from None


def key_findings(keys: dict[str, KeyEntry], report: Report, file: str, role: str, version: int | None) -> None:
    """Keyids that are not the SHA-256 of their key, undecodable keys."""
    for kid, entry in keys.items():
        if not entry.keyid_matches:
            report.add(
                "error" if report.strict else "warning",
                "keyid-mismatch",
                f"keyid {kid} is not the SHA-256 of its key's canonical JSON "
                f"({entry.computed_keyid}); strict clients such as tough reject this",
                file=file,
                role=role,
                version=version,
            )
        if entry.key is None:
            report.add(
                "warning",
                "unusable-key",
                f"key {kid}: {entry.error}",
                file=file,
                role=role,
                version=version,
            )


def _add_findings(
    report: Report,
    findings: list[tuple[Any, str, str]],
    file: str,
    role: str,
    version: int | None,
    seen: set[tuple[str, str]],
) -> None:
    for sev, code, msg in findings:
        if (code, msg) in seen:
            continue
        seen.add((code, msg))
        report.add(sev, code, msg, file=file, role=role, version=version)


def _changes(old: RootDoc, new: RootDoc, names: dict[str, str]) -> list[RoleChange]:
    out = []
    for role in sorted(set(old.roles) | set(new.roles), key=_role_order):
        ok, ot = old.roles.get(role, ([], None))
        nk, nt = new.roles.get(role, ([], None))
        out.append(
            RoleChange(
                role,
                added=[KeyRef(k, names.get(k)) for k in nk if k not in ok],
                removed=[KeyRef(k, names.get(k)) for k in ok if k not in nk],
                threshold_old=ot,
                threshold_new=nt,
            )
        )
    return out


def _role_order(role: str) -> tuple[int, str]:
    return (TOP_LEVEL.index(role) if role in TOP_LEVEL else len(TOP_LEVEL), role)


def collect_roots(index: DirIndex, report: Report) -> dict[int, RootDoc]:
    """Load every root file of the directory; report files whose version
    does not match their name and repeated versions."""
    files = index.get("root")
    by_version: dict[int, RootDoc] = {}
    for n in sorted(files.versions):
        name = files.versions[n]
        rd = load_root(index.directory / name, name)
        if rd.version != n:
            code = "root-rollback" if rd.version < n else "root-version-mismatch"
            report.add(
                "error",
                code,
                f"file name says version {n} but it holds version {rd.version}"
                + (" (a rollback)" if rd.version < n else ""),
                file=name,
                role="root",
                version=rd.version,
            )
            continue
        by_version[n] = rd
    if files.unversioned:
        name = files.unversioned
        rd = load_root(index.directory / name, name)
        v = rd.version
        if v in by_version:
            if by_version[v].identity() != rd.identity():
                report.add(
                    "error",
                    "root-repeated-version",
                    f"holds version {v}, like {by_version[v].doc.file}, but the two differ",
                    file=name,
                    role="root",
                    version=v,
                )
        else:
            if by_version and v < max(by_version):
                report.add(
                    "warning",
                    "root-unversioned-stale",
                    f"holds version {v}, older than {by_version[max(by_version)].doc.file}",
                    file=name,
                    role="root",
                    version=v,
                )
            by_version[v] = rd
    return by_version


def verify_root_chain(
    index: DirIndex,
    report: Report,
    *,
    at: datetime,
    names: dict[str, str],
    trusted_root: Path | None = None,
) -> RootDoc:
    """Check the root history of ``index`` into ``report``; return the newest
    root (the one the rest of the repository is checked against)."""
    by_version = collect_roots(index, report)
    if trusted_root is not None:
        anchor = _anchor_from_file(trusted_root, by_version, report)
    else:
        anchor = _anchor_in_directory(index, by_version, report)
    steps = [anchor, *(by_version[v] for v in sorted(by_version) if v > anchor.version)]
    prev: RootDoc | None = None
    for rd in steps:
        _check_root(rd, prev, report, names)
        prev = rd
    _judge_newest(steps[-1], report, at)
    return steps[-1]


def _anchor_from_file(trusted_root: Path, by_version: dict[int, RootDoc], report: Report) -> RootDoc:
    anchor = load_root(trusted_root, str(trusted_root))
    report.trusted_root = {"file": str(trusted_root), "version": anchor.version, "source": "--trusted-root"}
    same = by_version.get(anchor.version)
    if same is not None and same.identity() != anchor.identity():
        report.add(
            "error",
            "root-anchor-mismatch",
            f"holds version {anchor.version} but differs from the trusted root {trusted_root}",
            file=same.doc.file,
            role="root",
            version=anchor.version,
        )
    older = [v for v in by_version if v < anchor.version]
    if older:
        report.add(
            "info",
            "root-before-anchor",
            f"root versions {min(older)}-{max(older)} precede the trusted root "
            f"(version {anchor.version}) and were not checked",
            role="root",
        )
    return anchor


def _anchor_in_directory(index: DirIndex, by_version: dict[int, RootDoc], report: Report) -> RootDoc:
    if not by_version:
        if not index.get("root").present:
            raise InputError("no root metadata found (expected N.root.json or root.json)", source=str(index.directory))
        raise VerificationFailedEarly(report)
    anchor = by_version[min(by_version)]
    report.trusted_root = {"file": anchor.doc.file, "version": anchor.version, "source": "directory"}
    return anchor


def _judge_newest(newest: RootDoc, report: Report, at: datetime) -> None:
    """Only the newest root is judged for expiry (5.3.10)."""
    step = report.root_chain[-1]
    step.expired = at >= newest.doc.expires
    if step.expired:
        step.ok = False
        report.add(
            "error",
            "expired",
            f"root version {newest.version} expired at {fmt_time(newest.doc.expires)} (checked at {fmt_time(at)})",
            file=newest.doc.file,
            role="root",
            version=newest.version,
        )
    else:
        warn_soon(report, newest.doc, "root", at)


class VerificationFailedEarly(Exception):
    """No root version survived the file checks; the report says why."""

    def __init__(self, report: Report) -> None:
        super().__init__("no usable root version")
        self.report = report


def warn_soon(report: Report, doc: MetaDoc, role: str, at: datetime) -> None:
    left = doc.expires - at
    if timedelta(0) < left < timedelta(days=report.warn_days):
        days = left.total_seconds() / 86400
        report.add(
            "warning",
            "expires-soon",
            f"{role} version {doc.version} expires at {fmt_time(doc.expires)}, "
            f"in {days:.1f} days (less than {report.warn_days})",
            file=doc.file,
            role=role,
            version=doc.version,
        )


def _check_root(rd: RootDoc, prev: RootDoc | None, report: Report, names: dict[str, str]) -> None:
    """One step of the chain (spec 5.3.4): ``rd`` is signed by a threshold of
    its own root keys and, after the anchor, of ``prev``'s, and its version
    is ``prev``'s + 1."""
    _note_encodings(rd, report)
    new_check, old_check = _root_signatures(rd, prev, report, names)
    ok = _chain_holds(rd, prev, new_check, old_check, report)
    report.root_chain.append(
        RootStep(
            version=rd.version,
            file=rd.doc.file,
            expires=fmt_time(rd.doc.expires),
            anchor=prev is None,
            new=new_check,
            old=old_check,
            legacy_key_encoding=rd.legacy,
            changes=_changes(prev, rd, names) if prev is not None else [],
            ok=ok,
        )
    )


def _note_encodings(rd: RootDoc, report: Report) -> None:
    """python-tuf's reading of the file, legacy encodings, key anomalies."""
    doc = rd.doc
    file, v = doc.file, rd.version
    python_tuf_cross_check(doc, rd.legacy, report, "root")
    if rd.legacy:
        legacy_ids = sorted(k for k, e in rd.keys.items() if e.legacy)
        report.add(
            "info",
            "legacy-key-encoding",
            f"root version {v} uses a legacy key encoding (ECDSA public keys as hex-encoded "
            f"uncompressed EC points): {len(legacy_ids)} key(s), decoded and verified anyway",
            file=file,
            role="root",
            version=v,
        )
    if not doc.standard_expires:
        report.add(
            "info",
            "expires-format",
            f"expires {doc.expires_str!r} is not in the YYYY-MM-DDTHH:MM:SSZ form python-tuf "
            "requires; read as " + fmt_time(doc.expires),
            file=file,
            role="root",
            version=v,
        )
    key_findings(rd.keys, report, file, "root", v)


def _root_signatures(
    rd: RootDoc, prev: RootDoc | None, report: Report, names: dict[str, str]
) -> tuple[ThresholdCheck, ThresholdCheck | None]:
    """Thresholds of ``rd``'s own root role and of ``prev``'s, with the
    findings about both key lists and every signature entry."""
    doc = rd.doc
    file, v = doc.file, rd.version
    seen: set[tuple[str, str]] = set()
    root_keyids, root_threshold = rd.roles["root"]
    sig_new = SignatureSet.verify(doc.payload, doc.signatures, rd.keys)
    new_check, f_new = threshold_check("root", root_keyids, root_threshold, rd.keys, sig_new, names)
    # duplicate keys in the other top-level roles of this version
    for role, (kids, thr) in rd.roles.items():
        if role == "root":
            continue
        _, f_role = threshold_check(role, kids, thr, rd.keys, SignatureSet([]), names)
        _add_findings(report, [f for f in f_role if f[1] != "unusable-key"], file, role, v, seen)
    _add_findings(report, [f for f in f_new if f[1] != "unusable-key"], file, "root", v, seen)

    known: dict[str, KeyEntry] = dict(rd.keys)
    authorized = set(root_keyids)
    results = dict(sig_new.results)
    old_check = None
    if prev is not None:
        old_keyids, old_threshold = prev.roles["root"]
        sig_old = SignatureSet.verify(doc.payload, doc.signatures, prev.keys)
        old_check, f_old = threshold_check("root", old_keyids, old_threshold, prev.keys, sig_old, names)
        _add_findings(report, [f for f in f_old if f[1] == "duplicate-signature"], file, "root", v, seen)
        for k, e in prev.keys.items():
            known.setdefault(k, e)
        authorized |= set(old_keyids)
        for k, ok in sig_old.results.items():
            results[k] = results.get(k, False) or ok
    merged = SignatureSet(doc.signatures, results, sig_new.duplicates)
    _add_findings(report, signature_findings(merged, known, authorized, "root"), file, "root", v, seen)
    return new_check, old_check


def _chain_holds(
    rd: RootDoc,
    prev: RootDoc | None,
    new_check: ThresholdCheck,
    old_check: ThresholdCheck | None,
    report: Report,
) -> bool:
    file, v = rd.doc.file, rd.version
    ok = new_check.met
    if prev is not None:
        if v != prev.version + 1:
            missing = list(range(prev.version + 1, v))
            report.add(
                "error",
                "root-chain-gap",
                f"root version(s) {', '.join(map(str, missing))} missing between {prev.doc.file} and {file}",
                file=file,
                role="root",
                version=v,
            )
            ok = False
        assert old_check is not None
        if not old_check.met:
            ok = False
            report.add(
                "error",
                "root-threshold-old",
                f"root version {v} is signed by {old_check.valid} of the {old_check.threshold} "
                f"required keys of the trusted root version {prev.version}",
                file=file,
                role="root",
                version=v,
            )
    if not new_check.met:
        ok = False
        report.add(
            "error",
            "root-threshold-new",
            f"root version {v} is signed by {new_check.valid} of the {new_check.threshold} "
            "required keys of its own root role",
            file=file,
            role="root",
            version=v,
        )
    return ok
