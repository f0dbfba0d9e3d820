"""The static repository layout: metadata and target files as a plain web
server (or python-tuf's client) reads them.

``publish METADATA_DIR --out SITE`` writes::

    SITE/metadata/1.root.json ... N.root.json   the whole root history
    SITE/metadata/M.targets.json                the newest targets
    SITE/metadata/root.json, targets.json       unversioned copies (--unversioned, and
                                                targets.json always without consistent snapshots)
    SITE/metadata/N.snapshot.json, timestamp.json   copied when METADATA_DIR holds them
                                                (each checked against the newest root)
    SITE/targets/<dir>/<sha256>.<name>          each target file, under each of its
    SITE/targets/<dir>/<sha512>.<name>          hashes (consistent snapshots), or at
                                                SITE/targets/<path> without them

The root history and the targets are verified first (each root by its
predecessor's and its own threshold, targets by the newest root), and every
target file's length and hashes are checked against the signed targets
metadata before anything is written. The metadata directory, the target
paths inside it and the content files are untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import TargetFile, Targets

from tuf_ceremony.content import hash_file, target_path_problem
from tuf_ceremony.errors import InputError, VerificationError
from tuf_ceremony.files import read_bytes, write_files_atomic
from tuf_ceremony.text import safe, safe_quoted
from tuf_ceremony.trusted import TrustedState, load_trusted

_VERSIONED_ROOT = re.compile(r"^([1-9][0-9]{0,9})\.root\.json$")
_ONLINE = re.compile(r"^(?:[1-9][0-9]{0,9}\.)?(snapshot|timestamp)\.json$")
_HEX = re.compile(r"^[0-9a-f]{32,128}$")


@dataclass
class Published:
    metadata: list[Path]
    targets: list[Path]


def target_names(tf: TargetFile, consistent: bool) -> list[str]:
    """The paths under ``targets/`` where a client looks for ``tf``."""
    problem = target_path_problem(tf.path)
    if problem is not None:
        raise VerificationError(f"target path {safe_quoted(tf.path)} {problem}")
    if not consistent:
        return [tf.path]
    dirname, sep, basename = tf.path.rpartition("/")
    names = []
    for alg, value in tf.hashes.items():
        if not _HEX.match(value):
            raise VerificationError(f"target {safe_quoted(tf.path)}: {safe(alg)} hash is not lowercase hex")
        names.append(f"{dirname}{sep}{value}.{basename}")
    return names


def _check_content(tf: TargetFile, source: Path) -> bytes:
    digest = hash_file(source, f"content of target {safe(tf.path)}")
    if digest.length != tf.length:
        raise VerificationError(
            f"is {digest.length} bytes, the signed targets say {tf.length} for {safe_quoted(tf.path)}",
            source=str(source),
        )
    unknown = sorted(alg for alg in tf.hashes if alg not in digest.hashes)
    if unknown or not tf.hashes:
        raise VerificationError(
            f"target {safe_quoted(tf.path)} has hash algorithm(s) publish cannot check "
            f"({', '.join(safe(a, 20) for a in unknown) or 'none'}; it checks sha256 and "
            "sha512)",
            source=str(source),
        )
    known = list(tf.hashes)
    for alg in known:
        if digest.hashes[alg] != tf.hashes[alg]:
            raise VerificationError(
                f"{alg} differs from the signed targets for {safe_quoted(tf.path)} (changed since signing?)",
                source=str(source),
            )
    data = read_bytes(source, "target file")
    # the file must not change between hashing and reading
    import hashlib

    if len(data) != tf.length or hashlib.sha256(data).hexdigest() != digest.hashes["sha256"]:
        raise VerificationError("changed while it was read", source=str(source))
    return data


def _online_metadata(path: Path, role: str, root: Any) -> bytes:
    from tuf.api.metadata import Metadata

    from tuf_ceremony.errors import FormatError
    from tuf_ceremony.files import parse_json
    from tuf_ceremony.policy import check_delegate

    data = read_bytes(path, f"{role} metadata")
    doc = parse_json(data, str(path), f"{role} metadata")
    try:
        md: Metadata[Any] = Metadata.from_dict(doc)
    except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
        raise FormatError(f"not valid TUF metadata ({type(e).__name__})", source=str(path)) from None
    if md.signed.type != role:
        raise FormatError(f"is {safe(md.signed.type, 20)} metadata, expected {role}", source=str(path))
    if not check_delegate(root, role, md.signed_bytes, md.signatures).met:
        raise VerificationError(f"not signed by a threshold of the newest root's {role} keys", source=str(path))
    return data


def publish(
    metadata_dir: Path,
    out: Path,
    source_of: Callable[[str], Path | None],
    *,
    unversioned: bool = False,
    force: bool = False,
) -> Published:
    """Write the static layout of ``metadata_dir`` into ``out``, all or nothing."""
    state = load_trusted(metadata_dir)
    if state.targets is None or state.targets_path is None:
        raise InputError("holds no N.targets.json file", source=str(metadata_dir))
    consistent = bool(state.root.signed.consistent_snapshot)
    meta_out = out / "metadata"
    files = _metadata_files(metadata_dir, state, state.targets_path, meta_out, unversioned=unversioned)
    target_files = _target_contents(
        state.targets.signed, state.targets_path, consistent, out / "targets", source_of, files
    )
    for dest in files:
        dest.parent.mkdir(parents=True, exist_ok=True)
    write_files_atomic(files, force=force)
    return Published(sorted(p for p in files if p.parent == meta_out), target_files)


def _metadata_files(
    metadata_dir: Path, state: TrustedState, targets_path: Path, meta_out: Path, *, unversioned: bool
) -> dict[Path, bytes]:
    """The metadata to publish under ``meta_out``: every N.root.json, the
    targets (also as targets.json when not consistent), the online roles."""
    root = state.root.signed
    consistent = bool(root.consistent_snapshot)
    files: dict[Path, bytes] = {}
    for p in sorted(metadata_dir.iterdir()):
        if _VERSIONED_ROOT.match(p.name):
            files[meta_out / p.name] = read_bytes(p, "root metadata")
    targets_bytes = read_bytes(targets_path, "targets metadata")
    files[meta_out / targets_path.name] = targets_bytes
    if unversioned:
        files[meta_out / "root.json"] = read_bytes(state.root_path, "root metadata")
    if unversioned or not consistent:
        files[meta_out / "targets.json"] = targets_bytes
    for p in sorted(metadata_dir.iterdir()):
        m = _ONLINE.match(p.name)
        if m:  # the online roles, when the directory holds them: checked, then copied
            files[meta_out / p.name] = _online_metadata(p, m.group(1), root)
    return files


def _target_contents(
    targets: Targets,
    targets_path: Path,
    consistent: bool,
    targets_out: Path,
    source_of: Callable[[str], Path | None],
    files: dict[Path, bytes],
) -> list[Path]:
    """Add each target's checked content to ``files`` under every name a client
    fetches it by; returns those destinations."""
    target_files: list[Path] = []
    for path, tf in sorted(targets.targets.items()):
        names = target_names(tf, consistent)
        source = source_of(path)
        if source is None:
            raise InputError(
                f"no content file for target {safe_quoted(path)} (give it in the plan or under --files)",
                source=str(targets_path),
            )
        data = _check_content(tf, source)
        for name in names:
            dest = targets_out / name
            if dest in files:
                raise VerificationError(f"two targets publish to {safe_quoted(name)}", source=str(targets_path))
            files[dest] = data
            target_files.append(dest)
    return target_files


def sources_from_plan(plan_path: Path) -> Callable[[str], Path | None]:
    """Content files named by a plan's ``[[targets.files]]``."""
    from tuf_ceremony.plan import load_plan

    plan = load_plan(plan_path)
    table = {f.path: f.source for f in plan.target_files or []}
    return table.get


def sources_from_dir(directory: Path) -> Callable[[str], Path | None]:
    """Content files at their target paths under ``directory``."""
    if not directory.is_dir():
        raise InputError("target files directory not found", source=str(directory))

    def find(path: str) -> Path | None:
        # the path was validated by target_names() before this is called
        p = directory / path
        return p if p.exists() else None

    return find
