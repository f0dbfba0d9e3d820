"""Offline verification of a Yubico key attestation.

The policy (docs/hardware.md, "Attestation policy"):

1. The *key attestation* is the given certificate whose public key is, byte
   for byte (DER SubjectPublicKeyInfo), the key being checked, and which
   carries Yubico's attestation extensions (YubiKey PIV ``.3.x`` or YubiHSM 2
   ``.4.x``).
2. It must be signed by a *device certificate* among the given files
   (YubiKey slot f9, YubiHSM opaque object 0). Issuers are chosen by
   signature: a name match alone never links two certificates (every f9
   certificate has the same name).
3. Above the device certificate the chain has a fixed shape per Yubico PKI,
   and every certificate there is a bundled (pinned) one, except a YubiHSM
   Sub-CA, which must be signed by the YubiHSM Root CA:

   * YubiKey PIV: f9 <- PIV Root CA 263751 (or U2F Root CA 457200631), or
     f9 <- PIV Attestation A/B 1 <- Attestation Intermediate A/B 1 <- Root 1;
   * YubiHSM 2: device <- Sub-CA <- YubiHSM Root CA.

   The device certificate must not itself be a key attestation (a PIV f9
   states the firmware .3.3 and no policy .3.8; a YubiHSM device
   certificate no object id, origin or capabilities), and the U2F root,
   which mostly signs FIDO batch attestation certificates, counts only
   directly above a certificate it named ``CN=Yubico PIV Attestation``.

   Each link is checked with ``verify_directly_issued_by`` (issuer name and
   signature). X.509 CA flags and path lengths are *not* checked: genuine
   Yubico f9 certificates lack basicConstraints and the U2F root has
   pathLen 0. The fixed shape is what stops a keyholder's own attested key
   (which they can sign anything with) from acting as a CA.
4. Every certificate of the chain, the root included, is valid at the time
   of the check.
5. YubiHSM 2: the key was generated on the device (origin exactly 0x01: not
   imported, not imported under wrap) and lacks exportable-under-wrap; the
   device certificate and the key attestation state the same serial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509

from tuf_ceremony.attestation.certs import SourcedCert, key_digest
from tuf_ceremony.attestation.roots import TrustedCert, TrustStore, fingerprint
from tuf_ceremony.attestation.yubico import (
    ExtensionError,
    HsmClaims,
    PivClaims,
    hsm_claims,
    kind_of,
)
from tuf_ceremony.attestation.yubico import piv_claims as _piv_claims
from tuf_ceremony.errors import VerificationError
from tuf_ceremony.text import safe
from tuf_ceremony.timeutil import fmt_time

KIND_NAMES = {"yubihsm2": "YubiHSM 2", "yubikey-piv": "YubiKey PIV"}
MAX_LEVEL = 4


@dataclass
class ChainLink:
    subject: str
    fingerprint: str
    source: str  # a file, or "bundled" / "--roots"
    not_before: str
    not_after: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "not_before": self.not_before,
            "not_after": self.not_after,
        }


@dataclass
class Attestation:
    """A verified attestation: what the certificates assert about the key."""

    kind: str  # "yubihsm2" or "yubikey-piv"
    key_sha256: str
    chain: list[ChainLink]
    root: TrustedCert
    piv: PivClaims | None = None
    hsm: HsmClaims | None = None
    slot: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def serial(self) -> int | None:
        claims = self.hsm or self.piv
        return claims.serial if claims else None

    @property
    def firmware(self) -> str | None:
        claims = self.hsm or self.piv
        return claims.firmware if claims else None

    def summary(self) -> str:
        """One line for the keyholder's screen."""
        serial = f"serial {self.serial}" if self.serial is not None else "serial not stated"
        if self.hsm is not None:
            exp = "exportable" if self.hsm.exportable else "not exportable"
            gen = "generated on device" if self.hsm.generated else self.hsm.origin_text()
            return f"YubiHSM 2 {serial}, {gen}, {exp}"
        head = f"YubiKey {serial}" + (f" slot {self.slot}" if self.slot else "")
        parts = [head, "generated on device"]
        if self.piv is not None and self.piv.pin_policy:
            parts.append(f"PIN {self.piv.pin_policy}")
        if self.piv is not None and self.piv.touch_policy:
            parts.append(f"touch {self.piv.touch_policy}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        claims = self.hsm or self.piv
        return {
            "valid": True,
            "kind": self.kind,
            "device": KIND_NAMES[self.kind],
            "summary": self.summary(),
            "key_sha256": self.key_sha256,
            "serial": self.serial,
            "firmware": self.firmware,
            "slot": self.slot,
            "claims": claims.to_dict() if claims is not None else {},
            "root": self.root.to_dict(),
            "chain": [c.to_dict() for c in self.chain],
            "warnings": self.warnings,
        }


def _refuse(message: str, source: str | None = None) -> VerificationError:
    return VerificationError(message, source=source)


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name and signature, nothing else (see the module docstring)."""
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - cryptography's InvalidSignature and friends
        return False
    return True


def _name(cert: x509.Certificate) -> str:
    return safe(cert.subject.rfc4514_string(), 120)


def _quoted(cert: x509.Certificate) -> str:
    return f"'{_name(cert)}'"


def _link(cert: x509.Certificate, source: str) -> ChainLink:
    return ChainLink(
        _name(cert), fingerprint(cert), source, fmt_time(cert.not_valid_before_utc), fmt_time(cert.not_valid_after_utc)
    )


@dataclass
class _Upper:
    """A path from the device certificate's issuer up to a root."""

    certs: list[tuple[x509.Certificate, str]]
    root: TrustedCert


def _climb(
    child: x509.Certificate, level: int, profile: str, store: TrustStore, given: list[SourcedCert], failures: list[str]
) -> _Upper | None:
    """Find issuers of ``child`` (which sits at ``level - 1``) up to a root."""
    if level > MAX_LEVEL:
        return None
    candidates: list[tuple[x509.Certificate, str, TrustedCert | None]] = [
        (t.cert, "bundled" if t.sha256 else "--roots", t) for t in store.at(profile, level)
    ]
    if profile == "yubihsm2" and level == 2:
        # a YubiHSM Sub-CA may come with the files; the root must sign it
        candidates += [(g.cert, g.source, None) for g in given]
    for cert, source, trusted in candidates:
        if not _issued_by(child, cert):
            if cert.subject == child.issuer:
                failures.append(
                    f"{_quoted(child)} names {_quoted(cert)} ({source}) as its issuer, but the "
                    "signature does not verify with that certificate's key"
                )
            continue
        if trusted is not None and trusted.role == "root":
            return _Upper([(cert, source)], trusted)
        up = _climb(cert, level + 1, profile, store, given, failures)
        if up is not None:
            return _Upper([(cert, source), *up.certs], up.root)
    return None


def _chain_failure(
    device: SourcedCert, given: list[SourcedCert], store: TrustStore, failures: list[str], profile: str
) -> VerificationError:
    issuer = device.cert.issuer
    if failures:
        return _refuse(f"{failures[0]}: not a genuine Yubico chain", device.source)
    for g in given:
        if g.cert.subject == issuer and _issued_by(g.cert, g.cert):
            return _refuse(
                f"the chain ends at the self-signed {_quoted(g.cert)} from {safe(g.source)} "
                f"(SHA-256 {fingerprint(g.cert)[:16]}...), which is not a bundled Yubico root "
                "(names prove nothing: a root is known by its key)",
                device.source,
            )
    roots = ", ".join(sorted({_name(t.cert) for t in store.roots() if t.profile in (None, profile)}))
    return _refuse(
        f"device certificate {_quoted(device.cert)} is issued by "
        f"'{safe(issuer.rfc4514_string(), 120)}', which does not lead to a trusted "
        f"{KIND_NAMES[profile]} root ({roots or 'none loaded'})",
        device.source,
    )


def _check_validity(chain: list[tuple[x509.Certificate, str]], at: datetime) -> None:
    for cert, source in chain:
        if at < cert.not_valid_before_utc:
            raise _refuse(
                f"certificate {_quoted(cert)} is not valid before "
                f"{fmt_time(cert.not_valid_before_utc)} (checked at {fmt_time(at)})",
                source,
            )
        if at > cert.not_valid_after_utc:
            raise _refuse(
                f"certificate {_quoted(cert)} expired on "
                f"{fmt_time(cert.not_valid_after_utc)} (checked at {fmt_time(at)})",
                source,
            )


_SLOT = re.compile(r"^YubiKey PIV Attestation ([0-9a-f]{2})$")


def _slot_of(cert: x509.Certificate) -> str | None:
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if len(cns) != 1 or not isinstance(cns[0].value, str):
        return None
    m = _SLOT.match(cns[0].value)
    return m.group(1) if m else None


def verify_attestation(public_der: bytes, certs: list[SourcedCert], store: TrustStore, at: datetime) -> Attestation:
    """Verify that ``certs`` attest the key ``public_der`` (DER SPKI).

    Raises :class:`VerificationError` naming the file and the reason."""
    want = key_digest(public_der)
    leaves = [c for c in certs if c.spki() == public_der]
    if not leaves:
        others = [c for c in certs if kind_of(c.cert) is not None and _slot_or_object(c.cert)]
        if others:
            o = others[0]
            got = o.spki()
            raise _refuse(
                f"attests another key: {_quoted(o.cert)} certifies the key with SHA-256 "
                f"{key_digest(got)[:16] if got else '?'}..., the public key has SHA-256 "
                f"{want[:16]}...",
                o.source,
            )
        names = ", ".join(sorted({safe(c.source) for c in certs})) or "no files"
        raise _refuse(f"no certificate certifies this public key (SHA-256 {want[:16]}...) in {names}")
    error: VerificationError | None = None
    for leaf in leaves:
        try:
            return _verify_leaf(leaf, public_der, certs, store, at)
        except VerificationError as e:
            error = error or e
    assert error is not None
    raise error


# Yubico U2F Root CA Serial 457200631: it signed the f9 certificates of some
# YubiKey 4 devices (2017-2018), but above all the FIDO/U2F batch attestation
# certificates of millions of keys; it is trusted only directly above a
# certificate it issued as a PIV f9 certificate (docs/hardware.md, policy 3).
F9_ONLY_ROOTS = {"0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42"}
F9_NAME = "Yubico PIV Attestation"


def _is_piv_f9(cert: x509.Certificate) -> bool:
    """The subject Yubico gives a PIV f9 certificate (meaningful only in a
    certificate whose signature by a pinned Yubico root was verified)."""
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return (
        len(cert.subject) == 1 and len(cns) == 1 and cns[0].value == F9_NAME and not _not_a_device(cert, "yubikey-piv")
    )


def _not_a_device(cert: x509.Certificate, kind: str) -> str | None:
    """Why ``cert`` cannot be a device certificate (YubiKey f9, YubiHSM
    opaque object 0), or None. A key attestation is never one: its key is a
    keyholder's key, which signs whatever its holder wants."""
    from tuf_ceremony.attestation.yubico import HSM_ORIGIN, PIV_FIRMWARE, yubico_extensions

    ext = yubico_extensions(cert)
    if _slot_or_object(cert) or HSM_ORIGIN in ext:
        return "it is itself a key attestation"
    if kind == "yubikey-piv" and PIV_FIRMWARE not in ext:
        return "a YubiKey f9 certificate states the firmware (.3.3)"
    return None


def _slot_or_object(cert: x509.Certificate) -> bool:
    """A key attestation (not a device certificate): it states a policy
    (PIV) or an object id (YubiHSM)."""
    from tuf_ceremony.attestation.yubico import HSM_OBJECT_ID, PIV_POLICY, yubico_extensions

    ext = yubico_extensions(cert)
    return PIV_POLICY in ext or HSM_OBJECT_ID in ext


def _verify_leaf(
    leaf: SourcedCert, public_der: bytes, certs: list[SourcedCert], store: TrustStore, at: datetime
) -> Attestation:
    kind = kind_of(leaf.cert)
    if kind is None or not _slot_or_object(leaf.cert):
        raise _refuse(
            f"{_quoted(leaf.cert)} holds the key but is not a Yubico key attestation "
            "(no YubiKey PIV .3.8 or YubiHSM .4.6 extension)",
            leaf.source,
        )
    others = [c for c in certs if c.der != leaf.der]
    devices = [c for c in others if _issued_by(leaf.cert, c.cert)]
    misfits = [(d, why) for d in devices if (why := _not_a_device(d.cert, kind)) is not None]
    devices = [d for d in devices if _not_a_device(d.cert, kind) is None]
    if misfits and not devices:
        d, why = misfits[0]
        raise _refuse(
            f"{_quoted(leaf.cert)} is signed by {_quoted(d.cert)} from "
            f"{safe(d.source)}, which is not a device certificate ({why}): only "
            "the device's attestation key may attest a key",
            leaf.source,
        )
    if not devices:
        named = [c for c in others if c.cert.subject == leaf.cert.issuer]
        if named:
            raise _refuse(
                f"{_quoted(leaf.cert)} is not signed by the device certificate given "
                f"({safe(named[0].source)}): the signature does not verify (the certificate of "
                "another device, or a forgery)",
                leaf.source,
            )
        what = "slot f9" if kind == "yubikey-piv" else "opaque object 0"
        raise _refuse(
            f"the device certificate that signed {_quoted(leaf.cert)} is missing: give the "
            f"'{safe(leaf.cert.issuer.rfc4514_string(), 120)}' certificate ({what}) too",
            leaf.source,
        )
    error: VerificationError | None = None
    for device in devices:
        failures: list[str] = []
        rest = [c for c in others if c.der != device.der]
        upper = _climb(device.cert, 2, kind, store, rest, failures)
        if upper is None:
            error = error or _chain_failure(device, rest, store, failures, kind)
            continue
        if upper.root.fingerprint in F9_ONLY_ROOTS and not _is_piv_f9(device.cert):
            error = error or _refuse(
                f"{_quoted(device.cert)} is signed by {_name(upper.root.cert)}, which is "
                "trusted only directly above a YubiKey f9 certificate "
                f"(CN={F9_NAME}): that root also signs FIDO/U2F attestation "
                "certificates, whose keys do not attest PIV keys",
                device.source,
            )
            continue
        chain = [(leaf.cert, leaf.source), (device.cert, device.source), *upper.certs]
        _check_validity(chain, at)
        return _claims(kind, leaf, device, chain, upper.root, public_der)
    assert error is not None
    raise error


def _claims(
    kind: str,
    leaf: SourcedCert,
    device: SourcedCert,
    chain: list[tuple[x509.Certificate, str]],
    root: TrustedCert,
    public_der: bytes,
) -> Attestation:
    links = [_link(c, s) for c, s in chain]
    result = Attestation(kind, key_digest(public_der), links, root)
    try:
        if kind == "yubihsm2":
            claims = hsm_claims(leaf.cert)
            device_serial = hsm_claims(device.cert).serial
        else:
            piv = _piv_claims(leaf.cert)
    except ExtensionError as e:
        raise _refuse(f"{_quoted(leaf.cert)}: {e}", leaf.source) from None
    if kind == "yubihsm2":
        result.hsm = claims
        if claims.serial is not None and device_serial is not None and claims.serial != device_serial:
            raise _refuse(
                f"the key attestation states serial {claims.serial} but its device certificate states {device_serial}",
                leaf.source,
            )
        if claims.origin is None:
            raise _refuse(
                "the attestation does not state the key's origin (.4.3): "
                "cannot tell whether it was generated on the device",
                leaf.source,
            )
        if not claims.generated:
            raise _refuse(
                f"the key was not generated on the YubiHSM 2: origin "
                f"{claims.origin_text()}; a key that existed outside the device "
                "may have copies",
                leaf.source,
            )
        if claims.capabilities is None:
            raise _refuse("the attestation does not state the key's capabilities (.4.5)", leaf.source)
        if claims.exportable:
            raise _refuse(
                "the key has the exportable-under-wrap capability: it can leave the "
                "YubiHSM 2 (wrapped), so it is not bound to this device",
                leaf.source,
            )
        return result
    result.piv = piv
    result.slot = _slot_of(leaf.cert)
    if piv.serial is None:
        result.warnings.append("the attestation states no device serial (.3.7)")
    if piv.pin_policy == "never":
        result.warnings.append("PIN policy 'never': the key signs without a PIN")
    if piv.touch_policy == "never":
        result.warnings.append("touch policy 'never': the key signs without a touch")
    return result
