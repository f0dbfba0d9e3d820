"""Attestation certificates read from a PKCS#11 token (``key attest``).

Yubico's ykcs11 (YubiKey PIV) shows attestations as certificate objects:
``X.509 Certificate for PIV Attestation 9c`` (made by the YubiKey when read,
with the CKA_ID of the slot's key) and ``X.509 Certificate for PIV
Attestation`` (slot f9, the device certificate, CKA_ID 25). A YubiHSM 2
shows X.509 opaque objects (the device certificate is opaque object 0) as
certificates too. Which certificate is which is decided by content, never by
label: the key attestation is the certificate that certifies exactly the
key's public key and carries Yubico's attestation extensions; the device
certificate is the one whose signature on it verifies. No PIN is needed.

When the module shows no attestation, :class:`NoAttestationObjects` carries
the vendor commands that make the same files (docs/hardware.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11e

from tuf_ceremony.errors import TokenError
from tuf_ceremony.signers.pkcs11.lookup import Located, attr, locate_key
from tuf_ceremony.signers.pkcs11.tokens import text_of, token_error
from tuf_ceremony.signers.pkcs11.uri import format_uri, parse_uri

# ykcs11 object labels (yubico-piv-tool ykcs11/objects.c)
YKCS11_F9_LABEL = "X.509 Certificate for PIV Attestation"
YKCS11_SLOT_IDS = {1: "9a", 2: "9c", 3: "9d", 4: "9e"}
MAX_CERTIFICATES = 256


class NoAttestationObjects(TokenError):
    """The token shows no attestation certificate for the key (exit 6)."""

    def __init__(self, message: str, commands: list[str]) -> None:
        super().__init__(message)
        self.commands = commands


@dataclass
class TokenCertificate:
    label: str
    key_id: bytes
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)


@dataclass
class FetchedAttestation:
    """What ``key attest`` found: the key, its attestation and the
    certificate that signed it (the device certificate)."""

    where: str  # "key 'X' on token 'Y' (serial Z)"
    key_uri: str
    public_der: bytes
    attestation: TokenCertificate
    device: TokenCertificate
    others: list[TokenCertificate]


def _certificates(located: Located) -> list[TokenCertificate]:
    session = located.entry.session
    out: list[TokenCertificate] = []
    try:
        for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
            if len(out) >= MAX_CERTIFICATES:
                break
            value = attr(obj, Attribute.VALUE)
            if not value:
                continue
            try:
                cert = x509.load_der_x509_certificate(bytes(value))
            except ValueError:
                continue  # not X.509: not ours to judge here
            out.append(
                TokenCertificate(
                    text_of(attr(obj, Attribute.LABEL, "") or ""), bytes(attr(obj, Attribute.ID, b"") or b""), cert
                )
            )
    except p11e.PKCS11Error as e:
        raise token_error(located.entry.ref, "cannot list certificates", e) from None
    return out


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - wrong name, bad signature, unsupported key
        return False
    return True


def vendor_commands(located: Located | None, directory: str) -> list[str]:
    """The documented commands that make the same two files."""
    slot = "9c"
    if located is not None and len(located.group.key_id) == 1:
        slot = YKCS11_SLOT_IDS.get(located.group.key_id[0], slot)
    key_id = "0x" + located.group.key_id.hex() if located and located.group.key_id else "KEY_ID"
    return [
        "YubiKey (PIV), with yubikey-manager:",
        f"  ykman piv keys attest {slot} {directory}/key-attestation.pem",
        f"  ykman piv certificates export f9 {directory}/device-certificate.pem",
        "YubiHSM 2, with yubihsm-shell (log in with an authentication key):",
        f"  yubihsm-shell -a sign-attestation-certificate -i {key_id} --attestation-id 0 "
        f"--out {directory}/key-attestation.pem",
        f"  yubihsm-shell -a get-opaque -i 0 --out {directory}/device-certificate.der",
    ]


def fetch_attestation(uri_text: str, directory: str = "DIR") -> FetchedAttestation:
    """Read the key's attestation certificate and its device certificate
    from the token. Raises :class:`NoAttestationObjects` (with the vendor
    commands) when the token shows none."""
    from tuf_ceremony.attestation.certs import spki_der
    from tuf_ceremony.attestation.yubico import kind_of

    located = locate_key(parse_uri(uri_text))
    public = located.public()
    if public is None:
        raise TokenError(
            f"the public key of {located.where()} is not readable without "
            "logging in: no attestation can be matched to it"
        )
    public_der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    certs = _certificates(located)
    attestations = [c for c in certs if kind_of(c.cert) is not None and spki_der(c.cert) == public_der]
    for att in attestations:
        devices = [c for c in certs if c.der != att.der and _signed_by(att.cert, c.cert)]
        if devices:
            device = devices[0]
            others = [c for c in certs if c.der not in (att.der, device.der)]
            return FetchedAttestation(located.where(), format_uri(located.uri()), public_der, att, device, others)
    what = (
        "an attestation but not the device certificate that signed it" if attestations else "no attestation certificate"
    )
    raise NoAttestationObjects(
        f"{located.where()}: the PKCS#11 module shows {what} for this key; make the files "
        "with the vendor's tool (commands above) and check them with "
        "`tuf-ceremony key verify-attestation`",
        vendor_commands(located, directory),
    )
