"""Every plan error is refused before anything is written, naming the plan
file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, write_plan

BASE_ROLES = """
[roles.root]
keys = ["alice", "bob", "carol"]
threshold = 2
expires = "365d"
[roles.targets]
keys = ["alice", "bob"]
threshold = 1
expires = "365d"
[roles.snapshot]
keys = ["online"]
threshold = 1
expires = "1d"
[roles.timestamp]
keys = ["online"]
threshold = 1
expires = "1d"
"""
BASE_KEYS = """
[keys]
alice = "alice.pub.json"
bob = "bob.pub.json"
carol = "carol.pub.json"
online = "online.pub.json"
"""


def _refused(workdir: Path, text: str, *needles: str) -> str:
    plan = workdir / "plan.toml"
    plan.write_text(text)
    out = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", out)
    assert r.exit_code == 3, r.output + r.stderr
    assert not out.exists()
    assert r.stderr.startswith(f"tuf-ceremony: error: {plan}: ")
    assert r.stderr.strip().count("\n") == 0
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    return r.stderr


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("threshold = 2", "threshold = 0", ["roles.root.threshold", "not between 1 and the 3"]),
        ("threshold = 2", "threshold = 4", ["roles.root.threshold", "not between 1 and the 3"]),
        ("threshold = 2", 'threshold = "2"', ["roles.root.threshold", "whole number"]),
        (
            'keys = ["alice", "bob", "carol"]',
            'keys = ["alice", "bob", "mallory"]',
            ["roles.root.keys", "unknown key name 'mallory'"],
        ),
        (
            'keys = ["alice", "bob", "carol"]',
            'keys = ["alice", "bob", "alice"]',
            ["roles.root.keys", "'alice' is listed twice"],
        ),
        ('expires = "365d"', 'expires = "next year"', ["roles.root.expires", "neither a duration"]),
        ("threshold = 2", "treshold = 2", ["roles.root", "unknown field 'treshold'"]),
        ('keys = ["alice", "bob", "carol"]', "keys = []", ["roles.root.keys", "non-empty"]),
    ],
)
def test_role_errors(workdir: Path, old: str, new: str, needles: list[str]) -> None:
    _refused(workdir, BASE_KEYS + BASE_ROLES.replace(old, new, 1), *needles)


def test_missing_role(workdir: Path) -> None:
    roles = BASE_ROLES.split("[roles.timestamp]")[0]
    _refused(workdir, BASE_KEYS + roles, "roles.timestamp", "missing")


def test_broken_toml(workdir: Path) -> None:
    _refused(workdir, BASE_KEYS + BASE_ROLES + "\n[roles.root\n", "broken TOML")


def test_same_public_key_under_two_names(workdir: Path) -> None:
    keys = BASE_KEYS + 'alice2 = "alice.pub.json"\n'
    _refused(workdir, keys + BASE_ROLES, "keys.alice2", "same public key as keys.alice")


def test_same_key_material_in_other_encoding(workdir: Path) -> None:
    # alice's key as PEM under another name: still the same key
    import json

    doc = json.loads((workdir / "alice.pub.json").read_text())
    (workdir / "alice.pem.pub").write_text(doc["keyval"]["public"])
    keys = BASE_KEYS + 'alias = "alice.pem.pub"\n'
    _refused(workdir, keys + BASE_ROLES, "keys.alias", "same public key as keys.alice")


def test_private_key_given_by_mistake_is_refused_and_not_echoed(workdir: Path) -> None:
    keys = BASE_KEYS.replace('"bob.pub.json"', '"bob.pem"')
    err = _refused(workdir, keys + BASE_ROLES, "keys.bob", "is a private key")
    secret_line = (workdir / "bob.pem").read_text().splitlines()[1]
    assert secret_line not in err


def test_unencrypted_tuf_private_key_json_refused(workdir: Path) -> None:
    (workdir / "bad.json").write_text(
        '{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "aa", "private": "c2VjcmV0LXZhbHVl"}}'
    )
    keys = BASE_KEYS.replace('"bob.pub.json"', '"bad.json"')
    err = _refused(workdir, keys + BASE_ROLES, "keys.bob", "is a private key")
    assert "c2VjcmV0LXZhbHVl" not in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json", "not valid JSON"),
        ('{"keytype": "ed25519"}', "keyval.public missing"),
        ("[1, 2]", "expected a JSON object"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    ],
)
def test_key_file_that_is_not_a_public_key(workdir: Path, content: str, needle: str) -> None:
    (workdir / "bad.pub").write_text(content)
    keys = BASE_KEYS.replace('"carol.pub.json"', '"bad.pub"')
    _refused(workdir, keys + BASE_ROLES, "keys.carol", needle)


def test_missing_key_file(workdir: Path) -> None:
    keys = BASE_KEYS.replace('"carol.pub.json"', '"nowhere.pub.json"')
    _refused(workdir, keys + BASE_ROLES, "keys.carol", "not found")


def test_equal_threshold_warns_but_prepares(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", root=(["alice", "bob"], 2))
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 0
    assert "roles.root: threshold 2 equals the number of keys" in r.stderr


def test_pem_public_keys_are_accepted(workdir: Path) -> None:
    import json

    for n in ("alice", "bob", "carol"):
        doc = json.loads((workdir / f"{n}.pub.json").read_text())
        if doc["keyval"]["public"].startswith("-----BEGIN"):
            (workdir / f"{n}.pem.pub").write_text(doc["keyval"]["public"])
    plan = workdir / "plan.toml"
    plan.write_text((BASE_KEYS + BASE_ROLES).replace('"alice.pub.json"', '"alice.pem.pub"'))
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 0, r.stderr
