"""The verification engine behind ``tuf-ceremony verify``.

Core only (no click, no rich): :func:`verify_directory` returns a
:class:`~tuf_ceremony.verify.report.Report`; progress on long runs is reported
through an injected callable ``progress(done, total, label)``.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.verify.repo import Progress
from tuf_ceremony.verify.report import (
    SCHEMA,
    SCHEMA_VERSION,
    KeyRef,
    Problem,
    Report,
    RoleChange,
    RoleReport,
    RootStep,
    ThresholdCheck,
)

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "KeyRef",
    "Problem",
    "Progress",
    "Report",
    "RoleChange",
    "RoleReport",
    "RootStep",
    "ThresholdCheck",
    "VerifyOptions",
    "verify_directory",
]


@dataclass
class VerifyOptions:
    """What to check and how. ``names`` maps keyids to display names (never
    used for trust)."""

    at: datetime
    trusted_root: Path | None = None
    strict: bool = False
    warn_days: int = 30
    names: dict[str, str] = field(default_factory=dict)
    workers: int | None = None
    progress: Progress | None = None


def verify_directory(directory: str | Path, options: VerifyOptions) -> Report:
    """Verify a root history (ceremony output) or a whole repository metadata
    directory. Problems land in the report; malformed input raises
    :class:`~tuf_ceremony.errors.InputError` / ``FormatError`` (exit 3)."""
    from tuf_ceremony.verify.chain import VerificationFailedEarly, verify_root_chain
    from tuf_ceremony.verify.layout import index_directory
    from tuf_ceremony.verify.repo import RepoChecker

    d = Path(directory)
    report = Report(
        directory=str(d),
        checked_at=fmt_time(options.at),
        strict=options.strict,
        warn_days=options.warn_days,
    )
    index = index_directory(d)
    # The report of a PEP 458 repository holds ~100,000 objects that all live
    # until the end; the cyclic collector would scan them again and again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            newest = verify_root_chain(
                index,
                report,
                at=options.at,
                names=options.names,
                trusted_root=options.trusted_root,
            )
        except VerificationFailedEarly:
            return report
        RepoChecker(
            index,
            newest,
            report,
            at=options.at,
            names=options.names,
            progress=options.progress,
            workers=options.workers,
        ).run()
    finally:
        if gc_was_enabled:
            gc.enable()
    return report
