"""Generated TUF repositories for the verify tests (and the benchmark).

``build_repository`` writes a complete repository metadata directory with
python-tuf: root, targets, hashed bins (classic ``path_hash_prefixes`` or
TAP 15 succinct bins), snapshot and timestamp, with consistent-snapshot file
names (``N.ROLE.json``, ``timestamp.json``). Keys are CryptoSigner keys made
once per test session.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from securesystemslib.signer import CryptoSigner, Key, Signer
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class RepoKeys:
    root: list[Signer]
    targets: list[Signer]
    snapshot: Signer
    timestamp: Signer
    bins: Signer


def make_keys() -> RepoKeys:
    return RepoKeys(
        root=[CryptoSigner.generate_ed25519() for _ in range(3)],
        targets=[CryptoSigner.generate_ed25519() for _ in range(2)],
        snapshot=CryptoSigner.generate_ed25519(),
        timestamp=CryptoSigner.generate_ed25519(),
        bins=CryptoSigner.generate_ed25519(),
    )


@dataclass
class RepoInfo:
    directory: Path
    bin_names: list[str]
    bin_targets: dict[str, list[str]] = field(default_factory=dict)
    keys: RepoKeys | None = None


def classic_bins(n_bins: int) -> list[tuple[str, list[str]]]:
    """Bin names and their path hash prefixes, like PEP 458 / python-tuf's
    hashed bin example: the prefix length is the number of hex digits
    needed for ``n_bins - 1``, each bin gets an equal range of prefixes."""
    prefix_len = len(f"{n_bins - 1:x}")
    n_prefixes = 16**prefix_len
    per_bin = n_prefixes // n_bins
    assert per_bin * n_bins == n_prefixes, "n_bins must be a power of 2"
    width = prefix_len
    out = []
    for i in range(n_bins):
        prefixes = [f"{p:0{prefix_len}x}" for p in range(i * per_bin, (i + 1) * per_bin)]
        out.append((f"bin-{i:0{width}x}", prefixes))
    return out


def _fill_bins(
    assign: Callable[[str], str], names: list[str], per_bin: int, pypi_like: bool = False
) -> dict[str, list[str]]:
    content: dict[str, list[str]] = {n: [] for n in names}
    remaining = len(names)
    i = 0
    while remaining:
        h = hashlib.sha256(str(i).encode()).hexdigest()
        if pypi_like:  # like files.pythonhosted.org paths
            path = f"packages/{h[:2]}/{h[2:4]}/{h[4:64]}/project{i}-1.0.{i % 10}.tar.gz"
        else:
            path = f"packages/{i % 97:02d}/{h[:16]}/pkg-{i}.tar.gz"
        i += 1
        name = assign(path)
        lst = content[name]
        if len(lst) < per_bin:
            lst.append(path)
            if len(lst) == per_bin:
                remaining -= 1
    return content


def _target(path: str, custom: bool = True) -> TargetFile:
    digest = hashlib.sha256(path.encode()).hexdigest()
    extra = {"custom": {"backend": "pypi", "source": f"https://files.example/{path}"}}
    return TargetFile(
        length=1000 + len(path),
        hashes={
            "sha256": digest,
            "blake2b-256": hashlib.blake2b(path.encode(), digest_size=32).hexdigest(),
        },
        path=path,
        unrecognized_fields=extra if custom else None,
    )


def _write(md: Metadata[Any], path: Path, serializer: JSONSerializer) -> bytes:
    data = serializer.serialize(md)
    path.write_bytes(data)
    return data


def build_repository(
    out: Path,
    keys: RepoKeys,
    *,
    n_bins: int = 16,
    succinct: bool = False,
    targets_per_bin: int = 2,
    snapshot_hashes: bool = False,
    expires: datetime = EXPIRES,
    progress: bool = False,
    pypi_like: bool = False,
) -> RepoInfo:
    """Write a signed repository metadata directory into ``out``.

    ``pypi_like``: target paths shaped like PyPI's, without custom fields."""
    out.mkdir(parents=True, exist_ok=True)
    ser = JSONSerializer(compact=False)
    _write(_signed_root(keys, expires), out / "1.root.json", ser)

    targets = Targets(expires=expires)
    names, content = _delegate_bins(targets, keys.bins.public_key, n_bins, succinct, targets_per_bin, pypi_like)
    targets_md = Metadata(targets)
    for s in keys.targets:
        targets_md.sign(s, append=True)
    targets_bytes = _write(targets_md, out / "1.targets.json", ser)

    snapshot = Snapshot(expires=expires)
    snapshot.meta["targets.json"] = _metafile(1, targets_bytes, snapshot_hashes)
    for n, name in enumerate(names):
        b = Targets(expires=expires)
        for path in content[name]:
            b.targets[path] = _target(path, not pypi_like)
        md = Metadata(b)
        md.sign(keys.bins)
        data = _write(md, out / f"1.{name}.json", ser)
        snapshot.meta[f"{name}.json"] = _metafile(1, data, snapshot_hashes)
        if progress and n % 1024 == 0:
            print(f"  {n}/{len(names)} bins", flush=True)
    snap_md = Metadata(snapshot)
    snap_md.sign(keys.snapshot)
    snap_bytes = _write(snap_md, out / "1.snapshot.json", ser)

    ts = Timestamp(expires=expires)
    ts.snapshot_meta = _metafile(1, snap_bytes, True)
    ts_md = Metadata(ts)
    ts_md.sign(keys.timestamp)
    _write(ts_md, out / "timestamp.json", ser)
    return RepoInfo(out, names, content, keys)


def _signed_root(keys: RepoKeys, expires: datetime) -> Metadata[Root]:
    """Root v1: 2-of-3 root keys, 2-of-n targets keys, one snapshot and one
    timestamp key; signed by the first two root keys."""
    root = Root(expires=expires, consistent_snapshot=True)
    for s in keys.root:
        root.add_key(s.public_key, Root.type)
    root.roles[Root.type].threshold = 2
    for s in keys.targets:
        root.add_key(s.public_key, Targets.type)
    root.roles[Targets.type].threshold = 2
    root.add_key(keys.snapshot.public_key, Snapshot.type)
    root.add_key(keys.timestamp.public_key, Timestamp.type)
    root_md = Metadata(root)
    for s in keys.root[:2]:
        root_md.sign(s, append=True)
    return root_md


def _delegate_bins(
    targets: Targets, bin_key: Key, n_bins: int, succinct: bool, targets_per_bin: int, pypi_like: bool
) -> tuple[list[str], dict[str, list[str]]]:
    """Delegate ``targets`` to ``n_bins`` hashed bins (PEP 458 classic, or
    TAP 15 succinct); returns the bin names and the target paths of each."""
    if succinct:
        bit_length = n_bins.bit_length() - 1
        assert 2**bit_length == n_bins
        sr = SuccinctRoles([bin_key.keyid], 1, bit_length, "bin")
        targets.delegations = Delegations(keys={bin_key.keyid: bin_key}, succinct_roles=sr)
        names = list(sr.get_roles())
        return names, _fill_bins(sr.get_role_for_target, names, targets_per_bin, pypi_like)
    bins = classic_bins(n_bins)
    roles = {
        name: DelegatedRole(name, [bin_key.keyid], 1, False, path_hash_prefixes=prefixes) for name, prefixes in bins
    }
    targets.delegations = Delegations(keys={bin_key.keyid: bin_key}, roles=roles)
    names = [n for n, _ in bins]
    prefix_len = len(bins[0][1][0])
    by_prefix = {p: n for n, ps in bins for p in ps}

    def assign(path: str) -> str:
        return by_prefix[hashlib.sha256(path.encode()).hexdigest()[:prefix_len]]

    return names, _fill_bins(assign, names, targets_per_bin, pypi_like)


def _metafile(version: int, data: bytes, with_hashes: bool) -> MetaFile:
    if not with_hashes:
        return MetaFile(version=version)
    return MetaFile(version=version, length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()})


def resign(
    path: Path, signers: list[Signer], *, edit: Callable[[Metadata[Any]], object] | None = None
) -> Metadata[Any]:
    """Load metadata, let ``edit(md)`` change it, re-sign with ``signers``
    (replacing every signature) and write it back."""
    md = Metadata.from_file(str(path))
    if edit is not None:
        edit(md)
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    path.write_bytes(JSONSerializer(compact=False).serialize(md))
    return md


def refresh_snapshot_timestamp(directory: Path, keys: RepoKeys, *, hashes: bool = False) -> None:
    """Recompute snapshot meta for every bin/targets file in ``directory`` and
    re-sign snapshot (same version) and timestamp, so that a deliberately
    tampered file is caught by its signature only."""
    ser = JSONSerializer(compact=False)
    snap_path = directory / "1.snapshot.json"
    snap = Metadata[Snapshot].from_file(str(snap_path))
    for name in list(snap.signed.meta):
        role = name[: -len(".json")]
        path = directory / f"{snap.signed.meta[name].version}.{role}.json"
        if not path.exists():
            continue
        data = path.read_bytes()
        if hashes or snap.signed.meta[name].hashes:
            snap.signed.meta[name] = _metafile(snap.signed.meta[name].version, data, True)
    snap.signatures.clear()
    snap.sign(keys.snapshot)
    snap_bytes = _write(snap, snap_path, ser)
    ts = Metadata[Timestamp].from_file(str(directory / "timestamp.json"))
    ts.signed.snapshot_meta = _metafile(snap.signed.version, snap_bytes, True)
    ts.signatures.clear()
    ts.sign(keys.timestamp)
    _write(ts, directory / "timestamp.json", ser)


@pytest.fixture(scope="session")
def repo_keys() -> RepoKeys:
    return make_keys()


@pytest.fixture(scope="session")
def _classic_repo_master(tmp_path_factory: pytest.TempPathFactory, repo_keys: RepoKeys) -> RepoInfo:
    d = tmp_path_factory.mktemp("classic-master") / "metadata"
    return build_repository(d, repo_keys, n_bins=64, snapshot_hashes=True)


@pytest.fixture(scope="session")
def _succinct_repo_master(tmp_path_factory: pytest.TempPathFactory, repo_keys: RepoKeys) -> RepoInfo:
    d = tmp_path_factory.mktemp("succinct-master") / "metadata"
    return build_repository(d, repo_keys, n_bins=32, succinct=True)


def _copy(info: RepoInfo, dest: Path) -> RepoInfo:
    target = dest / "metadata"
    shutil.copytree(info.directory, target)
    return RepoInfo(target, info.bin_names, info.bin_targets, info.keys)


@pytest.fixture
def classic_repo(_classic_repo_master: RepoInfo, tmp_path: Path) -> Iterator[RepoInfo]:
    """A fresh copy (tests may tamper with it) of a 64-bin classic repository
    whose snapshot carries hashes and lengths."""
    yield _copy(_classic_repo_master, tmp_path)


@pytest.fixture
def succinct_repo(_succinct_repo_master: RepoInfo, tmp_path: Path) -> Iterator[RepoInfo]:
    """A fresh copy of a 32-bin TAP 15 succinct repository (snapshot without
    hashes)."""
    yield _copy(_succinct_repo_master, tmp_path)


# --------------------------------------------------------------------------
# root chains


def root_md(
    version: int,
    root_keys: list[Signer],
    threshold: int = 2,
    *,
    expires: datetime = EXPIRES,
    others: list[Signer] | None = None,
) -> Metadata[Root]:
    """Unsigned root metadata with ``root_keys`` for root (and ``others``, or
    the root keys, for the other top-level roles)."""
    root = Root(version=version, expires=expires, consistent_snapshot=True)
    for s in root_keys:
        root.add_key(s.public_key, Root.type)
    root.roles[Root.type].threshold = threshold
    for role in (Targets.type, Snapshot.type, Timestamp.type):
        for s in others or root_keys:
            root.add_key(s.public_key, role)
    return Metadata(root)


def write_signed(md: Metadata[Any], path: Path, signers: Sequence[Signer]) -> Path:
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    path.write_bytes(JSONSerializer(compact=False).serialize(md))
    return path


@dataclass
class Chain:
    directory: Path
    signers: list[Signer]  # a, b, c, d, e


@pytest.fixture(scope="session")
def chain_signers() -> list[Signer]:
    return [CryptoSigner.generate_ed25519() for _ in range(5)]


@pytest.fixture
def root_chain(tmp_path: Path, chain_signers: list[Signer]) -> Chain:
    """A good 3-version chain: v1 root keys a,b,c (2 of 3); v2 revokes a and
    adds d (signed by a,b of v1 and b,d of v2); v3 renews with b,c,d."""
    a, b, c, d, _ = chain_signers
    d_ = tmp_path / "chain"
    d_.mkdir()
    write_signed(root_md(1, [a, b, c]), d_ / "1.root.json", [a, b])
    write_signed(root_md(2, [b, c, d]), d_ / "2.root.json", [a, b, d])
    write_signed(root_md(3, [b, c, d]), d_ / "3.root.json", [c, d])
    return Chain(d_, list(chain_signers))


# --------------------------------------------------------------------------
# running ``tuf-ceremony verify`` through the real entry point


@dataclass
class VerifyRun:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        import json

        return json.loads(self.out)

    def problems(self, code: str | None = None, severity: str | None = None) -> list[Any]:
        return [
            p
            for p in self.json()["problems"]
            if (code is None or p["code"] == code) and (severity is None or p["severity"] == severity)
        ]


class VerifyCli(Protocol):
    """The ``verify_cli`` fixture: ``tuf-ceremony verify ARGS``."""

    def __call__(self, *args: str | Path) -> VerifyRun: ...


@pytest.fixture
def verify_cli(capsys: pytest.CaptureFixture[str]) -> VerifyCli:
    """Run ``tuf-ceremony verify ARGS`` through ``main`` (exit codes and the
    one-line error mapping included); returns code, stdout, stderr."""
    from tuf_ceremony.cli.main import main

    def run(*args: str | Path) -> VerifyRun:
        capsys.readouterr()
        try:
            main(["verify", *[str(a) for a in args]])
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return VerifyRun(code, out, err)

    return run
