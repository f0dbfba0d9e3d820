"""Attestation evidence in plans, signing requests and audits.

* Plans: ``alice = { public = "alice.pub.pem", attestation = ["a.der", "b.der"] }``;
  the files are verified when the plan is read (``prepare``), and a role
  with ``require_attestation = true`` refuses keys without one.
* Requests carry the certificates themselves, base64 DER per keyid, in the
  optional ``attestations`` field (covered by the request id). A request is
  untrusted: ``sign`` re-verifies them against the installed tool's roots
  (:func:`hardware_line`), it never trusts a summary written by someone else.
* ``verify --attestations DIR``: each root and targets key of the newest
  root matched by key material with the certificates found in DIR
  (:func:`audit_keys`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key

from tuf_ceremony.attestation.certs import SourcedCert, parse_certificates, scan_directory
from tuf_ceremony.attestation.roots import TrustStore, bundled_store
from tuf_ceremony.attestation.verify import Attestation, verify_attestation
from tuf_ceremony.errors import CeremonyError, FormatError, PlanError, VerificationError
from tuf_ceremony.keys import public_der
from tuf_ceremony.text import safe

KEY_TABLE_FIELDS = {"public", "attestation"}
MAX_CERTS_PER_KEY = 8
MAX_CERT_BYTES = 16 * 1024


@dataclass
class KeyEvidence:
    """A plan key's attestation: the certificates (DER) and what they prove."""

    name: str
    ders: list[bytes]
    result: Attestation


# ---------------------------------------------------------------------------
# plans


def _plan_err(plan_path: Path, entry: str, message: str) -> PlanError:
    return PlanError(f"{entry}: {message}", source=str(plan_path))


def key_table_public(plan_path: Path, name: str, value: dict[str, Any]) -> Any:
    """The ``public`` value of a key table (checked: known fields only)."""
    entry = f"keys.{name}"
    unknown = sorted(set(value) - KEY_TABLE_FIELDS)
    if unknown:
        raise _plan_err(
            plan_path, entry, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(KEY_TABLE_FIELDS))})"
        )
    if "public" not in value:
        raise _plan_err(plan_path, entry, 'a key table needs public = "FILE" (or a pkcs11: URI)')
    return value["public"]


def plan_key_evidence(
    plan_path: Path, name: str, value: dict[str, Any], key: Key, at: datetime, store: TrustStore | None = None
) -> KeyEvidence | None:
    """Verify a plan key table's ``attestation`` files (None when absent)."""
    entry = f"keys.{name}.attestation"
    files = value.get("attestation")
    if files is None:
        return None
    if isinstance(files, str):
        files = [files]
    if (
        not isinstance(files, list)
        or not files
        or len(files) > MAX_CERTS_PER_KEY
        or not all(isinstance(f, str) and f for f in files)
    ):
        raise _plan_err(plan_path, entry, f"must be a list of 1 to {MAX_CERTS_PER_KEY} certificate file names")
    certs: list[SourcedCert] = []
    ders: list[bytes] = []
    for f in files:
        path = (plan_path.parent / f).resolve()
        try:
            from tuf_ceremony.files import read_bytes

            data = read_bytes(path, "attestation certificate")
            found = parse_certificates(data, str(path))
        except CeremonyError as e:
            raise _plan_err(plan_path, entry, str(e)) from None
        for c in found:
            sc = SourcedCert(c, str(path))
            certs.append(sc)
            ders.append(sc.der)
    try:
        result = verify_attestation(public_der(key), certs, store or bundled_store(), at)
    except VerificationError as e:
        raise _plan_err(plan_path, entry, f"refused: {e}") from None
    return KeyEvidence(name, ders, result)


def check_required(
    plan_path: Path, entry: str, value: Any, key_names: tuple[str, ...], evidence: dict[str, KeyEvidence]
) -> bool:
    """``require_attestation`` of a role: every key must come with a valid one."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _plan_err(plan_path, f"{entry}.require_attestation", "must be true or false")
    if value:
        for n in key_names:
            if n not in evidence:
                raise _plan_err(
                    plan_path,
                    f"{entry}.require_attestation",
                    f"key {n!r} has no hardware attestation; give keys.{n} = "
                    '{ public = "FILE", attestation = ["KEY_ATTESTATION", "DEVICE_CERT"] }',
                )
    return value


# ---------------------------------------------------------------------------
# signing requests


def encode_request_field(evidence: dict[str, list[bytes]]) -> dict[str, list[str]]:
    """keyid -> [base64 DER] for the request document."""
    return {kid: [base64.b64encode(d).decode("ascii") for d in ders] for kid, ders in sorted(evidence.items())}


def parse_request_field(raw: Any, source: str, keyids: set[str]) -> dict[str, list[bytes]]:
    """The request's ``attestations`` field, checked for shape only (the
    certificates are verified by whoever shows them)."""
    if not isinstance(raw, dict):
        raise FormatError("attestations: must be an object keyid -> [base64 DER]", source=source)
    if not raw:
        raise FormatError("attestations: empty (the field is omitted when there are none)", source=source)
    out: dict[str, list[bytes]] = {}
    for kid, items in raw.items():
        where = f"attestations.{safe(str(kid), 80)}"
        if kid not in keyids:
            raise FormatError(f"{where}: not a key of this request", source=source)
        if (
            not isinstance(items, list)
            or not items
            or len(items) > MAX_CERTS_PER_KEY
            or not all(isinstance(i, str) for i in items)
        ):
            raise FormatError(f"{where}: must be a list of 1 to {MAX_CERTS_PER_KEY} base64 certificates", source=source)
        ders: list[bytes] = []
        for item in items:
            if len(item) > MAX_CERT_BYTES * 2:
                raise FormatError(f"{where}: certificate too large", source=source)
            try:
                ders.append(base64.b64decode(item, validate=True))
            except (binascii.Error, ValueError):
                raise FormatError(f"{where}: not base64", source=source) from None
        out[kid] = ders
    return out


@dataclass
class HardwareCheck:
    """The result of re-verifying a request key's attestation."""

    attested: bool
    line: str  # "YubiHSM 2 serial ..., generated on device, not exportable" or the reason


_CHECKS: dict[tuple[tuple[str, ...], tuple[bytes, ...], bytes], HardwareCheck] = {}
_NOW: list[datetime] = []


def _session_now() -> datetime:
    """This machine's clock, read once per run."""
    from tuf_ceremony.timeutil import utcnow

    if not _NOW:
        _NOW.append(utcnow())
    return _NOW[0]


def check_request_key(
    request: Any, keyid: str, at: datetime | None = None, store: TrustStore | None = None
) -> HardwareCheck | None:
    """Re-verify the attestation a request carries for ``keyid`` (None when
    it carries none). Never trusts anything but the certificates and the
    installed roots.

    Certificate validity is judged at ``at``; by default both at the
    request's ``created`` time and at this machine's clock (read once per
    run, so every rendering of the review is the same): ``created`` is
    written by whoever made the request, and an expired chain must not pass
    because the request claims an old date."""
    from tuf_ceremony.timeutil import parse_time

    ders = getattr(request, "attestations", {}).get(keyid)
    if not ders:
        return None
    key = request.names_keys.get(keyid)
    if key is None:
        return HardwareCheck(False, "NOT VERIFIED: the key is not in the request")
    times = [at] if at is not None else []
    if at is None:
        try:
            times = [parse_time(str(request.created)), _session_now()]
        except ValueError:
            return HardwareCheck(False, "NOT VERIFIED: the request's created time is not an RFC 3339 time")
    try:
        material = public_der(key)
    except (ValueError, TypeError):
        return HardwareCheck(False, "NOT VERIFIED: the key cannot be decoded")
    cache_key = (tuple(t.isoformat() for t in times), tuple(ders), material)
    if store is None and cache_key in _CHECKS:
        return _CHECKS[cache_key]
    where = "attestation in the request"
    try:
        certs = [SourcedCert(c, where) for d in ders for c in parse_certificates(d, where)]
        for when in times:
            result = verify_attestation(material, certs, store or bundled_store(), when)
        check = HardwareCheck(True, result.summary())
    except (CeremonyError, ValueError) as e:
        check = HardwareCheck(False, f"NOT VERIFIED: {_reason(e, where)}")
    if store is None:
        _CHECKS[cache_key] = check
    return check


def _reason(e: Exception, where: str) -> str:
    text = str(e)
    prefix = f"{where}: "
    return safe(text[len(prefix) :] if text.startswith(prefix) else text, 160)


def hardware_line(request: Any, keyid: str) -> str | None:
    """``"hardware: YubiHSM 2 serial 13200460, generated on device, not
    exportable"`` for the keyholder's screen, ``"hardware: NOT VERIFIED: ..."``
    when the request's certificates fail, None when it carries none."""
    check = check_request_key(request, keyid)
    if check is None:
        return None
    return f"hardware: {check.line}"


def payload_hardware_lines(request: Any, role: str) -> list[str]:
    """For the keys a payload names (root: every key of the new root;
    targets: the targets role's keys and the delegated keys) that come with
    an attestation: two lines each, ``NAME (KEYID12) hardware:`` and the
    re-verified summary (or ``NOT VERIFIED: reason``). Plain text, escaped."""
    attestations = getattr(request, "attestations", {})
    if not attestations:
        return []
    payload = request.payload(role)
    if payload is None:
        return []
    signed = payload.metadata.signed
    if role == "root":
        keyids = list(signed.keys)
    else:
        keyids = list(request.new_root.roles["targets"].keyids)
        if signed.delegations is not None:
            keyids += list(signed.delegations.keys or {})
    lines: list[str] = []
    for kid in sorted(set(keyids), key=lambda k: (request.name_of(k) or "~", k)):
        check = check_request_key(request, kid)
        if check is None:
            continue
        name = request.name_of(kid)
        label = f"{safe(name, 60)} ({kid[:12]})" if name else kid[:12]
        lines.append(f"{label} hardware:")
        lines.append(f"  {check.line}")
    return lines


# ---------------------------------------------------------------------------
# audits (verify --attestations DIR)


@dataclass
class KeyAudit:
    keyid: str
    name: str | None
    roles: list[str]
    attested: bool
    summary: str | None = None  # when attested
    reason: str | None = None  # when not
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyid": self.keyid,
            "name": self.name,
            "roles": self.roles,
            "attested": self.attested,
            "summary": self.summary,
            "reason": self.reason,
            "attestation": self.details or None,
        }


@dataclass
class AuditReport:
    directory: str
    root_version: int | None
    keys: list[KeyAudit]
    certificates: int
    skipped: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "root_version": self.root_version,
            "certificates": self.certificates,
            "files_skipped": self.skipped,
            "keys": [k.to_dict() for k in self.keys],
            "attested": sum(1 for k in self.keys if k.attested),
            "total": len(self.keys),
        }


def audit_keys(
    keys: dict[str, tuple[bytes | None, list[str]]],
    directory: Path,
    at: datetime,
    names: dict[str, str] | None = None,
    root_version: int | None = None,
    store: TrustStore | None = None,
) -> AuditReport:
    """For each key (keyid -> (DER SPKI or None, roles)): is a valid
    attestation for it among the certificates in ``directory``? Matched by
    key material, never by file name."""
    scan = scan_directory(directory)
    store = store or bundled_store()
    out: list[KeyAudit] = []
    for kid, (material, roles) in keys.items():
        name = (names or {}).get(kid)
        if material is None:
            out.append(KeyAudit(kid, name, roles, False, reason="key cannot be decoded"))
            continue
        if not any(c.spki() == material for c in scan.certs):
            out.append(KeyAudit(kid, name, roles, False, reason="no attestation given"))
            continue
        try:
            att = verify_attestation(material, scan.certs, store, at)
        except VerificationError as e:
            out.append(KeyAudit(kid, name, roles, False, reason=f"refused: {safe(str(e), 300)}"))
            continue
        out.append(KeyAudit(kid, name, roles, True, summary=att.summary(), details=att.to_dict()))
    return AuditReport(str(directory), root_version, out, len(scan.certs), len(scan.skipped))


def newest_root_keys(directory: Path) -> tuple[int, dict[str, tuple[bytes | None, list[str]]], dict[str, str]]:
    """The root and targets keys (keyid -> (DER SPKI, roles)) of the newest
    root in a metadata directory, read with the verify engine's tolerant
    loader (legacy key encodings included), and the key owners some
    repositories note in the key (``x-tuf-on-ci-keyowner``: display only)."""
    from tuf_ceremony.verify.chain import load_root
    from tuf_ceremony.verify.layout import index_directory

    files = index_directory(directory).get("root")
    if files.versions:
        name = files.versions[max(files.versions)]
    elif files.unversioned:
        name = files.unversioned
    else:
        raise FormatError("no N.root.json or root.json to take keys from", source=str(directory))
    root = load_root(directory / name, name)
    keys: dict[str, tuple[bytes | None, list[str]]] = {}
    owners: dict[str, str] = {}
    for role in ("root", "targets"):
        keyids, _threshold = root.roles.get(role, ([], 0))
        for kid in keyids:
            entry = root.keys.get(kid)
            material = entry.der if entry is not None else None
            keys.setdefault(kid, (material, []))[1].append(role)
            owner = (
                entry.key.unrecognized_fields.get("x-tuf-on-ci-keyowner")
                if entry is not None and entry.key is not None
                else None
            )
            if isinstance(owner, str) and owner:
                owners[kid] = owner
    return root.version, keys, owners
