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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Root, Signed, Targets

from tuf_ceremony.errors import FormatError
from tuf_ceremony.files import dump_json, load_json
from tuf_ceremony.keys import canonical_bytes, keyid_of

REQUEST_FORMAT = "tuf-ceremony/signing-request"
REQUEST_FORMAT_VERSION = 1
SIGNABLE_ROLES = ("root", "targets")


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
        data: bytes = self.metadata.signed_bytes
        return data

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
        return self.key_names.get(keyid)

    def label(self, keyid: str) -> str:
        name = self.key_names.get(keyid)
        return f"{name} ({keyid[:12]})" if name else keyid[:12]

    def body(self) -> dict[str, Any]:
        keys = {
            kid: {"name": self.key_names[kid], "key": self.names_keys[kid].to_dict()}
            for kid in sorted(self.names_keys)
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
        }

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
        md = Metadata.from_dict(dict(obj))
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(f"{entry}: not valid TUF metadata ({type(e).__name__}: {e})",
                          source=source) from None
    _req(md.signed.type == expected, source, f"{entry}: is {md.signed.type}, expected {expected}")
    return md


def parse_request(doc: Any, source: str) -> SigningRequest:
    """Validate a request document; raises FormatError naming ``source``."""
    _req(isinstance(doc, dict), source, "not a signing request (expected a JSON object)")
    _req(
        doc.get("format") == REQUEST_FORMAT,
        source,
        f"not a signing request (format is {doc.get('format')!r}, expected {REQUEST_FORMAT!r})",
    )
    _req(
        doc.get("format_version") == REQUEST_FORMAT_VERSION,
        source,
        f"unsupported signing request format_version {doc.get('format_version')!r}",
    )
    allowed = {
        "format", "format_version", "request_id", "created", "ceremony",
        "keys", "trusted", "payloads", "online",
    }
    unknown = sorted(set(doc) - allowed)
    _req(not unknown, source, f"unknown field {unknown[0] if unknown else ''!r}")
    for fld in ("request_id", "created", "ceremony"):
        _req(isinstance(doc.get(fld), str), source, f"{fld}: missing or not a string")

    raw_keys = doc.get("keys")
    _req(isinstance(raw_keys, dict), source, "keys: missing or not an object")
    key_names: dict[str, str] = {}
    names_keys: dict[str, Key] = {}
    for kid, entry in raw_keys.items():
        _req(
            isinstance(entry, dict) and isinstance(entry.get("name"), str)
            and isinstance(entry.get("key"), dict),
            source,
            f"keys.{kid}: must hold a name and a key",
        )
        _req(keyid_of(entry["key"]) == kid, source, f"keys.{kid}: keyid does not match its key")
        try:
            names_keys[kid] = Key.from_dict(kid, dict(entry["key"]))
        except Exception as e:  # noqa: BLE001 - securesystemslib raises several types
            raise FormatError(f"keys.{kid}: not a TUF key ({e})", source=source) from None
        key_names[kid] = entry["name"]

    trusted = doc.get("trusted")
    _req(isinstance(trusted, dict) and set(trusted) <= {"root", "targets"}, source,
         "trusted: must be an object with root and targets")
    trusted_root = None
    trusted_targets = None
    if trusted.get("root") is not None:
        trusted_root = _metadata_from_dict(trusted["root"], source, "trusted.root", "root")
    if trusted.get("targets") is not None:
        trusted_targets = _metadata_from_dict(trusted["targets"], source, "trusted.targets",
                                              "targets")

    raw_payloads = doc.get("payloads")
    _req(isinstance(raw_payloads, list) and bool(raw_payloads), source,
         "payloads: missing or empty")
    payloads: list[Payload] = []
    for i, raw in enumerate(raw_payloads):
        entry_name = f"payloads[{i}]"
        _req(isinstance(raw, dict) and set(raw) == {"role", "version", "digest", "signed"},
             source, f"{entry_name}: must hold exactly role, version, digest and signed")
        role = raw["role"]
        _req(role in SIGNABLE_ROLES, source, f"{entry_name}: role {role!r} is not root or targets")
        _req(all(p.role != role for p in payloads), source, f"{entry_name}: role {role} twice")
        md = _metadata_from_dict({"signed": raw["signed"], "signatures": []}, source,
                                 entry_name, role)
        payload = Payload(role, md)
        _req(raw["version"] == payload.version, source,
             f"{entry_name}: version {raw['version']!r} differs from signed.version")
        _req(raw["digest"] == payload.digest, source,
             f"{entry_name}: digest does not match the signed content (tampered or corrupted)")
        payloads.append(payload)

    online = doc.get("online", {})
    _req(isinstance(online, dict), source, "online: must be an object")

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
    _req(req.request_id == doc["request_id"], source,
         "request_id does not match the content (tampered or corrupted)")
    _check_consistency(req)
    return req


def _check_consistency(req: SigningRequest) -> None:
    """Structural rules every request obeys, whoever wrote it."""
    source = req.source
    root_p = req.payload("root")
    if req.trusted_root is not None:
        tr: Root = req.trusted_root.signed
        try:
            tr.verify_delegate("root", req.trusted_root.signed_bytes, req.trusted_root.signatures)
        except Exception as e:  # noqa: BLE001 - any failure means: not a trusted root
            raise FormatError(f"trusted.root: not signed by its own threshold ({e})",
                              source=source) from None
        if root_p is not None:
            _req(root_p.version == tr.version + 1, source,
                 f"root payload is version {root_p.version}, but the trusted root is "
                 f"version {tr.version}: only version {tr.version + 1} can follow")
    elif root_p is not None:
        _req(root_p.version == 1, source,
             f"root payload is version {root_p.version} but the request has no trusted root")
    targets_p = req.payload("targets")
    if targets_p is not None and req.trusted_targets is not None:
        tt: Signed = req.trusted_targets.signed
        _req(targets_p.version == tt.version + 1, source,
             f"targets payload is version {targets_p.version}, trusted targets is {tt.version}")
    if targets_p is not None and root_p is None:
        _req(req.trusted_root is not None, source, "a targets payload needs a root to check it")


def load_request(path: str | Path) -> SigningRequest:
    source = str(path)
    return parse_request(load_json(path, "signing request"), source)


def to_signed_metadata(payload: Payload) -> Metadata[Any]:
    """A fresh Metadata object for ``payload`` (signatures empty)."""
    return Metadata.from_dict({"signed": payload.metadata.signed.to_dict(), "signatures": []})
