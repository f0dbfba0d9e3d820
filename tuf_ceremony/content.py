"""Target files with content: the plan's ``[[targets.files]]`` entries,
their hashes, and what changes against the trusted targets.

A plan that has a ``[targets]`` table lists the *complete* set of target
files of the new top-level targets version: a file of the trusted targets
that is not listed is removed, a listed one is added or replaced. Without a
``[targets]`` table the trusted targets are kept as they are.

``prepare`` reads each local file once, records its length, SHA-256 and
SHA-512. A plan may pin a file's SHA-256 (written when the plan was
reviewed, e.g. from ``tuf-ceremony targets hash PLAN``); a file that changed
since then, or is missing, is an error naming it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import TargetFile, Targets

from tuf_ceremony.errors import InputError, PlanError
from tuf_ceremony.text import is_plain, safe, safe_quoted

_FILE_FIELDS = {"path", "source", "sha256", "custom"}
_TARGETS_FIELDS = {"files"}
HASH_ALGORITHMS = ("sha256", "sha512")
# A consistent-snapshot file name is "<sha512 hex>.<basename>": 128 + 1 + this
# stays under the 255 bytes that FAT, ext4 and most file systems allow.
MAX_SEGMENT_BYTES = 120
MAX_PATH_BYTES = 1024
MAX_TARGET_FILES = 100_000
MAX_CUSTOM_DEPTH = 16
# Refused in target paths: not safe as file names on a FAT stick or in a URL
# (python-tuf's client joins the path to the base URL without quoting).
_UNSAFE_CHARS = set('\\:*?"<>|#%')
_CHUNK = 1 << 20


@dataclass(frozen=True)
class TargetFilePlan:
    """One ``[[targets.files]]`` entry of a plan."""

    path: str
    source: Path
    sha256: str | None
    custom: dict[str, Any] | None
    entry: str  # "targets.files[3]", for messages


def target_path_problem(path: object) -> str | None:
    """Why ``path`` is not a safe target path, or None when it is."""
    if not isinstance(path, str) or not path:
        return "must be a non-empty string"
    if not is_plain(path.replace(" ", "x")) or "\\" in path:
        return "holds a control, invisible or backslash character"
    if path.startswith("/"):
        return "must be relative (no leading '/')"
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    bad = sorted(set(path) & _UNSAFE_CHARS)
    if bad:
        return f"holds {bad[0]!r}, which is not safe in a file name or URL"
    for segment in path.split("/"):
        if segment == "":
            return "has an empty segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return f"has a {segment!r} segment"
        if segment != segment.strip() or segment.endswith("."):
            return "has a segment that starts or ends with a space, or ends with '.'"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def check_target_path(path: object, source: str, entry: str) -> str:
    problem = target_path_problem(path)
    if problem is not None:
        raise PlanError(f"{entry}: target path {safe_quoted(path)} {problem}", source=source)
    assert isinstance(path, str)
    return path


def _json_value(value: Any, source: str, entry: str, depth: int = 0) -> Any:
    """A TOML value as canonical-JSON data (no floats, no datetimes)."""
    if depth > MAX_CUSTOM_DEPTH:
        raise PlanError(f"{entry}: nested deeper than {MAX_CUSTOM_DEPTH} levels", source=source)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return [_json_value(v, source, f"{entry}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _json_value(v, source, f"{entry}.{k}", depth + 1) for k, v in value.items()}
    raise PlanError(
        f"{entry}: {type(value).__name__} values cannot be signed "
        "(canonical JSON has strings, whole numbers, booleans, lists and tables)",
        source=source,
    )


def parse_target_files(plan_path: Path, table: Any) -> list[TargetFilePlan]:
    """Validate the plan's ``[targets]`` table."""
    src = str(plan_path)
    if not isinstance(table, dict):
        raise PlanError("targets: must be a table", source=src)
    unknown = sorted(set(table) - _TARGETS_FIELDS)
    if unknown:
        raise PlanError(f"targets: unknown field {unknown[0]!r} (allowed: files)", source=src)
    files = table.get("files", [])
    if not isinstance(files, list):
        raise PlanError("targets.files: must be an array of tables ([[targets.files]])", source=src)
    if len(files) > MAX_TARGET_FILES:
        raise PlanError(f"targets.files: more than {MAX_TARGET_FILES} files", source=src)
    out: list[TargetFilePlan] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(files):
        out.append(_target_file(plan_path, f"targets.files[{i}]", raw, seen))
    return out


def _target_file(plan_path: Path, entry: str, raw: Any, seen: dict[str, str]) -> TargetFilePlan:
    """One ``[[targets.files]]`` table; ``seen`` maps the paths so far to their entry."""
    src = str(plan_path)
    if not isinstance(raw, dict):
        raise PlanError(f"{entry}: must be a table", source=src)
    unknown = sorted(set(raw) - _FILE_FIELDS)
    if unknown:
        raise PlanError(
            f"{entry}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_FILE_FIELDS))})", source=src
        )
    path = check_target_path(raw.get("path"), src, f"{entry}.path")
    if path in seen:
        raise PlanError(f"{entry}.path: {safe_quoted(path)} is also {seen[path]}", source=src)
    seen[path] = entry
    source = raw.get("source")
    if not isinstance(source, str) or not source or "\x00" in source:
        raise PlanError(f"{entry}.source: must be the local file to hash", source=src)
    _check_source_inside(plan_path, source, src, f"{entry}.source")
    pin = raw.get("sha256")
    if pin is not None and (
        not isinstance(pin, str) or len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin)
    ):
        raise PlanError(f"{entry}.sha256: must be 64 lowercase hex digits", source=src)
    custom = raw.get("custom")
    if custom is not None:
        if not isinstance(custom, dict):
            raise PlanError(f"{entry}.custom: must be a table", source=src)
        custom = _json_value(custom, src, f"{entry}.custom")
    return TargetFilePlan(path, (plan_path.parent / source), pin, custom, entry)


def _check_source_inside(plan_path: Path, source: str, src: str, entry: str) -> None:
    """A target's source is a file in the plan's folder (or below it): the
    plan is untrusted, and what it names is published, so a plan must not
    be able to make ``publish`` copy a file from elsewhere on the machine (an
    SSH key, a password store) into the site under an innocent target path."""
    where = safe_quoted(source)
    if Path(source).is_absolute() or "\\" in source:
        raise PlanError(f"{entry}: {where} must be a path relative to the plan's folder", source=src)
    if ".." in Path(source).parts:
        raise PlanError(f"{entry}: {where} leaves the plan's folder ('..'); copy the file next to the plan", source=src)
    base = plan_path.parent.resolve()
    resolved = (plan_path.parent / source).resolve()
    if resolved != base and base not in resolved.parents:
        raise PlanError(
            f"{entry}: {where} leads outside the plan's folder (through a "
            "symbolic link); copy the file next to the plan",
            source=src,
        )


@dataclass(frozen=True)
class FileDigest:
    length: int
    hashes: dict[str, str]


def hash_file(path: Path, what: str = "target file") -> FileDigest:
    """Length, SHA-256 and SHA-512 of a regular file (read once)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(f"{what} not found", source=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", source=str(path)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{what} is not a regular file", source=str(path))
        hashers = {alg: hashlib.new(alg) for alg in HASH_ALGORITHMS}
        length = 0
        with os.fdopen(fd, "rb", closefd=False) as f:
            while chunk := f.read(_CHUNK):
                length += len(chunk)
                for h in hashers.values():
                    h.update(chunk)
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", source=str(path)) from None
    finally:
        os.close(fd)
    return FileDigest(length, {alg: h.hexdigest() for alg, h in hashers.items()})


def hash_target_files(files: list[TargetFilePlan], plan_source: str) -> dict[str, TargetFile]:
    """The TargetFile of every plan entry; a missing file, or one whose
    SHA-256 differs from the pin the plan was reviewed with, is an error
    naming the plan entry and the file."""
    out: dict[str, TargetFile] = {}
    for f in files:
        try:
            d = hash_file(f.source)
        except InputError as e:
            raise InputError(f"{f.entry} ({safe(f.path)}): {e}", source=plan_source) from None
        if f.sha256 is not None and d.hashes["sha256"] != f.sha256:
            raise InputError(
                f"{f.entry} ({safe(f.path)}): {f.source} changed since the plan was reviewed "
                f"(SHA-256 is {d.hashes['sha256']}, the plan pins {f.sha256})",
                source=plan_source,
            )
        out[f.path] = TargetFile(
            d.length, dict(d.hashes), f.path, unrecognized_fields={"custom": f.custom} if f.custom is not None else {}
        )
    return out


@dataclass
class TargetsDiff:
    added: list[TargetFile]
    removed: list[TargetFile]
    changed: list[tuple[TargetFile, TargetFile]]  # (old, new)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_targets(old: Targets | None, new: Targets) -> TargetsDiff:
    before = old.targets if old is not None else {}
    after = new.targets
    return TargetsDiff(
        added=[after[p] for p in sorted(set(after) - set(before))],
        removed=[before[p] for p in sorted(set(before) - set(after))],
        changed=[
            (before[p], after[p]) for p in sorted(set(before) & set(after)) if before[p].to_dict() != after[p].to_dict()
        ],
    )


def describe_target(tf: TargetFile) -> list[str]:
    """Every field of one target, as lines of untrusted text made safe."""
    import json

    lines = [f"path {safe(tf.path, None)}", f"length {tf.length}"]
    for alg in sorted(tf.hashes):
        lines.append(f"{safe(alg)} {safe(tf.hashes[alg], None)}")
    for name in sorted(tf.unrecognized_fields):
        value = json.dumps(tf.unrecognized_fields[name], sort_keys=True, ensure_ascii=False)
        lines.append(f"{safe(name)} {safe(value, None)}")
    return lines
