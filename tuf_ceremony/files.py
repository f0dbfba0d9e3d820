"""File helpers: atomic writes that never replace without consent, JSON loading
with one-line errors that name the file.

Writing outputs (requests, bundles, metadata, keys)
---------------------------------------------------
Outputs cross the air gap on USB sticks, which are usually FAT or exFAT. Every
write must (1) never replace an existing file unless ``--force``, even when the
file appears while we work, (2) leave either the complete new file or nothing
under the final name, also after a crash or a pulled stick, and (3) be on the
device, not in a cache, when we tell the keyholder it is.

:func:`write_atomic` writes the data to a temporary file in the same folder
(``.NAME.XXXX.tmp``, created with O_EXCL by :func:`tempfile.mkstemp`) and
fsyncs it. Then:

* ``--force``: ``rename()`` over the target (atomic replacement).
* otherwise, where hard links exist: ``link(tmp, target)``, which fails when
  the target exists, so no-clobber holds against a race; then the temporary
  file is removed.
* where ``link()`` is refused (FAT and exFAT give EPERM; others ENOSYS,
  ENOTSUP/EOPNOTSUPP, EXDEV, EMLINK): the target name is claimed with
  ``open(target, O_CREAT|O_EXCL)``, which fails when it exists, so no-clobber
  still holds against a race; then the complete temporary file is renamed
  over our own, empty placeholder.

Why a placeholder and not writing the target directly after O_EXCL: writing in
place could leave a *partial* file under the final name after a crash, which
looks like a real, truncated bundle. With the placeholder, a crash leaves at
worst an *empty* file under the final name (plus a hidden ``.tmp``): it cannot
be mistaken for content, every reader refuses it as not JSON, and the next run
refuses to write over it and says it is empty and may be a left-over. The
final content only ever appears whole, by rename. On any error, the temporary
file and our placeholder are removed, so nothing is left behind.

Finally the file and its folder are fsync'ed. :class:`Written` reports whether
both succeeded and on which filesystem type (from /proc/self/mountinfo);
:func:`removal_note` turns that into the line the CLI prints ("written and
flushed to disk: it is safe to remove the USB stick"). A filesystem without
Unix permissions refuses ``fchmod``; the mode is then skipped (FAT has none).
OS errors (full or read-only stick, permissions) become a one-line
:class:`~tuf_ceremony.errors.InputError` naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf_ceremony.errors import FormatError, InputError, OutputExistsError


def read_bytes(path: str | os.PathLike[str], what: str = "file", limit: int | None = None) -> bytes:
    """Read a whole file, turning OS errors into an :class:`InputError`.

    With ``limit``, a file larger than ``limit`` bytes is refused unread.
    """
    p = Path(path)
    try:
        if limit is None:
            return p.read_bytes()
        with p.open("rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise InputError(f"{what} is larger than {limit // 1024} KiB: refused unread", source=str(p))
        return data
    except FileNotFoundError:
        raise InputError(f"{what} not found", source=str(p)) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected a {what}", source=str(p)) from None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", source=str(p)) from None


def load_json(path: str | os.PathLike[str], what: str = "JSON file", limit: int | None = None) -> Any:
    """Parse a JSON file; duplicate object keys are refused (they would let two
    readers see two different documents). ``limit``: see :func:`read_bytes`."""
    data = read_bytes(path, what, limit)
    return parse_json(data, str(path), what)


#: Deepest nesting of arrays and objects accepted in any JSON document (TUF
#: metadata and our formats need fewer than 12 levels).
MAX_JSON_DEPTH = 64


def json_depth_exceeds(obj: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``obj`` nests arrays/objects deeper than ``limit`` (iterative:
    never a RecursionError)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r}")
            seen.add(k)
    return d


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text} (canonical JSON has none)")


# Duplicate object keys are refused (two parsers could see two documents),
# so are floats and NaN (TUF's canonical JSON has none).
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float)


def parse_json(data: bytes, source: str, what: str = "JSON file") -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not UTF-8 text", source=source) from None
    try:
        doc = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise FormatError(
            f"{what} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})",
            source=source,
        ) from None
    except RecursionError:
        raise FormatError(f"{what} nests arrays or objects too deeply", source=source) from None
    except ValueError as e:
        raise FormatError(f"{what} is not valid JSON ({e})", source=source) from None
    if json_depth_exceeds(doc):
        raise FormatError(f"{what} nests arrays or objects deeper than {MAX_JSON_DEPTH} levels", source=source)
    return doc


def check_writable(path: str | os.PathLike[str], force: bool) -> None:
    """Refuse an existing output unless ``force``; call before any work."""
    p = Path(path)
    if len(p.name.encode("utf-8", "surrogateescape")) > 255:
        raise InputError("file name is longer than 255 bytes", source=str(p)[:300])
    try:
        if p.is_dir():
            raise OutputExistsError("is a directory, expected a file path", source=str(p))
        if p.exists() and not force:
            raise _exists_error(p)
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise InputError("output directory does not exist", source=str(parent))
    except OSError as e:
        raise InputError(f"cannot use this output path: {e.strerror}", source=str(p)[:300]) from None


def _exists_error(p: Path) -> OutputExistsError:
    try:
        empty = p.stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return OutputExistsError(
            "exists and is empty (perhaps left by an interrupted write: check, remove it "
            "and run again); use --force to replace it",
            source=str(p),
        )
    return OutputExistsError("exists; use --force to replace it", source=str(p))


# link() on a filesystem without hard links (FAT, exFAT, some FUSE and network
# filesystems) fails with one of these; then the placeholder method is used.
LINK_UNSUPPORTED = frozenset(
    code
    for code in (
        errno.EPERM,
        errno.ENOSYS,
        errno.ENOTSUP,
        errno.EOPNOTSUPP,
        errno.EXDEV,
        errno.EMLINK,
        getattr(errno, "EFTYPE", None),
    )
    if code is not None
)

# Filesystems a USB stick usually carries (from /proc/self/mountinfo).
REMOVABLE_FILESYSTEMS = frozenset(
    {"vfat", "msdos", "exfat", "fuseblk", "fuse.fusefat", "fuse.exfat", "ntfs", "ntfs3", "hfsplus"}
)


@dataclass(frozen=True)
class Written:
    """What :func:`write_atomic` did: ``flushed`` when the file and its folder
    were both fsync'ed without error, ``method`` how no-clobber was kept
    ("link", "placeholder" or "replace" with --force), ``filesystem`` the
    type of the filesystem written to, when it could be found."""

    path: Path
    flushed: bool
    method: str
    filesystem: str | None

    @property
    def removable(self) -> bool:
        return self.filesystem in REMOVABLE_FILESYSTEMS


def write_atomic(path: str | os.PathLike[str], data: bytes, *, force: bool = False, mode: int = 0o644) -> Written:
    """Write ``data`` to ``path``: all of it or nothing, never replacing an
    existing file unless ``force``. See the module docstring for the method."""
    p = Path(path)
    check_writable(p, force)
    parent = p.parent if str(p.parent) else Path(".")
    tmp: str | None = None
    placeholder = False
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
        except OSError as e:
            raise _write_error(p, e) from None
        _fill(fd, data, mode)
        if force:
            os.replace(tmp, p)
            tmp = None
            method = "replace"
        else:
            try:
                os.link(tmp, p)
                method = "link"
            except FileExistsError:
                raise _exists_error(p) from None
            except OSError as e:
                if e.errno not in LINK_UNSUPPORTED:
                    raise
                # no hard links here: claim the name with O_EXCL, then rename
                # the complete temporary file over our own placeholder
                try:
                    pfd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                except FileExistsError:
                    raise _exists_error(p) from None
                placeholder = True
                os.close(pfd)
                os.replace(tmp, p)
                tmp = None
                placeholder = False
                method = "placeholder"
            if tmp is not None:  # the link is in place: the temporary name goes
                leftover, tmp = tmp, None
                _cleanup(leftover, None)
        flushed = _fsync_path(p) and _fsync_path(parent)
    except OSError as e:
        _cleanup(tmp, p if placeholder else None)
        raise _write_error(p, e) from None
    except BaseException:
        _cleanup(tmp, p if placeholder else None)
        raise
    return Written(p, flushed, method, filesystem_type(parent))


def _fill(fd: int, data: bytes, mode: int) -> None:
    """Give the temporary file ``fd`` its mode and ``data``, on disk (fsync), and close it."""
    _chmod(fd, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_error(p: Path, e: OSError) -> InputError:
    reason = e.strerror or type(e).__name__
    return InputError(f"cannot write: {reason}; nothing was written", source=str(p))


def _chmod(fd: int, mode: int) -> None:
    """Set the mode; filesystems without Unix permissions (FAT) refuse this,
    and there the mode means nothing anyway."""
    try:
        os.fchmod(fd, mode)
    except OSError as e:
        if e.errno not in LINK_UNSUPPORTED | {errno.EINVAL}:
            raise


def _cleanup(tmp: str | None, placeholder: Path | None) -> None:
    for leftover in (tmp, placeholder):
        if leftover is None:
            continue
        try:
            os.unlink(leftover)
        except OSError:
            pass


def write_files_atomic(files: dict[Path, bytes], *, force: bool = False) -> list[Written]:
    """Write several files, all or none: every target is checked first, and
    on a failure the files already written by this call are removed."""
    for path in files:
        check_writable(path, force)
    written: list[Written] = []
    try:
        for path, data in files.items():
            written.append(write_atomic(path, data, force=force))
    except BaseException:
        if not force:
            for w in written:
                w.path.unlink(missing_ok=True)
        raise
    return written


def _fsync_path(path: Path) -> bool:
    """fsync a file or a directory by name; False where the OS refuses."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def sync_written(paths: list[Path]) -> list[Written]:
    """Flush files already written (and their folders) once more and report
    it, for writers that return only paths."""
    out: list[Written] = []
    for p in paths:
        parent = p.parent if str(p.parent) else Path(".")
        flushed = _fsync_path(p) and _fsync_path(parent)
        out.append(Written(p, flushed, "synced", filesystem_type(parent)))
    return out


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` ("vfat", "ext4", ...), from
    /proc/self/mountinfo; None where that cannot be read (not Linux)."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
        target = os.path.realpath(path)
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        mount_point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= best[0]):
            fstype = right.split()[0] if right.split() else ""
            best = (len(mount_point), fstype)
    return best[1] if best else None


def removal_note(written: list[Written]) -> str:
    """One line for the keyholder: may the stick be pulled out now?"""
    if not written:
        return ""
    if all(w.flushed for w in written):
        if any(w.removable for w in written):
            return (
                "written and flushed to disk: it is safe to remove the USB stick "
                "(eject it first if your desktop mounted it)"
            )
        return "written and flushed to disk"
    return (
        "written, but the system did not confirm the flush to disk: unmount or eject the USB stick before removing it"
    )


def dump_json(obj: Any) -> bytes:
    """Stable, human-diffable JSON for the documents tuf-ceremony writes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
