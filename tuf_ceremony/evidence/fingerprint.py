"""The tool's fingerprint: one SHA-256 over the installed tuf-ceremony and
every distribution it requires.

Witnesses compare it across the ceremony machines: machines installed from
the same wheel folder show the same fingerprint, and a machine with one
changed file shows another.

What is hashed (format ``tuf-ceremony tool fingerprint v1``):

* tuf-ceremony itself: every file of the imported ``tuf_ceremony`` package
  directory (the code that actually runs, also for an editable install),
  named ``tuf_ceremony/<path>``, and every other file its installed RECORD
  lists (its metadata, and anything else its wheel put in the installation
  directory, such as a ``.pth`` file that would run at start-up);
* each distribution in the requirement closure of tuf-ceremony (its
  ``Requires-Dist``, followed recursively; requirements behind an extra are
  followed only for the extras asked for, requirements behind another
  environment marker only when that distribution is installed): every file
  its RECORD lists inside the installation directory.

* the interpreter's start-up hooks: every ``*.pth`` file and any
  ``sitecustomize.py`` or ``usercustomize.py`` in its site directories
  (Python runs them before any tool code), named ``site/<file name>``, as
  the pseudo-distribution ``(site start-up)``.

* files inside a distribution's top-level package directories that no
  installed distribution's RECORD lists (a module dropped beside the
  installed ones): hashed with the distribution, and each a problem (the
  ``tool`` check of ``preflight`` fails).

Left out, because they differ between identical installations: compiled
bytecode (``*.pyc``, ``__pycache__``), files outside the installation
directory (console scripts, whose first line names the interpreter), the
installer's own records (``RECORD``, ``INSTALLER``, ``REQUESTED``,
``direct_url.json``) and editable-install hooks (``__editable__*``).

The digest is the SHA-256 of the text made of the line
``tuf-ceremony tool fingerprint v1``, then for each distribution in the
order of its normalized name the line ``distribution NAME VERSION`` and for
each of its files in the order of the path the line ``SHA256 "PATH"`` (the
path as a JSON string), every line ending with ``\\n``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path

FINGERPRINT_FORMAT = "tuf-ceremony tool fingerprint v1"
ROOT_DISTRIBUTION = "tuf-ceremony"
_SKIP_NAMES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class DistributionFiles:
    """One distribution and the (path, SHA-256) of each file hashed."""

    name: str
    version: str
    files: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ToolFingerprint:
    digest: str
    distributions: tuple[DistributionFiles, ...]
    problems: tuple[str, ...] = ()

    @property
    def file_count(self) -> int:
        return sum(len(d.files) for d in self.distributions)

    def summary(self) -> list[dict[str, object]]:
        return [{"name": d.name, "version": d.version, "files": len(d.files)} for d in self.distributions]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _skipped(rel: str) -> bool:
    parts = rel.split("/")
    if rel.startswith("/") or ".." in parts:
        return True
    if "__pycache__" in parts or rel.endswith((".pyc", ".pyo")):
        return True
    name = parts[-1]
    if name.startswith("__editable__"):
        return True
    in_metadata = len(parts) >= 2 and parts[-2].endswith((".dist-info", ".egg-info"))
    return in_metadata and name in _SKIP_NAMES


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[tuple[str, frozenset[str], bool]]:
    """(name, extras, conditional) of each requirement that applies."""
    out: list[tuple[str, frozenset[str], bool]] = []
    for text in dist.requires or []:
        req, _, marker = text.partition(";")
        m = _REQUIREMENT.match(req)
        if m is None:
            continue
        wanted = frozenset(e.strip() for e in (m.group(2) or "").split(",") if e.strip())
        marker = marker.strip()
        conditional = False
        if marker:
            needed = set(_EXTRA_MARKER.findall(marker))
            if needed and not needed & extras:
                continue
            # other markers (python_version, platform): followed when installed
            conditional = bool(_EXTRA_MARKER.sub("", marker).strip(" ()andor\t"))
        out.append((normalize(m.group(1)), wanted, conditional))
    return out


def _package_files(package_dir: Path, prefix: str) -> tuple[tuple[str, str], ...]:
    files: list[tuple[str, str]] = []
    for p in package_dir.rglob("*"):
        if not p.is_file():
            continue
        rel = f"{prefix}/{p.relative_to(package_dir).as_posix()}"
        if _skipped(rel):
            continue
        files.append((rel, _sha256_file(p)))
    return tuple(sorted(files))


def _record_files(dist: metadata.Distribution, name: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    listed = dist.files
    if listed is None:
        problems.append(f"{name}: the installation lists no files (no RECORD)")
        return ()
    files: dict[str, str] = {}
    for entry in listed:
        rel = entry.as_posix()
        if _skipped(rel):
            continue
        path = Path(str(dist.locate_file(entry)))
        if not path.is_file():
            problems.append(f"{name}: installed file {rel} is missing")
            continue
        files[rel] = _sha256_file(path)
    return tuple(sorted(files.items()))


def _unlisted_files(
    dist: metadata.Distribution,
    name: str,
    files: dict[str, str],
    listed_anywhere: set[tuple[str, str]],
    problems: list[str],
) -> dict[str, str]:
    """Files inside the distribution's top-level package directories that no
    installed distribution's RECORD lists (a module dropped beside the
    installed ones runs when imported, and the wheel never held it)."""
    base = Path(str(dist.locate_file("")))
    tops = sorted(
        {
            e.as_posix().split("/")[0]
            for e in dist.files or []
            if "/" in e.as_posix()
            and not _skipped(e.as_posix())
            and not e.as_posix().split("/")[0].endswith((".dist-info", ".egg-info", ".data"))
        }
    )
    extra: dict[str, str] = {}
    for top in tops:
        top_dir = base / top
        if top_dir.is_symlink() or not top_dir.is_dir():
            continue
        for p in sorted(top_dir.rglob("*")):
            rel = p.relative_to(base).as_posix()
            if rel in files or _skipped(rel) or (str(base), rel) in listed_anywhere or not p.is_file():
                continue
            extra[rel] = _sha256_file(p)
            problems.append(f"{name}: file {rel} is not listed in any installation record")
    return extra


def _listed_anywhere() -> set[tuple[str, str]]:
    """(installation directory, path) of every file any installed
    distribution's RECORD lists."""
    out: set[tuple[str, str]] = set()
    for dist in metadata.distributions():
        base = str(Path(str(dist.locate_file(""))))
        out.update((base, e.as_posix()) for e in dist.files or [])
    return out


STARTUP = "(site start-up)"


def _site_dirs() -> list[Path]:
    import site

    dirs = [Path(d) for d in site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        dirs.append(Path(site.getusersitepackages()))
    return dirs


def _startup_files(site_dirs: list[Path]) -> tuple[tuple[str, str], ...]:
    files: dict[str, str] = {}
    for d in site_dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.suffix == ".pth" or p.name in ("sitecustomize.py", "usercustomize.py"):
                if not p.is_file():
                    continue
                name = f"site/{p.name}"
                while name in files:
                    name += "+"
                files[name] = _sha256_file(p)
    return tuple(sorted(files.items()))


def compute_fingerprint(package_dir: Path | None = None, site_dirs: list[Path] | None = None) -> ToolFingerprint:
    """The fingerprint of the running installation (see the module text);
    ``package_dir`` and ``site_dirs`` default to those of this interpreter."""
    if package_dir is None:
        import tuf_ceremony

        package_dir = Path(tuf_ceremony.__file__).resolve().parent
    problems: list[str] = []
    dists: dict[str, DistributionFiles] = {}
    root: metadata.Distribution | None
    try:
        root = metadata.distribution(ROOT_DISTRIBUTION)
        root_version = root.version
        queue = _requirements(root, frozenset())
    except metadata.PackageNotFoundError:
        problems.append(f"{ROOT_DISTRIBUTION} is not installed: its requirements are unknown")
        root, root_version, queue = None, "unknown", []
    own = dict(_package_files(package_dir, package_dir.name))
    if root is not None and root.read_text("RECORD") is not None:
        extra = _record_files(root, ROOT_DISTRIBUTION, problems)
        own.update((rel, d) for rel, d in extra if not rel.startswith(f"{package_dir.name}/"))
    dists[ROOT_DISTRIBUTION] = DistributionFiles(ROOT_DISTRIBUTION, root_version, tuple(sorted(own.items())))
    done: dict[str, frozenset[str]] = {}
    listed: set[tuple[str, str]] | None = None
    while queue:
        name, extras, conditional = queue.pop(0)
        seen = done.get(name)
        if seen is not None and extras <= seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if not conditional:
                problems.append(f"required distribution {name} is not installed")
            continue
        new_extras = extras if seen is None else extras - seen
        done[name] = extras | (seen or frozenset())
        queue.extend(_requirements(dist, new_extras) if seen is not None else _requirements(dist, extras))
        if seen is None:
            files = dict(_record_files(dist, name, problems))
            if listed is None:
                listed = _listed_anywhere()
            files.update(_unlisted_files(dist, name, files, listed, problems))
            dists[name] = DistributionFiles(name, dist.version, tuple(sorted(files.items())))
    dists[STARTUP] = DistributionFiles(
        STARTUP, "-", _startup_files(site_dirs if site_dirs is not None else _site_dirs())
    )
    ordered = tuple(dists[n] for n in sorted(dists))
    h = hashlib.sha256(f"{FINGERPRINT_FORMAT}\n".encode())
    for d in ordered:
        h.update(f"distribution {d.name} {d.version}\n".encode())
        for path, digest in d.files:
            h.update(f"{digest} {json.dumps(path)}\n".encode())
    return ToolFingerprint(h.hexdigest(), ordered, tuple(problems))


@functools.cache
def tool_fingerprint() -> ToolFingerprint:
    """:func:`compute_fingerprint` once per process."""
    return compute_fingerprint()
