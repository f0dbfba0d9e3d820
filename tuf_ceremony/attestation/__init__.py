"""Hardware attestation: proof that a key was generated inside genuine
Yubico hardware (YubiKey PIV, YubiHSM 2), verified offline against bundled
Yubico roots.

Core only (no click, no rich). Entry points:

* :func:`verify_files` / :func:`verify_attestation`: one key against its
  attestation certificates -> :class:`Attestation` or a
  :class:`~tuf_ceremony.errors.VerificationError` with the reason;
* :func:`trust_store`: the bundled roots, replaced or extended by files;
* :mod:`tuf_ceremony.attestation.evidence`: attestations carried in plans,
  signing requests and ``verify --attestations`` reports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tuf_ceremony.attestation.certs import (
    DirectoryScan,
    SourcedCert,
    parse_certificates,
    read_sourced,
    scan_directory,
)
from tuf_ceremony.attestation.roots import TrustedCert, TrustStore, bundled_store, trust_store
from tuf_ceremony.attestation.verify import Attestation, ChainLink, verify_attestation

__all__ = [
    "Attestation",
    "ChainLink",
    "DirectoryScan",
    "SourcedCert",
    "TrustStore",
    "TrustedCert",
    "bundled_store",
    "parse_certificates",
    "read_sourced",
    "scan_directory",
    "trust_store",
    "verify_attestation",
    "verify_files",
]


def verify_files(
    public_der: bytes, paths: list[Path] | tuple[Path, ...], at: datetime, store: TrustStore | None = None
) -> Attestation:
    """Verify the attestation certificate files ``paths`` for the key
    ``public_der`` (DER SubjectPublicKeyInfo) at time ``at``."""
    certs = read_sourced(paths)
    return verify_attestation(public_der, certs, store or bundled_store(), at)
