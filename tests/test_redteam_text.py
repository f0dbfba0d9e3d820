"""Red team, second wave: hostile text that still reached the terminal raw.

``--debug`` printed Python's own traceback, whose last line is the exception
message: a file name from the stick (``\\x1b[31m...``, bidi) went to stderr
as raw bytes, and an internal error re-raised under ``--debug`` left with
Python's exit 1 instead of the documented 70."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import run_cli
from tests.fixtures_repo import RepoInfo, refresh_snapshot_timestamp, resign
from tests.test_audit import record, software_record  # noqa: F401 - the fixtures
from tuf_ceremony.errors import ExitCode

RAW = ("\x1b", "\u202e", "\x07", "\r")


def _no_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, (ch, text)


def test_debug_traceback_escapes_a_hostile_file_name(tmp_path: Path) -> None:
    bad = tmp_path / "\x1b]0;owned\x07\x1b[31mreq\u202enosj.json"
    bad.write_text("{")
    r = run_cli("--debug", "status", bad)
    assert r.exit_code == ExitCode.INVALID_INPUT
    assert "Traceback" in r.stderr
    _no_raw(r.output + r.stderr)
    assert "\\x1b]0;owned\\x07\\x1b[31mreq\\u202enosj.json" in r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("tuf-ceremony: error: ") and "not valid JSON" in last


def test_debug_keeps_exit_70_and_escapes_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuf_ceremony.request as request

    def boom(path: object) -> None:
        raise RuntimeError(f"bug reading {path}")

    monkeypatch.setattr(request, "load_request", boom)
    name = tmp_path / "\x1b[2Jr\u202e.json"
    r = run_cli("--debug", "status", name)
    assert r.exit_code == ExitCode.INTERNAL_ERROR
    assert "Traceback" in r.stderr and "RuntimeError" in r.stderr
    _no_raw(r.output + r.stderr)
    assert "\\x1b[2Jr\\u202e.json" in r.stderr


# --- JSON reports: valid JSON keeps a bidi override raw unless it is ASCII --------------------

EVIL = "\x1b[2Jev\u202e[red]il\x07"


def _assert_ascii_json(text: str) -> None:
    import json

    _no_raw(text)
    assert text.isascii()
    json.loads(text)


def test_verify_json_of_a_hostile_repository_is_ascii(classic_repo: RepoInfo) -> None:
    """A repository whose delegated role names and target paths hold escape
    sequences and a bidi override: ``verify`` text and ``--json`` show them
    escaped (the JSON was written with the override raw)."""
    from tuf.api.metadata import DelegatedRole, Metadata, TargetFile

    d, keys = classic_repo.directory, classic_repo.keys
    assert keys is not None

    def add_role(md: Metadata[Any]) -> None:
        kid = next(iter(md.signed.delegations.keys))
        md.signed.delegations.roles[EVIL] = DelegatedRole(EVIL, [kid], 1, False, paths=[EVIL + "/*"])
        md.signed.targets[EVIL] = TargetFile(3, {"sha256": "ab" * 32}, EVIL)

    resign(d / "1.targets.json", keys.targets, edit=add_role)
    refresh_snapshot_timestamp(d, keys)
    r = run_cli("verify", d, "--json")
    assert r.exit_code in (0, 1), r.stderr
    _assert_ascii_json(r.stdout)
    assert "\\u202e" in r.output
    r = run_cli("verify", d)
    assert r.exit_code in (0, 1)
    _no_raw(r.output + r.stderr)


def test_audit_json_of_a_hostile_record_is_ascii(record: Path) -> None:  # noqa: F811
    import json

    first = (record / "alice.jsonl").read_text().splitlines()[0]
    forged = json.loads(first)
    forged.update(seq=5, command="preflight" + EVIL)
    (record / "junk.jsonl").write_text(json.dumps(forged) + "\n")
    r = run_cli("audit", record, "--json")
    assert r.exit_code in (0, 1), r.stderr
    _assert_ascii_json(r.stdout)
    assert "u202e" in r.stdout


def test_a_public_key_stating_a_huge_keyid_gets_a_short_error(workdir: Path) -> None:
    """A key file from the stick states a 20,000-character keyid with an
    escape: the error names the file on one short line, the keyid cut."""
    import json

    from tests.fixtures_core import write_plan

    pub = workdir / "online.pub.json"
    doc = json.loads(pub.read_text())
    doc["keyid"] = "\x1b[2J" + "f" * 20000
    pub.write_text(json.dumps(doc))
    plan = write_plan(workdir / "plan.toml")
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 3, r.stderr
    _no_raw(r.stderr)
    assert "states keyid \\x1b[2Jfff" in r.stderr and "more characters]" in r.stderr
    assert len(r.stderr) < 600, len(r.stderr)
    assert not (workdir / "r.json").exists()


@pytest.mark.parametrize("role", ["bin\x1b[2J", "c:x", "x" * 250, "a\u202eb", "a..b"])
def test_verify_reports_role_names_prepare_refuses(classic_repo: RepoInfo, role: str) -> None:
    """verify reported only separators and a leading dot; names that
    ``prepare`` refuses (control, bidi, FAT-forbidden, '..', over-long) are
    reported as unsafe too, shown escaped."""
    import json

    from tuf.api.metadata import DelegatedRole, Metadata

    d, keys = classic_repo.directory, classic_repo.keys
    assert keys is not None

    def add_role(md: Metadata[Any]) -> None:
        kid = next(iter(md.signed.delegations.keys))
        md.signed.delegations.roles[role] = DelegatedRole(role, [kid], 1, False, paths=["z/*"])

    resign(d / "1.targets.json", keys.targets, edit=add_role)
    refresh_snapshot_timestamp(d, keys)
    r = run_cli("verify", d, "--json")
    assert r.exit_code == 1, r.stdout
    _assert_ascii_json(r.stdout)
    codes = [p["code"] for p in json.loads(r.stdout)["problems"]]
    assert "unsafe-role-name" in codes, codes
    r = run_cli("verify", d)
    _no_raw(r.output)


def test_plan_warnings_escape_hostile_key_and_file_names(workdir: Path) -> None:
    """Plan warnings (a P-384 key, a threshold equal to its keys) carried the
    plan's key name and file name raw to stderr."""
    from tests.fixtures_core import write_plan

    plan = write_plan(workdir / "plan.toml")
    hostile = workdir / "\x1b]0;x\x07pl\u202ean.toml"
    evil = "car\\u001b[31mol\\u202e[red]"  # TOML escapes: ESC and a bidi override
    hostile.write_text(
        plan.read_text()
        .replace('carol = "carol.pub.json"', f'"{evil}" = "carol.pub.json"')
        .replace('"carol"', f'"{evil}"')
    )
    r = run_cli("prepare", hostile, "--out", workdir / "r.json")
    assert r.exit_code == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert any("P-384" in w for w in warnings), r.stderr  # carol's key is ECDSA P-384
    _no_raw(r.output + r.stderr)
    assert "\\x1b]0;x\\x07pl\\u202ean.toml" in r.stderr
    assert "car\\x1b[31mol\\u202e[red]" in r.stderr


def test_sign_trusted_names_a_hostile_copy_path_escaped(workdir: Path) -> None:
    """A pinned copy under a directory name with escapes: the sign screen
    says it is pinned and never prints the name raw (held)."""
    import shutil

    from tests.test_threat_trust import sign_cli

    repo = _repo(workdir)
    req = workdir / "request2.json"
    r = run_cli("prepare", workdir / "plan1.toml", "--trusted", repo, "--out", req)
    assert r.exit_code == 0, r.stderr
    copy = workdir / "\x1b[2Jmy\u202ecopy"
    shutil.copytree(repo, copy)
    r = sign_cli(workdir, req, "bob", workdir / "b.json", "--trusted", copy)
    assert r.exit_code == 0, r.stderr
    _no_raw(r.output + r.stderr)
    assert "pinned, equal to your own copy" in r.output


def _repo(workdir: Path) -> Path:
    from tests.fixtures_core import sign_as, write_plan

    plan = write_plan(workdir / "plan1.toml")
    req = workdir / "request1.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    out = workdir / "repo"
    assert run_cli("merge", req, *bundles, "--out", out).exit_code == 0
    return out
