"""Anchoring a request's trusted metadata to something the user trusts.

A signing request carries the trusted root (and targets) it builds on, and
everything in it is untrusted: a hostile coordinator can replace the trusted
section with a root of their own, so that the screen shows "no key changes"
while the payload adds their key. Two anchors stop that
(docs/threat-model.md, "pinned trust"):

* ``sign --trusted DIR|FILE``: the keyholder's own copy of the published
  root. :func:`pin_request` requires the request's trusted root to be
  *equal* to the newest root of that copy (the same canonical ``signed``
  bytes), or to be exactly one version after it and signed by a threshold of
  the copy's root keys and of its own (a step of the chain, checked as a
  client would). Anything else is refused: an older root (stale), a root
  more than one version ahead (the steps between cannot be checked), a
  request without a trusted root while the keyholder holds one. Trusted
  targets of the same version must be equal to the copy's too. Without
  ``--trusted``, ``sign`` shows :attr:`SigningRequest.anchor`: version and
  digest of the trusted root, "not pinned", or "first root".
* The repository directory ``merge --out``, ``prepare --trusted`` and
  ``rotate --trusted`` write to or read from:
  :func:`check_request_against_directory` requires its checked root history
  to end at the request's trusted root (equal bytes), its targets at the
  request's trusted targets, and refuses a request with a trusted root
  aimed at an empty directory or one with another history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, Root, Targets

from tuf_ceremony.errors import InputError, VerificationError
from tuf_ceremony.policy import check_delegate
from tuf_ceremony.request import SigningRequest, TrustAnchor, sha256_hex
from tuf_ceremony.trusted import load_metadata, load_trusted, versioned_files


@dataclass
class PinnedTrust:
    """The keyholder's own copy: newest root, newest targets (if any)."""

    root: Metadata[Root]
    targets: Metadata[Targets] | None
    source: str


def _self_signed(md: Metadata[Root], source: str) -> None:
    result = check_delegate(md.signed, "root", md.signed_bytes, md.signatures)
    if not result.met:
        raise VerificationError(
            f"not signed by a threshold of its own root keys ({len(result.signed)} of "
            f"{result.threshold} distinct keys)",
            source=source,
        )


def load_pinned(path: str | Path) -> PinnedTrust:
    """A root history directory (checked as a chain) or one root file."""
    p = Path(path)
    try:
        is_dir = p.is_dir()
        exists = p.exists()
    except OSError as e:
        raise InputError(f"cannot read the trusted root: {e.strerror}", source=str(p)) from None
    if is_dir:
        state = load_trusted(p)
        return PinnedTrust(state.root, state.targets, str(state.root_path))
    if not exists:
        raise InputError("trusted root file or directory not found", source=str(p))
    md: Metadata[Root] = load_metadata(p, "root")
    _self_signed(md, str(p))
    return PinnedTrust(md, None, str(p))


def pin_request(request: SigningRequest, path: str | Path) -> TrustAnchor:
    """Check ``request``'s trusted section against the keyholder's copy at
    ``path``; record and return the anchor. Raises VerificationError."""
    pinned = load_pinned(path)
    src = request.source
    pv = int(pinned.root.signed.version)
    tr = request.trusted_root
    if tr is None:
        raise VerificationError(
            f"has no trusted root (it claims to start a new repository), but your trusted "
            f"root {pinned.source} is version {pv}: refusing to sign",
            source=src,
        )
    rv = int(tr.signed.version)
    digest = sha256_hex(tr.signed_bytes)
    if rv == pv:
        if tr.signed_bytes != pinned.root.signed_bytes:
            raise VerificationError(
                f"its trusted root version {rv} (SHA-256 {digest[:16]}) differs from your copy "
                f"{pinned.source} (SHA-256 {sha256_hex(pinned.root.signed_bytes)[:16]}): "
                "forged, or made for another repository",
                source=src,
            )
        status = "pinned"
    elif rv == pv + 1:
        result = check_delegate(pinned.root.signed, "root", tr.signed_bytes, tr.signatures)
        if not result.met:
            raise VerificationError(
                f"its trusted root version {rv} is not signed by a threshold of your trusted "
                f"root version {pv} ({len(result.signed)} of {result.threshold} distinct "
                f"keys, {pinned.source}): forged",
                source=src,
            )
        status = "chained"
    elif rv < pv:
        raise VerificationError(
            f"builds on trusted root version {rv}, but your copy {pinned.source} is already "
            f"version {pv}: the request is stale",
            source=src,
        )
    else:
        raise VerificationError(
            f"builds on trusted root version {rv}, but your copy {pinned.source} is version "
            f"{pv}: the versions between cannot be checked; update your copy from the "
            "published record",
            source=src,
        )
    _pin_targets(request, pinned)
    anchor = TrustAnchor(status, rv, digest, pinned.source, pv)
    request.pinned = anchor
    return anchor


def _pin_targets(request: SigningRequest, pinned: PinnedTrust) -> None:
    if pinned.targets is None:
        return
    src = request.source
    pv = int(pinned.targets.signed.version)
    tt = request.trusted_targets
    if tt is None:
        if request.payload("targets") is not None:
            raise VerificationError(
                f"has no trusted targets, but your copy holds targets version {pv}: the "
                "request's targets payload would not follow it",
                source=src,
            )
        return
    tv = int(tt.signed.version)
    if tv < pv:
        raise VerificationError(
            f"builds on trusted targets version {tv}, but your copy is already version {pv}: the request is stale",
            source=src,
        )
    if tv == pv and tt.signed_bytes != pinned.targets.signed_bytes:
        raise VerificationError(
            f"its trusted targets version {tv} differs from your copy: forged, or made for another repository",
            source=src,
        )


def _payload_version(request: SigningRequest, role: str) -> int | None:
    p = request.payload(role)
    return p.version if p is not None else None


def _differs(path: Path, request: SigningRequest, role: str) -> bool:
    """Whether ``path`` (the file the request's ``role`` payload would
    replace) is readable TUF metadata with other content. A file that is not
    metadata at all is no history: ``--force`` may replace it."""
    p = request.payload(role)
    assert p is not None
    try:
        md = load_metadata(path, role)
    except InputError:
        return False
    return bool(md.signed_bytes != p.signed_bytes)


def _versions(vs: Any) -> str:
    return ", ".join(str(v) for v in sorted(vs))


def check_request_against_directory(request: SigningRequest, directory: str | Path) -> None:
    """The repository ``directory`` must hold the history the request builds
    on: its checked root chain ends at the request's trusted root (equal
    signed bytes) and its targets at the request's trusted targets; a request
    without a trusted root only goes to a directory without a history.

    Files the request itself writes (root N+1, targets M+1) may exist: the
    writer refuses them without ``--force``. Raises VerificationError.
    """
    d = Path(directory)
    try:
        exists = d.exists()
    except OSError as e:
        raise InputError(f"cannot use this directory: {e.strerror}", source=str(d)) from None
    roots, targets = versioned_files(d) if exists else ({}, {})
    _check_root_history(request, d, roots)
    _check_targets_history(request, d, targets)


def _check_root_history(request: SigningRequest, d: Path, roots: dict[int, Path]) -> None:
    """The directory's root chain ends at the request's trusted root (or the
    directory has none when the request starts a new repository)."""
    root_v = _payload_version(request, "root")
    tr = request.trusted_root
    if tr is None:
        other = [v for v in roots if v != root_v or _differs(roots[v], request, "root")]
        if other:
            raise VerificationError(
                f"holds root version(s) {_versions(other)}, but the request has no trusted root "
                "(it starts a new repository): another history; refusing",
                source=str(d),
            )
    else:
        n = int(tr.signed.version)
        if n not in roots:
            raise VerificationError(
                f"holds no {n}.root.json, but the request builds on trusted root version {n}: "
                "this is not the repository the request was made for",
                source=str(d),
            )
        later = [v for v in roots if v > n and v != root_v]
        if later:
            raise VerificationError(
                f"already holds root version(s) {_versions(later)}, after the request's "
                f"trusted root version {n}: the request is stale",
                source=str(d),
            )
        state = load_trusted(d, upto=n)
        if state.root.signed_bytes != tr.signed_bytes:
            raise VerificationError(
                f"{n}.root.json differs from the request's trusted root version {n}: forged "
                "trusted section, or another repository",
                source=str(d),
            )


def _check_targets_history(request: SigningRequest, d: Path, targets: dict[int, Path]) -> None:
    """The directory's targets end at the request's trusted targets (or hold
    none but the request's own when it has no trusted targets)."""
    targets_v = _payload_version(request, "targets")
    tt = request.trusted_targets
    if tt is None:
        if targets_v is not None:
            other = [v for v in targets if v != targets_v or _differs(targets[v], request, "targets")]
            if other:
                raise VerificationError(
                    f"holds targets version(s) {_versions(other)}, but the request has no "
                    "trusted targets: another history; refusing",
                    source=str(d),
                )
        return
    m = int(tt.signed.version)
    if m not in targets:
        raise VerificationError(
            f"holds no {m}.targets.json, but the request builds on trusted targets version {m}", source=str(d)
        )
    later = [v for v in targets if v > m and v != targets_v]
    if later:
        raise VerificationError(
            f"already holds targets version(s) {_versions(later)}, after the request's trusted "
            f"targets version {m}: the request is stale",
            source=str(d),
        )
    mine = load_metadata(targets[m], "targets")
    if mine.signed_bytes != tt.signed_bytes:
        raise VerificationError(
            f"{m}.targets.json differs from the request's trusted targets version {m}: forged "
            "trusted section, or another repository",
            source=str(d),
        )
