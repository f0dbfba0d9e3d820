"""Fixtures for ceremony tests: a CLI runner, software keys made through the
CLI, a plan, and python-tuf's client reading what the ceremony produced."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from tuf_ceremony.cli.main import cli as cli_group

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner, Signer
    from tuf.ngclient import Updater

PASSPHRASES = {
    "alice": "alice-passphrase",
    "bob": "bob-passphrase",
    "carol": "carol-passphrase",
    "dave": "dave-passphrase",
    "erin": "erin-passphrase",
    "online": "online-passphrase",
    "online2": "online2-passphrase",
}


def run_cli(*args: str | Path, input: str | None = None) -> Result:
    """Invoke tuf-ceremony in-process; stdin is not a terminal, so secrets
    are read one line each from ``input``."""
    runner = CliRunner()
    return runner.invoke(cli_group, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


def rotate_cli(
    repo: Path, out: Path, *options: str | Path, names: Path | list[Path] | None = None, input: str | None = None
) -> Result:
    """``tuf-ceremony rotate --trusted REPO OPTIONS [--names N ...] --out OUT``."""
    listed = [] if names is None else [names] if isinstance(names, Path) else names
    named = [a for n in listed for a in ("--names", n)]
    return run_cli("rotate", "--trusted", repo, *options, *named, "--out", out, input=input)


def write_plan(
    path: Path,
    *,
    root: tuple[list[str], int] = (["alice", "bob", "carol"], 2),
    targets: tuple[list[str], int] = (["alice", "bob"], 2),
    online: str = "online",
    keys: list[str] | None = None,
    extra: str = "",
) -> Path:
    names = keys or sorted({*root[0], *targets[0], online})
    lines = ["[keys]"]
    lines += [f'{n} = "{n}.pub.json"' for n in names]
    for role, (rk, thr), exp in (("root", root, "365d"), ("targets", targets, "365d")):
        lines += [f"[roles.{role}]", f"keys = {json.dumps(rk)}", f"threshold = {thr}", f'expires = "{exp}"']
    for role in ("snapshot", "timestamp"):
        lines += [f"[roles.{role}]", f'keys = ["{online}"]', "threshold = 1", 'expires = "1d"']
    text = "\n".join(lines) + "\n" + extra
    path.write_text(text)
    return path


@dataclass
class KeySet:
    directory: Path

    def priv(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def pub(self, name: str) -> Path:
        return self.directory / f"{name}.pub.json"

    def copy_to(self, dest: Path) -> None:
        for p in self.directory.iterdir():
            shutil.copy2(p, dest / p.name)


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    """Software keys generated through ``key generate`` once per session."""
    d = tmp_path_factory.mktemp("keys")
    types = {
        "alice": "ecdsa-p256",
        "bob": "ed25519",
        "carol": "ecdsa-p384",
        "dave": "ecdsa-p256",
        "erin": "ed25519",
        "online": "ed25519",
        "online2": "ed25519",
    }
    for name, keytype in types.items():
        r = run_cli(
            "key",
            "generate",
            "--type",
            keytype,
            "--private-out",
            d / f"{name}.pem",
            "--public-out",
            d / f"{name}.pub.json",
            input=PASSPHRASES[name] + "\n",
        )
        assert r.exit_code == 0, r.output
    return KeySet(d)


@pytest.fixture
def workdir(tmp_path: Path, keyset: KeySet) -> Path:
    keyset.copy_to(tmp_path)
    return tmp_path


def sign_as(workdir: Path, request: Path, name: str, out: Path | None = None) -> Path:
    out = out or workdir / f"{name}.bundle.json"
    r = run_cli(
        "sign", request, "--key", workdir / f"{name}.pem", "--out", out, "--yes", input=PASSPHRASES[name] + "\n"
    )
    assert r.exit_code == 0, r.output
    return out


def software_signer(workdir: Path, name: str) -> CryptoSigner:
    """A securesystemslib signer for a test key (the repository's online key)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner, SSlibKey

    from tuf_ceremony.keys import load_public_key

    priv = load_pem_private_key((workdir / f"{name}.pem").read_bytes(), PASSPHRASES[name].encode())
    public = load_public_key(workdir / f"{name}.pub.json")
    assert isinstance(public, SSlibKey)
    return CryptoSigner(priv, public)


def publish_online(repo: Path, online_signer: Signer, *, snapshot_version: int = 1, timestamp_version: int = 1) -> None:
    """Add snapshot and timestamp signed by the online key, as the repository
    would, next to the ceremony's N.root.json and N.targets.json."""
    from tuf.api.metadata import Metadata, MetaFile, Snapshot, Timestamp

    targets_versions = sorted(int(p.name.split(".")[0]) for p in repo.glob("*.targets.json"))
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    snap = Metadata(
        Snapshot(
            version=snapshot_version, expires=expires, meta={"targets.json": MetaFile(version=targets_versions[-1])}
        )
    )
    snap.sign(online_signer)
    snap.to_file(str(repo / f"{snapshot_version}.snapshot.json"))
    ts = Metadata(
        Timestamp(version=timestamp_version, expires=expires, snapshot_meta=MetaFile(version=snapshot_version))
    )
    ts.sign(online_signer)
    ts.to_file(str(repo / "timestamp.json"))


def ngclient_refresh(repo: Path, bootstrap_root: bytes, client_dir: Path) -> Updater:
    """python-tuf's own client, reading the repository from disk."""
    from tuf.api.exceptions import DownloadHTTPError
    from tuf.ngclient import Updater
    from tuf.ngclient.fetcher import FetcherInterface

    class DirFetcher(FetcherInterface):
        def _fetch(self, url: str) -> Iterator[bytes]:
            name = url.rsplit("/", 1)[-1]
            path = repo / name
            if not path.is_file():
                raise DownloadHTTPError(f"{name} not found", 404)
            yield path.read_bytes()

    client_dir.mkdir(parents=True, exist_ok=True)
    updater = Updater(str(client_dir), "https://repo.invalid/metadata/", fetcher=DirFetcher(), bootstrap=bootstrap_root)
    updater.refresh()
    return updater
