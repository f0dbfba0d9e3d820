"""Signing requests: the exact unsigned metadata a ceremony signs.

Format ``tuf-ceremony/signing-request`` version 1 (docs/formats.md)::

    {
      "format": "tuf-ceremony/signing-request",
      "format_version": 1,
      "request_id": "<sha256 hex of the canonical JSON of this document without request_id>",
      "created": "2026-11-21T18:00:00Z",
      "ceremony": "pypi-2026",
      "keys": {"<keyid>": {"name": "alice", "key": {<TUF key>}}, ...},
      "trusted": {"root": <signed root metadata> | null, "targets": <metadata> | null},
      "payloads": [{"role": "root", "version": 1, "digest": "<sha256 hex>",
                    "signed": {<the signed part>}}, ...],
      "online": {"snapshot": {"expires": "1d"}, "timestamp": {"expires": "1d"}}
    }

``digest`` is the SHA-256 of the canonical JSON of ``signed``: the exact bytes
every signature covers. Loading recomputes every digest and the request id.

Anyone can recompute digests and the id, so they only catch accidents. A
request is untrusted input (docs/threat-model.md); loading also enforces
every rule of :mod:`tuf_ceremony.wellformed` on each payload, checks the
trusted root against its own threshold and the trusted targets against the
trusted root, and binds key names to key material. Pinning the trusted root
to the keyholder's own copy is :mod:`tuf_ceremony.anchor`.
"""

from __future__ import annotations

import copy
import hashlib
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Root, Signed, Targets

from tuf_ceremony.envelope import check_envelope
from tuf_ceremony.errors import FormatError
from tuf_ceremony.files import dump_json, load_json
from tuf_ceremony.keys import canonical_bytes, keyid_of
from tuf_ceremony.policy import check_delegate, key_material
from tuf_ceremony.wellformed import (
    check_key,
    check_payload,
    check_structure,
    check_version,
    round_trip,
)

REQUEST_FORMAT = "tuf-ceremony/signing-request"
REQUEST_FORMAT_VERSION = 1
SIGNABLE_ROLES = ("root", "targets")
#: Longest key name or ceremony name a request may carry (characters).
MAX_NAME = 200
#: Largest signing request file read (bytes).
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Payload:
    """One metadata document to be signed."""

    role: str
    metadata: Metadata[Any]

    @property
    def version(self) -> int:
        return int(self.metadata.signed.version)

    @cached_property
    def signed_bytes(self) -> bytes:
        """The canonical JSON of ``signed``: python-tuf's ``signed_bytes``,
        byte for byte (tuf_ceremony.canonical, proven equal to
        securesystemslib's encoder)."""
        return canonical_bytes(self.metadata.signed.to_dict())

    @cached_property
    def digest(self) -> str:
        return sha256_hex(self.signed_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "version": self.version,
            "digest": self.digest,
            "signed": self.metadata.signed.to_dict(),
        }


@dataclass(frozen=True)
class TrustAnchor:
    """What the trusted root of a request is anchored to, for the screen.

    ``status``: ``"pinned"`` (equal to the keyholder's own copy),
    ``"chained"`` (one version after the keyholder's copy, checked against
    it), ``"not pinned"`` (no copy given: compare ``digest`` with the
    published record) or ``"first root"`` (the request has no trusted root:
    a new repository). ``digest`` is the SHA-256 hex of the trusted root's
    canonical signed bytes.
    """

    status: str
    version: int | None
    digest: str | None
    pinned_source: str | None = None
    pinned_version: int | None = None

    @property
    def pinned(self) -> bool:
        return self.status in ("pinned", "chained")

    @property
    def words(self) -> list[str]:
        from tuf_ceremony.words import digest_words

        return digest_words(self.digest) if self.digest else []

    def describe(self) -> str:
        """One plain line (no untrusted text but the pinned file name)."""
        if self.status == "first root":
            return (
                "FIRST ROOT: this request has no trusted root; it starts a new "
                "repository. Nothing it shows is compared with a published root."
            )
        head = f"trusted root version {self.version}, SHA-256 {self.digest}"
        if self.status == "not pinned":
            return f"{head}: NOT PINNED (no --trusted given); compare this digest with the published record"
        if self.status == "chained":
            return (
                f"{head}: follows your trusted root version {self.pinned_version} "
                f"({self.pinned_source}), checked against it"
            )
        return f"{head}: pinned, equal to your copy ({self.pinned_source})"


@dataclass
class SigningRequest:
    """A parsed, integrity-checked signing request."""

    ceremony: str
    created: str
    payloads: list[Payload]
    key_names: dict[str, str] = field(default_factory=dict)
    names_keys: dict[str, Key] = field(default_factory=dict)
    trusted_root: Metadata[Root] | None = None
    trusted_targets: Metadata[Targets] | None = None
    online: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = "<request>"
    pinned: TrustAnchor | None = None  # set by anchor.pin_request
    # keyid -> attestation certificates (DER); untrusted: sign re-verifies them
    # (tuf_ceremony.attestation.evidence). Omitted from the document when empty.
    attestations: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def anchor(self) -> TrustAnchor:
        """The trust anchor: pinned when :func:`anchor.pin_request` ran."""
        if self.pinned is not None:
            return self.pinned
        if self.trusted_root is None:
            return TrustAnchor("first root", None, None)
        return TrustAnchor(
            "not pinned", int(self.trusted_root.signed.version), sha256_hex(self.trusted_root.signed_bytes)
        )

    @property
    def legacy_trusted_keyids(self) -> list[str]:
        """Keyids of the trusted metadata that are not the SHA-256 of their
        key (legacy encodings, e.g. older Sigstore roots): reported, and
        compared by key material only."""
        out: list[str] = []
        for md in (self.trusted_root, self.trusted_targets):
            if md is None:
                continue
            keys = (
                dict(md.signed.keys)
                if isinstance(md.signed, Root)
                else (dict(md.signed.delegations.keys) if md.signed.delegations else {})
            )
            out += [k for k, key in keys.items() if keyid_of(key.to_dict()) != k]
        return sorted(set(out))

    def payload(self, role: str) -> Payload | None:
        for p in self.payloads:
            if p.role == role:
                return p
        return None

    @property
    def new_root(self) -> Root:
        """The root that authorizes targets: the new one, else the trusted one."""
        p = self.payload("root")
        if p is not None:
            root: Root = p.metadata.signed
            return root
        if self.trusted_root is None:
            raise FormatError("has neither a root payload nor a trusted root", source=self.source)
        return self.trusted_root.signed

    def name_of(self, keyid: str) -> str | None:
        """The name of the key under ``keyid``, found by its key material: a
        key listed under another keyid (a legacy keyid in the trusted root,
        custom fields) has the name of the same public key."""
        name = self.key_names.get(keyid)
        if name is not None:
            return name
        key = self._all_keys().get(keyid)
        if key is None:
            return None
        return self._names_by_material.get(key_material(key) or b"")

    def label(self, keyid: str) -> str:
        name = self.name_of(keyid)
        return f"{name} ({keyid[:12]})" if name else keyid[:12]

    def _all_keys(self) -> dict[str, Key]:
        """Every key of the payloads and the trusted metadata, by keyid."""
        out: dict[str, Key] = {}
        for md in [p.metadata for p in self.payloads] + [self.trusted_root, self.trusted_targets]:
            if md is None:
                continue
            signed = md.signed
            if isinstance(signed, Root):
                keys = signed.keys
            else:
                keys = signed.delegations.keys if signed.delegations else {}
            for kid, key in keys.items():
                out.setdefault(kid, key)
        return out

    @cached_property
    def _names_by_material(self) -> dict[bytes, str]:
        out: dict[bytes, str] = {}
        for kid, name in sorted(self.key_names.items()):
            material = key_material(self.names_keys[kid]) if kid in self.names_keys else None
            if material is not None:
                out.setdefault(material, name)
        return out

    def body(self) -> dict[str, Any]:
        keys = {
            kid: {"name": self.key_names[kid], "key": self.names_keys[kid].to_dict()} for kid in sorted(self.names_keys)
        }
        return {
            "format": REQUEST_FORMAT,
            "format_version": REQUEST_FORMAT_VERSION,
            "created": self.created,
            "ceremony": self.ceremony,
            "keys": keys,
            "trusted": {
                "root": self.trusted_root.to_dict() if self.trusted_root else None,
                "targets": self.trusted_targets.to_dict() if self.trusted_targets else None,
            },
            "payloads": [p.to_dict() for p in self.payloads],
            "online": self.online,
            **self._attestations_body(),
        }

    def _attestations_body(self) -> dict[str, Any]:
        if not self.attestations:
            return {}
        from tuf_ceremony.attestation.evidence import encode_request_field

        return {"attestations": encode_request_field(self.attestations)}

    @cached_property
    def request_id(self) -> str:
        return sha256_hex(canonical_bytes(self.body()))

    def to_bytes(self) -> bytes:
        doc = self.body()
        doc["request_id"] = self.request_id
        return dump_json(doc)


def _req(cond: bool, source: str, message: str) -> None:
    if not cond:
        raise FormatError(message, source=source)


def _metadata_from_dict(obj: Any, source: str, entry: str, expected: str) -> Metadata[Any]:
    _req(isinstance(obj, dict), source, f"{entry}: must be an object")
    try:
        md = Metadata.from_dict(copy.deepcopy(dict(obj)))
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(
            f"{entry}: not valid TUF metadata ({type(e).__name__}: {_short(str(e))})", source=source
        ) from None
    _req(md.signed.type == expected, source, f"{entry}: is {md.signed.type}, expected {expected}")
    round_trip(md, source, entry)
    check_version(md.signed.version, source, entry)
    check_structure(md, source, entry)
    return md


def _short(text: str, limit: int = 120) -> str:
    """Untrusted text inside an error message: one line, cut."""
    from tuf_ceremony.text import safe

    return safe(text, limit)


_REQUEST_FIELDS = frozenset(
    {
        "format",
        "format_version",
        "request_id",
        "created",
        "ceremony",
        "keys",
        "trusted",
        "payloads",
        "online",
        "attestations",
    }
)


def _check_envelope(doc: Any, source: str) -> None:
    """Format, version, no unknown field, the string fields."""
    check_envelope(
        doc,
        source,
        what="signing request",
        fmt=REQUEST_FORMAT,
        version=REQUEST_FORMAT_VERSION,
        fields=_REQUEST_FIELDS,
    )
    for fld in ("request_id", "created", "ceremony"):
        _req(isinstance(doc.get(fld), str), source, f"{fld}: missing or not a string")
        _req(0 < len(doc[fld]) <= MAX_NAME, source, f"{fld}: empty or longer than {MAX_NAME} characters")


def _parse_trusted(trusted: Any, source: str) -> tuple[Metadata[Any] | None, Metadata[Any] | None]:
    """The request's ``trusted``: its root and targets, each optional."""
    _req(
        isinstance(trusted, dict) and set(trusted) <= {"root", "targets"},
        source,
        "trusted: must be an object with root and targets",
    )
    trusted_root = None
    trusted_targets = None
    if trusted.get("root") is not None:
        trusted_root = _metadata_from_dict(trusted["root"], source, "trusted.root", "root")
    if trusted.get("targets") is not None:
        trusted_targets = _metadata_from_dict(trusted["targets"], source, "trusted.targets", "targets")
    return trusted_root, trusted_targets


def _parse_online(online: Any, source: str) -> dict[str, Any]:
    _req(isinstance(online, dict), source, "online: must be an object")
    for role, entry in online.items():
        _req(
            role in ("snapshot", "timestamp")
            and isinstance(entry, dict)
            and set(entry) == {"expires"}
            and isinstance(entry["expires"], str)
            and len(entry["expires"]) <= 64,
            source,
            'online: must map snapshot / timestamp to {"expires": "<duration or time>"}',
        )
    return dict(online)


def parse_request(doc: Any, source: str) -> SigningRequest:
    """Validate a request document; raises FormatError naming ``source``."""
    _check_envelope(doc, source)
    key_names, names_keys = _parse_keys(doc.get("keys"), source)
    trusted_root, trusted_targets = _parse_trusted(doc.get("trusted"), source)
    payloads = _parse_payloads(doc.get("payloads"), source)
    online = _parse_online(doc.get("online", {}), source)
    req = SigningRequest(
        ceremony=doc["ceremony"],
        created=doc["created"],
        payloads=payloads,
        key_names=key_names,
        names_keys=names_keys,
        trusted_root=trusted_root,
        trusted_targets=trusted_targets,
        online=online,
        source=source,
    )
    if "attestations" in doc:
        from tuf_ceremony.attestation.evidence import parse_request_field

        req.attestations = parse_request_field(doc["attestations"], source, set(names_keys))
    _req(req.request_id == doc["request_id"], source, "request_id does not match the content (tampered or corrupted)")
    _check_consistency(req)
    _check_names(req)
    return req


def _parse_keys(raw_keys: Any, source: str) -> tuple[dict[str, str], dict[str, Key]]:
    """The request's ``keys``: keyid -> name and keyid -> key, each keyid checked."""
    _req(isinstance(raw_keys, dict), source, "keys: missing or not an object")
    key_names: dict[str, str] = {}
    names_keys: dict[str, Key] = {}
    for kid, entry in raw_keys.items():
        _req(
            isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("key"), dict),
            source,
            f"keys.{_short(kid[:16])}: must hold a name and a key",
        )
        _req(set(entry) == {"name", "key"}, source, f"keys.{_short(kid[:16])}: unknown field")
        _req(keyid_of(entry["key"]) == kid, source, f"keys.{_short(kid[:16])}: keyid does not match its key")
        try:
            names_keys[kid] = Key.from_dict(kid, dict(entry["key"]))
        except Exception:  # noqa: BLE001 - securesystemslib raises several types
            raise FormatError(f"keys.{kid[:16]}: not a TUF key", source=source) from None
        check_key(kid, names_keys[kid], source, "keys")
        _req(
            bool(entry["name"]) and len(entry["name"]) <= MAX_NAME,
            source,
            f"keys.{kid[:16]}: name is empty or longer than {MAX_NAME} characters",
        )
        key_names[kid] = entry["name"]
    return key_names, names_keys


def _parse_payloads(raw_payloads: Any, source: str) -> list[Payload]:
    """The request's ``payloads``: one per signable role, each digest checked."""
    _req(isinstance(raw_payloads, list) and bool(raw_payloads), source, "payloads: missing or empty")
    payloads: list[Payload] = []
    for i, raw in enumerate(raw_payloads):
        entry_name = f"payloads[{i}]"
        _req(
            isinstance(raw, dict) and set(raw) == {"role", "version", "digest", "signed"},
            source,
            f"{entry_name}: must hold exactly role, version, digest and signed",
        )
        role = raw["role"]
        _req(role in SIGNABLE_ROLES, source, f"{entry_name}: role {_short(repr(role), 40)} is not root or targets")
        _req(all(p.role != role for p in payloads), source, f"{entry_name}: role {role} twice")
        md = _metadata_from_dict({"signed": raw["signed"], "signatures": []}, source, entry_name, role)
        check_payload(md, source, entry_name, read_back=False)  # read back just above
        payload = Payload(role, md)
        _req(
            type(raw["version"]) is int and raw["version"] == payload.version,
            source,
            f"{entry_name}: version {_short(repr(raw['version']), 30)} differs from signed.version",
        )
        _req(
            raw["digest"] == payload.digest,
            source,
            f"{entry_name}: digest does not match the signed content (tampered or corrupted)",
        )
        payloads.append(payload)
    return payloads


def bind_names(names: dict[str, str], keys: dict[str, Key]) -> dict[str, str]:
    """Names a request can carry (see :func:`_check_names`): one name per
    public key, one public key per name. A name several keys share becomes
    ``name-<keyid prefix>`` for each of them (no key keeps the bare name: it
    would be ambiguous), and so do names that look alike (:func:`name_look`);
    a key known under several keyids keeps the name of its first keyid. Keyids
    without a key are dropped."""
    by_material: dict[bytes, str] = {}
    chosen: dict[str, str] = {}
    for kid in sorted(names):
        if kid not in keys:
            continue
        material = key_material(keys[kid])
        if material is None:
            continue
        chosen[kid] = by_material.setdefault(material, names[kid])
    holders: dict[str, set[bytes]] = {}  # by what the name looks like (name_look)
    for kid, name in chosen.items():
        material = key_material(keys[kid])
        assert material is not None
        holders.setdefault(name_look(name), set()).add(material)
    first_kid: dict[bytes, str] = {}
    for kid in sorted(chosen):
        material = key_material(keys[kid])
        assert material is not None
        first_kid.setdefault(material, kid)
    out: dict[str, str] = {}
    for kid, name in chosen.items():
        if len(holders[name_look(name)]) > 1:
            material = key_material(keys[kid])
            assert material is not None
            name = f"{name}-{first_kid[material][:8]}"
        out[kid] = name
    return out


#: Scripts whose letters look alike (Latin "a", Cyrillic "\u0430", Greek
#: "\u03bf"...): a name mixing them is a look-alike of another name.
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})


def name_look(name: str) -> str:
    """What a name looks like on screen: NFKC-normalized and case-folded
    (``Alice``, ``alice`` and fullwidth ``\uff41lice`` look alike)."""
    return unicodedata.normalize("NFKC", name).casefold()


def mixed_script_reason(name: str) -> str | None:
    """Why ``name`` mixes look-alike scripts, or None."""
    scripts = sorted(
        {(unicodedata.name(ch, "") or "?").split()[0] for ch in name if ch.isalpha()} & _CONFUSABLE_SCRIPTS
    )
    if len(scripts) > 1:
        return f"mixes {' and '.join(s.title() for s in scripts)} letters (a look-alike name)"
    return None


def _check_names(req: SigningRequest) -> None:
    """Names are bound to key material: every named key is a key of a payload
    or of the trusted metadata (the same key dict under that keyid), one name
    is one public key, and one public key has one name. Two keys' names
    never look alike (case, compatibility forms, mixed scripts)."""
    known = {kid: key.to_dict() for kid, key in req._all_keys().items()}
    by_name: dict[str, bytes] = {}
    by_material: dict[bytes, str] = {}
    by_look: dict[str, tuple[str, bytes]] = {}
    for kid, name in sorted(req.key_names.items()):
        where = f"keys.{kid[:16]}"
        _req(
            known.get(kid) == req.names_keys[kid].to_dict(),
            req.source,
            f"{where}: names a key that is in no payload and no trusted metadata",
        )
        material = key_material(req.names_keys[kid])
        assert material is not None  # check_key ran
        _req(
            by_name.get(name, material) == material,
            req.source,
            f"{where}: the name {_short(name, 40)!r} is given to two different keys",
        )
        reason = mixed_script_reason(name)
        _req(reason is None, req.source, f"{where}: the name {_short(name, 40)!r} {reason}")
        other, other_material = by_look.setdefault(name_look(name), (name, material))
        _req(
            other_material == material,
            req.source,
            f"{where}: the name {_short(name, 40)!r} looks like {_short(other, 40)!r}, the name of another key",
        )
        _req(
            by_material.get(material, name) == name,
            req.source,
            f"{where}: one public key has two names ({_short(by_material.get(material, ''), 40)!r} "
            f"and {_short(name, 40)!r})",
        )
        by_name[name] = material
        by_material[material] = name


def _check_consistency(req: SigningRequest) -> None:
    """Structural rules every request obeys, whoever wrote it."""
    source = req.source
    root_p = req.payload("root")
    if req.trusted_root is not None:
        tr: Root = req.trusted_root.signed
        result = check_delegate(tr, "root", req.trusted_root.signed_bytes, req.trusted_root.signatures)
        _req(
            result.met,
            source,
            f"trusted.root: not signed by its own threshold ({len(result.signed)} of {result.threshold} distinct keys)",
        )
        try:  # second check: python-tuf counts keyids
            tr.verify_delegate("root", req.trusted_root.signed_bytes, req.trusted_root.signatures)
        except Exception:  # noqa: BLE001 - any failure means: not a trusted root
            raise FormatError("trusted.root: python-tuf does not accept its signatures", source=source) from None
        if root_p is not None:
            _req(
                root_p.version == tr.version + 1,
                source,
                f"root payload is version {root_p.version}, but the trusted root is "
                f"version {tr.version}: only version {tr.version + 1} can follow",
            )
    elif root_p is not None:
        _req(
            root_p.version == 1, source, f"root payload is version {root_p.version} but the request has no trusted root"
        )
    targets_p = req.payload("targets")
    if req.trusted_targets is not None:
        _req(req.trusted_root is not None, source, "trusted.targets: given without a trusted root to check it")
        assert req.trusted_root is not None
        result = check_delegate(
            req.trusted_root.signed, "targets", req.trusted_targets.signed_bytes, req.trusted_targets.signatures
        )
        _req(
            result.met,
            source,
            f"trusted.targets: not signed by the trusted root's targets keys "
            f"({len(result.signed)} of {result.threshold} distinct keys): forged or stale",
        )
    if targets_p is not None and req.trusted_targets is not None:
        tt: Signed = req.trusted_targets.signed
        _req(
            targets_p.version == tt.version + 1,
            source,
            f"targets payload is version {targets_p.version}, trusted targets is {tt.version}",
        )
    elif targets_p is not None:
        _req(
            targets_p.version == 1,
            source,
            f"targets payload is version {targets_p.version} but the request has no trusted "
            "targets: only version 1 can be first",
        )
    if targets_p is not None and root_p is None:
        _req(req.trusted_root is not None, source, "a targets payload needs a root to check it")


def load_request(path: str | Path) -> SigningRequest:
    source = str(path)
    return parse_request(load_json(path, "signing request", MAX_REQUEST_BYTES), source)


def to_signed_metadata(payload: Payload) -> Metadata[Any]:
    """A fresh Metadata object for ``payload`` (signatures empty)."""
    return Metadata.from_dict({"signed": payload.metadata.signed.to_dict(), "signatures": []})
