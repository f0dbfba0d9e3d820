"""``verify`` on Sigstore's real root history (tests/data/sigstore-root-history)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fixtures_repo import VerifyCli

DATA = Path(__file__).parent / "data" / "sigstore-root-history"
BEFORE = "2026-11-01T00:00:00Z"
EXPIRY = "2026-11-20T13:58:18Z"


def test_chain_passes_before_expiry(verify_cli: VerifyCli) -> None:
    r = verify_cli(DATA, "--at", BEFORE, "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert report["ok"] is True
    assert [s["version"] for s in report["root_chain"]] == list(range(1, 16))
    assert report["root_chain"][0]["anchor"] is True
    assert report["root_chain"][0]["old_threshold"] is None
    for step in report["root_chain"][1:]:
        assert step["old_threshold"]["met"] and step["new_threshold"]["met"]
        assert step["new_threshold"]["threshold"] == 3
    # only the newest root is judged for expiry
    assert [s["expired"] for s in report["root_chain"]] == [None] * 14 + [False]


def test_legacy_key_encoding_reported_for_v1_to_v4(verify_cli: VerifyCli) -> None:
    r = verify_cli(DATA, "--at", BEFORE, "--json")
    legacy = [s["version"] for s in r.json()["root_chain"] if s["legacy_key_encoding"]]
    assert legacy == [1, 2, 3, 4]
    files = sorted(p["file"] for p in r.problems("legacy-key-encoding"))
    assert files == ["1.root.json", "2.root.json", "3.root.json", "4.root.json"]
    human = verify_cli(DATA, "--at", BEFORE)
    assert "legacy key encoding" in human.out


def test_expired_after_v15_expiry(verify_cli: VerifyCli) -> None:
    for at in (EXPIRY, "2026-11-21T00:00:00Z"):
        r = verify_cli(DATA, "--at", at)
        assert r.code == 1
        assert "15.root.json" in r.err and EXPIRY in r.err
        assert len(r.err.strip().splitlines()) == 1
    just_before = verify_cli(DATA, "--at", "2026-11-20T13:58:17Z", "--json")
    assert just_before.code == 0


def test_default_time_is_now_and_fails(verify_cli: VerifyCli) -> None:
    # the session runs after 2026-11-20: root v15 has expired
    r = verify_cli(DATA, "--json")
    assert r.code == 1
    [p] = r.problems("expired")
    assert p["file"] == "15.root.json" and EXPIRY in p["message"]
    assert r.json()["root_chain"][-1]["expired"] is True


def test_keyid_anomaly_v11_warning_then_strict_error(verify_cli: VerifyCli) -> None:
    r = verify_cli(DATA, "--at", BEFORE, "--json")
    [p] = r.problems("keyid-mismatch")
    assert p["severity"] == "warning" and p["file"] == "11.root.json"
    assert "7247f0dbad85b147e1863bade761243cc785dcb7aa410e7105dd3d2b61a36d2c" in p["message"]
    strict = verify_cli(DATA, "--at", BEFORE, "--strict", "--json")
    assert strict.code == 1
    [p] = strict.problems("keyid-mismatch")
    assert p["severity"] == "error" and p["file"] == "11.root.json"
    assert "11.root.json" in strict.err


def test_deprecated_keyid_signatures_count_for_old_root(verify_cli: VerifyCli) -> None:
    # v5 carries signatures by v4's root keys, v13 one by a v12 root key
    report = verify_cli(DATA, "--at", BEFORE, "--json").json()
    v5 = report["root_chain"][4]
    assert v5["old_threshold"]["valid"] == 4
    assert {k["keyid"][:10] for k in v5["old_threshold"]["signers"]} >= {"2f64fb5eac", "75e867ab10"}
    assert not [p for p in report["problems"] if p["code"] == "unknown-keyid"]


def test_warn_days(verify_cli: VerifyCli) -> None:
    r = verify_cli(DATA, "--at", BEFORE, "--json")
    [p] = r.problems("expires-soon")
    assert p["severity"] == "warning" and p["file"] == "15.root.json"
    assert r.code == 0
    quiet = verify_cli(DATA, "--at", BEFORE, "--warn-days", "5", "--json")
    assert quiet.problems("expires-soon") == []


def test_trusted_root_anchor(verify_cli: VerifyCli, tmp_path: Path) -> None:
    anchor = tmp_path / "trusted.json"
    shutil.copy(DATA / "10.root.json", anchor)
    report = verify_cli(DATA, "--at", BEFORE, "--trusted-root", anchor, "--json").json()
    assert [s["version"] for s in report["root_chain"]] == [10, 11, 12, 13, 14, 15]
    assert report["trusted_root"]["source"] == "--trusted-root"
    assert report["problems"] and any(p["code"] == "root-before-anchor" for p in report["problems"])


def test_names_file_shown(verify_cli: VerifyCli, tmp_path: Path) -> None:
    v15 = json.loads((DATA / "15.root.json").read_text())
    kid = next(k for k in v15["signed"]["keys"] if k.startswith("e71a54d543"))
    names = tmp_path / "names.json"
    names.write_text(json.dumps({kid: "keyholder-e71a"}))
    r = verify_cli(DATA, "--at", BEFORE, "--names", names)
    assert r.code == 0
    assert "keyholder-e71a" in r.out
    report = verify_cli(DATA, "--at", BEFORE, "--names", names, "--json").json()
    signers = report["root_chain"][-1]["new_threshold"]["signers"]
    assert {"keyid": kid, "name": "keyholder-e71a"} in signers


@pytest.mark.parametrize("bad", [b"{not json", b'{"signed": {}, "signatures": []}'])
def test_malformed_root_exit_3(verify_cli: VerifyCli, tmp_path: Path, bad: bytes) -> None:
    d = tmp_path / "h"
    shutil.copytree(DATA, d)
    (d / "7.root.json").write_bytes(bad)
    r = verify_cli(d, "--at", BEFORE)
    assert r.code == 3
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "7.root.json" in lines[0]
    assert "Traceback" not in r.err
