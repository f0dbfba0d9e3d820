"""Reading attestation certificate files (PEM, possibly several, or DER)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tuf_ceremony.errors import InputError
from tuf_ceremony.files import read_bytes
from tuf_ceremony.text import safe

MAX_CERT_FILE = 1 << 20  # 1 MiB: a certificate file is a few kB
MAX_DIRECTORY_FILES = 10_000
CERT_SUFFIXES = (".pem", ".der", ".crt", ".cer")


@dataclass(frozen=True)
class SourcedCert:
    """A certificate and where it came from (for messages only)."""

    cert: x509.Certificate
    source: str

    @property
    def subject(self) -> str:
        return safe(self.cert.subject.rfc4514_string(), 120)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)

    def spki(self) -> bytes | None:
        return spki_der(self.cert)


def spki_der(cert: x509.Certificate) -> bytes | None:
    """DER SubjectPublicKeyInfo of the certified key (None if the key type is
    one cryptography cannot load)."""
    try:
        public = cert.public_key()
    except (ValueError, TypeError):
        return None
    der: bytes = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return der


def key_digest(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def parse_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    """Every certificate in ``data``: PEM blocks, else one DER certificate."""
    if len(data) > MAX_CERT_FILE:
        raise InputError("is too large for a certificate file", source=source)
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise InputError("holds no PEM certificate (BEGIN CERTIFICATE)", source=source)
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as e:
            raise InputError(f"broken PEM certificate ({e})", source=source) from None
        return certs
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InputError("not an X.509 certificate (PEM or DER)", source=source) from None


def read_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    source = str(path)
    return parse_certificates(read_bytes(path, "certificate file"), source)


def read_sourced(paths: list[Path] | tuple[Path, ...]) -> list[SourcedCert]:
    out: list[SourcedCert] = []
    for p in paths:
        out.extend(SourcedCert(c, str(p)) for c in read_certificates(p))
    return out


@dataclass
class DirectoryScan:
    certs: list[SourcedCert]
    skipped: list[str]  # files that hold no certificate


def scan_directory(directory: Path) -> DirectoryScan:
    """Every certificate in the files under ``directory`` (recursively).
    Files that hold no certificate (public keys, READMEs) are skipped."""
    if not directory.is_dir():
        raise InputError("not a directory of attestation certificates", source=str(directory))
    certs: list[SourcedCert] = []
    skipped: list[str] = []
    count = 0
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            count += 1
            if count > MAX_DIRECTORY_FILES:
                raise InputError(f"holds more than {MAX_DIRECTORY_FILES} files", source=str(directory))
            p = Path(root) / name
            if not name.lower().endswith(CERT_SUFFIXES) or p.is_symlink():
                skipped.append(str(p))
                continue
            try:
                found = read_certificates(p)
            except InputError:
                skipped.append(str(p))
                continue
            certs.extend(SourcedCert(c, str(p)) for c in found)
    return DirectoryScan(certs, skipped)
