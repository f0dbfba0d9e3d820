"""Collecting signature bundles, judging thresholds, and writing the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key, Signature
from tuf.api.metadata import Metadata

from tuf_ceremony.anchor import check_request_against_directory
from tuf_ceremony.bundle import BundleSignature, SignatureBundle
from tuf_ceremony.errors import InputError, SignatureRefused, ThresholdError
from tuf_ceremony.files import write_files_atomic
from tuf_ceremony.policy import ThresholdResult, check_role
from tuf_ceremony.request import SigningRequest
from tuf_ceremony.signing import authorized_keys, check_not_expired, delegator_sets
from tuf_ceremony.text import safe
from tuf_ceremony.wellformed import round_trip


@dataclass(frozen=True)
class Problem:
    """A refused bundle or signature, with the file it came from."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{safe(self.source)}: {self.message}"


@dataclass
class Threshold:
    """Signatures against one threshold (a root payload has two)."""

    label: str  # "root", "old root", "new root", "targets"
    threshold: int
    signed: list[str]
    missing: list[str]
    result: ThresholdResult | None = None  # the policy's decision

    @property
    def met(self) -> bool:
        if self.result is not None:
            return self.result.met
        return len(self.signed) >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "threshold": self.threshold,
            "signed": self.signed,
            "missing": self.missing,
            "met": self.met,
        }


@dataclass
class RoleStatus:
    role: str
    version: int
    digest: str
    thresholds: list[Threshold]

    @property
    def met(self) -> bool:
        return all(t.met for t in self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "version": self.version,
            "digest": self.digest,
            "met": self.met,
            "thresholds": [t.to_dict() for t in self.thresholds],
        }


@dataclass
class Collection:
    request: SigningRequest
    signatures: dict[str, dict[str, Signature]] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def statuses(self) -> list[RoleStatus]:
        req = self.request
        out: list[RoleStatus] = []
        for payload in req.payloads:
            sigs = self.signatures.get(payload.role, {})
            thresholds: list[Threshold] = []
            for label, keyids, keys in delegator_sets(req, payload.role):
                threshold = _role_threshold(req, payload.role, label)
                r = check_role(keys, payload.role, keyids, threshold, payload.signed_bytes, sigs)
                thresholds.append(
                    Threshold(
                        label,
                        r.threshold,
                        sorted(_label(req, k) for k in r.signed),
                        sorted(_label(req, k) for k in r.unsigned),
                        r,
                    )
                )
            out.append(RoleStatus(payload.role, payload.version, payload.digest, thresholds))
        return out

    @property
    def complete(self) -> bool:
        return all(s.met for s in self.statuses())


def _label(req: SigningRequest, keyid: str) -> str:
    """A key as shown in status and errors: its name (untrusted: escaped and
    cut) and keyid prefix."""
    name = req.name_of(keyid)
    return f"{safe(name, 60)} ({safe(keyid[:12])})" if name else safe(keyid[:12])


def _role_threshold(req: SigningRequest, role: str, label: str) -> int:
    if label == "old root":
        assert req.trusted_root is not None
        return int(req.trusted_root.signed.roles["root"].threshold)
    return int(req.new_root.roles[role].threshold)


def collect(request: SigningRequest, bundles: list[SignatureBundle]) -> Collection:
    """Check every signature of every bundle against ``request``.

    Nothing that fails a check is counted; each failure becomes a Problem
    naming the bundle file.
    """
    col = Collection(request)
    authorized = {p.role: authorized_keys(request, p.role) for p in request.payloads}
    seen_files: dict[str, str] = {}
    for bundle in bundles:
        src = bundle.source
        if bundle.request_id != request.request_id:
            col.problems.append(
                Problem(
                    src,
                    f"was made for another signing request (request {bundle.request_id[:12]}, "
                    f"this one is {request.request_id[:12]})",
                )
            )
            continue
        fingerprint = bundle.to_bytes().decode()
        if fingerprint in seen_files:
            col.problems.append(Problem(src, f"is the same bundle as {safe(seen_files[fingerprint])}"))
            continue
        seen_files[fingerprint] = src
        for s in bundle.signatures:
            problem = _accept(col, authorized, src, s)
            if problem is not None:
                col.problems.append(Problem(src, problem))
    return col


def _accept(col: Collection, authorized: dict[str, dict[str, Key]], src: str, s: BundleSignature) -> str | None:
    """Count one bundle signature in ``col``, or say why it is not counted."""
    request = col.request
    payload = request.payload(s.role)
    what = f"{safe(s.role, 40)} v{s.version}"
    if payload is None:
        return f"signs {safe(s.role, 40)}, which this request does not"
    if s.version != payload.version or s.digest != payload.digest:
        return (
            f"signature on {what} is for other content (digest "
            f"{s.digest[:12]}, request has v{payload.version} {payload.digest[:12]})"
        )
    key = authorized[s.role].get(s.keyid)
    if key is None:
        return f"key {_label(request, s.keyid)} is not authorized to sign {safe(s.role, 40)}"
    if (s.role, s.keyid) in col.origin:
        return f"duplicate: {_label(request, s.keyid)} already signed {what} in {safe(col.origin[(s.role, s.keyid)])}"
    sig = Signature(s.keyid, s.sig)
    try:
        key.verify_signature(sig, payload.signed_bytes)
    except Exception:  # noqa: BLE001 - any failure means: invalid signature
        return f"invalid signature by {_label(request, s.keyid)} on {what}"
    col.signatures.setdefault(s.role, {})[s.keyid] = sig
    col.origin[(s.role, s.keyid)] = src
    return None


def signed_metadata(col: Collection) -> dict[str, Metadata[Any]]:
    out: dict[str, Metadata[Any]] = {}
    for payload in col.request.payloads:
        sigs = col.signatures.get(payload.role, {})
        md: Metadata[Any] = Metadata.from_dict({"signed": payload.metadata.signed.to_dict(), "signatures": []})
        for kid in sorted(sigs):
            md.signatures[kid] = sigs[kid]
        out[payload.role] = md
    return out


def merge(col: Collection, out_dir: Path, force: bool) -> list[Path]:
    """Write ``N.ROLE.json`` for every payload, all or nothing.

    Refused when any bundle had a problem or any threshold is not met.
    """
    check_not_expired(col.request)
    if col.problems:
        raise SignatureRefused(
            f"{len(col.problems)} signature problem(s), first: {col.problems[0]}; nothing was written"
        )
    missing = [s for s in col.statuses() if not s.met]
    if missing:
        parts = []
        for s in missing:
            for t in s.thresholds:
                if not t.met:
                    parts.append(
                        f"{t.label} v{s.version} has {len(t.signed)} of {t.threshold} "
                        f"(missing: {', '.join(t.missing) or 'none'})"
                    )
        raise ThresholdError("threshold not met: " + "; ".join(parts) + "; nothing was written")
    files: dict[Path, bytes] = {}
    for role, md in signed_metadata(col).items():
        # second check: python-tuf itself must accept what we write
        try:
            if role == "root":
                prev = col.request.trusted_root.signed if col.request.trusted_root else md.signed
                prev.verify_delegate("root", md.signed_bytes, md.signatures)
                md.signed.verify_delegate("root", md.signed_bytes, md.signatures)
            else:
                col.request.new_root.verify_delegate(role, md.signed_bytes, md.signatures)
            round_trip(md, col.request.source, role)
        except Exception as e:  # noqa: BLE001 - python-tuf raises several types
            raise ThresholdError(
                f"python-tuf does not accept the merged {role} ({type(e).__name__}); nothing was written"
            ) from None
        files[out_dir / f"{md.signed.version}.{role}.json"] = md.to_bytes()
    check_request_against_directory(col.request, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output directory: {e.strerror}", source=str(out_dir)) from None
    write_files_atomic(files, force=force)
    return list(files)
