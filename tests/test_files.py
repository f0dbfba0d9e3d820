"""No-clobber atomic writes where link() is refused (FAT, exFAT, some FUSE and
network filesystems), with os.link failing in every way such filesystems fail.
Runs everywhere; tests/test_fat.py does the same on a real FAT filesystem."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, write_plan
from tuf_ceremony import files
from tuf_ceremony.errors import InputError, OutputExistsError

LINK_ERRNOS = ["EPERM", "ENOSYS", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK"]


@pytest.fixture(params=LINK_ERRNOS)
def no_links(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    code = getattr(errno, request.param)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", refuse)
    return str(request.param)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_sign_and_merge_without_links(workdir: Path, no_links: str) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output
    bundles = []
    for who in ("alice", "bob"):
        out = workdir / f"{who}.bundle.json"
        r = run_cli("sign", req, "--key", workdir / f"{who}.pem", "--out", out, "--yes", input=PASSPHRASES[who] + "\n")
        assert r.exit_code == 0, r.output
        assert "written and flushed to disk" in r.output
        assert json.loads(out.read_text())["format"] == "tuf-ceremony/signature-bundle"
        bundles.append(out)
    # no-clobber: a second sign to the same file is refused, the original intact
    before = bundles[0].read_bytes()
    r = run_cli(
        "sign", req, "--key", workdir / "alice.pem", "--out", bundles[0], "--yes", input=PASSPHRASES["alice"] + "\n"
    )
    assert r.exit_code == 7, r.output
    assert "exists" in r.stderr
    assert bundles[0].read_bytes() == before
    repo = workdir / "repo"
    r = run_cli("merge", req, *bundles, "--out", repo, "--json")
    assert r.exit_code == 0, r.output
    assert "written and flushed to disk" in r.stderr  # stdout stays JSON
    assert len(json.loads(r.stdout)["written"]) == 2
    assert {p.name for p in repo.iterdir()} == {"1.root.json", "1.targets.json"}
    root_before = (repo / "1.root.json").read_bytes()
    r = run_cli("merge", req, *bundles, "--out", repo)
    assert r.exit_code == 7
    assert (repo / "1.root.json").read_bytes() == root_before
    assert _leftovers(workdir) == [] and _leftovers(repo) == []


def test_key_generate_without_links(tmp_path: Path, no_links: str) -> None:
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ed25519",
        "--private-out",
        tmp_path / "k.pem",
        "--public-out",
        tmp_path / "k.pub.json",
        input="long-passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert "keyval" in json.loads((tmp_path / "k.pub.json").read_text())


def test_placeholder_method_refuses_a_file_that_appears_meanwhile(
    tmp_path: Path, no_links: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target appears after the up-front check (another writer, a second
    run on the same stick): O_EXCL on the name still refuses, and the other
    file is left as it was."""
    target = tmp_path / "out.json"
    real_mkstemp = tempfile.mkstemp

    def racing_mkstemp(
        suffix: str | None = None, prefix: str | None = None, dir: str | Path | None = None, text: bool = False
    ) -> tuple[int, str]:
        target.write_bytes(b"theirs")
        return real_mkstemp(suffix, prefix, dir, text)

    monkeypatch.setattr(tempfile, "mkstemp", racing_mkstemp)
    with pytest.raises(OutputExistsError):
        files.write_atomic(target, b"ours")
    assert target.read_bytes() == b"theirs"
    assert _leftovers(tmp_path) == []


def test_method_and_result(tmp_path: Path, no_links: str) -> None:
    w = files.write_atomic(tmp_path / "a.json", b"{}\n")
    assert w.method == "placeholder" and w.flushed
    assert (tmp_path / "a.json").read_bytes() == b"{}\n"
    w = files.write_atomic(tmp_path / "a.json", b"[]\n", force=True)
    assert w.method == "replace" and (tmp_path / "a.json").read_bytes() == b"[]\n"


def test_links_used_where_they_work(tmp_path: Path) -> None:
    w = files.write_atomic(tmp_path / "a.json", b"{}\n")
    assert w.method == "link"
    assert _leftovers(tmp_path) == []


def test_other_link_errors_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(InputError, match="cannot write: No space left on device"):
        files.write_atomic(tmp_path / "a.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_failure_after_placeholder_leaves_nothing(
    tmp_path: Path, no_links: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stick is pulled (EIO) at the rename: neither the temporary file nor
    our placeholder stays behind."""

    def pulled(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", pulled)
    with pytest.raises(InputError, match="cannot write: Input/output error"):
        files.write_atomic(tmp_path / "a.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_empty_leftover_is_explained(workdir: Path) -> None:
    """An empty file under the output name (what an interrupted write can
    leave) is refused with a hint, not silently replaced."""
    plan = write_plan(workdir / "plan.toml")
    out = workdir / "request.json"
    out.write_bytes(b"")
    r = run_cli("prepare", plan, "--out", out)
    assert r.exit_code == 7
    assert "is empty" in r.stderr and "interrupted write" in r.stderr


def test_read_only_stick_is_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write-protected (read-only) stick: one line naming the file, exit 3."""

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = workdir / "r.json"
    r = run_cli("prepare", write_plan(workdir / "plan.toml"), "--out", out)
    assert r.exit_code == 3, r.output
    assert f"{out}: cannot write: Read-only file system" in r.stderr
    assert [ln for ln in r.stderr.splitlines() if "error" in ln] == [
        f"tuf-ceremony: error: {out}: cannot write: Read-only file system; nothing was written"
    ]
    assert not out.exists()


def test_removal_note() -> None:
    fat = files.Written(Path("x"), True, "placeholder", "vfat")
    ext4 = files.Written(Path("y"), True, "link", "ext4")
    assert files.removal_note([fat]).startswith("written and flushed to disk: it is safe to remove the USB stick")
    assert files.removal_note([ext4]) == "written and flushed to disk"
    unflushed = files.Written(Path("z"), False, "placeholder", "vfat")
    assert "did not confirm" in files.removal_note([fat, unflushed])


def test_filesystem_type_of_this_folder(tmp_path: Path) -> None:
    if not Path("/proc/self/mountinfo").exists():
        pytest.skip("no /proc/self/mountinfo (not Linux)")
    fstype = files.filesystem_type(tmp_path)
    assert fstype is not None and fstype != ""
