"""Which metadata files a directory holds: ``N.ROLE.json`` (consistent
snapshot names) and ``ROLE.json``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tuf_ceremony.errors import InputError

_VERSIONED = re.compile(r"^([0-9]+)\.(.+)\.json$")


@dataclass
class RoleFiles:
    versions: dict[int, str] = field(default_factory=dict)
    unversioned: str | None = None

    def newest(self) -> str | None:
        if self.versions:
            return self.versions[max(self.versions)]
        return self.unversioned

    @property
    def present(self) -> bool:
        return bool(self.versions) or self.unversioned is not None


@dataclass
class DirIndex:
    directory: Path
    roles: dict[str, RoleFiles]

    def get(self, role: str) -> RoleFiles:
        return self.roles.get(role) or RoleFiles()


def index_directory(directory: Path) -> DirIndex:
    if not directory.exists():
        raise InputError("directory not found", source=str(directory))
    if not directory.is_dir():
        raise InputError("is not a directory", source=str(directory))
    roles: dict[str, RoleFiles] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError as e:
        raise InputError(f"cannot list directory: {e.strerror}", source=str(directory)) from None
    for entry in entries:
        name = entry.name
        if not name.endswith(".json") or name.startswith("."):
            continue
        m = _VERSIONED.match(name)
        if m and not m.group(1).startswith("0"):
            roles.setdefault(m.group(2), RoleFiles()).versions[int(m.group(1))] = name
        else:
            roles.setdefault(name[: -len(".json")], RoleFiles()).unversioned = name
    return DirIndex(directory, roles)


def safe_role_name(name: str) -> bool:
    """Role names become file names; refuse ones that could leave the
    directory or hide as dot files."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")
