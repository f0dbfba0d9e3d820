"""Which metadata files a directory holds: ``N.ROLE.json`` (consistent
snapshot names) and ``ROLE.json``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tuf_ceremony.errors import InputError


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
        names = os.listdir(directory)
    except OSError as e:
        raise InputError(f"cannot list directory: {e.strerror}", source=str(directory)) from None
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        head = name[:-5]
        version, dot, role = head.partition(".")
        if dot and role and version.isdigit() and version.isascii() and version[0] != "0":
            files = roles.get(role)
            if files is None:
                files = roles[role] = RoleFiles()
            files.versions[int(version)] = name
        else:
            roles.setdefault(head, RoleFiles()).unversioned = name
    return DirIndex(directory, roles)


def safe_role_name(name: str) -> bool:
    """Role names become file names; refuse ones that could leave the
    directory, hide as dot files, or that ``prepare`` refuses (NUL, control
    and invisible characters, ``..``, characters FAT refuses, over-long:
    :func:`tuf_ceremony.wellformed.unsafe_name_reason`)."""
    from tuf_ceremony.wellformed import unsafe_name_reason

    return unsafe_name_reason(name) is None
