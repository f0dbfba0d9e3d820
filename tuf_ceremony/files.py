"""File helpers: atomic writes that never replace without consent, JSON loading
with one-line errors that name the file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tuf_ceremony.errors import FormatError, InputError, OutputExistsError


def read_bytes(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """Read a whole file, turning OS errors into an :class:`InputError`."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", source=str(p)) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected a {what}", source=str(p)) from None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", source=str(p)) from None


def load_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """Parse a JSON file; duplicate object keys are refused (they would let two
    readers see two different documents)."""
    data = read_bytes(path, what)
    return parse_json(data, str(path), what)


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
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
)


def parse_json(data: bytes, source: str, what: str = "JSON file") -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not UTF-8 text", source=source) from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise FormatError(
            f"{what} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})",
            source=source,
        ) from None
    except (ValueError, RecursionError) as e:
        raise FormatError(f"{what} is not valid JSON ({e})", source=source) from None


def check_writable(path: str | os.PathLike[str], force: bool) -> None:
    """Refuse an existing output unless ``force``; call before any work."""
    p = Path(path)
    if p.is_dir():
        raise OutputExistsError("is a directory, expected a file path", source=str(p))
    if p.exists() and not force:
        raise OutputExistsError("exists; use --force to replace it", source=str(p))
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("output directory does not exist", source=str(parent))


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, force: bool = False, mode: int = 0o644
) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Without ``force`` an existing file is never replaced, also when it appears
    between the check and the rename (the final step is a hard link, which
    fails when the target exists).
    """
    p = Path(path)
    check_writable(p, force)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)
            except FileExistsError:
                raise OutputExistsError("exists; use --force to replace it", source=str(p)) from None
            os.unlink(tmp)
        _fsync_dir(parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files_atomic(files: dict[Path, bytes], *, force: bool = False) -> None:
    """Write several files, all or none: every target is checked first, and
    on a failure the files already written by this call are removed."""
    for path in files:
        check_writable(path, force)
    written: list[Path] = []
    try:
        for path, data in files.items():
            write_atomic(path, data, force=force)
            written.append(path)
    except BaseException:
        if not force:
            for path in written:
                path.unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def dump_json(obj: Any) -> bytes:
    """Stable, human-diffable JSON for the documents tuf-ceremony writes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
