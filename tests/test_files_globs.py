"""`status request.json *.json` and `merge request.json *.json --out DIR`, as
the docs tell admins to type: files that are plainly not bundles (the request
itself, metadata, public keys, other JSON) are skipped with a note; a file
that claims to be a bundle and is malformed is still refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, sign_as, write_plan


@pytest.fixture
def stick(workdir: Path) -> Path:
    """A folder as the coordinator's stick holds it after the keyholders:
    the request, two bundles, public keys, a merged root from another run,
    and an unrelated JSON file."""
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    for who in ("alice", "bob"):
        sign_as(workdir, req, who)
    other = workdir / "other"
    assert (
        run_cli("merge", req, workdir / "alice.bundle.json", workdir / "bob.bundle.json", "--out", other).exit_code == 0
    )
    shutil.copy(other / "1.root.json", workdir / "1.root.json")
    (workdir / "settings.json").write_text(json.dumps({"colour": "blue"}))
    return workdir


def _all_json(d: Path) -> list[Path]:
    return sorted(d.glob("*.json"))  # what the shell's *.json expands to


def test_status_with_a_glob_skips_what_is_not_a_bundle(stick: Path) -> None:
    req = stick / "request.json"
    r = run_cli("status", req, *_all_json(stick))
    assert r.exit_code == 0, r.output + r.stderr
    assert f"skipped {req}: not a signature bundle (it is a signing request)" in r.stderr
    assert f"skipped {stick / '1.root.json'}: not a signature bundle (it is TUF root metadata)" in r.stderr
    assert f"skipped {stick / 'alice.pub.json'}: not a signature bundle (it is a public key)" in r.stderr
    assert f"skipped {stick / 'settings.json'}: not a signature bundle" in r.stderr
    assert "alice.bundle.json: not" not in r.stderr
    assert "refused" not in r.stderr
    # --json output stays clean JSON on stdout
    r = run_cli("status", req, *_all_json(stick), "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["complete"] is True


def test_merge_with_a_glob(stick: Path) -> None:
    req = stick / "request.json"
    out = stick / "repo"
    r = run_cli("merge", req, *_all_json(stick), "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    assert "it is a signing request" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["1.root.json", "1.targets.json"]


def test_merge_with_nothing_but_non_bundles_writes_nothing(stick: Path) -> None:
    req = stick / "request.json"
    out = stick / "repo"
    r = run_cli("merge", req, req, stick / "1.root.json", "--out", out)
    assert r.exit_code == 1
    assert "threshold not met" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("breakage", ["format-version", "no-format", "bad-sig", "empty", "list"])
def test_a_broken_bundle_in_the_glob_is_still_refused(stick: Path, breakage: str) -> None:
    bundle = stick / "bob.bundle.json"
    doc = json.loads(bundle.read_text())
    if breakage == "format-version":
        doc["format_version"] = 99
    elif breakage == "no-format":
        del doc["format"]
    elif breakage == "bad-sig":
        doc["signatures"][0]["sig"] = "not hex"
    if breakage == "empty":
        bundle.write_text("")  # what an interrupted write could leave
    elif breakage == "list":
        bundle.write_text("[]")
    else:
        bundle.write_text(json.dumps(doc))
    req = stick / "request.json"
    commands: list[list[str | Path]] = [
        ["status", req, *_all_json(stick)],
        ["merge", req, *_all_json(stick), "--out", stick / "repo"],
    ]
    for args in commands:
        r = run_cli(*args)
        assert r.exit_code == 3, (breakage, r.output, r.stderr)
        assert f"tuf-ceremony: error: {bundle}: " in r.stderr
    assert not (stick / "repo").exists()


def test_hostile_file_name_in_the_note_is_escaped(stick: Path) -> None:
    evil = stick / "x\x1b[2Jy.json"
    shutil.copy(stick / "request.json", evil)
    r = run_cli("status", stick / "request.json", evil)
    assert "\x1b" not in r.stderr
    assert "not a signature bundle (it is a signing request)" in r.stderr
