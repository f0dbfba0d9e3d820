"""``key list``: the tokens of the PKCS#11 modules and the keys on them.

Token labels, serials, manufacturers, models, key labels and module paths
come from the token or the machine: untrusted, shown through
:func:`~tuf_ceremony.text.safe`. Each key's URI stands whole on a line of
its own, ready to copy (URIs are percent-encoded ASCII; one longer than the
width is still never cut).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tuf_ceremony.cli.formats import JsonValue, labelled
from tuf_ceremony.cli.screens import table_lines, wrap
from tuf_ceremony.signers.pkcs11 import TokenInfo
from tuf_ceremony.text import safe


@dataclass(frozen=True)
class KeyListReport:
    """Every token found, with the keys visible without login."""

    tokens: list[TokenInfo]

    def to_json(self) -> JsonValue:
        return [dataclasses.asdict(t) for t in self.tokens]


_HEADERS = ("label", "serial", "manufacturer", "model", "PIN state", "keys")


def _s(value: str, limit: int | None = 64) -> str:
    return safe(value, limit) if value else "-"


class KeyListText:
    """The key list in plain text: a token table, then each token's keys."""

    def __init__(self, width: int) -> None:
        self.width = width

    @property
    def is_json(self) -> bool:
        return False

    def render(self, report: KeyListReport) -> str:
        if not report.tokens:
            return "no tokens found"
        rows = [
            [
                _s(t.label) if t.label else "(empty)",
                _s(t.serial),
                _s(t.manufacturer),
                _s(t.model),
                t.pin_state,
                str(len(t.keys)),
            ]
            for t in report.tokens
        ]
        lines = ["Tokens", *table_lines(_HEADERS, rows, self.width)]
        for t in report.tokens:
            lines.append("")
            lines += wrap(f"Keys on token '{_s(t.label)}' (serial {_s(t.serial)}), slot {t.slot_id}:", self.width)
            lines += labelled("  module:", safe(t.module, None), self.width)
            if not t.keys:
                lines += wrap("  no keys visible without login", self.width)
                continue
            for k in t.keys:
                label = _s(k.label)
                lines += wrap(f"  key '{label}' (id {_s(k.id)}, {safe(k.keytype, 120)}); URI:", self.width)
                lines.append(safe(k.uri, None))
        return "\n".join(lines)
