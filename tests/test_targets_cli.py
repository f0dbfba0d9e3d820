"""Target files with content, end to end through the CLI: a plan lists files,
prepare hashes them, sign shows them, merge + publish lay them out under
consistent-snapshot names, and python-tuf's ngclient downloads and verifies
them over HTTP from a loopback server."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import Result

from tests.fixtures_core import (
    PASSPHRASES,
    publish_online,
    run_cli,
    sign_as,
    software_signer,
    write_plan,
)

if TYPE_CHECKING:
    from tuf.ngclient import Updater


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A static HTTP server for ``directory`` on 127.0.0.1 (bounded: stopped
    when the block ends)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def files_table(entries: list[dict[str, object]]) -> str:
    lines = ["[targets]"] if not entries else []
    for e in entries:
        lines.append("[[targets.files]]")
        lines += [f"{k} = {_toml(v)}" for k, v in e.items()]
    return "\n".join(lines) + "\n"


def _ceremony(
    workdir: Path, plan: Path, out: Path, trusted: Path | None = None, name: str = "request.json"
) -> tuple[Path, Result]:
    req = workdir / name
    args: list[str | Path] = ["prepare", plan, "--out", req]
    if trusted is not None:
        args += ["--trusted", trusted]
    r = run_cli(*args)
    assert r.exit_code == 0, r.output + r.stderr
    a = sign_as(workdir, req, "alice", workdir / f"{name}.alice.json")
    r = run_cli(
        "sign",
        req,
        "--key",
        workdir / "bob.pem",
        "--out",
        workdir / f"{name}.bob.json",
        "--yes",
        input=PASSPHRASES["bob"] + "\n",
    )
    assert r.exit_code == 0, r.output
    r2 = run_cli("merge", req, a, workdir / f"{name}.bob.json", "--out", out)
    assert r2.exit_code == 0, r2.output + r2.stderr
    return req, r


def _updater(site: str, root: bytes, client: Path) -> Updater:
    from tuf.ngclient import Updater

    client.mkdir(parents=True, exist_ok=True)
    (client / "dl").mkdir(exist_ok=True)
    updater = Updater(str(client), f"{site}/metadata/", str(client / "dl"), f"{site}/targets/", bootstrap=root)
    updater.refresh()
    return updater


# Long on purpose: one scenario, step by step in the order people run it.
def test_plan_targets_prepare_publish_and_ngclient_downloads(workdir: Path) -> None:  # noqa: PLR0915 - one scenario end to end
    files = workdir / "files"
    files.mkdir()
    (files / "trusted_root.json").write_bytes(b'{"sigstore": "root"}\n')
    (files / "ctfe.pub").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END\n")
    (files / "old.txt").write_bytes(b"going away\n")
    plan = write_plan(
        workdir / "plan.toml",
        extra=files_table(
            [
                {
                    "path": "trusted_root.json",
                    "source": "files/trusted_root.json",
                    "custom": {"sigstore": {"usage": "Unknown", "status": "Active"}},
                },
                {"path": "keys/ctfe.pub", "source": "files/ctfe.pub"},
                {"path": "old.txt", "source": "files/old.txt"},
            ]
        ),
    )
    meta = workdir / "meta"
    req, shown = _ceremony(workdir, plan, meta)
    doc = json.loads(req.read_text())
    targets = next(p for p in doc["payloads"] if p["role"] == "targets")["signed"]["targets"]
    content = (files / "trusted_root.json").read_bytes()
    assert targets["trusted_root.json"] == {
        "length": len(content),
        "hashes": {"sha256": hashlib.sha256(content).hexdigest(), "sha512": hashlib.sha512(content).hexdigest()},
        "custom": {"sigstore": {"status": "Active", "usage": "Unknown"}},
    }
    assert set(targets) == {"trusted_root.json", "keys/ctfe.pub", "old.txt"}
    # what the keyholder saw before signing names every target
    out = shown.output
    for path in ("trusted_root.json", "keys/ctfe.pub", "old.txt"):
        assert path in out, path

    site = workdir / "site"
    r = run_cli("publish", meta, "--plan", plan, "--out", site)
    assert r.exit_code == 0, r.output + r.stderr
    sha256 = hashlib.sha256(content).hexdigest()
    sha512 = hashlib.sha512(content).hexdigest()
    assert (site / "targets" / f"{sha256}.trusted_root.json").read_bytes() == content
    assert (site / "targets" / f"{sha512}.trusted_root.json").read_bytes() == content
    ctfe = hashlib.sha256((files / "ctfe.pub").read_bytes()).hexdigest()
    assert (site / "targets" / "keys" / f"{ctfe}.ctfe.pub").is_file()
    assert sorted(p.name for p in (site / "metadata").iterdir()) == ["1.root.json", "1.targets.json"]
    publish_online(site / "metadata", software_signer(workdir, "online"))

    root1 = (site / "metadata" / "1.root.json").read_bytes()
    with serve(site) as url:
        up = _updater(url, root1, workdir / "client")
        info = up.get_targetinfo("trusted_root.json")
        assert info is not None, "trusted_root.json"
        assert info is not None and info.custom == {"sigstore": {"status": "Active", "usage": "Unknown"}}
        path = up.download_target(info)
        assert Path(path).read_bytes() == content
        info = up.get_targetinfo("keys/ctfe.pub")
        assert info is not None, "keys/ctfe.pub"
        assert Path(up.download_target(info)).read_bytes() == (files / "ctfe.pub").read_bytes()

    # version 2: one file changed, one removed, one added
    (files / "trusted_root.json").write_bytes(b'{"sigstore": "root v2"}\n')
    (files / "new.txt").write_bytes(b"new\n")
    plan2 = write_plan(
        workdir / "plan2.toml",
        extra=files_table(
            [
                {"path": "trusted_root.json", "source": "files/trusted_root.json"},
                {"path": "keys/ctfe.pub", "source": "files/ctfe.pub"},
                {"path": "new.txt", "source": "files/new.txt", "custom": {"note": "added in v2"}},
            ]
        ),
    )
    _, shown2 = _ceremony(workdir, plan2, meta, trusted=meta, name="request2.json")
    out2 = shown2.output
    # every target added, removed or changed, with its length, hashes and custom
    for needle in (
        "new.txt",
        "old.txt",
        "trusted_root.json",
        "added in v2",
        hashlib.sha256(b"going away\n").hexdigest(),
        hashlib.sha512(b'{"sigstore": "root v2"}\n').hexdigest(),
        hashlib.sha256(content).hexdigest(),
        "length 4",
    ):
        assert needle in out2, needle
    site2 = workdir / "site2"
    r = run_cli("publish", meta, "--plan", plan2, "--out", site2, "--unversioned")
    assert r.exit_code == 0, r.output + r.stderr
    names = sorted(p.name for p in (site2 / "metadata").iterdir())
    assert names == ["1.root.json", "2.root.json", "2.targets.json", "root.json", "targets.json"]
    publish_online(site2 / "metadata", software_signer(workdir, "online"), snapshot_version=2, timestamp_version=2)
    with serve(site2) as url:
        up = _updater(url, root1, workdir / "client")  # updates from the client's v1
        assert up.get_targetinfo("old.txt") is None
        info = up.get_targetinfo("new.txt")
        assert info is not None, "new.txt"
        assert info.custom == {"note": "added in v2"}
        assert Path(up.download_target(info)).read_bytes() == b"new\n"
        info = up.get_targetinfo("trusted_root.json")
        assert info is not None, "trusted_root.json"
        assert Path(up.download_target(info)).read_bytes() == (b'{"sigstore": "root v2"}\n')


def test_ngclient_refuses_a_tampered_target_file(workdir: Path) -> None:
    from tuf.api.exceptions import RepositoryError

    (workdir / "a.txt").write_bytes(b"genuine\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    site = workdir / "site"
    assert run_cli("publish", meta, "--files", workdir, "--out", site).exit_code == 0
    publish_online(site / "metadata", software_signer(workdir, "online"))
    for p in (site / "targets").iterdir():
        p.write_bytes(b"evil!!!\n")
    with serve(site) as url:
        up = _updater(url, (site / "metadata" / "1.root.json").read_bytes(), workdir / "c")
        info = up.get_targetinfo("a.txt")
        assert info is not None, "a.txt"
        with pytest.raises(RepositoryError):
            up.download_target(info)


def test_static_layout_without_consistent_snapshots(workdir: Path) -> None:
    (workdir / "a.txt").write_bytes(b"plain layout\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "docs/a.txt", "source": "a.txt"}]))
    text = plan.read_text()
    plan.write_text("[ceremony]\nconsistent_snapshot = false\n" + text)
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    site = workdir / "site"
    r = run_cli("publish", meta, "--plan", plan, "--out", site)
    assert r.exit_code == 0, r.output + r.stderr
    assert (site / "targets" / "docs" / "a.txt").read_bytes() == b"plain layout\n"
    assert (site / "metadata" / "targets.json").is_file()
    # without consistent snapshots, snapshot and timestamp are unversioned too
    publish_online(site / "metadata", software_signer(workdir, "online"))
    (site / "metadata" / "1.snapshot.json").rename(site / "metadata" / "snapshot.json")
    with serve(site) as url:
        up = _updater(url, (site / "metadata" / "1.root.json").read_bytes(), workdir / "c")
        info = up.get_targetinfo("docs/a.txt")
        assert info is not None, "docs/a.txt"
        assert Path(up.download_target(info)).read_bytes() == b"plain layout\n"


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "../up.txt",
        "a/../b",
        "a//b",
        "a/",
        "./a",
        "a\x1b[31m",
        "a\u202eb",
        "c:evil",
        "a\\b",
        "x%2e",
        "a.",
        "q?x",
        " lead",
        "x" * 121,
    ],
)
def test_unsafe_target_paths_are_refused(workdir: Path, bad: str) -> None:
    (workdir / "a.txt").write_bytes(b"x")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": bad, "source": "a.txt"}]))
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 3, r.output + r.stderr
    assert f"{plan}: targets.files[0].path: target path" in r.stderr
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert "Traceback" not in r.output + r.stderr
    assert not (workdir / "req.json").exists()


def test_missing_or_changed_file_is_an_error_naming_it(workdir: Path) -> None:
    (workdir / "a.txt").write_bytes(b"reviewed content\n")
    plan = write_plan(
        workdir / "plan.toml",
        extra=files_table([{"path": "a.txt", "source": "a.txt"}, {"path": "b.txt", "source": "missing.txt"}]),
    )
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 3
    assert "targets.files[1] (b.txt)" in r.stderr and "missing.txt" in r.stderr
    assert "not found" in r.stderr
    assert not (workdir / "req.json").exists()

    # the reviewer pins the hashes printed by `targets hash`
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    r = run_cli("targets", "hash", plan)
    assert r.exit_code == 0, r.output + r.stderr
    pin = hashlib.sha256(b"reviewed content\n").hexdigest()
    assert f'sha256 = "{pin}"' in r.output
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt", "sha256": pin}]))
    assert run_cli("prepare", plan, "--out", workdir / "req.json").exit_code == 0
    (workdir / "a.txt").write_bytes(b"swapped after review\n")
    r = run_cli("prepare", plan, "--out", workdir / "req2.json")
    assert r.exit_code == 3
    assert (
        "targets.files[0] (a.txt)" in r.stderr and "changed since the plan was reviewed" in r.stderr and pin in r.stderr
    )
    assert not (workdir / "req2.json").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[targets]\nfiles = "a.txt"\n', "targets.files: must be an array"),
        ("[targets]\nextra = 1\n", "targets: unknown field 'extra'"),
        ('[[targets.files]]\npath = "a"\nsource = "a.txt"\nhash = "x"\n', "targets.files[0]: unknown field 'hash'"),
        (
            '[[targets.files]]\npath = "a"\nsource = "a.txt"\nsha256 = "ABC"\n',
            "targets.files[0].sha256: must be 64 lowercase hex digits",
        ),
        (
            '[[targets.files]]\npath = "a"\nsource = "a.txt"\ncustom = { x = 1.5 }\n',
            "targets.files[0].custom.x: float values cannot be signed",
        ),
        (
            '[[targets.files]]\npath = "a"\nsource = "a.txt"\n[[targets.files]]\npath = "a"\nsource = "a.txt"\n',
            'targets.files[1].path: "a" is also targets.files[0]',
        ),
        ('[[targets.files]]\npath = "a"\n', "targets.files[0].source: must be the local file"),
    ],
)
def test_bad_targets_tables(workdir: Path, extra: str, message: str) -> None:
    (workdir / "a.txt").write_bytes(b"x")
    plan = write_plan(workdir / "plan.toml", extra=extra)
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 3, r.output + r.stderr
    assert message in r.stderr
    assert not (workdir / "req.json").exists()


def test_source_that_is_not_a_regular_file_is_refused(workdir: Path) -> None:
    import os

    os.mkfifo(workdir / "fifo")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a", "source": "fifo"}]))
    r = run_cli("prepare", plan, "--out", workdir / "req.json")
    assert r.exit_code == 3
    assert "not a regular file" in r.stderr


def test_publish_refuses_content_that_differs_from_the_signed_targets(workdir: Path) -> None:
    (workdir / "a.txt").write_bytes(b"signed\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    (workdir / "a.txt").write_bytes(b"not signed\n")
    r = run_cli("publish", meta, "--plan", plan, "--out", workdir / "site")
    assert r.exit_code == 1, r.output + r.stderr
    assert "a.txt" in r.stderr and "signed targets" in r.stderr
    assert not (workdir / "site" / "targets").exists() or not any((workdir / "site" / "targets").iterdir())
    r = run_cli("publish", meta, "--out", workdir / "site")
    assert r.exit_code == 3 and "exactly one of --plan or --files" in r.stderr


@pytest.mark.parametrize(
    "path, hashes, needle",
    [
        ("../escape.txt", None, "has a '..' segment"),
        ("a.txt", {"md5": "0" * 32}, "hash algorithm(s) publish cannot check (md5"),
        ("a.txt", {"sha256": "../../x"}, "not lowercase hex"),
    ],
)
def test_publish_refuses_hostile_signed_targets(
    workdir: Path, path: str, hashes: dict[str, str] | None, needle: str
) -> None:
    """The metadata directory is untrusted: even validly signed targets whose
    paths or hashes would escape targets/ or go unchecked are refused."""
    from tuf.api.metadata import Metadata, TargetFile, Targets

    (workdir / "a.txt").write_bytes(b"x\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    md = Metadata[Targets].from_file(str(meta / "1.targets.json"))
    md.signatures.clear()
    good = md.signed.targets.pop("a.txt")
    md.signed.targets[path] = TargetFile(good.length, hashes or good.hashes, path)
    for name in ("alice", "bob"):
        md.sign(software_signer(workdir, name), append=True)
    md.to_file(str(meta / "1.targets.json"))
    r = run_cli("publish", meta, "--files", workdir, "--out", workdir / "site")
    assert r.exit_code == 1, r.output + r.stderr
    assert needle in r.stderr
    assert not (workdir / "site" / "targets").exists() or not any((workdir / "site" / "targets").rglob("*"))
    assert not (workdir / "escape.txt").exists()


def test_empty_targets_table_removes_every_file_and_no_table_keeps_them(workdir: Path) -> None:
    (workdir / "a.txt").write_bytes(b"a\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    keep = write_plan(workdir / "keep.toml")
    req = workdir / "keep.json"
    assert run_cli("prepare", keep, "--trusted", meta, "--out", req).exit_code == 0
    payload = next(p for p in json.loads(req.read_text())["payloads"] if p["role"] == "targets")
    assert set(payload["signed"]["targets"]) == {"a.txt"}
    empty = write_plan(workdir / "empty.toml", extra="[targets]\nfiles = []\n")
    req = workdir / "empty.json"
    assert run_cli("prepare", empty, "--trusted", meta, "--out", req).exit_code == 0
    payload = next(p for p in json.loads(req.read_text())["payloads"] if p["role"] == "targets")
    assert payload["signed"]["targets"] == {}
    r = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "x.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r.exit_code == 0, r.output
    assert "a.txt" in r.output  # the removal is shown


def test_publish_copies_checked_online_metadata_and_refuses_forged(workdir: Path) -> None:
    """A repository directory that already holds snapshot and timestamp is
    published whole; an online role not signed by the root's online key is
    refused."""
    from tuf.api.metadata import Metadata

    (workdir / "a.txt").write_bytes(b"whole repo\n")
    plan = write_plan(workdir / "plan.toml", extra=files_table([{"path": "a.txt", "source": "a.txt"}]))
    meta = workdir / "meta"
    _ceremony(workdir, plan, meta)
    publish_online(meta, software_signer(workdir, "online"))
    site = workdir / "site"
    r = run_cli("publish", meta, "--plan", plan, "--out", site)
    assert r.exit_code == 0, r.output + r.stderr
    assert {"1.snapshot.json", "timestamp.json"} <= {p.name for p in (site / "metadata").iterdir()}
    with serve(site) as url:
        up = _updater(url, (site / "metadata" / "1.root.json").read_bytes(), workdir / "c")
        info = up.get_targetinfo("a.txt")
        assert info is not None, "a.txt"
        assert Path(up.download_target(info)).read_bytes() == b"whole repo\n"

    ts = Metadata.from_file(str(meta / "timestamp.json"))
    ts.signatures.clear()
    ts.sign(software_signer(workdir, "alice"))
    ts.to_file(str(meta / "timestamp.json"))
    r = run_cli("publish", meta, "--plan", plan, "--out", workdir / "site2")
    assert r.exit_code == 1, r.output + r.stderr
    assert "timestamp.json: not signed by a threshold of the newest root's timestamp keys" in r.stderr
    assert not (workdir / "site2" / "metadata" / "1.root.json").exists()
