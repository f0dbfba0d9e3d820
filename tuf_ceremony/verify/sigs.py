"""Signature verification and threshold counting for the report.

Thresholds are decided by :func:`tuf_ceremony.policy.evaluate_threshold`, the
one threshold policy (valid signatures by distinct public keys, compared by
DER material, never by keyid); this module verifies the signatures it is
given and turns the result into the report's ``ThresholdCheck`` and findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tuf_ceremony.policy import evaluate_threshold
from tuf_ceremony.verify.legacy import KeyEntry
from tuf_ceremony.verify.report import KeyRef, Severity, ThresholdCheck


@dataclass
class SignatureSet:
    """The signatures of one file, verified once against every key that may
    be asked about them."""

    entries: list[tuple[str, str]]
    results: dict[str, bool] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)

    @classmethod
    def verify(cls, payload: bytes, entries: Sequence[tuple[str, str]], keys: Mapping[str, KeyEntry]) -> SignatureSet:
        out = cls(list(entries))
        seen: set[str] = set()
        for keyid, sig in entries:
            if keyid in seen:
                if keyid not in out.duplicates:
                    out.duplicates.append(keyid)
                continue
            seen.add(keyid)
            entry = keys.get(keyid)
            if entry is None or entry.key is None:
                continue
            out.results[keyid] = _verify_one(entry, sig, payload)
        return out

    def add_keys(self, payload: bytes, keys: Mapping[str, KeyEntry]) -> None:
        """Verify signatures whose keyid only these keys know."""
        for keyid, sig in self.entries:
            if keyid in self.results:
                continue
            entry = keys.get(keyid)
            if entry is None or entry.key is None:
                continue
            self.results[keyid] = _verify_one(entry, sig, payload)

    def keyids(self) -> list[str]:
        out: list[str] = []
        for keyid, _ in self.entries:
            if keyid not in out:
                out.append(keyid)
        return out


def _verify_one(entry: KeyEntry, sig: str, payload: bytes) -> bool:
    return entry.verifies(sig, payload)


Finding = tuple[Severity, str, str]


def signature_findings(
    sigset: SignatureSet, known: Mapping[str, KeyEntry], authorized: set[str], role: str
) -> list[Finding]:
    """File-level findings: duplicate entries, invalid signatures, signatures
    under unknown keyids or by keys that may not sign ``role``."""
    out: list[Finding] = []
    for keyid in sigset.duplicates:
        out.append(("error", "duplicate-signature", f"keyid {keyid} has more than one signature entry"))
    for keyid in sigset.keyids():
        if keyid not in known:
            out.append(
                (
                    "warning",
                    "unknown-keyid",
                    f"signature under unknown keyid {keyid} (no such key; not counted)",
                )
            )
        elif keyid not in authorized:
            out.append(
                (
                    "info",
                    "unauthorized-signer",
                    f"signature by key {keyid}, which may not sign {role} (not counted)",
                )
            )
        elif sigset.results.get(keyid) is False:
            out.append(("warning", "invalid-signature", f"signature by key {keyid} does not verify"))
    return out


def _material(keyid: str, entry: KeyEntry | None) -> bytes | None:
    """What ``evaluate_threshold`` compares: the DER public key; a usable key
    with no DER form (e.g. a Sigstore identity) stands for itself by keyid."""
    if entry is None or entry.key is None:
        return None
    return entry.der if entry.der is not None else b"keyid:" + keyid.encode()


def threshold_check(
    role: str,
    keyids: Sequence[str],
    threshold: int,
    keys: Mapping[str, KeyEntry],
    sigset: SignatureSet,
    names: Mapping[str, str],
) -> tuple[ThresholdCheck, list[Finding]]:
    """Count valid signatures by distinct public keys authorized for ``role``
    (:func:`~tuf_ceremony.policy.evaluate_threshold`), with findings about
    the role's key list."""
    material = {k: _material(k, keys.get(k)) for k in keyids}
    verified = {k for k, ok in sigset.results.items() if ok}
    result = evaluate_threshold(role, keyids, threshold, material, verified)
    check = ThresholdCheck(
        role,
        threshold,
        len(result.signed),
        [KeyRef(k, names.get(k)) for k in result.signed],
        [KeyRef(k, names.get(k)) for k in result.unsigned],
        authorized=result.distinct_keys,
    )
    if not (result.repeated_keyids or result.unusable or result.duplicate_keys):
        return check, []  # the usual case (one online key per bin): no findings
    findings: list[Finding] = [
        ("error", "duplicate-keyid", f"role {role} lists keyid {k} more than once") for k in result.repeated_keyids
    ]
    for k in result.unusable:
        entry = keys.get(k)
        if entry is None:
            findings.append(("warning", "missing-key", f"role {role} lists keyid {k}, which has no key"))
        else:
            findings.append(("warning", "unusable-key", f"key {k} of role {role}: {entry.error}"))
    for group in result.duplicate_keys:
        findings.append(
            (
                "error",
                "duplicate-key",
                f"role {role} lists the same public key under keyids {', '.join(group)} "
                "(it would count more than once toward the threshold)",
            )
        )
        good = [k for k in group if k in verified]
        if len(good) > 1:
            findings.append(
                (
                    "error",
                    "duplicate-signature",
                    f"one key signed {role} more than once (keyids {', '.join(good)}); counted once",
                )
            )
    return check, findings
