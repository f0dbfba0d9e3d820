"""Report renderers: one small interface, a text and a JSON implementation.

As pip-audit keeps its output formats, every command that reports something
(``status``, ``merge``, ``verify``, ``key list``) builds a typed report and
hands it to a :class:`Format`: ``render(report)`` returns the whole output as
a string, which the command prints. ``is_json`` tells a command that stdout
must hold the document alone (notes then go to stderr).

* :class:`JsonFormat` serializes any report with ``to_json()``; the schemas
  are the documented ones (docs/formats.md, docs/verify-report.md).
* the text formats (:mod:`.status`, :mod:`.verify`, :mod:`.keys`) lay reports
  out in the output width (80 columns unless the terminal is wider): no word,
  keyid or URI is cut, tables that do not fit become one block per row, and a
  URI always stands whole on a line of its own, ready to copy.

Text formats print plain text (never rich markup); every untrusted string is
shown through :func:`tuf_ceremony.text.safe`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, TypeAlias, TypeVar

JsonValue: TypeAlias = "Mapping[str, JsonValue] | Sequence[JsonValue] | str | int | float | bool | None"

#: Width of text output when stdout is not a terminal and $COLUMNS is unset.
DEFAULT_WIDTH = 80

R_contra = TypeVar("R_contra", contravariant=True)


class Format(Protocol[R_contra]):
    """How one kind of report is shown."""

    @property
    def is_json(self) -> bool:
        """Whether the output is a machine-readable document (stdout holds it alone)."""
        ...

    def render(self, report: R_contra) -> str:
        """The whole output for ``report``, without a final newline."""
        ...


class JsonReport(Protocol):
    """A report that has a JSON form."""

    def to_json(self) -> JsonValue: ...


J = TypeVar("J", bound=JsonReport)


class JsonFormat(Generic[J]):
    """Any report as indented JSON (its documented schema)."""

    def __init__(self, *, ensure_ascii: bool = True) -> None:
        self._ensure_ascii = ensure_ascii

    @property
    def is_json(self) -> bool:
        return True

    def render(self, report: J) -> str:
        return json.dumps(report.to_json(), indent=2, ensure_ascii=self._ensure_ascii)


def output_width() -> int:
    """Columns for text output: the terminal's when stdout is one (never
    fewer than 40), else ``$COLUMNS``, else :data:`DEFAULT_WIDTH`."""
    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) >= 40:
        return int(env)
    return DEFAULT_WIDTH


def labelled(label: str, value: str, width: int) -> list[str]:
    """``label value`` on one line when it fits in ``width``, else the label
    and then the value whole on a line of its own (a path or URI is never
    cut: copied from the screen, it must work). Both are shown as given:
    callers escape untrusted text first."""
    line = f"{label} {value}"
    return [line] if len(line) <= width else [label, value]
