"""The ceremony transcript: one JSON Lines record per command run, chained.

Format ``tuf-ceremony/transcript-record`` version 1 (docs/auditor.md). Each
line is one record, written as compact JSON with sorted keys and ASCII only::

    {"format": "tuf-ceremony/transcript-record", "format_version": 1,
     "seq": 3, "prev": "<SHA-256 hex of line 2, without its newline>",
     "time": "2026-12-01T09:30:00Z", "finished": "2026-12-01T09:31:10Z",
     "tool": {"version": "0.1.0", "fingerprint": "<hex>", "python": "3.11.9"},
     "command": "sign", "arguments": {"request_file": "request.json", ...},
     "inputs": [{"param": "request_file", "path": "request.json", "sha256": "<hex>"}],
     "outputs": [{"param": "out", "path": "alice.bundle.json", "sha256": "<hex>"}],
     "exit_code": 0, "result": "signature bundle written: alice.bundle.json",
     "review_digest": "<hex>", "details": {...}}

``seq`` counts from 1; ``prev`` of the first record is 64 zeros. A directory
argument is recorded with a tree digest and (up to :data:`MAX_LISTED_FILES`)
the SHA-256 of each of its files. Any edit of a record changes its hash and
breaks the ``prev`` of the next one; a removed or reordered record breaks
``seq`` and ``prev``. The last record is protected by the next one only: its
hash is shown after every command (:func:`record_hash`), for the witness to
write on the run sheet.

:class:`Transcript` is the writer: :meth:`Transcript.open` runs before the
command (it checks the chain of the existing file, locks it and checks that
it can be appended to), :meth:`Transcript.append` after it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuf_ceremony.errors import InputError

RECORD_FORMAT = "tuf-ceremony/transcript-record"
RECORD_FORMAT_VERSION = 1
GENESIS = "0" * 64
MAX_LISTED_FILES = 2000
MAX_LINE_BYTES = 4 * 1024 * 1024
_MIN_FREE_BYTES = 1024 * 1024
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "seq": int,
    "prev": str,
    "time": str,
    "tool": dict,
    "command": str,
    "arguments": dict,
    "inputs": list,
    "outputs": list,
    "exit_code": int,
    "result": str,
}


class TranscriptError(InputError):
    """A transcript cannot be read, trusted or written (exit 3)."""


def record_hash(line: bytes) -> str:
    """SHA-256 hex of one record line (without its newline)."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def encode_record(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Entry:
    """One record of a transcript as read back."""

    lineno: int
    line: bytes
    doc: dict[str, Any]

    @property
    def seq(self) -> int:
        v = self.doc.get("seq")
        return v if isinstance(v, int) else -1

    @property
    def command(self) -> str:
        v = self.doc.get("command")
        return v if isinstance(v, str) else "?"

    @property
    def hash(self) -> str:
        return record_hash(self.line)

    @property
    def exit_code(self) -> int | None:
        v = self.doc.get("exit_code")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def step(self) -> str:
        """``record 3 (line 3, merge)``, the command as recorded (untrusted:
        make it printable before showing it)."""
        return f"record {self.seq} (line {self.lineno}, {self.command[:60]})"

    def files(self, kind: str, param: str | None = None) -> list[dict[str, Any]]:
        """The ``inputs`` or ``outputs`` entries, optionally of one parameter."""
        raw = self.doc.get(kind)
        if not isinstance(raw, list):
            return []
        return [f for f in raw if isinstance(f, dict) and (param is None or f.get("param") == param)]

    def digests(self, kind: str, param: str | None = None) -> list[str]:
        """SHA-256 of every file (directories expanded) of ``kind``."""
        out: list[str] = []
        for f in self.files(kind, param):
            if isinstance(f.get("sha256"), str) and f.get("type") != "directory":
                out.append(f["sha256"])
            for sub in f.get("files") or []:
                if isinstance(sub, dict) and isinstance(sub.get("sha256"), str):
                    out.append(sub["sha256"])
        return out


@dataclass(frozen=True)
class ChainProblem:
    lineno: int
    step: str
    message: str

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"


@dataclass
class ChainResult:
    entries: list[Entry] = field(default_factory=list)
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.entries[-1].hash if self.entries else GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems


def _validate_doc(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "not a JSON object"
    if doc.get("format") != RECORD_FORMAT:
        return f"not a transcript record (format {doc.get('format')!r})"
    if doc.get("format_version") != RECORD_FORMAT_VERSION:
        return f"unsupported format_version {doc.get('format_version')!r}"
    for name, typ in _REQUIRED.items():
        value = doc.get(name)
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            return f"{name}: missing or of the wrong type"
    return None


def check_chain(data: bytes) -> ChainResult:
    """Read transcript bytes and check every link; problems name the line
    and the step (seq and command) concerned."""
    from tuf_ceremony.files import parse_json

    result = ChainResult()
    if not data:
        return result
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    else:
        result.problems.append(
            ChainProblem(
                len(lines),
                f"line {len(lines)}",
                "the last record is not complete (no final newline): the file was cut or a write failed",
            )
        )
    prev_hash = GENESIS
    prev_entry: Entry | None = None
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES:
            result.problems.append(ChainProblem(i, f"line {i}", "record too long"))
            prev_hash, prev_entry = record_hash(line), None
            continue
        try:
            doc = parse_json(line, f"line {i}", "transcript record")
            why = _validate_doc(doc)
        except InputError as e:
            doc, why = None, str(e)
        if why is not None or not isinstance(doc, dict):
            result.problems.append(ChainProblem(i, f"line {i}", f"unreadable record: {why}"))
            prev_hash, prev_entry = record_hash(line), None
            continue
        entry = Entry(i, line, doc)
        expected_seq = prev_entry.seq + 1 if prev_entry is not None else i
        after = f" after {prev_entry.step()}" if prev_entry is not None else ""
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                why = (
                    f"seq {entry.seq} where {expected_seq} was expected{after}: "
                    "a record was removed, or records were reordered"
                )
            else:
                why = f"seq {entry.seq} where {expected_seq} was expected{after}: records were reordered or repeated"
            result.problems.append(ChainProblem(i, entry.step(), why))
        elif doc["prev"] != prev_hash:
            before = prev_entry.step() if prev_entry is not None else "the start"
            result.problems.append(
                ChainProblem(
                    i,
                    entry.step(),
                    f"prev does not match the SHA-256 of {before}: that record was edited "
                    "or replaced (or one was removed or reordered)",
                )
            )
        result.entries.append(entry)
        prev_hash, prev_entry = entry.hash, entry
    return result


def read_transcript(path: Path) -> ChainResult:
    from tuf_ceremony.files import read_bytes

    return check_chain(read_bytes(path, "transcript"))


def _lock(fd: int, source: str) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise TranscriptError("is in use by another tuf-ceremony command", source=source) from None
        # filesystems without locks (some FAT mounts): carry on unlocked


class Transcript:
    """An open transcript, checked and locked, ready for one record."""

    def __init__(self, path: Path, fd: int, size: int, next_seq: int, prev: str) -> None:
        self.path = path
        self._fd: int | None = fd
        self._size = size
        self.next_seq = next_seq
        self.prev = prev

    @classmethod
    def open(cls, path: Path) -> Transcript:
        """Check that ``path`` can take one more record: it is a regular
        file (or can be created), its chain is intact, it is not in use and
        there is room on its filesystem. Raises :class:`TranscriptError`."""
        source = str(path)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise TranscriptError("the transcript's directory does not exist", source=source)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as e:
            raise TranscriptError(f"cannot be opened for appending: {e.strerror}", source=source) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise TranscriptError("is not a regular file", source=source)
            _lock(fd, source)
            data = b""
            while chunk := os.pread(fd, 1 << 20, len(data)):
                data += chunk
            chain = check_chain(data)
            if chain.problems:
                from tuf_ceremony.text import safe

                raise TranscriptError(
                    f"chain is broken at {safe(chain.problems[0])}; refusing to extend it "
                    "(keep this file as evidence and start a new transcript)",
                    source=source,
                )
            try:
                vfs = os.fstatvfs(fd)
                if vfs.f_bavail * vfs.f_frsize < _MIN_FREE_BYTES:
                    raise TranscriptError("its filesystem is full", source=source)
            except OSError:
                pass
            last = chain.entries[-1] if chain.entries else None
            return cls(path, fd, len(data), (last.seq + 1) if last else 1, chain.head)
        except BaseException:
            os.close(fd)
            raise

    def append(self, record: dict[str, Any]) -> tuple[int, str]:
        """Write ``record`` (seq and prev filled in) as one line and sync.
        Returns (seq, hash of the record). On failure the file is cut back to
        its previous length and :class:`TranscriptError` is raised."""
        if self._fd is None:
            raise TranscriptError("is closed", source=str(self.path))
        doc = {
            "format": RECORD_FORMAT,
            "format_version": RECORD_FORMAT_VERSION,
            **record,
            "seq": self.next_seq,
            "prev": self.prev,
        }
        line = encode_record(doc)
        data = line + b"\n"
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
        except OSError as e:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            raise TranscriptError(f"the record could not be appended: {e.strerror}", source=str(self.path)) from None
        finally:
            self.close()
        return doc["seq"], record_hash(line)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def describe_path(param: str, path: Path) -> dict[str, Any]:
    """The transcript entry of one file or directory argument."""
    entry: dict[str, Any] = {"param": param, "path": str(path)}
    try:
        if path.is_file():
            entry["type"] = "file"
            entry["sha256"] = sha256_file(path)
        elif path.is_dir():
            entry["type"] = "directory"
            files = tree_files(path)
            entry["sha256"] = tree_digest(files)
            entry["count"] = len(files)
            if len(files) <= MAX_LISTED_FILES:
                entry["files"] = [{"name": n, "sha256": d} for n, d in files]
        else:
            entry["type"] = "missing"
            entry["sha256"] = None
    except OSError as e:
        entry["type"] = "unreadable"
        entry["sha256"] = None
        entry["error"] = e.strerror or type(e).__name__
    return entry


def tree_files(directory: Path) -> list[tuple[str, str]]:
    """(relative POSIX name, SHA-256) of every regular file under ``directory``."""
    out: list[tuple[str, str]] = []
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out.append((p.relative_to(directory).as_posix(), sha256_file(p)))
    return out


def tree_digest(files: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, digest in files:
        h.update(f"{digest} {json.dumps(name)}\n".encode())
    return h.hexdigest()
