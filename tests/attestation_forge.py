"""Test helpers: the real attestation samples (tests/data/) and forged
certificates made with cryptography for the negative cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

DATA = Path(__file__).parent / "data"
PSF = DATA / "psf-2020-ceremony"
PIV = DATA / "attestation" / "yubikey-piv-samples"
HSM_SERIALS = ("0013200460", "0013200461", "0013200462")
SIGSTORE_SERIALS = ("13078778", "14454335", "14470876", "15938765", "15938791", "18158855")


def psf_files(serial: str, role: str) -> tuple[Path, list[Path]]:
    """(public key file, [key attestation, device certificate]) of a PSF key."""
    d = PSF / serial
    return (d / f"{serial}_{role}_pubkey.pem", [d / f"{serial}_{role}_attestation.der", d / f"{serial}_cert.der"])


def piv_files(serial: str) -> tuple[Path, list[Path]]:
    d = PIV / serial
    pub = d / f"{serial}_pubkey.pem"
    if not pub.exists():
        pub = d / f"{serial}_pubkey.derived.pem"
    return pub, [d / f"{serial}_key_cert.pem", d / f"{serial}_device_cert.pem"]


def load(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.startswith(b"-----"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(pem(cert))
    return path


def write_public(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(
    subject: x509.Name,
    public: CertificatePublicKeyTypes,
    issuer: Issuer | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    extensions: list[x509.Extension[x509.ExtensionType]] | None = None,
    ca: bool | None = True,
    not_before: datetime = datetime(2017, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2071, 10, 5, tzinfo=UTC),
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    for ext in extensions or []:
        b = b.add_extension(ext.value, critical=ext.critical)
    return b.sign(issuer_key, hashes.SHA256())


def self_signed(cn: str, *, not_after: datetime = datetime(2071, 10, 5, tzinfo=UTC)) -> Issuer:
    key = new_key()
    cert = issue(name(cn), key.public_key(), None, key, not_after=not_after)
    return Issuer(cert, key)


def sub(cn: str, parent: Issuer, *, not_after: datetime = datetime(2071, 10, 5, tzinfo=UTC)) -> Issuer:
    key = new_key()
    cert = issue(name(cn), key.public_key(), parent, parent.key, not_after=not_after)
    return Issuer(cert, key)


def yubico_ext(oid: str, value: bytes) -> x509.Extension[x509.ExtensionType]:
    o = x509.ObjectIdentifier(oid)
    return x509.Extension(o, False, x509.UnrecognizedExtension(o, value))


def copied_extensions(cert: x509.Certificate, override: dict[str, bytes]) -> list[x509.Extension[x509.ExtensionType]]:
    """The Yubico extensions of ``cert`` with some values replaced."""
    out = []
    for ext in cert.extensions:
        if isinstance(ext.value, x509.UnrecognizedExtension):
            oid = ext.oid.dotted_string
            out.append(yubico_ext(oid, override.get(oid, ext.value.value)))
    return out


ORIGIN = "1.3.6.1.4.1.41482.4.3"
CAPABILITIES = "1.3.6.1.4.1.41482.4.5"


@dataclass
class ForgedHsm:
    """A self-made YubiHSM-like PKI: root, Sub-CA, device, key attestation."""

    root: Issuer
    subca: Issuer
    device: Issuer
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey

    def write(self, d: Path) -> tuple[Path, Path, list[Path]]:
        """(roots file, public key file, attestation files)."""
        roots = write_cert(d / "fake-root.pem", self.root.cert)
        pub = write_public(d / "forged.pub.pem", self.leaf_key)
        files = [
            write_cert(d / "forged-attestation.pem", self.leaf),
            write_cert(d / "forged-device.pem", self.device.cert),
            write_cert(d / "forged-subca.pem", self.subca.cert),
        ]
        return roots, pub, files


def forged_hsm(
    origin: bytes = bytes.fromhex("03020001"),
    capabilities: bytes = bytes.fromhex("0309000000000000000080"),
    not_after: datetime = datetime(2071, 10, 5, tzinfo=UTC),
    names_of_yubico: bool = True,
    public: CertificatePublicKeyTypes | None = None,
) -> ForgedHsm:
    """A YubiHSM attestation chain copying Yubico's names and the real PSF
    extensions, under a self-made root; ``origin`` and ``capabilities``
    replace the key attestation's .4.3 and .4.5 values; ``public`` is the
    attested key (default: a new one, ``leaf_key``)."""
    real_leaf = load(PSF / "0013200460" / "0013200460_root_attestation.der")
    real_device = load(PSF / "0013200460" / "0013200460_cert.der")
    root = self_signed("Yubico YubiHSM Root CA" if names_of_yubico else "Test Root", not_after=not_after)
    subca = sub("Yubico YubiHSM 6742036 Sub-CA", root, not_after=not_after)
    dkey = new_key()
    device_cert = issue(
        real_device.subject,
        dkey.public_key(),
        subca,
        subca.key,
        extensions=copied_extensions(real_device, {}),
        not_after=not_after,
    )
    device = Issuer(device_cert, dkey)
    leaf_key = new_key()
    leaf = issue(
        real_leaf.subject,
        public or leaf_key.public_key(),
        device,
        dkey,
        ca=None,
        extensions=copied_extensions(real_leaf, {ORIGIN: origin, CAPABILITIES: capabilities}),
        not_after=not_after,
    )
    return ForgedHsm(root, subca, device, leaf, leaf_key)


def expired() -> datetime:
    return datetime.now(UTC) - timedelta(days=30)
