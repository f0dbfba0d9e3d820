"""Signature bundles: what a keyholder carries back from the signing machine.

Format ``tuf-ceremony/signature-bundle`` version 1 (docs/formats.md)::

    {
      "format": "tuf-ceremony/signature-bundle",
      "format_version": 1,
      "request_id": "<the request_id of the request signed>",
      "created": "2026-11-21T18:05:00Z",
      "signer": {"keyid": "<keyid>", "name": "alice"},
      "signatures": [
        {"role": "root", "version": 1, "digest": "<payload digest>",
         "keyid": "<keyid>", "sig": "<hex signature>"}
      ]
    }

A bundle is bound to one request by ``request_id`` and to each payload by its
``digest``: it can never be merged into another ceremony.

Optional ``"review_digest": "<sha256 hex>"``: the SHA-256 of the canonical
review the keyholder was shown (tuf_ceremony.review), written by ``sign``;
bundles without it stay readable, and ``audit`` reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuf_ceremony.envelope import check_envelope
from tuf_ceremony.errors import FormatError
from tuf_ceremony.files import dump_json, load_json

BUNDLE_FORMAT = "tuf-ceremony/signature-bundle"
BUNDLE_FORMAT_VERSION = 1
#: Largest signature bundle file read (bytes): a bundle holds a few signatures.
MAX_BUNDLE_BYTES = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]+$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True)
class BundleSignature:
    role: str
    version: int
    digest: str
    keyid: str
    sig: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "version": self.version,
            "digest": self.digest,
            "keyid": self.keyid,
            "sig": self.sig,
        }


@dataclass
class SignatureBundle:
    request_id: str
    created: str
    signer_keyid: str
    signer_name: str
    signatures: list[BundleSignature] = field(default_factory=list)
    source: str = "<bundle>"
    #: SHA-256 of the canonical review the keyholder was shown
    #: (tuf_ceremony.review.review_digest); None in bundles made before it.
    review_digest: str | None = None

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "request_id": self.request_id,
            "created": self.created,
            "signer": {"keyid": self.signer_keyid, "name": self.signer_name},
            "signatures": [s.to_dict() for s in self.signatures],
        }
        if self.review_digest is not None:
            doc["review_digest"] = self.review_digest
        return dump_json(doc)


def _req(cond: bool, source: str, message: str) -> None:
    if not cond:
        raise FormatError(message, source=source)


_BUNDLE_FIELDS = frozenset(
    {"format", "format_version", "request_id", "created", "signer", "signatures", "review_digest"}
)


def _check_envelope(doc: Any, source: str) -> None:
    """Format, version, no unknown field, request_id, review_digest, created."""
    check_envelope(
        doc,
        source,
        what="signature bundle",
        fmt=BUNDLE_FORMAT,
        version=BUNDLE_FORMAT_VERSION,
        fields=_BUNDLE_FIELDS,
    )
    _req(
        isinstance(doc.get("request_id"), str) and bool(_HEX64.match(doc["request_id"])),
        source,
        "request_id: missing or not a SHA-256 hex digest",
    )
    review = doc.get("review_digest")
    _req(
        review is None or (isinstance(review, str) and bool(_HEX64.match(review))),
        source,
        "review_digest: not a SHA-256 hex digest",
    )
    _req(isinstance(doc.get("created"), str), source, "created: missing or not a string")
    _req(bool(_TIME.match(doc["created"])), source, "created: not an RFC 3339 UTC time (like 2026-11-21T18:05:00Z)")


def _parse_signer(signer: Any, source: str) -> tuple[str, str]:
    _req(
        isinstance(signer, dict) and isinstance(signer.get("keyid"), str) and isinstance(signer.get("name"), str),
        source,
        "signer: must hold keyid and name",
    )
    _req(
        0 < len(signer["keyid"]) <= 128 and 0 < len(signer["name"]) <= 200,
        source,
        "signer: keyid or name empty or too long",
    )
    return signer["keyid"], signer["name"]


def _parse_signature(s: Any, source: str, entry: str) -> BundleSignature:
    _req(
        isinstance(s, dict) and set(s) == {"role", "version", "digest", "keyid", "sig"},
        source,
        f"{entry}: must hold exactly role, version, digest, keyid and sig",
    )
    _req(isinstance(s["role"], str), source, f"{entry}.role: not a string")
    _req(
        isinstance(s["version"], int) and not isinstance(s["version"], bool),
        source,
        f"{entry}.version: not a whole number",
    )
    _req(
        isinstance(s["digest"], str) and bool(_HEX64.match(s["digest"])),
        source,
        f"{entry}.digest: not a SHA-256 hex digest",
    )
    _req(isinstance(s["keyid"], str) and bool(s["keyid"]), source, f"{entry}.keyid: empty")
    _req(isinstance(s["sig"], str) and bool(_HEX.match(s["sig"])), source, f"{entry}.sig: not a hex signature")
    return BundleSignature(s["role"], s["version"], s["digest"], s["keyid"], s["sig"])


def parse_bundle(doc: Any, source: str) -> SignatureBundle:
    """Validate a bundle document; raises FormatError naming ``source``."""
    _check_envelope(doc, source)
    keyid, name = _parse_signer(doc.get("signer"), source)
    raw = doc.get("signatures")
    _req(isinstance(raw, list) and bool(raw), source, "signatures: missing or empty")
    sigs = [_parse_signature(s, source, f"signatures[{i}]") for i, s in enumerate(raw)]
    return SignatureBundle(doc["request_id"], doc["created"], keyid, name, sigs, source, doc.get("review_digest"))


def load_bundle(path: str | Path) -> SignatureBundle:
    return parse_bundle(load_json(path, "signature bundle", MAX_BUNDLE_BYTES), str(path))


def not_a_bundle(doc: Any) -> str | None:
    """Why a parsed JSON document is plainly *not* a signature bundle (it is a
    signing request, TUF metadata, a public key, ...), or None when it is or
    claims to be one. ``status request.json *.json`` skips the former with a
    note; a document that claims to be a bundle (its format, or a bundle's
    ``signer`` / ``request_id`` fields) is parsed, and refused when malformed,
    and so is anything that is not a JSON object."""
    if not isinstance(doc, dict):
        return None
    fmt = doc.get("format")
    if fmt == BUNDLE_FORMAT:
        return None
    if fmt == "tuf-ceremony/signing-request":
        return "it is a signing request"
    if "signed" in doc and "signatures" in doc:
        signed = doc.get("signed")
        kind = signed.get("_type") if isinstance(signed, dict) else None
        if kind in ("root", "targets", "snapshot", "timestamp"):
            return f"it is TUF {kind} metadata"
        return "it is TUF metadata"
    if "keytype" in doc and "keyval" in doc:
        return "it is a public key"
    if "signer" in doc or "request_id" in doc:
        return None  # shaped like a bundle: parse it, and refuse it when malformed
    if isinstance(fmt, str):
        from tuf_ceremony.text import safe

        return f"it is a {safe(fmt, 60)} document"
    return "it is JSON of another kind"


def load_bundle_or_reason(path: str | Path) -> SignatureBundle | str:
    """The bundle in ``path``, or the reason it plainly is not one (see
    :func:`not_a_bundle`). Broken JSON and malformed bundles raise."""
    doc = load_json(path, "signature bundle", MAX_BUNDLE_BYTES)
    reason = not_a_bundle(doc)
    if reason is not None:
        return reason
    return parse_bundle(doc, str(path))
