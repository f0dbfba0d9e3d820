"""A plan's target sources stay in the plan's folder: a hostile plan cannot
make prepare hash, and publish copy, a file from elsewhere on the machine
under an innocent target path. Unpinned target files are warned about."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, write_plan
from tests.test_targets_cli import files_table


@pytest.mark.parametrize(
    "source, message",
    [
        ("/etc/hostname", "must be a path relative to the plan's folder"),
        ("../secret.txt", "leaves the plan's folder ('..')"),
        ("files/../../secret.txt", "leaves the plan's folder ('..')"),
        ("link/secret.txt", "leads outside the plan's folder (through a symbolic link)"),
    ],
)
def test_target_source_outside_the_plan_folder_is_refused(workdir: Path, source: str, message: str) -> None:
    outside = workdir.parent / f"outside-{workdir.name}"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (workdir.parent / "secret.txt").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    if not (workdir / "link").exists():
        os.symlink(outside, workdir / "link")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "keys/ctfe.pub", "source": source}]))
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 3, r.output + r.stderr
    assert "targets.files[0].source" in r.stderr and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (workdir / "req.json").exists()
    # `targets hash` (and `publish --plan`) read the plan the same way
    r = run_cli("targets", "hash", plan)
    assert r.exit_code == 3 and message in r.stderr


def test_sources_in_subfolders_are_fine_and_unpinned_ones_warned(workdir: Path) -> None:
    (workdir / "files").mkdir()
    (workdir / "files" / "a.txt").write_bytes(b"a\n")
    (workdir / "b.txt").write_bytes(b"b\n")
    pin = hashlib.sha256(b"b\n").hexdigest()
    plan = write_plan(
        workdir / "plan.toml",
        extra=files_table(
            [{"path": "a.txt", "source": "files/./a.txt"}, {"path": "b.txt", "source": "b.txt", "sha256": pin}]
        ),
    )
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 0, r.output + r.stderr
    out = " ".join(r.stderr.split())
    assert "1 target file(s) without a sha256 pin (targets.files[0])" in out, out
    assert "tuf-ceremony targets hash" in out
