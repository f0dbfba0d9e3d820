"""Malformed signing requests and signature bundles are refused with one line
naming the file, before anything is signed or written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan


@pytest.fixture
def ceremony(workdir: Path) -> tuple[Path, Path, Path]:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    return req, sign_as(workdir, req, "alice"), sign_as(workdir, req, "bob")


class Raw(str):
    """A replacement for the whole file text."""


def _edit(path: Path, fn: Callable[[Any], Any]) -> None:
    doc = json.loads(path.read_text())
    res = fn(doc)
    if isinstance(res, Raw):
        path.write_text(res)
    elif isinstance(res, (list, int)) and not isinstance(res, bool):
        path.write_text(json.dumps(res))
    else:
        path.write_text(json.dumps(doc))


REQUEST_BREAKS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("not-json", lambda d: Raw("{"), "not valid JSON"),
    ("array", lambda d: [d], "expected a JSON object"),
    ("format", lambda d: d.update(format="something-else"), "not a signing request"),
    ("format-version", lambda d: d.update(format_version=99), "format_version"),
    ("unknown-field", lambda d: d.update(extra=1), "unknown field 'extra'"),
    ("no-payloads", lambda d: d.update(payloads=[]), "payloads: missing or empty"),
    ("payload-digest", lambda d: d["payloads"][0].update(digest="0" * 64), "digest does not match"),
    ("payload-tampered", lambda d: d["payloads"][0]["signed"].update(version=7), "version"),
    (
        "payload-expiry",
        lambda d: d["payloads"][0]["signed"].update(expires="2099-01-01T00:00:00Z"),
        "digest does not match",
    ),
    ("payload-bad-tuf", lambda d: d["payloads"][0]["signed"].pop("roles") and None, "not valid TUF"),
    ("payload-role", lambda d: d["payloads"][0].update(role="snapshot"), "not root or targets"),
    ("request-id", lambda d: d.update(request_id="f" * 64), "request_id does not match"),
    ("key-name", lambda d: next(iter(d["keys"].values())).update(name="mallory"), "request_id does not match"),
    ("keyid-mismatch", lambda d: d["keys"].update({"0" * 64: next(iter(d["keys"].values()))}), "keyid does not match"),
    ("trusted", lambda d: d.update(trusted=[]), "trusted"),
    ("missing-created", lambda d: d.pop("created") and None, "created"),
]


@pytest.mark.parametrize(("case", "fn", "needle"), REQUEST_BREAKS, ids=[c[0] for c in REQUEST_BREAKS])
def test_malformed_request(
    ceremony: tuple[Path, Path, Path], workdir: Path, case: str, fn: Callable[[Any], Any], needle: str
) -> None:
    req, a, b = ceremony
    _edit(req, fn)
    commands: list[list[str | Path]] = [
        ["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "x.json", "--yes"],
        ["status", req, a],
        ["merge", req, a, b, "--out", workdir / "out"],
    ]
    for args in commands:
        r = run_cli(*args, input=PASSPHRASES["alice"] + "\n")
        assert r.exit_code == 3, (case, args[0], r.output, r.stderr)
        assert r.stderr.startswith(f"tuf-ceremony: error: {req}: "), r.stderr
        assert needle in r.stderr, (needle, r.stderr)
        assert "Traceback" not in r.output + r.stderr
    assert not (workdir / "x.json").exists() and not (workdir / "out").exists()


def test_duplicate_json_keys_refused(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    req, a, _ = ceremony
    text = req.read_text()
    req.write_text(text.replace('"ceremony": "plan",', '"ceremony": "plan", "ceremony": "x",', 1))
    r = run_cli("status", req, a)
    assert r.exit_code == 3 and "duplicate key 'ceremony'" in r.stderr


BUNDLE_BREAKS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("not-json", lambda d: Raw("["), "not valid JSON"),
    ("not-object", lambda d: 5, "expected a JSON object"),
    ("format", lambda d: d.update(format="x"), "not a signature bundle"),
    ("version", lambda d: d.update(format_version="1"), "format_version"),
    ("request-id", lambda d: d.update(request_id="xyz"), "request_id"),
    ("no-signatures", lambda d: d.update(signatures=[]), "signatures: missing or empty"),
    ("extra-sig-field", lambda d: d["signatures"][0].update(x=1), "signatures[0]"),
    ("sig-not-hex", lambda d: d["signatures"][0].update(sig="zz"), "not a hex signature"),
    ("digest", lambda d: d["signatures"][0].update(digest="abc"), "digest"),
    ("version-type", lambda d: d["signatures"][0].update(version=True), "version"),
    ("signer", lambda d: d.pop("signer") and None, "signer"),
    ("unknown-field", lambda d: d.update(note="hi"), "unknown field 'note'"),
]


@pytest.mark.parametrize(("case", "fn", "needle"), BUNDLE_BREAKS, ids=[c[0] for c in BUNDLE_BREAKS])
def test_malformed_bundle(
    ceremony: tuple[Path, Path, Path], workdir: Path, case: str, fn: Callable[[Any], Any], needle: str
) -> None:
    req, a, b = ceremony
    _edit(b, fn)
    commands: list[list[str | Path]] = [["status", req, a, b], ["merge", req, a, b, "--out", workdir / "out"]]
    for args in commands:
        r = run_cli(*args)
        assert r.exit_code == 3, (case, r.output, r.stderr)
        assert r.stderr.startswith(f"tuf-ceremony: error: {b}: "), r.stderr
        assert needle in r.stderr
    assert not (workdir / "out").exists()


def test_signature_for_other_payload_content(ceremony: tuple[Path, Path, Path], workdir: Path) -> None:
    req, a, b = ceremony
    _edit(b, lambda d: d["signatures"][0].update(digest="1" * 64))
    r = run_cli("merge", req, a, b, "--out", workdir / "out")
    assert r.exit_code == 4
    assert f"{b}: signature on root v1 is for other content" in r.stderr
