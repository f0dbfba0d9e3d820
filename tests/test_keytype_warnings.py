"""P-384 keys: `key generate` and `prepare` (and `rotate --add`) warn that some
clients cannot verify them; `--at` takes a plain date in every command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures_core import run_cli, sign_as, write_plan

WARNING = "is an ECDSA P-384 key: tuf-js before 6.0 (npm, sigstore-js) and tuf-browser 0.1.8"


def test_key_generate_p384_warns(tmp_path: Path) -> None:
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ecdsa-p384",
        "--private-out",
        tmp_path / "k.pem",
        "--public-out",
        tmp_path / "k.pub.json",
        input="long-passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert f"warning: the new key {WARNING}" in r.stderr
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ecdsa-p256",
        "--private-out",
        tmp_path / "j.pem",
        "--public-out",
        tmp_path / "j.pub.json",
        input="long-passphrase\n",
    )
    assert r.exit_code == 0 and "P-384" not in r.stderr


def test_prepare_warns_per_role_holding_a_p384_key(workdir: Path) -> None:
    # carol's key is P-384 (tests/fixtures_core.py); she holds root and a delegation
    plan = write_plan(
        workdir / "plan.toml",
        root=(["alice", "bob", "carol"], 2),
        targets=(["alice", "bob"], 2),
        extra="""
[[roles.targets.delegations]]
name = "carols-files"
keys = ["carol"]
threshold = 1
paths = ["carol/*"]
""",
    )
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 0, r.output
    assert f"{plan}: roles.root: key carol {WARNING}" in r.stderr
    assert f"{plan}: delegation carols-files: key carol {WARNING}" in r.stderr
    assert "roles.targets: key" not in r.stderr
    plan2 = write_plan(workdir / "plan2.toml", root=(["alice", "bob"], 1), keys=["alice", "bob", "online"])
    r = run_cli("prepare", plan2, "--out", workdir / "r2.json")
    assert r.exit_code == 0 and "P-384" not in r.stderr


def test_rotate_add_p384_warns(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", root=(["alice", "bob"], 2), keys=["alice", "bob", "online"])
    req = workdir / "r.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "repo").exit_code == 0
    r = run_cli(
        "rotate",
        "--trusted",
        workdir / "repo",
        "--role",
        "root",
        "--add",
        workdir / "carol.pub.json",
        "--out",
        workdir / "x.json",
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert WARNING in r.stderr


def _day(offset: int) -> str:
    """A date relative to today (the test must not expire with the calendar)."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def test_at_takes_a_date_in_every_command(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "r.json"
    start = _day(-30)
    r = run_cli("prepare", plan, "--out", req, "--at", start)
    assert r.exit_code == 0, r.output
    doc = json.loads(req.read_text())
    assert doc["created"] == f"{start}T00:00:00Z"
    root = doc["payloads"][0]["signed"]
    assert root["expires"] == f"{_day(335)}T00:00:00Z"  # 365d from the date
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "repo").exit_code == 0
    # verify --at: a date after the expiry fails, one before passes
    assert run_cli("verify", workdir / "repo", "--at", _day(334)).exit_code == 0
    r = run_cli("verify", workdir / "repo", "--at", _day(336))
    assert r.exit_code == 1
    r = run_cli(
        "rotate",
        "--trusted",
        workdir / "repo",
        "--role",
        "root",
        "--threshold",
        "2",
        "--at",
        _day(-29),
        "--out",
        workdir / "x.json",
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert json.loads((workdir / "x.json").read_text())["created"] == f"{_day(-29)}T00:00:00Z"
    commands: list[list[str | Path]] = [["prepare", plan, "--out", workdir / "y.json"], ["verify", workdir / "repo"]]
    for cmd in commands:
        r = run_cli(*cmd, "--at", "2026-02-30")
        assert r.exit_code in (2, 3), r.output
        assert "2026-02-30" in r.stderr and "not a valid date" in r.stderr
        r = run_cli(*cmd, "--at", "next tuesday")
        assert r.exit_code in (2, 3)
        assert "a date (like 2027-01-31, read as 00:00 UTC)" in r.stderr
