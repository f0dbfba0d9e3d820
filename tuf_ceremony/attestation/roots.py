"""The trust anchors of attestation: Yubico's roots and intermediates.

They ship as package data (``roots/*.pem``) with ``roots/manifest.json``
giving each file's origin, its file SHA-256 and its DER fingerprint; both are
checked at load, and the roots' fingerprints are pinned here in the code as
well, so a changed file is an error, never a new anchor.

``level`` is a certificate's place above the key attestation: the attesting
device certificate (YubiKey slot f9, YubiHSM opaque object 0) is level 1, so
the YubiKey PIV Root CA 263751 is level 2, the YubiHSM Root CA level 3
(above its Sub-CA), Yubico Attestation Root 1 level 4 (above Intermediate
A/B 1 and PIV Attestation A/B 1). See docs/hardware.md, "Attestation policy".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tuf_ceremony.errors import InputError

MANIFEST = "manifest.json"

# DER SHA-256 fingerprints of the bundled roots, as Yubico publishes them.
PINNED_ROOTS = {
    "094a3ac493c2bdcd65a54bdf40190f52bb03f7156397a3fc69d8aa9a392fb724": "Yubico YubiHSM Root CA",
    "63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546": "Yubico PIV Root CA Serial 263751",
    "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42": "Yubico U2F Root CA Serial 457200631",
    "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8": "Yubico Attestation Root 1",
}

PROFILES = ("yubihsm2", "yubikey-piv")


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class TrustedCert:
    """A root or intermediate the verifier may end a chain with / pass through.

    ``profile`` and ``level`` are None for certificates given with --roots:
    the user trusts them at any place of any chain shape."""

    cert: x509.Certificate
    role: str  # "root" or "intermediate"
    profile: str | None
    level: int | None
    origin: str
    sha256: str  # of the file (bundled) or "" (given)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert)

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    def fits(self, profile: str, level: int) -> bool:
        return (self.profile is None or self.profile == profile) and (self.level is None or self.level == level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "role": self.role,
            "profile": self.profile,
            "level": self.level,
            "fingerprint": self.fingerprint,
            "origin": self.origin,
            "file_sha256": self.sha256 or None,
        }


@dataclass
class TrustStore:
    certs: list[TrustedCert] = field(default_factory=list)

    def roots(self) -> list[TrustedCert]:
        return [t for t in self.certs if t.role == "root"]

    def at(self, profile: str, level: int) -> list[TrustedCert]:
        return [t for t in self.certs if t.fits(profile, level)]


def _manifest_error(message: str) -> InputError:
    return InputError(
        f"bundled attestation roots are damaged: {message} (reinstall tuf-ceremony)",
        source="tuf_ceremony/attestation/roots",
    )


def bundled_store() -> TrustStore:
    """The bundled Yubico roots and intermediates, each file checked against
    the manifest and each root against the fingerprints pinned here."""
    base = resources.files("tuf_ceremony.attestation") / "roots"
    try:
        manifest = json.loads((base / MANIFEST).read_bytes())
        entries = manifest["certificates"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise _manifest_error(f"cannot read {MANIFEST} ({e})") from None
    store = TrustStore()
    seen_roots: set[str] = set()
    for entry in entries:
        name = entry["file"]
        try:
            data = (base / name).read_bytes()
        except OSError as e:
            raise _manifest_error(f"{name}: {e.strerror or e}") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise _manifest_error(f"{name}: SHA-256 differs from the manifest")
        cert = x509.load_pem_x509_certificate(data)
        fp = fingerprint(cert)
        if fp != entry["fingerprint"]:
            raise _manifest_error(f"{name}: certificate fingerprint differs from the manifest")
        if entry["role"] == "root":
            if fp not in PINNED_ROOTS:
                raise _manifest_error(f"{name}: root is not one of the pinned Yubico roots")
            seen_roots.add(fp)
        store.certs.append(
            TrustedCert(cert, entry["role"], entry["profile"], int(entry["level"]), entry["origin"], entry["sha256"])
        )
    if seen_roots != set(PINNED_ROOTS):
        raise _manifest_error("a pinned Yubico root is missing")
    return store


def load_roots_file(path: Path) -> list[TrustedCert]:
    """Certificates given with --roots / --add-roots (PEM, one or more, or a
    single DER). Self-signed ones become roots, others intermediates."""
    from tuf_ceremony.attestation.certs import read_certificates

    out: list[TrustedCert] = []
    for cert in read_certificates(path):
        role = "root" if _self_signed(cert) else "intermediate"
        out.append(TrustedCert(cert, role, None, None, f"given with --roots: {path}", ""))
    if not any(t.role == "root" for t in out):
        raise InputError("holds no self-signed root certificate", source=str(path))
    return out


def _self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - InvalidSignature and friends: not self-signed
        return False
    return True


def trust_store(replace: list[Path] | tuple[Path, ...] = (), add: list[Path] | tuple[Path, ...] = ()) -> TrustStore:
    """The bundled store, or only the ``replace`` files' certificates, plus
    the ``add`` files' certificates."""
    store = TrustStore() if replace else bundled_store()
    for p in replace:
        store.certs.extend(load_roots_file(p))
    for p in add:
        store.certs.extend(load_roots_file(p))
    return store
