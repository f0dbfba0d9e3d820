"""Loading the trusted metadata an admin rotates from (``--trusted DIR``).

The root history in DIR is checked as a chain from its lowest version, each
step by the one threshold policy (:mod:`tuf_ceremony.policy`: distinct public
keys) and then by python-tuf's ``verify_delegate`` as a second check, before
anything is built on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, Root, Targets

from tuf_ceremony.errors import FormatError, InputError, VerificationError
from tuf_ceremony.files import load_json
from tuf_ceremony.policy import check_delegate
from tuf_ceremony.text import safe

_VERSIONED = re.compile(r"^(\d+)\.(root|targets)\.json$")


@dataclass
class TrustedState:
    directory: Path
    root: Metadata[Root]
    root_path: Path
    targets: Metadata[Targets] | None
    targets_path: Path | None


#: Largest root or targets metadata file read from a trusted directory.
MAX_METADATA_BYTES = 64 * 1024 * 1024


def load_metadata(path: Path, expected: str) -> Metadata[Any]:
    doc = load_json(path, f"{expected} metadata", MAX_METADATA_BYTES)
    try:
        md: Metadata[Any] = Metadata.from_dict(doc)
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(
            f"not valid TUF metadata ({type(e).__name__}: {safe(str(e), 120)})", source=str(path)
        ) from None
    if md.signed.type != expected:
        raise FormatError(f"is {md.signed.type} metadata, expected {expected}", source=str(path))
    from tuf_ceremony.wellformed import check_structure, check_version

    check_version(md.signed.version, str(path), "signed")
    check_structure(md, str(path), "signed")
    return md


def versioned_files(d: Path) -> tuple[dict[int, Path], dict[int, Path]]:
    """N.root.json and N.targets.json in ``d``: version -> path, each."""
    roots: dict[int, Path] = {}
    targets: dict[int, Path] = {}
    try:
        if not d.is_dir():
            raise InputError(
                "is not a directory of trusted metadata" if d.exists() else "trusted metadata directory not found",
                source=str(d),
            )
        entries = list(d.iterdir())
    except OSError as e:
        raise InputError(f"cannot read the directory: {e.strerror}", source=str(d)) from None
    for p in entries:
        m = _VERSIONED.match(p.name)
        if m and len(m.group(1)) <= 10:
            (roots if m.group(2) == "root" else targets)[int(m.group(1))] = p
    return roots, targets


def load_trusted(directory: str | Path, upto: int | None = None) -> TrustedState:
    """The checked root history of ``directory`` (up to version ``upto``
    when given) and its newest targets metadata."""
    d = Path(directory)
    roots, targets = versioned_files(d)
    if upto is not None:
        roots = {v: p for v, p in roots.items() if v <= upto}
    if not roots:
        raise InputError("holds no N.root.json file", source=str(d))
    versions = sorted(roots)
    prev: Metadata[Root] | None = None
    for v in versions:
        path = roots[v]
        md: Metadata[Root] = load_metadata(path, "root")
        if md.signed.version != v:
            raise VerificationError(f"holds root version {md.signed.version}, not {v}", source=str(path))
        if prev is not None:
            if v != prev.signed.version + 1:
                raise VerificationError(
                    f"root history has a gap: version {prev.signed.version} then {v}", source=str(path)
                )
            _verify_root(prev.signed, md, path, "the previous root's")
        _verify_root(md.signed, md, path, "its own")
        prev = md
    assert prev is not None
    newest_root = prev
    tmd: Metadata[Targets] | None = None
    tpath: Path | None = None
    if targets:
        tpath = targets[max(targets)]
        tmd = load_metadata(tpath, "targets")
        result = check_delegate(newest_root.signed, "targets", tmd.signed_bytes, tmd.signatures)
        try:
            if not result.met:
                raise ValueError(f"{len(result.signed)} of {result.threshold} distinct keys")
            newest_root.signed.verify_delegate("targets", tmd.signed_bytes, tmd.signatures)
        except Exception as e:  # noqa: BLE001 - any failure is a verification failure
            raise VerificationError(
                f"not signed by a threshold of the trusted root's targets keys ({safe(str(e), 120)})", source=str(tpath)
            ) from None
    return TrustedState(d, newest_root, roots[versions[-1]], tmd, tpath)


def _verify_root(delegator: Root, md: Metadata[Root], path: Path, whose: str) -> None:
    result = check_delegate(delegator, "root", md.signed_bytes, md.signatures)
    try:
        if not result.met:
            raise ValueError(f"{len(result.signed)} of {result.threshold} distinct keys")
        delegator.verify_delegate("root", md.signed_bytes, md.signatures)
    except Exception as e:  # noqa: BLE001 - any failure is a verification failure
        raise VerificationError(
            f"not signed by a threshold of {whose} root keys ({safe(str(e), 120)})", source=str(path)
        ) from None
