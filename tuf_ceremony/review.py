"""The canonical review of a signing request: plain text, width-independent.

:func:`render_review` is everything a keyholder is shown for a request, as
one text: the plain-language summary of each payload, the changes against
the trusted version (every added, removed and changed leaf of the signed
JSON), and every field of every payload. It depends only on the request
(never on the time, the terminal or the key used), so two keyholders with
the same request get the same text, and :func:`review_digest` (SHA-256 of
its UTF-8 bytes) names exactly what was shown. Evidence records (bundles,
transcripts) bind that digest.

Every string from the request is passed through :func:`tuf_ceremony.text.safe`
(no limit: the review is complete) and quoted with ``"`` escaped, so the text
holds no control, invisible or reordering character and two different
requests never render to the same text. The screens in
``tuf_ceremony.cli.screens`` page this text; they add no information of
their own beyond layout.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tuf_ceremony.describe import (
    REVIEW_FORMAT,
    json_leaves,
    leaf_diff,
    request_summary,
)
from tuf_ceremony.request import SigningRequest


def render_review(request: SigningRequest) -> str:
    """The complete review of ``request`` as plain text (lines end with ``\\n``)."""
    return "".join(line + "\n" for line in review_lines(request))


def review_digest(request: SigningRequest) -> str:
    """SHA-256 hex of :func:`render_review` encoded as UTF-8."""
    return hashlib.sha256(render_review(request).encode("utf-8")).hexdigest()


def review_lines(request: SigningRequest) -> list[str]:
    """The review as lines, none holding a newline or control character."""
    lines: list[str] = [REVIEW_FORMAT, ""]
    lines += request_summary(request)
    for index, payload in enumerate(request.payloads, 1):
        signed: dict[str, Any] = payload.metadata.signed.to_dict()
        trusted = _trusted_for(request, payload.role)
        lines.append("")
        lines.append(
            f"== Payload {index} of {len(request.payloads)}: {payload.role} "
            f"version {payload.version}: changes against the trusted version =="
        )
        if trusted is None:
            lines.append(f"There is no trusted {payload.role} to compare with: every field below is new.")
        else:
            diff = leaf_diff(trusted, signed)
            if not diff:
                lines.append("No field differs from the trusted version.")
            lines += diff
        lines.append("")
        lines.append(
            f"== Payload {index} of {len(request.payloads)}: {payload.role} "
            f"version {payload.version}: every field signed =="
        )
        lines += json_leaves(signed)
    lines.append("")
    lines.append("== End of the review ==")
    return lines


def _trusted_for(request: SigningRequest, role: str) -> dict[str, Any] | None:
    md = request.trusted_root if role == "root" else request.trusted_targets
    if md is None:
        return None
    d: dict[str, Any] = md.signed.to_dict()
    return d
