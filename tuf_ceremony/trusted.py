"""Loading the trusted metadata an admin rotates from (``--trusted DIR``).

The root history in DIR is checked as a chain from its lowest version (or
from an explicit trust anchor) with python-tuf's own threshold checks before
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

_VERSIONED = re.compile(r"^(\d+)\.(root|targets)\.json$")


@dataclass
class TrustedState:
    directory: Path
    root: Metadata[Root]
    root_path: Path
    targets: Metadata[Targets] | None
    targets_path: Path | None


def load_metadata(path: Path, expected: str) -> Metadata[Any]:
    doc = load_json(path, f"{expected} metadata")
    try:
        md: Metadata[Any] = Metadata.from_dict(doc)
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(f"not valid TUF metadata ({type(e).__name__}: {e})",
                          source=str(path)) from None
    if md.signed.type != expected:
        raise FormatError(f"is {md.signed.type} metadata, expected {expected}", source=str(path))
    return md


def load_trusted(directory: str | Path) -> TrustedState:
    d = Path(directory)
    if not d.is_dir():
        raise InputError("trusted metadata directory not found", source=str(d))
    roots: dict[int, Path] = {}
    targets: dict[int, Path] = {}
    for p in d.iterdir():
        m = _VERSIONED.match(p.name)
        if m:
            (roots if m.group(2) == "root" else targets)[int(m.group(1))] = p
    if not roots:
        raise InputError("holds no N.root.json file", source=str(d))
    versions = sorted(roots)
    prev: Metadata[Root] | None = None
    for v in versions:
        path = roots[v]
        md: Metadata[Root] = load_metadata(path, "root")
        if md.signed.version != v:
            raise VerificationError(f"holds root version {md.signed.version}, not {v}",
                                    source=str(path))
        if prev is not None:
            if v != prev.signed.version + 1:
                raise VerificationError(
                    f"root history has a gap: version {prev.signed.version} then {v}",
                    source=str(path))
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
        try:
            newest_root.signed.verify_delegate("targets", tmd.signed_bytes, tmd.signatures)
        except Exception as e:  # noqa: BLE001 - any failure is a verification failure
            raise VerificationError(f"not signed by a threshold of the trusted root's targets "
                                    f"keys ({e})", source=str(tpath)) from None
    return TrustedState(d, newest_root, roots[versions[-1]], tmd, tpath)


def _verify_root(delegator: Root, md: Metadata[Root], path: Path, whose: str) -> None:
    try:
        delegator.verify_delegate("root", md.signed_bytes, md.signatures)
    except Exception as e:  # noqa: BLE001 - any failure is a verification failure
        raise VerificationError(f"not signed by a threshold of {whose} root keys ({e})",
                                source=str(path)) from None
