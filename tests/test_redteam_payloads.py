"""Red team, second wave: payload fields python-tuf accepts and the screen
shows, yet that mean something else to a client (or to another client), or
that collide once written to a stick. Each forged request is re-sealed, as a
hostile coordinator can, and must now be refused when loaded (``status``,
and so ``sign`` and ``merge``, which load through the same parser)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import run_cli, write_plan
from tests.test_threat_trust import assert_refused, key_json, payload, read, write_forged
from tuf_ceremony.keys import keyid_of

_TARGET = {"length": 3, "hashes": {"sha256": "ab" * 32}}


def _root(doc: dict[str, Any]) -> dict[str, Any]:
    signed: dict[str, Any] = payload(doc, "root")["signed"]
    return signed


def _targets(doc: dict[str, Any]) -> dict[str, Any]:
    signed: dict[str, Any] = payload(doc, "targets")["signed"]
    return signed


def _roles(workdir: Path, doc: dict[str, Any], *names: str, **extra: Any) -> None:
    online = key_json(workdir, "online")
    roles = [
        {"name": n, "keyids": [keyid_of(online)], "threshold": 1, "terminating": False, "paths": [f"{n}/*"], **extra}
        for n in names
    ]
    _targets(doc)["delegations"] = {"keys": {keyid_of(online): online}, "roles": roles}


def _succinct(workdir: Path, doc: dict[str, Any], bits: Any) -> None:
    online = key_json(workdir, "online")
    _targets(doc)["delegations"] = {
        "keys": {keyid_of(online): online},
        "succinct_roles": {"keyids": [keyid_of(online)], "threshold": 1, "bit_length": bits, "name_prefix": "bin"},
    }


FORGERIES: dict[str, tuple[Callable[[Path, dict[str, Any]], None], str]] = {
    # python-tuf takes any JSON value here and tests its truth: "false" is true to it,
    # and a client that reads JSON types (go-tuf, rust-tuf) refuses the root
    "consistent-snapshot-string": (
        lambda w, d: _root(d).__setitem__("consistent_snapshot", "false"),
        "consistent_snapshot must be true or false",
    ),
    "consistent-snapshot-number": (
        lambda w, d: _root(d).__setitem__("consistent_snapshot", 0),
        "consistent_snapshot must be true or false",
    ),
    "terminating-string": (lambda w, d: _roles(w, d, "bins", terminating="no"), "terminating must be true or false"),
    "target-length-bool": (
        lambda w, d: _targets(d)["targets"].__setitem__("a.txt", {**_TARGET, "length": True}),
        "length must be a whole number",
    ),
    "succinct-bit-length-bool": (lambda w, d: _succinct(w, d, True), "bit_length must be a whole number"),
    # two role names one file on FAT (case-insensitive) or on macOS (NFD)
    "role-names-differ-in-case": (lambda w, d: _roles(w, d, "Bins", "bins"), "same file name"),
    "role-name-is-a-top-level-role-in-another-case": (
        lambda w, d: _roles(w, d, "Targets"),
        "'targets' and 'Targets' are the same file name",
    ),
    "role-names-differ-in-normalization": (lambda w, d: _roles(w, d, "caf\u00e9", "cafe\u0301"), "same file name"),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_payload_field_is_refused(workdir: Path, case: str) -> None:
    forge, needle = FORGERIES[case]
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    doc = read(req)
    forge(workdir, doc)
    write_forged(req, doc)
    r = run_cli("status", req)
    assert_refused(r, 3, req, needle)


# --- payloads already expired ------------------------------------------------------------------


def a_day_ago() -> str:
    """An ``--at`` time for tests that need a request other than one made now,
    that still signs (a fixed past date expires and is then refused)."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bundle(workdir: Path, doc: dict[str, Any], name: str) -> Path:
    """What a keyholder's machine without the check would have written."""
    import json

    from tests.fixtures_core import software_signer
    from tuf_ceremony.keys import canonical_bytes

    signer = software_signer(workdir, name)
    kid = keyid_of(key_json(workdir, name))
    sigs = []
    for p in doc["payloads"]:
        role_keys = _root(doc)["roles"][p["role"]]["keyids"]
        if kid in role_keys:
            sig = signer.sign(canonical_bytes(p["signed"]))
            sigs.append(
                {"role": p["role"], "version": p["version"], "digest": p["digest"], "keyid": kid, "sig": sig.signature}
            )
    path = workdir / f"{name}.expired.bundle.json"
    path.write_text(
        json.dumps(
            {
                "format": "tuf-ceremony/signature-bundle",
                "format_version": 1,
                "request_id": doc["request_id"],
                "created": "2026-01-01T00:00:00Z",
                "signer": {"keyid": kid, "name": name},
                "signatures": sigs,
            }
        )
    )
    return path


def test_attack_expired_payload_is_neither_signed_nor_merged(workdir: Path) -> None:
    """A request whose root and targets expired in 2001: python-tuf reads
    and verifies them, then a client refuses the expired root, so every
    client is stuck until the next ceremony. ``status`` still shows it (an
    old request is a record), ``sign`` and ``merge`` refuse it."""
    from tests.test_threat_trust import sign_cli

    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    doc = read(req)
    for role in ("root", "targets"):
        payload(doc, role)["signed"]["expires"] = "2001-01-01T00:00:00Z"
    write_forged(req, doc)
    assert run_cli("status", req).exit_code == 1
    r = sign_cli(workdir, req, "alice", workdir / "a.json")
    assert_refused(r, 3, req, "root version 1 expired at 2001-01-01T00:00:00Z")
    assert not (workdir / "a.json").exists()
    bundles = [_bundle(workdir, read(req), n) for n in ("alice", "bob")]
    out = workdir / "out"
    r = run_cli("merge", req, *bundles, "--out", out)
    assert_refused(r, 3, req, "expired at 2001-01-01T00:00:00Z", "refusing to sign or merge")
    assert not out.exists()


# --- key names that look like another key's name ----------------------------------------------


@pytest.mark.parametrize(
    ("lookalike", "needle"),
    [
        ("Alice", "the name of another key"),
        ("\uff41lice", "the name of another key"),  # fullwidth a
        ("\u0430lice", "mixes Cyrillic and Latin letters"),  # Cyrillic a
    ],
)
def test_attack_key_named_like_another_key(workdir: Path, lookalike: str, needle: str) -> None:
    """carol's key named like alice's: "the root needs 2 of these 3 keys:
    alice, alice, bob" looks like alice holds two keys."""
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    doc = read(req)
    doc["keys"][keyid_of(key_json(workdir, "carol"))]["name"] = lookalike
    forged = write_forged(workdir / "forged.json", doc)
    r = run_cli("status", forged)
    assert_refused(r, 3, forged, needle)
    assert lookalike in r.stderr
    assert "another key" not in needle or "'alice'" in r.stderr


def test_rotate_add_gives_lookalike_names_distinct_labels(workdir: Path) -> None:
    """``rotate --add Alice.pub.json`` beside alice: neither keeps the bare
    name, so the two are told apart by their keyid suffixes."""
    import shutil

    from tests.fixtures_core import sign_as

    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    repo = workdir / "repo"
    assert run_cli("merge", req, *bundles, "--out", repo).exit_code == 0
    shutil.copy(workdir / "dave.pub.json", workdir / "Alice.pub.json")
    out = workdir / "rot.json"
    r = run_cli(
        "rotate",
        "--trusted",
        repo,
        "--role",
        "root",
        "--add",
        workdir / "Alice.pub.json",
        "--names",
        plan,
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output + r.stderr
    names = sorted(e["name"] for e in read(out)["keys"].values())
    alice, dave = kid_of(workdir, "alice"), kid_of(workdir, "dave")
    assert f"Alice-{dave[:8]}" in names and f"alice-{alice[:8]}" in names, names
    assert "alice" not in names and "Alice" not in names


def kid_of(workdir: Path, name: str) -> str:
    return keyid_of(key_json(workdir, name))
