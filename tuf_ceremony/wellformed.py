"""Rules every payload obeys, whoever wrote it (docs/threat-model.md).

A payload is what keyholders sign: it must be a document python-tuf reads
back unchanged, whose keys are their material, whose thresholds can be met
and whose role names are safe file names. The same rules apply when
``prepare`` and ``rotate`` build a payload and when ``sign``, ``status`` and
``merge`` load one from an untrusted signing request.

* Every key has ``keyid == SHA-256(canonical JSON of the key)`` and carries
  no private field (``keyval`` holds ``public`` only).
* Every keyid a role lists is a key of its delegator, once; no public key
  appears under two keyids of one role (it would count twice for a keyid
  counter such as python-tuf's ``verify_delegate``).
* Every threshold is at least 1 and at most the number of distinct keys.
* Versions are whole numbers from 1 to :data:`MAX_VERSION`.
* Delegated role names and succinct bin names are safe file names on every
  filesystem a USB stick may carry (:func:`unsafe_name_reason`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from tuf.api.metadata import Metadata, Root, Targets

from tuf_ceremony.errors import FormatError
from tuf_ceremony.keys import keyid_of
from tuf_ceremony.policy import key_material
from tuf_ceremony.text import safe

#: Largest version a payload or trusted document may carry (a signed 32-bit
#: integer: what every TUF client stores a version in).
MAX_VERSION = 2**31 - 1
#: Longest role name (bytes of UTF-8): N.NAME.json must stay under the
#: 255-byte file name limit of FAT, ext4 and NTFS with a 10-digit version.
MAX_ROLE_NAME = 200
#: Characters refused in role names: path separators and what FAT refuses.
_FORBIDDEN = set('/\\:*?"<>|')


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` is not a safe role (file) name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if name in (".", ".."):
        return "is a relative directory name"
    if name.startswith("."):
        return "starts with a dot (a hidden file)"
    if ".." in name:
        return "contains '..'"
    # printable ASCII holds no control or invisible character: only the
    # characters FAT refuses need a look (PEP 458's 16,384 bin names)
    plain = name.isascii() and name.isprintable() and _FORBIDDEN.isdisjoint(name)
    for ch in () if plain else name:
        if ch in _FORBIDDEN:
            return f"contains {ch!r} (a path separator or a character FAT refuses)"
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return f"contains the control or invisible character U+{ord(ch):04X}"
    if name != name.strip():
        return "starts or ends with white space"
    if len(name.encode("utf-8")) > MAX_ROLE_NAME:
        return f"is longer than {MAX_ROLE_NAME} bytes"
    return None


def _fail(source: str, entry: str, message: str) -> FormatError:
    return FormatError(f"{entry}: {message}", source=source)


def check_version(version: Any, source: str, entry: str) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise _fail(source, entry, f"version must be a whole number from 1 to {MAX_VERSION}")


def check_key(keyid: str, key: Any, source: str, entry: str) -> None:
    """A key is its material: keyid from the whole key, public fields only."""
    d = key.to_dict()
    keyval = d.get("keyval")
    if "private" in d or not isinstance(keyval, dict) or set(keyval) != {"public"}:
        raise _fail(
            source,
            entry,
            f"key {keyid[:16]}: keyval must hold 'public' only (private or unknown key fields are refused, not shown)",
        )
    if keyid_of(d) != keyid:
        raise _fail(
            source, entry, f"keyid {keyid[:16]} is not the SHA-256 of its key (a key listed under another key's keyid)"
        )
    if key_material(key) is None:
        raise _fail(source, entry, f"key {keyid[:16]}: key material cannot be decoded")


def check_keys(keys: Mapping[str, Any], source: str, entry: str) -> dict[str, bytes]:
    """Check every key; return keyid -> key material."""
    out: dict[str, bytes] = {}
    for kid, key in keys.items():
        check_key(kid, key, source, entry)
        material = key_material(key)
        assert material is not None
        out[kid] = material
    return out


def check_role_keys(
    materials: Mapping[str, bytes], keyids: Sequence[str], threshold: int, source: str, entry: str
) -> None:
    """Listed keys exist, once, are distinct public keys, and ``threshold``
    can be met. ``materials``: keyid -> key material, from :func:`check_keys`."""
    seen: dict[bytes, str] = {}
    if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
        raise _fail(source, entry, "keyids must be a list of strings")
    for kid in keyids:
        if kid not in materials:
            raise _fail(source, entry, f"keyid {kid[:16]} has no key")
        material = materials[kid]
        if material in seen:
            raise _fail(
                source,
                entry,
                f"keyids {seen[material][:16]} and {kid[:16]} are the same public key (one key would count twice)",
            )
        seen[material] = kid
    if len(set(keyids)) != len(keyids):
        raise _fail(source, entry, "lists a keyid twice")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(seen):
        raise _fail(
            source,
            entry,
            f"threshold {threshold} is not between 1 and its {len(seen)} distinct key(s): it could never be met",
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_root(root: Root, source: str, entry: str) -> None:
    check_version(root.version, source, entry)
    # python-tuf keeps any JSON value and tests its truth ("false" is true to it)
    if root.consistent_snapshot is not None and not isinstance(root.consistent_snapshot, bool):
        raise _fail(source, f"{entry}.consistent_snapshot", "consistent_snapshot must be true or false")
    materials = check_keys(root.keys, source, f"{entry}.keys")
    for name, role in root.roles.items():
        check_role_keys(materials, role.keyids, role.threshold, source, f"{entry}.roles.{name}")


def _file_name_key(name: str) -> str:
    """One key per file a role name becomes on a case-insensitive (FAT, NTFS)
    or normalizing (macOS) filesystem."""
    return unicodedata.normalize("NFC", name).casefold()


def check_targets(targets: Targets, source: str, entry: str) -> None:
    check_version(targets.version, source, entry)
    for path, tf in targets.targets.items():
        if not _whole(tf.length):
            raise _fail(source, f"{entry}.targets", f"target {safe(path, 60)}: length must be a whole number")
    d = targets.delegations
    if d is None:
        return
    materials = check_keys(d.keys, source, f"{entry}.delegations.keys")
    if d.succinct_roles is not None:
        s = d.succinct_roles
        longest = f"{s.name_prefix}-{'f' * len(f'{s.number_of_bins - 1:x}')}"
        reason = unsafe_name_reason(s.name_prefix) or unsafe_name_reason(longest)
        if reason:
            raise _fail(source, f"{entry}.delegations.succinct_roles.name_prefix", f"not a safe file name: {reason}")
        if not _whole(s.bit_length):
            raise _fail(source, f"{entry}.delegations.succinct_roles", "bit_length must be a whole number")
        check_role_keys(materials, s.keyids, s.threshold, source, f"{entry}.delegations.succinct_roles")
    # the top-level roles' files too: "Targets" is 5.targets.json on FAT or macOS
    files: dict[str, str] = {r: r for r in ("root", "targets", "snapshot", "timestamp")}
    for name, role in (d.roles or {}).items():
        reason = unsafe_name_reason(name)
        if reason:
            raise _fail(source, f"{entry}.delegations.roles", f"role name is not a safe file name: {reason}")
        other = files.setdefault(_file_name_key(name), name)
        if other != name:
            raise _fail(
                source,
                f"{entry}.delegations.roles",
                f"role names {safe(other, 60)!r} and {safe(name, 60)!r} are the same "
                "file name on a case-insensitive or normalizing filesystem",
            )
        if not isinstance(role.terminating, bool):
            raise _fail(source, f"{entry}.delegations.roles.{name}", "terminating must be true or false")
        check_role_keys(materials, role.keyids, role.threshold, source, f"{entry}.delegations.roles.{name}")


def round_trip(md: Metadata[Any], source: str, entry: str) -> None:
    """What python-tuf reads back from the bytes must be the same document."""
    try:
        again: Metadata[Any] = Metadata.from_bytes(md.to_bytes())
        # equal dicts have equal canonical bytes: what every signature covers
        same = again.signed.to_dict() == md.signed.to_dict()
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise _fail(source, entry, f"python-tuf cannot read it back ({type(e).__name__})") from None
    if not same:
        raise _fail(source, entry, "python-tuf reads back another document")


def check_structure(md: Metadata[Any], source: str, entry: str) -> None:
    """The shape every root or targets document must have before any other
    check reads it, trusted ones included (which may carry legacy keyids):
    keyids are lists of distinct strings, every key is a mapping entry of a
    string keyid."""
    signed = md.signed
    if isinstance(signed, Root):
        keys: Mapping[Any, Any] = signed.keys
        lists = {f"roles.{n}": r.keyids for n, r in signed.roles.items()}
    elif isinstance(signed, Targets) and signed.delegations is not None:
        d = signed.delegations
        keys = d.keys
        lists = {f"delegations.roles.{n}": r.keyids for n, r in (d.roles or {}).items()}
        if d.succinct_roles is not None:
            lists["delegations.succinct_roles"] = d.succinct_roles.keyids
    else:
        return
    if not all(isinstance(k, str) for k in keys):
        raise _fail(source, entry, "keys must be keyed by keyid strings")
    for where, keyids in lists.items():
        if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
            raise _fail(source, f"{entry}.{where}", "keyids must be a list of strings")
        if len(set(keyids)) != len(keyids):
            raise _fail(source, f"{entry}.{where}", "lists a keyid twice")


def check_payload(md: Metadata[Any], source: str, entry: str, *, read_back: bool = True) -> None:
    """Every rule of this module, for one payload (root or targets);
    ``read_back=False`` when :func:`round_trip` already ran on ``md``."""
    if read_back:
        round_trip(md, source, entry)
    check_structure(md, source, entry)
    signed = md.signed
    if isinstance(signed, Root):
        check_root(signed, source, entry)
    elif isinstance(signed, Targets):
        check_targets(signed, source, entry)
    else:
        raise _fail(source, entry, f"{signed.type} cannot be signed in a ceremony")
