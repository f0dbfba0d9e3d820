"""Writes on real FAT and exFAT filesystems, the way a keyholder's USB stick
is formatted: a FAT image made with mkfs.vfat and mounted through FUSE with
Debian's fusefat; an exFAT image made with mkfs.exfat, attached to a loop
device and mounted with exfat-fuse.

Skipped only where /dev/fuse is absent (a container without FUSE), and the
exFAT case where no loop device can be attached. Where /dev/fuse exists, a
missing tool is a skip on a developer machine and a failure under CI
(`make test` installs them: `make fat`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, write_plan
from tuf_ceremony.files import filesystem_type, write_atomic


def _require_tools() -> tuple[str, str, str]:
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is absent: no FUSE here, so no FAT mount")
    mkfs = shutil.which("mkfs.vfat") or shutil.which("mkfs.vfat", path="/usr/sbin:/sbin")
    fusefat = shutil.which("fusefat")
    fusermount = shutil.which("fusermount") or shutil.which("fusermount3")
    if not (mkfs and fusefat and fusermount):
        reason = "fusefat / mkfs.vfat / fusermount missing: run `make fat` (apt-get install fusefat dosfstools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} - CI must run the FAT tests", pytrace=False)
        pytest.skip(reason)
    return mkfs, fusefat, fusermount


def _mounted(mnt: Path) -> bool:
    return filesystem_type(mnt) == "fuse.fusefat"


def _require_exfat_tools() -> tuple[str, str, str, str]:
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is absent: no FUSE here, so no exFAT mount")
    sbin = "/usr/sbin:/sbin:" + os.environ.get("PATH", "")
    tools = [shutil.which(t, path=sbin) for t in ("mkfs.exfat", "mount.exfat-fuse", "losetup", "fusermount")]
    if not all(tools):
        reason = "exfatprogs / exfat-fuse missing: run `make fat`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} - CI must run the exFAT tests", pytrace=False)
        pytest.skip(reason)
    mkfs, mount, losetup, fusermount = tools
    assert mkfs and mount and losetup and fusermount
    return mkfs, mount, losetup, fusermount


@contextlib.contextmanager
def _exfat(tmp_path: Path) -> Iterator[Path]:
    mkfs, mount, losetup, fusermount = _require_exfat_tools()
    image = tmp_path / "stick.img"
    with image.open("wb") as f:
        f.truncate(32 * 1024 * 1024)
    subprocess.run([mkfs, "-L", "KEYHOLDER", str(image)], check=True, capture_output=True)
    attach = subprocess.run([losetup, "--find", "--show", str(image)], capture_output=True, text=True, check=False)
    if attach.returncode != 0:
        pytest.skip(f"no loop device for the exFAT image: {attach.stderr.strip()}")
    device = attach.stdout.strip()
    mnt = tmp_path / "stick"
    mnt.mkdir()
    try:
        subprocess.run([mount, device, str(mnt)], check=True, capture_output=True)
        try:
            assert filesystem_type(mnt) == "fuseblk"
            yield mnt
        finally:
            subprocess.run([fusermount, "-u", str(mnt)], check=False, capture_output=True)
    finally:
        subprocess.run([losetup, "-d", device], check=False, capture_output=True)


@pytest.fixture(params=["fat", "exfat"])
def fat_stick(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB FAT or exFAT image mounted read-write at tmp_path/stick."""
    if request.param == "exfat":
        with _exfat(tmp_path) as mnt:
            yield mnt
        return
    mkfs, fusefat, fusermount = _require_tools()
    image = tmp_path / "stick.img"
    with image.open("wb") as f:
        f.truncate(32 * 1024 * 1024)
    subprocess.run([mkfs, "-n", "KEYHOLDER", str(image)], check=True, capture_output=True)
    mnt = tmp_path / "stick"
    mnt.mkdir()
    # "rw+" is fusefat's read-write mode (plain "rw" mounts read-only)
    subprocess.run([fusefat, "-o", "rw+", str(image), str(mnt)], check=True, capture_output=True)
    for _ in range(50):
        if _mounted(mnt):
            break
        time.sleep(0.1)
    assert _mounted(mnt), "fusefat did not mount the image"
    try:
        yield mnt
    finally:
        subprocess.run([fusermount, "-u", str(mnt)], check=False, capture_output=True)


def test_sign_and_merge_on_a_fat_stick(workdir: Path, fat_stick: Path) -> None:
    assert filesystem_type(fat_stick) in ("fuse.fusefat", "fuseblk")
    plan = write_plan(workdir / "plan.toml")
    req = fat_stick / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output
    bundles = []
    for who in ("alice", "bob"):
        out = fat_stick / f"{who}.bundle.json"
        r = run_cli("sign", req, "--key", workdir / f"{who}.pem", "--out", out, "--yes", input=PASSPHRASES[who] + "\n")
        assert r.exit_code == 0, r.output
        assert "written and flushed to disk: it is safe to remove the USB stick" in r.output
        bundles.append(out)
    doc = json.loads(bundles[0].read_text())
    assert doc["format"] == "tuf-ceremony/signature-bundle"
    assert doc["signer"]["name"] == "alice"

    # no-clobber on FAT: exit 7 and the first bundle unchanged
    before = bundles[0].read_bytes()
    r = run_cli(
        "sign", req, "--key", workdir / "bob.pem", "--out", bundles[0], "--yes", input=PASSPHRASES["bob"] + "\n"
    )
    assert r.exit_code == 7, r.output
    assert "exists" in r.stderr
    assert bundles[0].read_bytes() == before

    repo = fat_stick / "repo"
    r = run_cli("merge", req, *bundles, "--out", repo)
    assert r.exit_code == 0, r.output
    assert "it is safe to remove the USB stick" in r.output
    names = sorted(p.name for p in repo.iterdir())
    assert names == ["1.root.json", "1.targets.json"]
    root = json.loads((repo / "1.root.json").read_text())
    assert root["signed"]["_type"] == "root" and len(root["signatures"]) == 2
    again = run_cli("merge", req, *bundles, "--out", repo)
    assert again.exit_code == 7
    assert json.loads((repo / "1.root.json").read_text()) == root

    # --force replaces on FAT too
    r = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        bundles[0],
        "--yes",
        "--force",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r.exit_code == 0, r.output
    # nothing left behind: no temporary files, no placeholders
    leftovers = [p.name for p in fat_stick.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    # FAT refuses hard links: the O_EXCL placeholder method kept no-clobber
    w = write_atomic(fat_stick / "note.txt", b"hello\n")
    assert (w.method, w.flushed, w.removable) == ("placeholder", True, True)
    r = run_cli("status", req, *bundles)
    assert r.exit_code == 0, r.output


def test_key_generate_on_a_fat_stick(tmp_path: Path, fat_stick: Path) -> None:
    """FAT has no Unix permissions: the private key's 0600 is skipped, not an error."""
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ecdsa-p256",
        "--private-out",
        fat_stick / "rehearsal.pem",
        "--public-out",
        fat_stick / "rehearsal.pub.json",
        input="rehearsal-passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert json.loads((fat_stick / "rehearsal.pub.json").read_text())["keytype"] == "ecdsa"
