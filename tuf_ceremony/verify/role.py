"""One role's metadata file, checked step by step.

:class:`RoleCheck` reads like python-tuf's ``TrustedMetadataSet.update_*``:
read the file, compare it with what snapshot (or timestamp) lists
(``MetaFile.verify_length_and_hashes``), parse it, verify the signatures
against the delegator's keys and threshold, check the version and the
expiry, and for a delegated targets role that every target lies in the
range delegated to it. Each step is one short method that adds its findings
to the role's :class:`RoleOutcome`; bad content never raises (a malformed
file comes back as ``fatal``), so checks can run in worker processes.

A hashed bin is parsed once with :mod:`tuf_ceremony.canonical` (no python-tuf
objects for its targets: python-tuf's rules for them are checked in bulk by
:func:`~tuf_ceremony.verify.doc.check_targets_fields`), and which paths it
may hold is decided by python-tuf's rules in bulk
(:mod:`tuf_ceremony.verify.ranges`), path by path with python-tuf itself
only to name the strays.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import DelegatedRole, MetaFile, SuccinctRoles

from tuf_ceremony.errors import FormatError
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.verify.delegations import validate_delegations
from tuf_ceremony.verify.doc import MetaDoc, check_targets_fields, load_doc
from tuf_ceremony.verify.legacy import KeyEntry, load_key_entry
from tuf_ceremony.verify.ranges import all_delegated, all_in_bin
from tuf_ceremony.verify.report import Problem, RoleReport, Severity
from tuf_ceremony.verify.sigs import SignatureSet, signature_findings, threshold_check

# Findings about a delegation's definition (not about one file's signatures);
# reported once per delegator, not once per delegated file.
DEFINITION_CODES = {"duplicate-key", "missing-key", "unusable-key", "duplicate-keyid"}
MAX_RANGE_REPORTS = 5


@dataclass(slots=True)
class RoleJob:
    """What to check of one role, and against what."""

    role: str
    delegator: str
    kind: str  # top-level, delegated, hashed-bin, succinct-bin
    expected_type: str
    keyset: str  # the delegator whose keys verify this role (Context.keysets)
    keyids: list[str]
    threshold: int
    candidates: list[str] = field(default_factory=list)  # file names, in order
    required: bool = False
    # what snapshot (timestamp for snapshot) lists: python-tuf's MetaFile
    meta: Any = None
    expect_source: str | None = None
    # the delegation's JSON (python-tuf's DelegatedRole / SuccinctRoles are
    # built from it when the role is checked: all succinct bins share one)
    spec: dict[str, Any] | None = None
    keep_doc: bool = False


@dataclass(slots=True)
class RoleOutcome:
    report: RoleReport
    problems: list[Problem] = field(default_factory=list)
    delegations: dict[str, Any] | None = None
    fatal: str | None = None
    doc: MetaDoc | None = None


@dataclass
class Context:
    """What every check needs: the directory, the time, display names and
    the raw ``keys`` objects of every delegator checked so far."""

    directory: str
    at: datetime
    names: dict[str, str]
    keysets: dict[str, dict[str, Any]]


class _Cache:
    """Per-process caches: decoded keys (per keyset) and python-tuf
    delegation objects (per JSON object)."""

    ctx: Context | None = None
    keys: dict[str, dict[str, KeyEntry]] = {}  # noqa: RUF012 - per-process cache
    specs: dict[int, tuple[dict[str, Any], Any]] = {}  # noqa: RUF012 - per-process cache


def keys_for(ctx: Context, keyset: str) -> dict[str, KeyEntry]:
    if _Cache.ctx is not ctx:
        _Cache.ctx, _Cache.keys, _Cache.specs = ctx, {}, {}
    cached = _Cache.keys.get(keyset)
    if cached is None:
        cached = {kid: load_key_entry(kid, kd) for kid, kd in ctx.keysets[keyset].items()}
        _Cache.keys[keyset] = cached
    return cached


def delegation_of(job: RoleJob) -> Any:
    """python-tuf's DelegatedRole or SuccinctRoles of a delegated role."""
    spec = job.spec
    assert spec is not None
    hit = _Cache.specs.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    cls: Any = SuccinctRoles if job.kind == "succinct-bin" else DelegatedRole
    try:
        obj = cls.from_dict(dict(spec))
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        reason = " ".join(str(e).split()) or type(e).__name__
        raise FormatError(f"not valid TUF metadata: delegation of {job.role}: {reason}", source=job.delegator) from None
    if job.kind == "succinct-bin":
        if len(_Cache.specs) > 64:
            _Cache.specs.clear()
        _Cache.specs[id(spec)] = (spec, obj)
    return obj


def read_file(path: str) -> bytes:
    """The whole file, in one read when its size does not change meanwhile."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) > size:  # the file grew while we read it: read the rest
            chunks = [data]
            while more := os.read(fd, 1 << 20):
                chunks.append(more)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


class RoleCheck:
    """The checks of one role file, in python-tuf's order."""

    def __init__(self, job: RoleJob, ctx: Context) -> None:
        self.job = job
        self.ctx = ctx
        self.report = RoleReport(job.role, job.delegator, present=False, kind=job.kind)
        self.out = RoleOutcome(self.report)
        self.file: str | None = None

    def problem(self, severity: Severity, code: str, message: str, file: str | None = None) -> None:
        self.out.problems.append(
            Problem(severity, code, message, file or self.file, self.job.role, self.report.version)
        )
        if severity == "error":
            self.report.ok = False

    def run(self) -> RoleOutcome:
        try:
            raw = self.read()
            if raw is None:
                return self.out
            self.check_length_and_hashes(raw)
            doc = self.parse(raw)
            self.check_signatures(doc)
            self.check_version(doc)
            self.check_expiry(doc)
            self.check_paths(doc)
        except FormatError as e:
            self.out.fatal = str(e)
        return self.out

    # -- steps ---------------------------------------------------------------
    def read(self) -> bytes | None:
        job = self.job
        for cand in job.candidates:
            try:
                raw = read_file(os.path.join(self.ctx.directory, cand))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise FormatError(f"cannot read metadata: {e.strerror}", source=cand) from None
            self.file = self.report.file = cand
            self.report.present = True
            return raw
        looked = " or ".join(job.candidates) if job.candidates else f"{job.role} metadata"
        if job.required:
            extra = f" (listed in {job.expect_source})" if job.expect_source else ""
            first = job.candidates[0] if job.candidates else None
            self.problem("error", "missing-file", f"{looked} not found{extra}", first)
        else:
            self.problem("info", "not-present", f"{job.role}: no metadata file in the directory")
        return None

    def check_length_and_hashes(self, raw: bytes) -> None:
        """python-tuf's ``MetaFile.verify_length_and_hashes`` decides; each
        failing entry is then reported (python-tuf stops at the first)."""
        meta = self.job.meta
        if meta is None or (meta.length is None and meta.hashes is None):
            return
        try:
            meta.verify_length_and_hashes(raw)
        except LengthOrHashMismatchError:
            self._report_mismatches(raw)

    def _report_mismatches(self, raw: bytes) -> None:
        meta, source = self.job.meta, self.job.expect_source
        if meta.length is not None and len(raw) != meta.length:
            self.problem("error", "meta-length-mismatch", f"is {len(raw)} bytes but {source} says {meta.length}")
        for alg, expected in (meta.hashes or {}).items():
            try:
                MetaFile(1, hashes={alg: expected}).verify_length_and_hashes(raw)
                continue
            except LengthOrHashMismatchError:
                pass
            try:
                actual = hashlib.new(alg, raw).hexdigest()
            except (ValueError, TypeError):
                self.problem(
                    "error",
                    "meta-hash-mismatch",
                    f"{source} uses hash algorithm {alg!r}, which python-tuf does not support "
                    "(clients refuse the file)",
                )
                continue
            self.problem("error", "meta-hash-mismatch", f"{alg} is {actual} but {source} says {expected}")

    def parse(self, raw: bytes) -> MetaDoc:
        job = self.job
        name = self.file or job.role
        doc = load_doc(raw, name, job.expected_type)
        if job.expected_type == "targets":
            self.report.targets = check_targets_fields(doc.signed, name, doc.records)
            deleg = doc.signed.get("delegations")
            if deleg is not None:
                if not job.keep_doc:  # else the caller has python-tuf read it all
                    validate_delegations(deleg, name)
                self.out.delegations = deleg
        self.report.version = doc.version
        self.report.expires = doc.expires_str if doc.standard_expires else fmt_time(doc.expires)
        if job.keep_doc:
            self.out.doc = doc
        return doc

    def check_signatures(self, doc: MetaDoc) -> None:
        job = self.job
        keys = keys_for(self.ctx, job.keyset)
        sigset = SignatureSet.verify(doc.payload, doc.signatures, keys)
        check, findings = threshold_check(job.role, job.keyids, job.threshold, keys, sigset, self.ctx.names)
        self.report.threshold = check
        for sev, code, msg in findings:
            if code not in DEFINITION_CODES:
                self.problem(sev, code, msg)
        for sev, code, msg in signature_findings(sigset, keys, set(job.keyids), job.role):
            self.problem(sev, code, msg)
        if not check.met:
            self.problem(
                "error",
                "threshold-not-met",
                f"{job.role} is signed by {check.valid} of the {check.threshold} required keys "
                f"(delegated by {job.delegator})",
            )

    def check_version(self, doc: MetaDoc) -> None:
        job, name = self.job, self.file or ""
        prefix = name.split(".", 1)[0]
        if prefix.isdigit() and name == f"{prefix}.{job.role}.json" and int(prefix) != doc.version:
            self.problem(
                "error", "version-mismatch", f"file name says version {prefix} but it holds version {doc.version}"
            )
        expected = job.meta.version if job.meta is not None else None
        if expected is not None and expected != doc.version:
            self.problem(
                "error",
                "meta-version-mismatch",
                f"holds version {doc.version} but {job.expect_source} lists version {expected}",
            )

    def check_expiry(self, doc: MetaDoc) -> None:
        self.report.expired = self.ctx.at >= doc.expires
        if self.report.expired:
            self.problem(
                "error",
                "expired",
                f"{self.job.role} version {doc.version} expired at {fmt_time(doc.expires)} "
                f"(checked at {fmt_time(self.ctx.at)})",
            )

    def check_paths(self, doc: MetaDoc) -> None:
        job = self.job
        if job.spec is None or job.expected_type != "targets":
            return
        outside = targets_outside(job.role, delegation_of(job), doc.signed.get("targets", {}))
        for path, owner in outside[:MAX_RANGE_REPORTS]:
            where = f"; it belongs to {owner}" if owner else ""
            self.problem(
                "error",
                "target-outside-range",
                f"target {path!r} is outside the hash range/paths delegated to {job.role} by {job.delegator}{where}",
            )
        if len(outside) > MAX_RANGE_REPORTS:
            self.problem(
                "error",
                "target-outside-range",
                f"{len(outside) - MAX_RANGE_REPORTS} more targets outside the range of {job.role}",
            )


def targets_outside(role: str, delegation: Any, targets: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Targets ``role`` may not hold, by python-tuf's rules: decided in bulk
    (:mod:`tuf_ceremony.verify.ranges`), path by path only on a miss."""
    if isinstance(delegation, SuccinctRoles):
        if all_in_bin(delegation, role, targets):
            return []
        owners = ((path, delegation.get_role_for_target(path)) for path in targets)
        return [(path, owner) for path, owner in owners if owner != role]
    if all_delegated(delegation, targets):
        return []
    delegated = delegation.is_delegated_path
    return [(path, None) for path in targets if not delegated(path)]


def check_role(job: RoleJob, ctx: Context) -> RoleOutcome:
    """Check one role's file (module level: worker processes run it)."""
    return RoleCheck(job, ctx).run()
