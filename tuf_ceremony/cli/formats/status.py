"""``status`` and ``merge`` reports: signatures against each threshold.

The names and keyids in a :class:`~tuf_ceremony.merge.Collection` and in the
payload views are escaped by the core (:func:`tuf_ceremony.text.safe`) when
they are made; file names of refused bundles are escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tuf_ceremony.cli.formats import JsonValue, labelled
from tuf_ceremony.cli.screens import table_lines, wrap
from tuf_ceremony.describe import PayloadView
from tuf_ceremony.merge import Collection, Problem, RoleStatus
from tuf_ceremony.text import safe


@dataclass(frozen=True)
class StatusReport:
    """What ``status`` reports: per payload its signer sets and changes, and
    per threshold who signed and who is missing."""

    request_id: str
    complete: bool
    statuses: list[RoleStatus]
    views: list[PayloadView] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, col: Collection, views: list[PayloadView] | None = None) -> StatusReport:
        return cls(col.request.request_id, col.complete, col.statuses(), views or [], list(col.problems))

    def to_json(self) -> JsonValue:
        return {
            "request_id": self.request_id,
            "complete": self.complete,
            "roles": [s.to_dict() for s in self.statuses],
            "changes": {v.role: v.changes for v in self.views},
            "signer_sets": {v.role: v.signer_sets for v in self.views},
            "actions": [a for v in self.views for a in v.actions],
            "problems": [{"file": p.source, "message": p.message} for p in self.problems],
        }


@dataclass(frozen=True)
class MergeReport:
    """What ``merge`` wrote, and what must happen next."""

    request_id: str
    written: list[Path]
    actions: list[str]
    note: str = ""  # when the stick may be removed (text only; JSON callers print it on stderr)

    def to_json(self) -> JsonValue:
        return {"request_id": self.request_id, "written": [str(p) for p in self.written], "actions": self.actions}


_HEADERS = ("role", "threshold", "valid", "signed by", "missing", "met")


class StatusText:
    """The status report in plain text: the views, then the threshold table."""

    def __init__(self, width: int) -> None:
        self.width = width

    @property
    def is_json(self) -> bool:
        return False

    def render(self, report: StatusReport) -> str:
        lines: list[str] = []
        for v in report.views:
            lines += wrap(f"{v.role} v{v.version} (expires {v.expires})", self.width)
            lines += [piece for line in v.signer_sets for piece in wrap(f"  signers: {line}", self.width)]
            lines += [piece for line in v.changes for piece in wrap(f"  change: {line}", self.width)]
            lines += [piece for line in v.actions for piece in wrap(f"  after this root: {line}", self.width)]
        lines += wrap(f"Signatures for request {report.request_id[:16]}", self.width)
        rows = [
            [
                f"{t.label} v{st.version}",
                str(t.threshold),
                str(len(t.signed)),
                "\n".join(t.signed) or "-",
                "\n".join(t.missing) or "-",
                "yes" if t.met else "NO",
            ]
            for st in report.statuses
            for t in st.thresholds
        ]
        lines += table_lines(_HEADERS, rows, self.width)
        return "\n".join(lines)


def refused_lines(problems: list[Problem], width: int) -> list[str]:
    """One ``refused:`` line (wrapped) per refused bundle or signature."""
    return [piece for p in problems for piece in wrap(f"refused: {p}", width)]


class MergeText:
    """The files ``merge`` wrote and the actions required, in plain text."""

    def __init__(self, width: int) -> None:
        self.width = width

    @property
    def is_json(self) -> bool:
        return False

    def render(self, report: MergeReport) -> str:
        lines = [line for p in report.written for line in labelled("written:", safe(str(p), None), self.width)]
        lines += [piece for line in report.note.splitlines() for piece in wrap(line, self.width)]
        lines += [piece for a in report.actions for piece in wrap(f"ACTION REQUIRED: {a}", self.width)]
        return "\n".join(lines)
