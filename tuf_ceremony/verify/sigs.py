"""Canonical payloads, signature verification and threshold counting.

Thresholds are counted the way python-tuf counts them (a valid signature by
an authorized key whose keyid the delegator lists), and stricter: a public
key counts once however many keyids it is listed under, and two signatures
by one key are reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuf_ceremony.verify.legacy import KeyEntry, VerifyingKey
from tuf_ceremony.verify.report import KeyRef, Severity, ThresholdCheck

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_signed(signed: Any) -> bytes:
    """OLPC canonical JSON of ``signed``, byte for byte what securesystemslib's
    ``encode_canonical`` (and so python-tuf's CanonicalJSONSerializer) gives.

    ``signed`` must come from :func:`tuf_ceremony.verify.doc.parse_metadata_json`,
    which refuses floats and NaN (canonical JSON has no such numbers). For such
    input ``json.dumps`` with sorted keys and no whitespace differs from
    canonical JSON only in string escaping: canonical JSON escapes just ``\\``
    and ``"``, JSON also control characters. Whenever the fast output holds a
    backslash at all, securesystemslib's encoder is used instead.
    """
    text = _ENCODER.encode(signed)
    if "\\" in text:
        from securesystemslib.formats import encode_canonical

        out = encode_canonical(signed)
        assert isinstance(out, str)
        text = out
    return text.encode("utf-8")


@dataclass
class SignatureSet:
    """The signatures of one file, verified once against every key that may
    be asked about them."""

    entries: list[tuple[str, str]]
    results: dict[str, bool] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)

    @classmethod
    def verify(
        cls, payload: bytes, entries: Sequence[tuple[str, str]], keys: Mapping[str, KeyEntry]
    ) -> SignatureSet:
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
            out.results[keyid] = _verify_one(entry, keyid, sig, payload)
        return out

    def add_keys(self, payload: bytes, keys: Mapping[str, KeyEntry]) -> None:
        """Verify signatures whose keyid only these keys know."""
        for keyid, sig in self.entries:
            if keyid in self.results:
                continue
            entry = keys.get(keyid)
            if entry is None or entry.key is None:
                continue
            self.results[keyid] = _verify_one(entry, keyid, sig, payload)

    def keyids(self) -> list[str]:
        out: list[str] = []
        for keyid, _ in self.entries:
            if keyid not in out:
                out.append(keyid)
        return out


def _verify_one(entry: KeyEntry, keyid: str, sig: str, payload: bytes) -> bool:
    key = entry.key
    if isinstance(key, VerifyingKey):
        return key.verify_fast(keyid, sig, payload)
    from securesystemslib.signer import Signature

    assert key is not None
    try:
        key.verify_signature(Signature(keyid, sig), payload)
    except Exception:  # noqa: BLE001 - any failure is "does not verify"
        return False
    return True


Finding = tuple[Severity, str, str]


def signature_findings(
    sigset: SignatureSet, known: Mapping[str, KeyEntry], authorized: set[str], role: str
) -> list[Finding]:
    """File-level findings: duplicate entries, invalid signatures, signatures
    under unknown keyids or by keys that may not sign ``role``."""
    out: list[Finding] = []
    for keyid in sigset.duplicates:
        out.append(
            ("error", "duplicate-signature", f"keyid {keyid} has more than one signature entry")
        )
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
            out.append(
                ("warning", "invalid-signature", f"signature by key {keyid} does not verify")
            )
    return out


def threshold_check(
    role: str,
    keyids: Sequence[str],
    threshold: int,
    keys: Mapping[str, KeyEntry],
    sigset: SignatureSet,
    names: Mapping[str, str],
) -> tuple[ThresholdCheck, list[Finding]]:
    """Count valid signatures by distinct public keys authorized for ``role``."""
    if len(keyids) == 1:  # the usual online-key delegation (hashed bins): no groups
        k = keyids[0]
        entry = keys.get(k)
        if entry is not None and entry.key is not None:
            ref = KeyRef(k, names.get(k))
            if sigset.results.get(k) is True:
                return ThresholdCheck(role, threshold, 1, [ref], [], authorized=1), []
            return ThresholdCheck(role, threshold, 0, [], [ref], authorized=1), []
    findings: list[Finding] = []
    unique: list[str] = []
    for k in keyids:
        if k in unique:
            findings.append(
                ("error", "duplicate-keyid", f"role {role} lists keyid {k} more than once")
            )
        else:
            unique.append(k)
    groups: dict[bytes | str, list[str]] = {}
    for k in unique:
        entry = keys.get(k)
        if entry is None:
            findings.append(
                ("warning", "missing-key", f"role {role} lists keyid {k}, which has no key")
            )
            continue
        if entry.key is None:
            findings.append(
                ("warning", "unusable-key", f"key {k} of role {role}: {entry.error}")
            )
            continue
        material: bytes | str = entry.der if entry.der is not None else k
        groups.setdefault(material, []).append(k)
    valid = 0
    signers: list[KeyRef] = []
    missing: list[KeyRef] = []
    for group in groups.values():
        if len(group) > 1:
            findings.append(
                (
                    "error",
                    "duplicate-key",
                    f"role {role} lists the same public key under keyids {', '.join(group)} "
                    "(it would count more than once toward the threshold)",
                )
            )
        good = [k for k in group if sigset.results.get(k) is True]
        if len(good) > 1:
            findings.append(
                (
                    "error",
                    "duplicate-signature",
                    f"one key signed {role} more than once (keyids {', '.join(good)}); "
                    "counted once",
                )
            )
        if good:
            valid += 1
            signers.append(KeyRef(good[0], names.get(good[0])))
        else:
            missing.append(KeyRef(group[0], names.get(group[0])))
    check = ThresholdCheck(role, threshold, valid, signers, missing, authorized=len(groups))
    return check, findings
