"""Issue 9: hostile input per command (sign, status, merge, prepare, rotate):
a clean one-line error naming the file and the problem, the documented exit
code (never 70), no traceback, nothing written (docs/threat-model.md)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan
from tests.test_threat_trust import assert_refused, key_json, payload, read, reseal
from tuf_ceremony.keys import keyid_of

# --- requests: sign, status and merge --------------------------------------------------------


@pytest.fixture
def ceremony(workdir: Path) -> tuple[Path, Path, Path]:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    return req, sign_as(workdir, req, "alice"), sign_as(workdir, req, "bob")


def _deep(n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = {"d": v}
    return v


def _delegate(workdir: Path, doc: dict[str, Any], **role: Any) -> None:
    online = key_json(workdir, "online")
    entry = {"name": "bins", "keyids": [keyid_of(online)], "threshold": 1, "terminating": True, "paths": ["*"]}
    entry.update(role)
    payload(doc, "targets")["signed"]["delegations"] = {"keys": {keyid_of(online): online}, "roles": [entry]}


def _succinct(workdir: Path, doc: dict[str, Any], prefix: str, bits: int = 4) -> None:
    online = key_json(workdir, "online")
    payload(doc, "targets")["signed"]["delegations"] = {
        "keys": {keyid_of(online): online},
        "succinct_roles": {"keyids": [keyid_of(online)], "threshold": 1, "bit_length": bits, "name_prefix": prefix},
    }


def _twice(workdir: Path, doc: dict[str, Any], **change: str) -> None:
    """Root's targets role: alice, and alice's key again in another encoding."""
    alice = key_json(workdir, "alice")
    other = {**alice, **{k.replace("_", "-"): v for k, v in change.items()}}
    root = payload(doc, "root")["signed"]
    root["keys"][keyid_of(other)] = other
    root["roles"]["targets"] = {"keyids": [keyid_of(alice), keyid_of(other)], "threshold": 2}


Forge = Callable[[Path, dict[str, Any]], None]

REQUEST_CASES: list[tuple[str, Forge, str]] = [
    (
        "deep-json",
        lambda w, d: payload(d, "targets")["signed"].update(x=_deep(80)),
        "nests arrays or objects deeper than 64 levels",
    ),
    (
        "delegation-threshold-over-keys",
        lambda w, d: _delegate(w, d, threshold=2),
        "delegations.roles.bins: threshold 2 is not between 1 and its 1 distinct key(s)",
    ),
    (
        "delegation-threshold-huge",
        lambda w, d: _delegate(w, d, threshold=2**63),
        "threshold 9223372036854775808 is not between 1",
    ),
    ("delegation-threshold-zero", lambda w, d: _delegate(w, d, threshold=0), "not valid TUF metadata"),
    (
        "delegation-keyid-without-key",
        lambda w, d: _delegate(w, d, keyids=["ab" * 32]),
        "keyid abababababababab has no key",
    ),
    ("delegation-name-slash", lambda w, d: _delegate(w, d, name="a/b"), "contains '/'"),
    ("delegation-name-backslash", lambda w, d: _delegate(w, d, name="a\\b"), "contains '\\\\'"),
    ("delegation-name-dotdot", lambda w, d: _delegate(w, d, name="x..y"), "contains '..'"),
    ("delegation-name-hidden", lambda w, d: _delegate(w, d, name=".bins"), "starts with a dot"),
    ("delegation-name-nul", lambda w, d: _delegate(w, d, name="bins\x00"), "U+0000"),
    ("delegation-name-escape", lambda w, d: _delegate(w, d, name="b\x1b[2J"), "U+001B"),
    ("delegation-name-bidi", lambda w, d: _delegate(w, d, name="bins\u202e"), "U+202E"),
    ("delegation-name-long", lambda w, d: _delegate(w, d, name="b" * 201), "longer than 200 bytes"),
    ("succinct-prefix-slash", lambda w, d: _succinct(w, d, "../bin"), "not a safe file name"),
    ("succinct-prefix-long", lambda w, d: _succinct(w, d, "p" * 195, 32), "longer than 200 bytes"),
    (
        "root-version-huge",
        lambda w, d: payload(d, "root")["signed"].update(version=2**31),
        "version must be a whole number from 1 to 2147483647",
    ),
    ("root-version-2", lambda w, d: payload(d, "root")["signed"].update(version=2), "no trusted root"),
    (
        "root-key-private-field",
        lambda w, d: payload(d, "root")["signed"]["keys"][keyid_of(key_json(w, "online"))]["keyval"].update(
            private="00" * 32
        ),
        "keyval must hold 'public' only",
    ),
    (
        "name-too-long",
        lambda w, d: next(iter(d["keys"].values())).update(name="n" * 201),
        "name is empty or longer than 200 characters",
    ),
    (
        "keyid-with-escapes",
        lambda w, d: payload(d, "root")["signed"]["keys"].update({"\x1b[2J\u202eevil": key_json(w, "dave")}),
        "keyid \\x1b[2J\\u202eevil is not",
    ),
    ("same-key-other-keytype", lambda w, d: _twice(w, d, keytype="ecdsa-sha2-nistp256"), "are the same public key"),
    ("same-key-custom-field", lambda w, d: _twice(w, d, x_note="copy"), "are the same public key"),
    (
        "trusted-targets-without-root",
        lambda w, d: d["trusted"].update(targets={"signed": payload(d, "targets")["signed"], "signatures": []}),
        "trusted.targets: given without a trusted root",
    ),
]


@pytest.mark.parametrize(("case", "forge", "needle"), REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_hostile_request(
    ceremony: tuple[Path, Path, Path], workdir: Path, case: str, forge: Forge, needle: str
) -> None:
    req, a, b = ceremony
    doc = read(req)
    forge(workdir, doc)
    req.write_text(json.dumps(reseal(doc)))
    out = workdir / "out"
    cases: list[list[str | Path]] = [
        ["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "x.json", "--yes"],
        ["status", req, a, b],
        ["merge", req, a, b, "--out", out],
    ]
    for args in cases:
        r = run_cli(*args, input=PASSPHRASES["alice"] + "\n")
        assert_refused(r, 3, req, needle)
        assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert not (workdir / "x.json").exists() and not out.exists()


def test_oversized_request_and_bundle(
    ceremony: tuple[Path, Path, Path], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    req, a, _ = ceremony
    big = workdir / "big.bundle.json"
    big.write_text(json.dumps({"pad": "x" * (1024 * 1024 + 10)}))
    r = run_cli("merge", req, a, big, "--out", workdir / "out")
    assert_refused(r, 3, big, "larger than 1024 KiB: refused unread")
    deep = workdir / "deep.bundle.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    r = run_cli("status", req, a, deep)
    assert_refused(r, 3, deep, "nests arrays or objects too deeply")
    import tuf_ceremony.request as request_module

    monkeypatch.setattr(request_module, "MAX_REQUEST_BYTES", 4096)  # 64 MiB in real life
    r = run_cli("status", req, a)
    assert_refused(r, 3, req, "larger than 4 KiB")
    assert not (workdir / "out").exists()


def test_over_long_output_names(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    req, a, b = ceremony
    long_name = workdir / ("n" * 300 + ".json")
    r = run_cli(
        "sign", req, "--key", workdir / "alice.pem", "--out", long_name, "--yes", input=PASSPHRASES["alice"] + "\n"
    )
    assert_refused(r, 3, str(long_name)[:40], "file name is longer than 255 bytes")
    r = run_cli("prepare", workdir / "plan.toml", "--out", long_name)
    assert_refused(r, 3, str(long_name)[:40], "file name is longer than 255 bytes")
    long_dir = workdir / ("d" * 300)
    r = run_cli("merge", req, a, b, "--out", long_dir)
    assert r.exit_code == 3, r.stderr
    assert "Traceback" not in r.output + r.stderr


def test_debug_keeps_the_documented_exit_codes(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    req, a, _ = ceremony
    r = run_cli("--debug", "status", workdir / "missing.json")
    assert r.exit_code == 3
    assert "Traceback" in r.stderr and "signing request not found" in r.stderr
    r = run_cli("--debug", "merge", req, a, "--out", workdir / "out")
    assert r.exit_code == 1 and "threshold not met" in r.stderr
    assert not (workdir / "out").exists()


# --- keys: no secret leaves --------------------------------------------------------------------


def test_unencrypted_private_key_signs_only_in_a_rehearsal(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    req, _, _ = ceremony
    priv = load_pem_private_key((workdir / "carol.pem").read_bytes(), PASSPHRASES["carol"].encode())
    plain = workdir / "carol-plain.pem"
    plain.write_bytes(priv.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    r = run_cli("sign", req, "--key", plain, "--out", workdir / "c.json", "--yes")
    assert_refused(r, 3, plain, "unencrypted private key", "--rehearsal")
    assert "PRIVATE" not in r.output + r.stderr.replace("private key", "")
    assert not (workdir / "c.json").exists()
    r = run_cli("sign", req, "--key", plain, "--out", workdir / "c.json", "--yes", "--rehearsal")
    assert r.exit_code == 0, r.stderr
    assert (workdir / "c.json").is_file()


@pytest.mark.parametrize(
    "text",
    [
        '{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "%s", "\\u0070rivate": "SECRET-SEED"}}',
        '{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "%s"}, "d": "SECRET-SEED"}',
    ],
)
def test_public_key_file_with_private_fields_is_refused_unechoed(workdir: Path, text: str) -> None:
    public = key_json(workdir, "online")["keyval"]["public"]
    (workdir / "online.pub.json").write_text(text % public)
    plan = write_plan(workdir / "plan.toml")
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert_refused(r, 3, plan, "keys.online", "private")
    assert "SECRET-SEED" not in r.output + r.stderr
    assert not (workdir / "r.json").exists()


# --- plans: prepare ----------------------------------------------------------------------------

_DELEGATION = """
[[roles.targets.delegations]]
name = {name}
keys = ["online"]
threshold = 1
paths = ["*"]
"""
_SUCCINCT = """
[roles.targets.succinct_delegations]
keys = ["online"]
threshold = 1
bit_length = {bits}
name_prefix = {prefix}
"""

PLAN_CASES: list[tuple[str, Callable[[str], str], str]] = [
    ("delegation-slash", lambda t: t + _DELEGATION.format(name='"a/b"'), "contains '/'"),
    ("delegation-dotdot", lambda t: t + _DELEGATION.format(name='".."'), "relative directory name"),
    ("delegation-hidden", lambda t: t + _DELEGATION.format(name='".x"'), "starts with a dot"),
    ("delegation-nul", lambda t: t + _DELEGATION.format(name='"a\\u0000"'), "U+0000"),
    ("delegation-escape", lambda t: t + _DELEGATION.format(name='"a\\u001b[31m"'), "U+001B"),
    ("delegation-colon", lambda t: t + _DELEGATION.format(name='"c:x"'), "FAT refuses"),
    ("delegation-long", lambda t: t + _DELEGATION.format(name='"' + "x" * 256 + '"'), "longer than 200 bytes"),
    (
        "succinct-prefix",
        lambda t: t + _SUCCINCT.format(bits=8, prefix='"../bins"'),
        "name_prefix: not a safe file name",
    ),
    (
        "absurd-duration",
        lambda t: t.replace('expires = "365d"', 'expires = "99999999d"', 1),
        "reaches past the year 9999",
    ),
    (
        "huge-duration",
        lambda t: t.replace('expires = "365d"', 'expires = "' + "9" * 40 + 'd"', 1),
        "roles.root.expires",
    ),
    (
        "past-expiry",
        lambda t: t.replace('expires = "365d"', 'expires = "2001-01-01T00:00:00Z"', 1),
        "root version 1 would expire at 2001-01-01",
    ),
    ("huge-threshold", lambda t: t.replace("threshold = 2", f"threshold = {2**62}", 1), "not between 1 and the 3"),
    (
        "long-ceremony-name",
        lambda t: '[ceremony]\nname = "' + "c" * 300 + '"\n' + t,
        "ceremony.name: must be 1 to 200 characters",
    ),
]


@pytest.mark.parametrize(("case", "edit", "needle"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_hostile_plan(workdir: Path, case: str, edit: Callable[[str], str], needle: str) -> None:
    plan = write_plan(workdir / "plan.toml")
    plan.write_text(edit(plan.read_text()))
    out = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", out)
    assert_refused(r, 3, plan, needle)
    assert not out.exists()


@pytest.mark.parametrize("at", ["9999-12-01T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_prepare_at_the_edges_of_time(workdir: Path, at: str) -> None:
    plan = write_plan(workdir / "plan.toml")
    r = run_cli("prepare", plan, "--out", workdir / "r.json", "--at", at)
    assert_refused(r, 3, plan)
    assert not (workdir / "r.json").exists()


@pytest.mark.parametrize("query", ["module-path=/tmp/evil.so", "module-name=evil"])
def test_plan_and_rotate_never_choose_a_pkcs11_module(workdir: Path, query: str) -> None:
    plan = write_plan(workdir / "plan.toml")
    uri = f"pkcs11:token=x;object=y?{query}"
    plan.write_text(plan.read_text().replace('online = "online.pub.json"', f'online = "{uri}"'))
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert_refused(r, 3, plan, "keys.online", "must not choose the PKCS#11 module")
    assert not (workdir / "r.json").exists()
    # rotate --add: the URI would become the new key's name in the request
    good = write_plan(workdir / "good.toml")
    req = workdir / "req.json"
    assert run_cli("prepare", good, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "repo").exit_code == 0
    r = run_cli(
        "rotate", "--trusted", workdir / "repo", "--role", "timestamp", "--add", uri, "--out", workdir / "rot.json"
    )
    assert r.exit_code == 3, r.stderr
    assert "must not choose the PKCS#11 module" in r.stderr and "Traceback" not in r.stderr
    assert not (workdir / "rot.json").exists()


def test_rotate_refuses_absurd_and_past_expiry(workdir: Path) -> None:
    good = write_plan(workdir / "good.toml")
    req = workdir / "req.json"
    assert run_cli("prepare", good, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    repo = workdir / "repo"
    assert run_cli("merge", req, *bundles, "--out", repo).exit_code == 0
    for expires, code, needle in (
        ("99999999d", 3, "reaches past the year 9999"),
        ("2001-01-01T00:00:00Z", 9, "not after"),
    ):
        r = run_cli(
            "rotate", "--trusted", repo, "--role", "timestamp", "--expires", expires, "--out", workdir / "rot.json"
        )
        assert r.exit_code == code, r.stderr
        assert needle in r.stderr and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith("tuf-ceremony: error:")
    assert not (workdir / "rot.json").exists()


def test_prepare_trusted_checks_the_history(workdir: Path) -> None:
    """prepare --trusted reads a repository whose chain does not hold: refused."""
    good = write_plan(workdir / "good.toml")
    req = workdir / "req.json"
    assert run_cli("prepare", good, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n) for n in ("alice", "bob")]
    repo = workdir / "repo"
    assert run_cli("merge", req, *bundles, "--out", repo).exit_code == 0
    # a forged 1.targets.json (signed by no one) in the repository
    t = json.loads((repo / "1.targets.json").read_text())
    t["signatures"] = []
    (repo / "1.targets.json").write_text(json.dumps(t))
    r = run_cli("prepare", good, "--trusted", repo, "--out", workdir / "r2.json")
    assert_refused(r, 1, repo / "1.targets.json", "not signed by a threshold of the trusted root's targets keys")
    assert not (workdir / "r2.json").exists()
    doc = copy.deepcopy(t)
    assert doc["signed"]["version"] == 1


def test_hostile_text_in_bundles_and_names_is_shown_literally(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    """status and merge show a bundle's role and the request's key names
    escaped: no control or reordering character, no rich markup obeyed."""
    req, a, b = ceremony
    doc = read(req)
    bob = keyid_of(key_json(workdir, "bob"))
    doc["keys"][bob]["name"] = "[red]bob\u202e\r"
    req.write_text(json.dumps(reseal(doc)))
    a = sign_as(workdir, req, "alice", workdir / "a2.json")
    b = sign_as(workdir, req, "bob", workdir / "b2.json")
    bundle = read(b)
    bundle["signatures"][0]["role"] = "\x07[bold]x\u202e"
    b.write_text(json.dumps(bundle))
    r = run_cli("status", req, a, b)
    assert r.exit_code == 4, r.stderr
    text = r.output + r.stderr
    for bad in ("\x07", "\u202e", "\r"):
        assert bad not in text
    assert "[red]bob\\u202e\\x0d" in r.output  # the name, literally, markup included
    assert "signs \\x07[bold]x\\u202e, which this request does not" in r.stderr
    r = run_cli("merge", req, a, b, "--out", workdir / "out")
    assert_refused(r, 4, "", "signs \\x07[bold]x\\u202e")
    assert not (workdir / "out").exists()
