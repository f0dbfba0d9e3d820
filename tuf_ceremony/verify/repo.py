"""Whole repositories: timestamp, snapshot, targets and every delegated role
(classic hashed bins with ``path_hash_prefixes``, TAP 15 succinct bins, or
any other delegation), checked against the newest root.

:class:`RepoChecker` reads like python-tuf's ``TrustedMetadataSet``: timestamp
(signed by root's timestamp keys), snapshot (as timestamp lists it), targets
(as snapshot lists it), then the delegated roles level by level (as their
delegator delegates them and snapshot lists them). Each file is checked by
:class:`~tuf_ceremony.verify.role.RoleCheck`; a large level (PEP 458: 16,384
bins) is spread over every CPU by :mod:`tuf_ceremony.verify.scheduler`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tuf.api.metadata import TOP_LEVEL_ROLE_NAMES

from tuf_ceremony.errors import FormatError
from tuf_ceremony.verify import scheduler
from tuf_ceremony.verify.chain import RootDoc, key_findings, python_tuf_cross_check, warn_soon
from tuf_ceremony.verify.delegations import (
    delegated_specs,
    parse_without_delegations,
    shape_ok,
    validate_delegations,
)
from tuf_ceremony.verify.doc import MetaDoc
from tuf_ceremony.verify.layout import DirIndex, safe_role_name
from tuf_ceremony.verify.legacy import KeyEntry, load_key_entry
from tuf_ceremony.verify.report import Report, RoleReport
from tuf_ceremony.verify.role import (
    DEFINITION_CODES,
    Context,
    RoleJob,
    RoleOutcome,
    check_role,
)
from tuf_ceremony.verify.sigs import SignatureSet, threshold_check

Progress = Callable[[int, int, str], None]

PARALLEL_MIN = 256  # delegated roles in one level before worker processes pay
BIG_DELEGATOR = 1024  # roles in a delegation python-tuf reads role by role
Frontier = list[tuple[str, str, dict[str, Any]]]  # (delegator, its file, delegations JSON)


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
        root_keys = dict(root.doc.signed.get("keys", {}))
        self.ctx = Context(str(index.directory), at, names, {"root": root_keys})
        self.snapshot_listing: Any = None  # timestamp's MetaFile for snapshot
        self.timestamp_file: str | None = None
        self.snapshot_meta: dict[str, Any] | None = None
        self.snapshot_file: str | None = None
        self.full = index.get("snapshot").present or index.get("timestamp").present
        self.visited: set[str] = set(TOP_LEVEL_ROLE_NAMES)
        self.listed: set[str] = set()

    def run(self) -> None:
        if self.full:
            self.report.mode = "repository"
            self.update_timestamp()
            self.update_snapshot()
        else:
            self.note_ceremony_output()
        frontier, background = self.update_targets()
        self.update_delegated_targets(frontier, background)
        self.note_unreferenced()

    # -- files and jobs ------------------------------------------------------
    def candidates(self, role: str, version: int | None) -> list[str]:
        if version is not None:
            versioned, plain = f"{version}.{role}.json", f"{role}.json"
            return [versioned, plain] if self.root.consistent_snapshot else [plain, versioned]
        newest = self.index.get(role).newest()
        return [newest] if newest else [f"{role}.json"]

    def absorb(self, outcome: RoleOutcome) -> None:
        if outcome.fatal:
            raise FormatError(outcome.fatal)
        self.report.roles.append(outcome.report)
        self.report.problems.extend(outcome.problems)

    def top_job(self, role: str) -> RoleJob:
        keyids, threshold = self.root.roles[role]
        return RoleJob(role, "root", "top-level", role, "root", keyids, threshold, keep_doc=True)

    def expect_listed(self, job: RoleJob) -> None:
        """Candidates and expectations of a targets role from snapshot (the
        newest file of the directory when there is no snapshot)."""
        mf = self.snapshot_meta.get(f"{job.role}.json") if self.snapshot_meta is not None else None
        if mf is None:
            job.candidates = self.candidates(job.role, None)
            job.required = False
            if self.snapshot_meta is not None:
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
        job.meta = mf
        job.expect_source = self.snapshot_file

    # -- top-level roles -----------------------------------------------------
    def note_ceremony_output(self) -> None:
        self.report.mode = "root-history"
        for role in ("snapshot", "timestamp"):
            self.report.roles.append(RoleReport(role, "root", present=False))
            self.report.add(
                "info",
                "not-present",
                f"no {role} metadata in the directory (ceremony output): repository checks skipped",
                role=role,
            )

    def update_timestamp(self) -> None:
        files = self.index.get("timestamp")
        job = self.top_job("timestamp")
        job.required = True
        job.candidates = [files.unversioned or files.newest() or "timestamp.json"]
        outcome = check_role(job, self.ctx)
        self.absorb(outcome)
        self.timestamp_file = outcome.report.file
        if outcome.doc is None:
            return
        md = python_tuf_cross_check(outcome.doc, False, self.report, "timestamp")
        if md is not None:
            self.snapshot_listing = md.signed.snapshot_meta
        else:  # legacy format: read the meta entry with python-tuf alone
            self.snapshot_listing = _metafiles(outcome.doc, {"snapshot.json"})["snapshot.json"]

    def update_snapshot(self) -> None:
        job = self.top_job("snapshot")
        job.required = True
        listing = self.snapshot_listing
        job.candidates = self.candidates("snapshot", listing.version if listing is not None else None)
        job.meta = listing
        job.expect_source = self.timestamp_file
        outcome = check_role(job, self.ctx)
        self.absorb(outcome)
        if outcome.doc is not None:
            md = python_tuf_cross_check(outcome.doc, False, self.report, "snapshot")
            self.snapshot_meta = dict(md.signed.meta) if md is not None else _metafiles(outcome.doc)
            self.snapshot_file = outcome.report.file

    def update_targets(self) -> tuple[Frontier, Callable[[], None] | None]:
        """Check targets; return its delegations to follow and python-tuf's
        reading of it, to run while the first level is being checked."""
        job = self.top_job("targets")
        self.expect_listed(job)
        outcome = check_role(job, self.ctx)
        self.absorb(outcome)
        doc, outcome.doc = outcome.doc, None
        if doc is None:
            return [], None
        frontier: Frontier = []
        if outcome.delegations is not None:
            frontier.append(("targets", outcome.report.file or "targets", outcome.delegations))

        def python_tuf_reads_targets() -> None:
            roles = outcome.delegations.get("roles") if isinstance(outcome.delegations, dict) else None
            if isinstance(roles, list) and len(roles) > BIG_DELEGATOR:
                # each delegated role is read by python-tuf's DelegatedRole.from_dict
                # when it is checked, the Delegations-level rules in jobs_for
                parse_without_delegations(doc)
            else:
                python_tuf_cross_check(doc, False, self.report, "targets")
            warn_soon(self.report, doc, "targets", self.ctx.at)

        return frontier, python_tuf_reads_targets

    # -- delegated roles -----------------------------------------------------
    def update_delegated_targets(self, frontier: Frontier, background: Callable[[], None] | None) -> None:
        level = 0
        while frontier:
            level += 1
            jobs = [job for delegator, file, deleg in frontier for job in self.jobs_for(delegator, file, deleg)]
            outcomes = self.check_all(jobs, f"delegated roles (level {level})", background)
            background = None
            frontier = []
            for o in outcomes:
                self.absorb(o)
                if o.delegations is not None:
                    frontier.append((o.report.role, o.report.file or o.report.role, o.delegations))
        if background is not None:
            background()

    def jobs_for(self, delegator: str, file: str, deleg: dict[str, Any]) -> list[RoleJob]:
        """Jobs for every role ``deleg`` (a delegations JSON object) delegates,
        built from the JSON so that workers can start before python-tuf has
        read the whole delegator; shapes python-tuf would refuse are refused
        here (with python-tuf's reason when it has one)."""
        if not shape_ok(deleg):
            validate_delegations(deleg, file)  # raises with python-tuf's reason
            raise FormatError("not valid TUF metadata: malformed delegations", source=file)
        entries = self.delegation_keys(delegator, file, deleg["keys"])
        specs = delegated_specs(deleg, file)
        jobs: list[RoleJob] = []
        absent = 0
        for name, keyids, threshold, kind, spec in specs:
            if not self.should_check(name, delegator, file):
                continue
            if self.snapshot_meta is None and not self.index.get(name).present:
                absent += 1  # ceremony output: delegated roles are signed online later
                continue
            job = RoleJob(name, delegator, kind, "targets", delegator, keyids, threshold, spec=spec)
            self.expect_listed(job)
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
        self.report_definitions(file, entries, specs)
        return jobs

    def delegation_keys(self, delegator: str, file: str, raw_keys: dict[str, Any]) -> dict[str, KeyEntry]:
        self.ctx.keysets[delegator] = raw_keys
        entries = {kid: load_key_entry(kid, kd) for kid, kd in raw_keys.items()}
        for kid, entry in entries.items():
            if entry.error and entry.error.startswith("unsupported key"):
                # python-tuf's Delegations.from_dict refuses these
                raise FormatError(f"not valid TUF metadata: delegations key {kid}: {entry.error}", source=file)
        key_findings(entries, self.report, file, delegator, None)
        return entries

    def should_check(self, name: str, delegator: str, file: str) -> bool:
        if not safe_role_name(name):
            self.report.add(
                "error",
                "unsafe-role-name",
                f"delegated role name {name!r} cannot be a file name",
                file=file,
                role=name,
            )
            return False
        if name in self.visited:
            self.report.add(
                "warning",
                "delegated-again",
                f"{name} is delegated again by {delegator}; checked once",
                file=file,
                role=name,
            )
            return False
        self.visited.add(name)
        return True

    def report_definitions(
        self, file: str, entries: dict[str, KeyEntry], specs: list[tuple[str, list[str], int, str, Any]]
    ) -> None:
        """Findings about the delegation's key lists, once per distinct list
        (16,384 bins usually share one)."""
        groups: dict[tuple[tuple[str, ...], int], list[str]] = {}
        for name, keyids, threshold, _, _ in specs:
            groups.setdefault((tuple(keyids), threshold), []).append(name)
        seen: set[str] = set()
        for (keyids_t, threshold), names in groups.items():
            label = names[0] if len(names) == 1 else f"{names[0]} (and {len(names) - 1} more)"
            _, findings = threshold_check(label, list(keyids_t), threshold, entries, SignatureSet([]), self.names)
            for sev, code, msg in findings:
                if code in DEFINITION_CODES and code != "unusable-key" and msg not in seen:
                    seen.add(msg)
                    self.report.add(sev, code, msg, file=file, role=names[0])

    def check_all(self, jobs: list[RoleJob], label: str, background: Callable[[], None] | None) -> list[RoleOutcome]:
        total = len(jobs)
        workers = self.workers if self.workers is not None else scheduler.cpu_count()
        progress = self.progress

        def report_progress(done: int) -> None:
            if progress is not None:
                progress(done, total, label)

        if total >= PARALLEL_MIN and workers >= 2:
            report_progress(0)
            check = functools.partial(check_role, ctx=self.ctx)
            return scheduler.run_all(jobs, check, workers=workers, progress=report_progress, background=background)
        if background is not None:
            background()
        outcomes = []
        for i, job in enumerate(jobs):
            outcomes.append(check_role(job, self.ctx))
            if i % 64 == 63 or i == total - 1:
                report_progress(i + 1)
        return outcomes

    def note_unreferenced(self) -> None:
        if self.snapshot_meta is None:
            return
        extra = sorted(set(self.snapshot_meta) - self.listed - {"targets.json"})
        if extra:
            shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
            self.report.add(
                "info",
                "unreferenced-meta",
                f"lists {len(extra)} role(s) no role delegates: {shown}",
                file=self.snapshot_file,
                role="snapshot",
            )
