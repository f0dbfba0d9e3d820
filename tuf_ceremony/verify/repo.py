"""Whole repositories: targets, snapshot, timestamp and every delegated role
(classic hashed bins with ``path_hash_prefixes``, TAP 15 succinct bins, or
any other delegation), checked against the newest root.

Delegated roles are checked level by level; a large level (PEP 458: 16,384
bins) is spread over every CPU: this process and CPUs - 1 worker processes
share one queue of chunks. Each file is read and parsed once, its canonical
payload computed without building python-tuf objects, and its signatures
verified with keys decoded once per keyid
(:class:`~tuf_ceremony.verify.legacy.VerifyingKey`). Which targets a bin may
hold is decided by python-tuf itself (``DelegatedRole.is_delegated_path``,
``SuccinctRoles.get_role_for_target``).
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tuf_ceremony.errors import FormatError
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.verify.chain import RootDoc, key_findings, python_tuf_cross_check, warn_soon
from tuf_ceremony.verify.doc import MetaDoc, check_targets_fields, load_doc
from tuf_ceremony.verify.layout import DirIndex, safe_role_name
from tuf_ceremony.verify.legacy import KeyEntry, load_key_entry
from tuf_ceremony.verify.report import KeyRef, Problem, Report, RoleReport, ThresholdCheck
from tuf_ceremony.verify.sigs import SignatureSet, signature_findings, threshold_check

Progress = Callable[[int, int, str], None]

# Findings about a delegation's definition (not about one file's signatures);
# reported once per delegator, not once per delegated file.
_DEFINITION_CODES = {"duplicate-key", "missing-key", "unusable-key", "duplicate-keyid"}
_MAX_RANGE_REPORTS = 5
PARALLEL_MIN = 256
BIG_DELEGATOR = 1024


@dataclass(slots=True)
class RoleJob:
    role: str
    delegator: str
    kind: str
    expected_type: str
    keyset: str
    keyids: list[str]
    threshold: int
    candidates: list[str]
    required: bool
    expected_version: int | None = None
    expected_length: int | None = None
    expected_hashes: dict[str, str] | None = None
    expect_source: str | None = None
    delegation: Any = None  # python-tuf DelegatedRole / SuccinctRoles
    raw_spec: dict[str, Any] | None = None  # its JSON, built lazily (workers)
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
    directory: str
    at: datetime
    names: dict[str, str]
    keysets: dict[str, dict[str, Any]]


JobTuple = tuple[Any, ...]
OutcomeTuple = tuple[Any, ...]


def job_to_tuple(job: RoleJob) -> JobTuple:
    return (
        job.role,
        job.delegator,
        job.kind,
        tuple(job.candidates),
        job.expected_version,
        job.expected_length,
        job.expected_hashes,
        job.expect_source,
        job.required,
        job.keyids,
        job.threshold,
        job.raw_spec,
    )


def job_from_tuple(t: JobTuple) -> RoleJob:
    role, delegator, kind, cands, ev, el, eh, src, required, keyids, threshold, raw = t
    return RoleJob(
        role, delegator, kind, "targets", delegator, keyids, threshold,
        list(cands), required, ev, el, eh, src, None, raw,
    )


_SPEC_CACHE: dict[int, tuple[dict[str, Any], Any]] = {}


def _spec_object(job: RoleJob) -> Any:
    """python-tuf's DelegatedRole or SuccinctRoles for a job (built once per
    JSON object: all succinct bins share one)."""
    from tuf.api.metadata import DelegatedRole, SuccinctRoles

    raw = job.raw_spec
    assert raw is not None
    hit = _SPEC_CACHE.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    cls: Any = SuccinctRoles if job.kind == "succinct-bin" else DelegatedRole
    try:
        obj = cls.from_dict(dict(raw))
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        reason = " ".join(str(e).split()) or type(e).__name__
        raise FormatError(
            f"not valid TUF metadata: delegation of {job.role}: {reason}", source=job.delegator
        ) from None
    if job.kind == "succinct-bin":
        if len(_SPEC_CACHE) > 64:
            _SPEC_CACHE.clear()
        _SPEC_CACHE[id(raw)] = (raw, obj)
    return obj


def outcome_to_tuple(o: RoleOutcome) -> OutcomeTuple:
    r = o.report
    th = r.threshold
    tt = None
    if th is not None:
        tt = (
            th.role,
            th.threshold,
            th.valid,
            th.authorized,
            tuple(k.keyid for k in th.signers),
            tuple(k.keyid for k in th.missing),
        )
    probs = tuple((p.severity, p.code, p.message, p.file, p.role, p.version) for p in o.problems)
    return (
        r.role, r.delegator, r.present, r.file, r.version, r.expires, r.expired, r.targets,
        r.kind, r.ok, tt, probs, o.delegations, o.fatal,
    )


def outcome_from_tuple(t: OutcomeTuple, names: dict[str, str]) -> RoleOutcome:
    (role, delegator, present, file, version, expires, expired, targets, kind, ok, tt, probs,
     delegations, fatal) = t
    th = None
    if tt is not None:
        trole, threshold, valid, authorized, signers, missing = tt
        th = ThresholdCheck(
            trole,
            threshold,
            valid,
            [KeyRef(k, names.get(k)) for k in signers],
            [KeyRef(k, names.get(k)) for k in missing],
            authorized,
        )
    rr = RoleReport(role, delegator, present, file, version, expires, expired, th, targets, kind, ok)
    return RoleOutcome(rr, [Problem(*p) for p in probs], delegations, fatal)


class _State:
    ctx: Context | None = None
    keys: dict[str, dict[str, KeyEntry]] = {}  # noqa: RUF012 - per-process cache


def _keys_for(ctx: Context, keyset: str) -> dict[str, KeyEntry]:
    cached = _State.keys.get(keyset)
    if cached is None or _State.ctx is not ctx:
        if _State.ctx is not ctx:
            _State.keys = {}
            _State.ctx = ctx
        cached = {kid: load_key_entry(kid, kd) for kid, kd in ctx.keysets[keyset].items()}
        _State.keys[keyset] = cached
    return cached


def _init_worker(ctx: Context) -> None:
    import gc

    # short-lived, acyclic objects only: reference counting frees them
    gc.disable()
    _State.ctx = ctx
    _State.keys = {}


def _run_chunk(jobs: list[JobTuple]) -> list[OutcomeTuple]:
    ctx = _State.ctx
    assert ctx is not None
    return [outcome_to_tuple(check_role(job_from_tuple(t), ctx)) for t in jobs]


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) > size:  # the file grew while we read it: read the rest
            chunks = [data]
            while True:
                more = os.read(fd, 1 << 20)
                if not more:
                    break
                chunks.append(more)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def check_role(job: RoleJob, ctx: Context) -> RoleOutcome:
    """Check one role's metadata file; never raises for bad content (a
    malformed file comes back as ``fatal``)."""
    rr = RoleReport(job.role, job.delegator, present=False, kind=job.kind)
    out = RoleOutcome(rr)

    def problem(sev: Any, code: str, msg: str, file: str | None) -> None:
        out.problems.append(Problem(sev, code, msg, file, job.role, rr.version))

    raw = None
    name = None
    for cand in job.candidates:
        try:
            raw = _read(os.path.join(ctx.directory, cand))
            name = cand
            break
        except FileNotFoundError:
            continue
        except OSError as e:
            out.fatal = f"{cand}: cannot read metadata: {e.strerror}"
            return out
    if raw is None or name is None:
        looked = " or ".join(job.candidates) if job.candidates else f"{job.role} metadata"
        if job.required:
            rr.ok = False
            extra = f" (listed in {job.expect_source})" if job.expect_source else ""
            first = job.candidates[0] if job.candidates else None
            problem("error", "missing-file", f"{looked} not found{extra}", first)
        else:
            problem("info", "not-present", f"{job.role}: no metadata file in the directory", None)
        return out
    rr.present = True
    rr.file = name

    if not _meta_matches(job, raw):
        rr.ok = False
        for code, msg in _meta_mismatches(job, raw):
            problem("error", code, msg, name)

    try:
        doc = load_doc(raw, name, job.expected_type)
        if job.expected_type == "targets":
            rr.targets = check_targets_fields(doc.signed, name, doc.records)
            deleg = doc.signed.get("delegations")
            if deleg is not None:
                if not job.keep_doc:  # else the caller parses it all with python-tuf
                    _validate_delegations(deleg, name)
                out.delegations = deleg
    except FormatError as e:
        out.fatal = str(e)
        return out
    rr.version = doc.version
    rr.expires = doc.expires_str if doc.standard_expires else fmt_time(doc.expires)
    if job.keep_doc:
        out.doc = doc

    keys = _keys_for(ctx, job.keyset)
    sigset = SignatureSet.verify(doc.payload, doc.signatures, keys)
    check, findings = threshold_check(
        job.role, job.keyids, job.threshold, keys, sigset, ctx.names
    )
    rr.threshold = check
    for sev, code, msg in findings:
        if code not in _DEFINITION_CODES:
            problem(sev, code, msg, name)
    for sev, code, msg in signature_findings(sigset, keys, set(job.keyids), job.role):
        problem(sev, code, msg, name)
    if not check.met:
        rr.ok = False
        problem(
            "error",
            "threshold-not-met",
            f"{job.role} is signed by {check.valid} of the {check.threshold} required keys "
            f"(delegated by {job.delegator})",
            name,
        )

    prefix = name.split(".", 1)[0]
    if prefix.isdigit() and name == f"{prefix}.{job.role}.json" and int(prefix) != doc.version:
        rr.ok = False
        problem(
            "error",
            "version-mismatch",
            f"file name says version {prefix} but it holds version {doc.version}",
            name,
        )
    if job.expected_version is not None and job.expected_version != doc.version:
        rr.ok = False
        problem(
            "error",
            "meta-version-mismatch",
            f"holds version {doc.version} but {job.expect_source} lists version "
            f"{job.expected_version}",
            name,
        )
    rr.expired = ctx.at >= doc.expires
    if rr.expired:
        rr.ok = False
        problem(
            "error",
            "expired",
            f"{job.role} version {doc.version} expired at {fmt_time(doc.expires)} "
            f"(checked at {fmt_time(ctx.at)})",
            name,
        )

    if job.delegation is None and job.raw_spec is not None:
        try:
            job.delegation = _spec_object(job)
        except FormatError as e:
            out.fatal = str(e)
            return out
    if job.delegation is not None and job.expected_type == "targets":
        outside = _targets_outside(job, doc.signed.get("targets", {}))
        if outside:
            rr.ok = False
            for path, owner in outside[:_MAX_RANGE_REPORTS]:
                where = f"; it belongs to {owner}" if owner else ""
                problem(
                    "error",
                    "target-outside-range",
                    f"target {path!r} is outside the hash range/paths delegated to "
                    f"{job.role} by {job.delegator}{where}",
                    name,
                )
            if len(outside) > _MAX_RANGE_REPORTS:
                problem(
                    "error",
                    "target-outside-range",
                    f"{len(outside) - _MAX_RANGE_REPORTS} more targets outside the range of "
                    f"{job.role}",
                    name,
                )
    if out.problems and any(p.severity == "error" for p in out.problems):
        rr.ok = False
    return out


def _meta_matches(job: RoleJob, raw: bytes) -> bool:
    """Length and hashes of a file against what snapshot (or timestamp)
    lists, by python-tuf's ``MetaFile.verify_length_and_hashes``."""
    if job.expected_length is None and not job.expected_hashes:
        return True
    from tuf.api.exceptions import LengthOrHashMismatchError
    from tuf.api.metadata import MetaFile

    meta = MetaFile(job.expected_version or 1, job.expected_length, job.expected_hashes)
    try:
        meta.verify_length_and_hashes(raw)
    except LengthOrHashMismatchError:
        return False
    return True


def _meta_mismatches(job: RoleJob, raw: bytes) -> list[tuple[str, str]]:
    """What exactly failed in :func:`_meta_matches`: each failing entry, for
    the report (python-tuf stops at the first)."""
    from tuf.api.exceptions import LengthOrHashMismatchError
    from tuf.api.metadata import MetaFile

    out: list[tuple[str, str]] = []
    if job.expected_length is not None and len(raw) != job.expected_length:
        out.append((
            "meta-length-mismatch",
            f"is {len(raw)} bytes but {job.expect_source} says {job.expected_length}",
        ))
    for alg, expected in (job.expected_hashes or {}).items():
        try:
            MetaFile(1, hashes={alg: expected}).verify_length_and_hashes(raw)
        except LengthOrHashMismatchError:
            try:
                actual = hashlib.new(alg, raw).hexdigest()
            except (ValueError, TypeError):
                out.append((
                    "meta-hash-mismatch",
                    f"{job.expect_source} uses hash algorithm {alg!r}, which python-tuf does "
                    "not support (clients refuse the file)",
                ))
                continue
            out.append((
                "meta-hash-mismatch", f"{alg} is {actual} but {job.expect_source} says {expected}"
            ))
    return out


def _targets_outside(job: RoleJob, targets: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Targets ``job.role`` may not hold (python-tuf's rules; decided in bulk
    by :mod:`tuf_ceremony.verify.ranges`, path by path only on a miss)."""
    from tuf.api.metadata import SuccinctRoles

    from tuf_ceremony.verify.ranges import all_delegated, all_in_bin

    d = job.delegation
    if isinstance(d, SuccinctRoles):
        if all_in_bin(d, job.role, targets):
            return []
        owners = ((path, d.get_role_for_target(path)) for path in targets)
        return [(path, owner) for path, owner in owners if owner != job.role]
    if all_delegated(d, targets):
        return []
    delegated = d.is_delegated_path
    return [(path, None) for path in targets if not delegated(path)]


def _metafiles(doc: MetaDoc, required: set[str] | None = None) -> dict[str, Any]:
    """The ``meta`` map of a snapshot/timestamp python-tuf could not load as a
    whole (legacy ``expires``), entry by entry with python-tuf's MetaFile."""
    from tuf.api.metadata import MetaFile

    meta = doc.signed.get("meta")
    if not isinstance(meta, dict) or not (required or set()) <= set(meta):
        raise FormatError("not valid TUF metadata: 'meta' is missing or incomplete", source=doc.file)
    try:
        return {name: MetaFile.from_dict(dict(entry)) for name, entry in meta.items()}
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        raise FormatError(f"not valid TUF metadata: meta: {e}", source=doc.file) from None


def python_tuf_parse_without_delegations(doc: MetaDoc) -> None:
    from tuf.api.metadata import Metadata

    signed = {k: copy.deepcopy(v) for k, v in doc.signed.items() if k != "delegations"}
    sigs = [{"keyid": k, "sig": v} for k, v in doc.signatures]
    try:
        Metadata.from_dict({"signed": signed, "signatures": sigs})
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        reason = " ".join(str(e).split()) or type(e).__name__
        raise FormatError(f"not valid TUF metadata: {reason}", source=doc.file) from None


def _validate_delegations(deleg: Any, source: str) -> Any:
    from tuf.api.metadata import Delegations

    if not isinstance(deleg, dict):
        raise FormatError("not valid TUF metadata: 'delegations' is not an object", source=source)
    try:
        return Delegations.from_dict(copy.deepcopy(deleg))
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        reason = " ".join(str(e).split()) or type(e).__name__
        raise FormatError(f"not valid TUF metadata: delegations: {reason}", source=source) from None


# --------------------------------------------------------------------------
# the main process side


class RepoChecker:
    def __init__(
        self,
        index: DirIndex,
        root: RootDoc,
        report: Report,
        *,
        at: datetime,
        names: dict[str, str],
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> None:
        self.index = index
        self.root = root
        self.report = report
        self.names = names
        self.progress = progress
        self.workers = workers
        root_keys = {k: v for k, v in root.doc.signed.get("keys", {}).items()}
        self.ctx = Context(str(index.directory), at, names, {"root": root_keys})
        self.snapshot_meta: dict[str, Any] | None = None
        self.snapshot_file: str | None = None
        self.full = index.get("snapshot").present or index.get("timestamp").present
        self.visited: set[str] = {"root", "targets", "snapshot", "timestamp"}
        self.listed: set[str] = set()

    # file candidates ------------------------------------------------------
    def candidates(self, role: str, version: int | None) -> list[str]:
        if version is not None:
            versioned, plain = f"{version}.{role}.json", f"{role}.json"
            return [versioned, plain] if self.root.consistent_snapshot else [plain, versioned]
        newest = self.index.get(role).newest()
        return [newest] if newest else [f"{role}.json"]

    def _absorb(self, outcome: RoleOutcome) -> None:
        if outcome.fatal:
            raise FormatError(outcome.fatal)
        self.report.roles.append(outcome.report)
        self.report.problems.extend(outcome.problems)

    def _top_job(self, role: str) -> RoleJob:
        keyids, threshold = self.root.roles[role]
        return RoleJob(
            role, "root", "top-level", role, "root", keyids, threshold, [], False, keep_doc=True
        )

    def run(self) -> None:
        if self.full:
            self.report.mode = "repository"
            self._timestamp_and_snapshot()
        else:
            self.report.mode = "root-history"
            for role in ("snapshot", "timestamp"):
                self.report.roles.append(RoleReport(role, "root", present=False))
                self.report.add(
                    "info",
                    "not-present",
                    f"no {role} metadata in the directory (ceremony output): "
                    "repository checks skipped",
                    role=role,
                )
        self._targets_tree()

    def _timestamp_and_snapshot(self) -> None:
        ts_files = self.index.get("timestamp")
        job = self._top_job("timestamp")
        job.required = True
        job.candidates = [ts_files.unversioned or ts_files.newest() or "timestamp.json"]
        outcome = check_role(job, self.ctx)
        self._absorb(outcome)
        snap_version = None
        length = hashes = None
        if outcome.doc is not None:
            md = python_tuf_cross_check(outcome.doc, False, self.report, "timestamp")
            if md is not None:
                sm = md.signed.snapshot_meta
            else:  # legacy format: read the meta entry with python-tuf alone
                sm = _metafiles(outcome.doc, {"snapshot.json"})["snapshot.json"]
            snap_version, length, hashes = sm.version, sm.length, sm.hashes
        job = self._top_job("snapshot")
        job.required = True
        job.candidates = self.candidates("snapshot", snap_version)
        job.expected_version = snap_version
        job.expected_length = length
        job.expected_hashes = hashes
        job.expect_source = outcome.report.file
        outcome = check_role(job, self.ctx)
        self._absorb(outcome)
        if outcome.doc is not None:
            md = python_tuf_cross_check(outcome.doc, False, self.report, "snapshot")
            self.snapshot_meta = dict(md.signed.meta) if md is not None else _metafiles(outcome.doc)
            self.snapshot_file = outcome.report.file

    def _meta_expectation(self, job: RoleJob) -> None:
        """Fill file candidates and expectations from snapshot (or the newest
        file when there is no snapshot)."""
        if self.snapshot_meta is not None:
            mf = self.snapshot_meta.get(f"{job.role}.json")
            if mf is None:
                job.candidates = self.candidates(job.role, None)
                job.required = False
                self.report.add(
                    "error",
                    "not-in-snapshot",
                    f"{job.role} is delegated by {job.delegator} but "
                    f"{self.snapshot_file} does not list {job.role}.json",
                    file=self.snapshot_file,
                    role=job.role,
                )
                return
            self.listed.add(f"{job.role}.json")
            job.candidates = self.candidates(job.role, mf.version)
            job.required = True
            job.expected_version = mf.version
            job.expected_length = mf.length
            job.expected_hashes = mf.hashes
            job.expect_source = self.snapshot_file
        else:
            job.candidates = self.candidates(job.role, None)
            job.required = False

    def _targets_tree(self) -> None:
        job = self._top_job("targets")
        self._meta_expectation(job)
        outcome = check_role(job, self.ctx)
        self._absorb(outcome)
        frontier: list[tuple[str, str, dict[str, Any]]] = []
        top_doc = outcome.doc
        outcome.doc = None
        if top_doc is not None and outcome.delegations is not None:
            frontier.append(("targets", outcome.report.file or "targets", outcome.delegations))

        def validate_targets() -> None:
            # runs while the delegated roles are being checked
            if top_doc is None:
                return
            deleg = top_doc.signed.get("delegations")
            roles = deleg.get("roles") if isinstance(deleg, dict) else None
            if isinstance(roles, list) and len(roles) > BIG_DELEGATOR:
                # python-tuf reads everything but the delegations here; each
                # delegated role is read by python-tuf's DelegatedRole.from_dict
                # when it is checked, keys by Key.from_dict, and the
                # Delegations-level rules are applied in _jobs_for.
                python_tuf_parse_without_delegations(top_doc)
            else:
                python_tuf_cross_check(top_doc, False, self.report, "targets")
            warn_soon(self.report, top_doc, "targets", self.ctx.at)

        background: Callable[[], None] | None = validate_targets
        level = 0
        while frontier:
            level += 1
            jobs: list[RoleJob] = []
            for delegator, file, deleg in frontier:
                jobs.extend(self._jobs_for(delegator, file, deleg))
            outcomes = self._run(jobs, level, background)
            background = None
            frontier = []
            for o in outcomes:
                self._absorb(o)
                if o.delegations is not None:
                    frontier.append((o.report.role, o.report.file or o.report.role, o.delegations))
        if background is not None:
            background()
        if self.snapshot_meta is not None:
            extra = sorted(set(self.snapshot_meta) - self.listed - {"targets.json"})
            if extra:
                shown = ", ".join(extra[:5]) + (
                    f" and {len(extra) - 5} more" if len(extra) > 5 else ""
                )
                self.report.add(
                    "info",
                    "unreferenced-meta",
                    f"lists {len(extra)} role(s) no role delegates: {shown}",
                    file=self.snapshot_file,
                    role="snapshot",
                )

    def _jobs_for(self, delegator: str, file: str, deleg: dict[str, Any]) -> list[RoleJob]:
        """Jobs for every role ``deleg`` (a delegations JSON object) delegates.

        Built from the JSON, so that workers can start before python-tuf has
        parsed the whole delegator; shapes python-tuf would refuse are caught
        here (or by python-tuf itself) as FormatError.
        """
        raw_keys = deleg.get("keys")
        roles = deleg.get("roles")
        succinct = deleg.get("succinct_roles")
        if (
            not isinstance(raw_keys, dict)
            or (roles is None) == (succinct is None)
            or (roles is not None and not _roles_shape_ok(roles))
            or (succinct is not None and not _role_shape_ok(succinct, named=False))
        ):
            _validate_delegations(deleg, file)  # raises with python-tuf's reason
            raise FormatError("not valid TUF metadata: malformed delegations", source=file)
        self.ctx.keysets[delegator] = raw_keys
        entries = {kid: load_key_entry(kid, kd) for kid, kd in raw_keys.items()}
        for kid, entry in entries.items():
            if entry.error and entry.error.startswith("unsupported key"):
                # python-tuf's Delegations.from_dict refuses these
                raise FormatError(
                    f"not valid TUF metadata: delegations key {kid}: {entry.error}", source=file
                )
        key_findings(entries, self.report, file, delegator, None)
        if roles is not None:
            # python-tuf's Delegations rules: unique names, no top-level names
            seen_names: set[str] = set()
            for r in roles:
                n = r["name"]
                if n in seen_names or n in ("root", "targets", "snapshot", "timestamp") or not n:
                    raise FormatError(
                        f"not valid TUF metadata: delegated role name {n!r} is "
                        + ("used twice" if n in seen_names else "not allowed"),
                        source=file,
                    )
                seen_names.add(n)
        specs: list[tuple[str, list[str], int, str, dict[str, Any]]] = []
        if roles is not None:
            for r in roles:
                kind = "hashed-bin" if "path_hash_prefixes" in r else "delegated"
                specs.append((r["name"], r["keyids"], r["threshold"], kind, r))
        else:
            from tuf.api.metadata import SuccinctRoles

            assert isinstance(succinct, dict)
            try:
                sr = SuccinctRoles.from_dict(dict(succinct))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise FormatError(
                    f"not valid TUF metadata: succinct_roles: {e}", source=file
                ) from None
            for name in sr.get_roles():
                specs.append((name, succinct["keyids"], succinct["threshold"], "succinct-bin", succinct))
        jobs: list[RoleJob] = []
        groups: dict[tuple[tuple[str, ...], int], list[str]] = {}
        absent = 0
        for name, keyids, threshold, kind, raw in specs:
            groups.setdefault((tuple(keyids), threshold), []).append(name)
            if not safe_role_name(name):
                self.report.add(
                    "error",
                    "unsafe-role-name",
                    f"delegated role name {name!r} cannot be a file name",
                    file=file,
                    role=name,
                )
                continue
            if name in self.visited:
                self.report.add(
                    "warning",
                    "delegated-again",
                    f"{name} is delegated again by {delegator}; checked once",
                    file=file,
                    role=name,
                )
                continue
            self.visited.add(name)
            if self.snapshot_meta is None and not self.index.get(name).present:
                absent += 1  # ceremony output: delegated roles are signed online later
                continue
            job = RoleJob(
                name, delegator, kind, "targets", delegator, keyids, threshold, [], False,
                raw_spec=raw,
            )
            self._meta_expectation(job)
            jobs.append(job)
        if absent:
            self.report.add(
                "info",
                "not-present",
                f"{absent} of the {len(specs)} roles delegated by {delegator} have no file in "
                "the directory (no snapshot: not required)",
                file=file,
                role=delegator,
            )
        seen: set[str] = set()
        for (keyids_t, threshold), names in groups.items():
            label = names[0] if len(names) == 1 else f"{names[0]} (and {len(names) - 1} more)"
            _, findings = threshold_check(
                label, list(keyids_t), threshold, entries, SignatureSet([]), self.names
            )
            for sev, code, msg in findings:
                if code in _DEFINITION_CODES and code != "unusable-key" and msg not in seen:
                    seen.add(msg)
                    self.report.add(sev, code, msg, file=file, role=names[0])
        return jobs

    def _run(
        self, jobs: list[RoleJob], level: int, background: Callable[[], None] | None
    ) -> list[RoleOutcome]:
        total = len(jobs)
        label = f"delegated roles (level {level})"
        workers = self.workers if self.workers is not None else _cpu_count()
        if total < PARALLEL_MIN or workers < 2:
            if background is not None:
                background()
            outcomes = []
            for i, job in enumerate(jobs):
                outcomes.append(check_role(job, self.ctx))
                if self.progress and (i % 64 == 63 or i == total - 1):
                    self.progress(i + 1, total, label)
            return outcomes
        return self._run_parallel(jobs, workers, label, background)

    def _run_parallel(
        self,
        jobs: list[RoleJob],
        workers: int,
        label: str,
        background: Callable[[], None] | None,
    ) -> list[RoleOutcome]:
        """Check ``jobs`` on ``workers`` CPUs: ``workers - 1`` worker processes
        and this process, all taking chunks from one queue (this process
        needs no pickling for its own chunks and leaves no CPU idle)."""
        import multiprocessing
        from collections import deque
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        total = len(jobs)
        n_chunks = max(workers * 32, 1)
        size = max(1, -(-total // n_chunks))
        chunks = [jobs[i : i + size] for i in range(0, total, size)]
        pending = deque(range(len(chunks)))
        mp = multiprocessing.get_context(_start_method())
        results: dict[int, list[RoleOutcome]] = {}
        done = 0
        wctx = Context(self.ctx.directory, self.ctx.at, {}, self.ctx.keysets)
        n_procs = max(1, workers - 1)
        with ProcessPoolExecutor(
            max_workers=n_procs, mp_context=mp, initializer=_init_worker, initargs=(wctx,)
        ) as pool:
            futures: dict[Future[list[OutcomeTuple]], int] = {}

            def top_up() -> None:
                # two chunks queued per worker, one near the end (less tail)
                while pending and len(futures) < (
                    2 * n_procs if len(pending) > 4 * workers else n_procs
                ):
                    i = pending.popleft()
                    chunk = [job_to_tuple(j) for j in chunks[i]]
                    futures[pool.submit(_run_chunk, chunk)] = i

            def harvest(finished: set[Future[list[OutcomeTuple]]]) -> None:
                nonlocal done
                for fut in finished:
                    i = futures.pop(fut)
                    results[i] = [outcome_from_tuple(t, self.names) for t in fut.result()]
                    done += len(chunks[i])
                if self.progress:
                    self.progress(done, total, label)

            try:
                top_up()
                if self.progress:
                    self.progress(0, total, label)
                if background is not None:
                    background()
                while pending or futures:
                    harvest({f for f in futures if f.done()})
                    top_up()
                    if pending:
                        i = pending.pop()  # from the far end: no contention
                        results[i] = [check_role(j, self.ctx) for j in chunks[i]]
                        done += len(chunks[i])
                        if self.progress:
                            self.progress(done, total, label)
                    elif futures:
                        finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                        harvest(finished)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [o for i in range(len(chunks)) for o in results[i]]


def _role_shape_ok(r: Any, named: bool = True) -> bool:
    if type(r) is not dict:
        return False
    keyids = r.get("keyids")
    if type(keyids) is not list or type(r.get("threshold")) is not int:
        return False
    if named and type(r.get("name")) is not str:
        return False
    for k in keyids:
        if type(k) is not str:
            return False
    return True


def _roles_shape_ok(roles: Any) -> bool:
    if type(roles) is not list:
        return False
    for r in roles:
        if not _role_shape_ok(r):
            return False
    return True


def _start_method() -> str | None:
    """fork (cheap: workers inherit the loaded modules) while this process has
    no other thread; otherwise (e.g. a progress bar is drawing) forkserver."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    if "forkserver" in methods:
        return "forkserver"
    return None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
