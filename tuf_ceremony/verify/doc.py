"""Reading one metadata file: JSON parsing (duplicate keys and non-integer
numbers refused), the envelope, the common ``signed`` fields, and the
canonical payload that signatures cover."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tuf_ceremony.canonical import load_signed, loads
from tuf_ceremony.errors import FormatError
from tuf_ceremony.verify.legacy import parse_expires

_SPEC = re.compile(r"^\d+\.\d+(\.\d+)?$")


def parse_metadata_json(raw: bytes, source: str) -> Any:
    """Parse metadata bytes strictly (see :func:`tuf_ceremony.canonical.loads`)."""
    return loads(raw, source, "metadata")


@dataclass
class Records:
    """The ``targets`` map of a targets role when every entry is exactly
    ``{"length": int, "hashes": {str: str}}`` (PyPI's bins), checked value
    by value in one loop. Used as :func:`tuf_ceremony.canonical.load_signed`'s
    ``checked`` (the map needs no second scan for floats) and by
    :func:`check_targets_fields` (``valid``: python-tuf's rules hold too --
    lengths not negative, hashes not empty)."""

    matched: dict[str, Any] | None = None
    valid: bool = False

    def __call__(self, signed: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
        targets = signed.get("targets")
        if type(targets) is not dict:
            return None
        valid = True
        hash_entries = 0
        try:
            for tf in targets.values():
                if type(tf) is not dict or len(tf) != 2:
                    return None
                length = tf["length"]
                hashes = tf["hashes"]
                if type(length) is not int or type(hashes) is not dict:
                    return None
                if length < 0 or not hashes:
                    valid = False
                hash_entries += len(hashes)
                for v in hashes.values():
                    if type(v) is not str:
                        return None
        except KeyError:
            return None
        self.matched, self.valid = targets, valid
        # strings: each entry's path, "length" and "hashes", each hash's name and value
        return targets, 3 * len(targets) + 2 * hash_entries


@dataclass
class MetaDoc:
    """One parsed metadata file."""

    file: str
    raw: bytes
    signed: dict[str, Any]
    signatures: list[tuple[str, str]]
    payload: bytes
    type: str
    version: int
    expires: datetime
    expires_str: str
    standard_expires: bool
    records: Records | None = None


def _fail(source: str, msg: str) -> FormatError:
    return FormatError(f"not valid TUF metadata: {msg}", source=source)


def load_doc(raw: bytes, source: str, expected_type: str | None) -> MetaDoc:  # noqa: C901 - flat envelope checks in file order, on verify's per-file hot path
    """Parse and check the envelope and common fields of a metadata file.

    Raises FormatError (naming ``source``) for anything malformed.
    """
    records = Records() if expected_type == "targets" else None
    try:
        data, payload = load_signed(raw, source, "metadata", records)
    except FormatError:
        raise
    except (ValueError, TypeError, UnicodeError) as e:
        raise _fail(source, f"cannot be canonicalized ({e})") from None
    if not isinstance(data, dict):
        raise _fail(source, "expected a JSON object")
    signed = data.get("signed")
    sigs = data.get("signatures")
    if not isinstance(signed, dict):
        raise _fail(source, "'signed' is missing or not an object")
    if not isinstance(sigs, list):
        raise _fail(source, "'signatures' is missing or not a list")
    entries: list[tuple[str, str]] = []
    for s in sigs:
        if not isinstance(s, dict) or not isinstance(s.get("keyid"), str) or not isinstance(s.get("sig"), str):
            raise _fail(source, "a signature entry lacks a string 'keyid' or 'sig'")
        entries.append((s["keyid"], s["sig"]))
    typ = signed.get("_type")
    if not isinstance(typ, str):
        raise _fail(source, "'signed._type' is missing")
    if expected_type is not None and typ != expected_type:
        raise _fail(source, f"is {typ} metadata, expected {expected_type}")
    version = signed.get("version")
    if type(version) is not int or version < 1:
        raise _fail(source, f"version must be a positive integer, not {version!r}")
    spec = signed.get("spec_version")
    if not isinstance(spec, str) or not _SPEC.match(spec):
        raise _fail(source, f"spec_version {spec!r} is not a version")
    if spec.split(".")[0] != "1":
        raise _fail(source, f"unsupported spec_version {spec}")
    try:
        expires, standard = parse_expires(signed.get("expires"))
    except ValueError as e:
        raise _fail(source, str(e)) from None
    if payload is None:  # pragma: no cover - load_signed gives bytes for an object
        raise _fail(source, "'signed' is not an object")
    return MetaDoc(
        file=source,
        raw=raw,
        signed=signed,
        signatures=entries,
        payload=payload,
        type=typ,
        version=version,
        expires=expires,
        expires_str=str(signed["expires"]),
        standard_expires=standard,
        records=records if records is not None and records.matched is signed.get("targets") else None,
    )


def check_targets_fields(signed: dict[str, Any], source: str, records: Records | None = None) -> int:
    """Check what python-tuf's Targets.from_dict checks of a targets role's
    ``targets`` map (without building objects); return the target count."""
    targets = signed.get("targets")
    if not isinstance(targets, dict):
        raise _fail(source, "'targets' is missing or not an object")
    if records is not None and records.matched is targets and records.valid:
        return len(targets)
    for path, tf in targets.items():
        ok = type(tf) is dict
        if ok:
            length = tf.get("length")
            hashes = tf.get("hashes")
            ok = type(length) is int and length >= 0 and type(hashes) is dict and bool(hashes)
            if ok:
                for v in hashes.values():
                    if type(v) is not str:
                        ok = False
        if not ok:
            raise _fail(
                source,
                f"target {path!r} needs a non-negative integer length and a non-empty object of string hashes",
            )
    return len(targets)
