"""``--transcript FILE`` on every command: one chained JSON Lines record per
run, written as part of the command (an unwritable transcript stops the
command before it writes anything)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import click
import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan
from tuf_ceremony.cli.main import _COMMANDS
from tuf_ceremony.cli.main import cli as cli_group
from tuf_ceremony.evidence.transcript import GENESIS, check_chain, record_hash


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _commands() -> list[list[str]]:
    """The path of every command, subcommands of groups included."""
    out: list[list[str]] = []

    def walk(path: list[str], cmd: click.Command) -> None:
        if isinstance(cmd, click.Group):
            for sub in sorted(cmd.commands):
                walk([*path, sub], cmd.commands[sub])
        else:
            out.append(path)

    ctx = click.Context(cli_group)
    for name in sorted(_COMMANDS):
        cmd = cli_group.get_command(ctx, name)
        assert cmd is not None
        walk([name], cmd)
    return out


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_takes_transcript(path: list[str]) -> None:
    r = run_cli(*path, "--help")
    assert r.exit_code == 0, r.output
    assert "--transcript FILE" in r.output


def test_records_are_chained_with_digests_of_inputs_and_outputs(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    t = workdir / "machine.jsonl"
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req, "--transcript", t)
    assert r.exit_code == 0, r.output
    assert "transcript: record 1 appended" in r.stderr
    bundle = workdir / "alice.bundle.json"
    r_sign = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        bundle,
        "--yes",
        "--transcript",
        t,
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r_sign.exit_code == 0, r_sign.output
    # a failing command is recorded too, with its exit code and one-line result
    r = run_cli("merge", req, bundle, "--out", workdir / "repo", "--transcript", t)
    assert r.exit_code == 1
    first, second, third = records(t)
    assert (first["seq"], first["prev"]) == (1, GENESIS)
    lines = t.read_bytes().splitlines()
    assert second["prev"] == record_hash(lines[0]) and third["prev"] == record_hash(lines[1])
    assert first["command"] == "prepare" and first["exit_code"] == 0
    assert first["inputs"] == [{"param": "plan", "path": str(plan), "sha256": sha(plan), "type": "file"}]
    assert first["outputs"] == [{"param": "out", "path": str(req), "sha256": sha(req), "type": "file"}]
    # the preparation time is recorded, so that prepare can be replayed
    assert first["arguments"]["at"] == first["time"]
    assert json.loads(req.read_text())["created"] == first["time"]
    assert len(first["tool"]["fingerprint"]) == 64
    assert second["review_digest"] == json.loads(bundle.read_text())["review_digest"]
    assert f"  review digest {second['review_digest'][:4]} " in r_sign.stderr
    assert second["inputs"][0]["sha256"] == sha(req)
    assert second["outputs"][0]["sha256"] == sha(bundle)
    assert PASSPHRASES["alice"] not in t.read_text()
    assert third["exit_code"] == 1 and "threshold not met" in third["result"]
    assert check_chain(t.read_bytes()).ok


def test_group_level_option_and_output_directory(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", root=(["alice"], 1), targets=(["alice"], 1))
    t = workdir / "t.jsonl"
    req = workdir / "request.json"
    assert run_cli("--transcript", t, "prepare", plan, "--out", req).exit_code == 0
    bundle = sign_as(workdir, req, "alice")
    out = workdir / "repo"
    r = run_cli("--transcript", t, "merge", req, bundle, "--out", out)
    assert r.exit_code == 0, r.output
    merge = records(t)[1]
    assert merge["command"] == "merge"
    written = merge["outputs"][0]
    assert written["type"] == "directory"
    assert {f["name"]: f["sha256"] for f in written["files"]} == {
        "1.root.json": sha(out / "1.root.json"),
        "1.targets.json": sha(out / "1.targets.json"),
    }
    r = run_cli("--transcript", t, "status", req, bundle, "--transcript", workdir / "other.jsonl")
    assert r.exit_code == 2
    assert "--transcript is given twice" in r.output


@pytest.mark.parametrize("kind", ["directory", "missing-dir", "broken-chain", "symlink", "cut"])
def test_unwritable_transcript_stops_the_command_before_it_writes(workdir: Path, kind: str) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    t = workdir / "t.jsonl"
    if kind == "directory":
        t.mkdir()
    elif kind == "missing-dir":
        t = workdir / "absent" / "t.jsonl"
    elif kind in ("broken-chain", "cut"):
        assert run_cli("status", req, "--transcript", t).exit_code == 1
        assert run_cli("status", req, "--transcript", t).exit_code == 1
        data = t.read_bytes()
        t.write_bytes(data.replace(b'"exit_code":1', b'"exit_code":0', 1) if kind == "broken-chain" else data[:-1])
    else:
        (workdir / "elsewhere.jsonl").write_text("")
        t.symlink_to(workdir / "elsewhere.jsonl")
    before = t.read_bytes() if t.is_file() else None
    bundle = workdir / "alice.bundle.json"
    r = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        bundle,
        "--yes",
        "--transcript",
        t,
        input=PASSPHRASES["alice"] + "\n",
    )
    assert not bundle.exists()
    if kind == "directory":  # refused while the arguments are parsed
        assert r.exit_code == 2 and "is a directory" in r.output
        return
    assert r.exit_code == 3, r.output
    assert f"{t}:" in r.stderr and "tuf-ceremony: error:" in r.stderr
    if before is not None:
        assert t.read_bytes() == before
    if kind == "broken-chain":
        assert "chain is broken at record 2 (line 2, status)" in r.stderr


def test_transcript_in_use_is_refused(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    t = workdir / "t.jsonl"
    fd = os.open(t, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run_cli("prepare", plan, "--out", workdir / "req.json", "--transcript", t)
    finally:
        os.close(fd)
    assert r.exit_code == 3
    assert "is in use by another tuf-ceremony command" in r.stderr
    assert not (workdir / "req.json").exists()


class _FullDisk:
    """``os`` for the transcript module, with a disk that fills up on write."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        os.write(fd, data[:10])  # a partial line reaches the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_failed_final_append_is_reported_and_leaves_the_chain_intact(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = write_plan(workdir / "plan.toml")
    t = workdir / "t.jsonl"
    assert run_cli("prepare", plan, "--out", workdir / "r1.json", "--transcript", t).exit_code == 0
    before = t.read_bytes()
    import tuf_ceremony.evidence.transcript as transcript

    monkeypatch.setattr(transcript, "os", _FullDisk())
    r = run_cli("prepare", plan, "--out", workdir / "r2.json", "--transcript", t)
    monkeypatch.undo()
    assert r.exit_code == 3
    assert "No space left on device" in r.stderr
    assert "this run is NOT recorded, so its new outputs were removed" in r.stderr
    assert not (workdir / "r2.json").exists()  # writing the record is part of the command
    assert t.read_bytes() == before  # cut back: the next command can extend the chain
    assert run_cli("prepare", plan, "--out", workdir / "r3.json", "--transcript", t).exit_code == 0
    assert [d["seq"] for d in records(t)] == [1, 2]


def test_pin_in_a_uri_never_reaches_the_transcript(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    t = workdir / "t.jsonl"
    r = run_cli(
        "sign",
        req,
        "--key",
        "pkcs11:token=x;object=y?pin-value=987654",
        "--out",
        workdir / "b.json",
        "--yes",
        "--transcript",
        t,
    )
    assert r.exit_code != 0
    rec = records(t)[0]
    assert rec["arguments"]["key_spec"] == "pkcs11:token=x;object=y?pin-value=<redacted>"
    assert "987654" not in t.read_text()


def test_chain_check_names_the_broken_link() -> None:
    def line(seq: int, prev: str) -> bytes:
        doc = {
            "format": "tuf-ceremony/transcript-record",
            "format_version": 1,
            "seq": seq,
            "prev": prev,
            "time": "2026-12-01T10:00:00Z",
            "tool": {},
            "command": "status",
            "arguments": {},
            "inputs": [],
            "outputs": [],
            "exit_code": 0,
            "result": "ok",
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    a = line(1, GENESIS)
    b = line(2, record_hash(a))
    c = line(3, record_hash(b))
    assert check_chain(a + b"\n" + b + b"\n" + c + b"\n").ok
    res = check_chain(a + b"\n" + c + b"\n")
    assert str(res.problems[0]).startswith("record 3 (line 2, status): seq 3 where 2 was expected")
    res = check_chain(b"not json\n" + b + b"\n")
    assert res.problems[0].step == "line 1" and "unreadable record" in res.problems[0].message
