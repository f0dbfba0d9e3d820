"""The envelope of tuf-ceremony's own documents (signing requests and
signature bundles): a JSON object naming its ``format`` and
``format_version``, with a fixed set of fields. Checked first, with one-line
errors that show the untrusted values escaped and cut."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from tuf_ceremony.errors import FormatError
from tuf_ceremony.text import safe


def check_envelope(doc: Any, source: str, *, what: str, fmt: str, version: int, fields: Set[str]) -> dict[str, Any]:
    """``doc`` when it is a JSON object of format ``fmt`` and version
    ``version`` holding no field outside ``fields``; FormatError naming
    ``source`` otherwise (``what``: "signing request", "signature bundle")."""
    if not isinstance(doc, dict):
        raise FormatError(f"not a {what} (expected a JSON object)", source=source)
    if doc.get("format") != fmt:
        raise FormatError(
            f"not a {what} (format is {safe(repr(doc.get('format')), 60)}, expected {fmt!r})", source=source
        )
    found = doc.get("format_version")
    if type(found) is not int or found != version:
        raise FormatError(f"unsupported {what} format_version {safe(repr(found), 40)}", source=source)
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise FormatError(f"unknown field {safe(repr(unknown[0]), 60)}", source=source)
    return doc
