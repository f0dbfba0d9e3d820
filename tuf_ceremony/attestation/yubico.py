"""What Yubico attestation certificates assert: their private X.509 extensions.

Sources (read, not copied): Yubico's "PIV attestation" developer page and OID
arc document (https://docs.yubico.com/hardware/oid/), the YubiHSM 2
"Attestation" concept page, python-yubihsm ``yubihsm/defs.py`` (capability
bits, origin values), checked against the real samples in tests/data/.

YubiKey PIV (arc 1.3.6.1.4.1.41482.3), values are *raw* bytes except the serial:

* ``.3.3`` firmware version: 3 bytes major, minor, patch;
* ``.3.7`` serial number: a DER INTEGER;
* ``.3.8`` PIN and touch policy: 2 bytes (PIN 1 never, 2 once, 3 always;
  touch 1 never, 2 always, 3 cached);
* ``.3.9`` form factor: 1 byte (bit 0x80: FIPS edition).

YubiHSM 2 (arc 1.3.6.1.4.1.41482.4), every value a DER TLV:

* ``.4.1`` firmware OCTET STRING (3 bytes); ``.4.2`` serial INTEGER;
* ``.4.3`` origin BIT STRING (0x01 generated, 0x02 imported, 0x10 set in
  addition when the object was imported under wrap);
* ``.4.4`` domains BIT STRING; ``.4.5`` capabilities BIT STRING (64 bits,
  bit 16 exportable-under-wrap); ``.4.6`` object id INTEGER; ``.4.9`` label
  UTF8String.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

YUBICO_ARC = "1.3.6.1.4.1.41482"

PIV_FIRMWARE = f"{YUBICO_ARC}.3.3"
PIV_SERIAL = f"{YUBICO_ARC}.3.7"
PIV_POLICY = f"{YUBICO_ARC}.3.8"
PIV_FORM_FACTOR = f"{YUBICO_ARC}.3.9"

HSM_FIRMWARE = f"{YUBICO_ARC}.4.1"
HSM_SERIAL = f"{YUBICO_ARC}.4.2"
HSM_ORIGIN = f"{YUBICO_ARC}.4.3"
HSM_DOMAINS = f"{YUBICO_ARC}.4.4"
HSM_CAPABILITIES = f"{YUBICO_ARC}.4.5"
HSM_OBJECT_ID = f"{YUBICO_ARC}.4.6"
HSM_LABEL = f"{YUBICO_ARC}.4.9"

PIN_POLICIES = {1: "never", 2: "once", 3: "always"}
TOUCH_POLICIES = {1: "never", 2: "always", 3: "cached"}
FORM_FACTORS = {
    1: "USB-A keychain",
    2: "USB-A nano",
    3: "USB-C keychain",
    4: "USB-C nano",
    5: "USB-C and Lightning",
}

ORIGIN_GENERATED = 0x01
ORIGIN_IMPORTED = 0x02
ORIGIN_IMPORTED_WRAPPED = 0x10
EXPORTABLE_UNDER_WRAP = 1 << 16

# python-yubihsm CAPABILITY names (bit number -> yubihsm-shell name)
CAPABILITY_NAMES = {
    0: "get-opaque",
    1: "put-opaque",
    2: "put-authentication-key",
    3: "put-asymmetric-key",
    4: "generate-asymmetric-key",
    5: "sign-pkcs",
    6: "sign-pss",
    7: "sign-ecdsa",
    8: "sign-eddsa",
    9: "decrypt-pkcs",
    10: "decrypt-oaep",
    11: "derive-ecdh",
    12: "export-wrapped",
    13: "import-wrapped",
    14: "put-wrap-key",
    15: "generate-wrap-key",
    16: "exportable-under-wrap",
    17: "set-option",
    18: "get-option",
    19: "get-pseudo-random",
    20: "put-mac-key",
    21: "generate-hmac-key",
    22: "sign-hmac",
    23: "verify-hmac",
    24: "get-log-entries",
    25: "sign-ssh-certificate",
    26: "get-template",
    27: "put-template",
    28: "reset-device",
    29: "decrypt-otp",
    30: "create-otp-aead",
    31: "randomize-otp-aead",
    32: "rewrap-from-otp-aead-key",
    33: "rewrap-to-otp-aead-key",
    34: "sign-attestation-certificate",
    35: "put-otp-aead-key",
    36: "generate-otp-aead-key",
    37: "wrap-data",
    38: "unwrap-data",
    39: "delete-opaque",
    40: "delete-authentication-key",
    41: "delete-asymmetric-key",
    42: "delete-wrap-key",
    43: "delete-hmac-key",
    44: "delete-template",
    45: "delete-otp-aead-key",
    46: "change-authentication-key",
    47: "put-symmetric-key",
    48: "generate-symmetric-key",
    49: "delete-symmetric-key",
    50: "decrypt-ecb",
    51: "encrypt-ecb",
    52: "decrypt-cbc",
    53: "encrypt-cbc",
}


class ExtensionError(ValueError):
    """A Yubico extension does not decode as Yubico documents it."""


# ---------------------------------------------------------------------------
# a strict reader for the few DER types these extensions use


def _der_tlv(data: bytes, tag: int, what: str) -> bytes:
    """The content of ``data``, which must be exactly one DER TLV of ``tag``."""
    if len(data) < 2 or data[0] != tag:
        raise ExtensionError(f"{what}: not a DER value of tag 0x{tag:02x}")
    length = data[1]
    offset = 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or len(data) < 2 + count:
            raise ExtensionError(f"{what}: bad DER length")
        length = int.from_bytes(data[2 : 2 + count], "big")
        if length < 0x80 or (count == 2 and length < 0x100):
            raise ExtensionError(f"{what}: non-minimal DER length")
        offset = 2 + count
    if len(data) != offset + length:
        raise ExtensionError(f"{what}: DER length does not match the value")
    return data[offset:]


def der_integer(data: bytes, what: str) -> int:
    content = _der_tlv(data, 0x02, what)
    if not content:
        raise ExtensionError(f"{what}: empty INTEGER")
    if len(content) > 1 and ((content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)):
        raise ExtensionError(f"{what}: non-minimal INTEGER")
    if content[0] & 0x80:
        raise ExtensionError(f"{what}: negative INTEGER")
    return int.from_bytes(content, "big")


def der_bit_string(data: bytes, what: str) -> int:
    """A BIT STRING read as a big-endian unsigned number (unused bits must be 0)."""
    content = _der_tlv(data, 0x03, what)
    if not content or content[0] > 7 or (content[0] and len(content) == 1):
        raise ExtensionError(f"{what}: bad BIT STRING")
    unused = content[0]
    value = int.from_bytes(content[1:], "big")
    if unused and value & ((1 << unused) - 1):
        raise ExtensionError(f"{what}: BIT STRING padding bits are set")
    return value >> unused


def der_octet_string(data: bytes, what: str) -> bytes:
    return _der_tlv(data, 0x04, what)


def der_utf8(data: bytes, what: str) -> str:
    try:
        return _der_tlv(data, 0x0C, what).decode("utf-8")
    except UnicodeDecodeError:
        raise ExtensionError(f"{what}: label is not UTF-8") from None


# ---------------------------------------------------------------------------


def yubico_extensions(cert: x509.Certificate) -> dict[str, bytes]:
    """Raw extnValue contents of every extension under Yubico's arc (none
    when the certificate's extensions do not parse: then it attests nothing)."""
    out: dict[str, bytes] = {}
    try:
        extensions = list(cert.extensions)
    except Exception:  # noqa: BLE001 - duplicate or malformed extensions
        return out
    for ext in extensions:
        oid = ext.oid.dotted_string
        if oid.startswith(YUBICO_ARC + ".") and isinstance(ext.value, x509.UnrecognizedExtension):
            out[oid] = ext.value.value
    return out


def _firmware(raw: bytes, what: str) -> str:
    if len(raw) == 3:
        return ".".join(str(b) for b in raw)
    try:
        inner = der_octet_string(raw, what)
    except ExtensionError:
        raise ExtensionError(f"{what}: firmware version is not 3 bytes") from None
    if len(inner) != 3:
        raise ExtensionError(f"{what}: firmware version is not 3 bytes")
    return ".".join(str(b) for b in inner)


@dataclass
class PivClaims:
    """What a YubiKey PIV slot attestation asserts."""

    firmware: str | None
    serial: int | None
    pin_policy: str | None
    touch_policy: str | None
    form_factor: str | None
    fips: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "firmware": self.firmware,
            "serial": self.serial,
            "pin_policy": self.pin_policy,
            "touch_policy": self.touch_policy,
            "form_factor": self.form_factor,
            "fips": self.fips,
        }


@dataclass
class HsmClaims:
    """What a YubiHSM 2 key attestation asserts."""

    firmware: str | None
    serial: int | None
    origin: int | None
    domains: list[int] = field(default_factory=list)
    capabilities: int | None = None
    object_id: int | None = None
    label: str | None = None

    @property
    def generated(self) -> bool:
        return self.origin == ORIGIN_GENERATED

    @property
    def exportable(self) -> bool:
        return self.capabilities is None or bool(self.capabilities & EXPORTABLE_UNDER_WRAP)

    def origin_text(self) -> str:
        if self.origin is None:
            return "not stated"
        parts = []
        if self.origin & ORIGIN_GENERATED:
            parts.append("generated on device")
        if self.origin & ORIGIN_IMPORTED:
            parts.append("imported")
        if self.origin & ORIGIN_IMPORTED_WRAPPED:
            parts.append("imported under wrap")
        unknown = self.origin & ~(ORIGIN_GENERATED | ORIGIN_IMPORTED | ORIGIN_IMPORTED_WRAPPED)
        if unknown:
            parts.append(f"unknown bits 0x{unknown:02x}")
        return ", ".join(parts) + f" (0x{self.origin:02x})"

    def capability_names(self) -> list[str]:
        if self.capabilities is None:
            return []
        return [CAPABILITY_NAMES.get(bit, f"bit-{bit}") for bit in range(64) if self.capabilities >> bit & 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "firmware": self.firmware,
            "serial": self.serial,
            "origin": self.origin,
            "origin_text": self.origin_text(),
            "generated_on_device": self.generated,
            "domains": self.domains,
            "capabilities": self.capability_names(),
            "exportable_under_wrap": self.exportable,
            "object_id": self.object_id,
            "label": self.label,
        }


def piv_claims(cert: x509.Certificate) -> PivClaims:
    ext = yubico_extensions(cert)
    firmware = _firmware(ext[PIV_FIRMWARE], "firmware (.3.3)") if PIV_FIRMWARE in ext else None
    serial = der_integer(ext[PIV_SERIAL], "serial (.3.7)") if PIV_SERIAL in ext else None
    pin = touch = None
    if PIV_POLICY in ext:
        raw = ext[PIV_POLICY]
        if len(raw) != 2:
            raise ExtensionError("PIN/touch policy (.3.8): not 2 bytes")
        pin = PIN_POLICIES.get(raw[0], f"unknown ({raw[0]})")
        touch = TOUCH_POLICIES.get(raw[1], f"unknown ({raw[1]})")
    form = None
    fips = False
    if PIV_FORM_FACTOR in ext:
        raw = ext[PIV_FORM_FACTOR]
        if len(raw) != 1:
            raise ExtensionError("form factor (.3.9): not 1 byte")
        fips = bool(raw[0] & 0x80)
        code = raw[0] & 0x7F
        form = FORM_FACTORS.get(code, "not specified" if code == 0 else f"unknown ({code})")
    return PivClaims(firmware, serial, pin, touch, form, fips)


def hsm_claims(cert: x509.Certificate) -> HsmClaims:
    ext = yubico_extensions(cert)
    firmware = None
    if HSM_FIRMWARE in ext:
        inner = der_octet_string(ext[HSM_FIRMWARE], "firmware (.4.1)")
        if len(inner) != 3:
            raise ExtensionError("firmware (.4.1): not 3 bytes")
        firmware = ".".join(str(b) for b in inner)
    serial = der_integer(ext[HSM_SERIAL], "serial (.4.2)") if HSM_SERIAL in ext else None
    origin = der_bit_string(ext[HSM_ORIGIN], "origin (.4.3)") if HSM_ORIGIN in ext else None
    domains: list[int] = []
    if HSM_DOMAINS in ext:
        bits = der_bit_string(ext[HSM_DOMAINS], "domains (.4.4)")
        domains = [i + 1 for i in range(16) if bits >> i & 1]
    caps = der_bit_string(ext[HSM_CAPABILITIES], "capabilities (.4.5)") if HSM_CAPABILITIES in ext else None
    object_id = der_integer(ext[HSM_OBJECT_ID], "object id (.4.6)") if HSM_OBJECT_ID in ext else None
    label = der_utf8(ext[HSM_LABEL], "label (.4.9)") if HSM_LABEL in ext else None
    return HsmClaims(firmware, serial, origin, domains, caps, object_id, label)


def kind_of(cert: x509.Certificate) -> str | None:
    """ "yubihsm2", "yubikey-piv" or None, from the extensions a key
    attestation carries (not from names)."""
    ext = yubico_extensions(cert)
    if HSM_OBJECT_ID in ext or HSM_ORIGIN in ext or HSM_CAPABILITIES in ext:
        return "yubihsm2"
    if PIV_POLICY in ext or PIV_SERIAL in ext:
        return "yubikey-piv"
    return None
