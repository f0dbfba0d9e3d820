"""Text reports at 80 columns (status, merge, verify, key list): no line over
80, no keyid or URI cut, tables that cannot fit laid out vertically, hostile
strings shown escaped; the JSON formats keep their documented shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, sign_as, write_plan
from tests.fixtures_softhsm import SoftHSM, pin_handler
from tuf_ceremony.cli.formats import Format, JsonFormat, output_width
from tuf_ceremony.cli.formats.status import StatusReport, StatusText
from tuf_ceremony.cli.formats.verify import VerifyResult, VerifyText
from tuf_ceremony.merge import Problem, RoleStatus, Threshold
from tuf_ceremony.verify.report import KeyRef, Report, RoleReport, RootStep, ThresholdCheck

SIGSTORE = Path(__file__).parent / "data" / "sigstore-root-history"
HOSTILE = "evil\x1b[2J\u202eredro\u200b"


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def _assert_fits(text: str, width: int = 80, whole: tuple[str, ...] = ()) -> list[str]:
    """Every line within ``width`` (a line that is exactly one of ``whole``,
    a URI, may be longer: it is never cut); no terminal control character."""
    lines = text.splitlines()
    for line in lines:
        assert len(line) <= width or line in whole, line
        assert "\x1b" not in line and "\u202e" not in line and "\u200b" not in line, line
    return lines


def test_output_width_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    assert output_width() == 80
    monkeypatch.setenv("COLUMNS", "120")
    assert output_width() == 120
    monkeypatch.setenv("COLUMNS", "junk")
    assert output_width() == 80


def test_key_list_prints_each_uri_whole(pkcs11_fresh: SoftHSM) -> None:
    from tuf_ceremony.signers.pkcs11 import close_sessions, generate_key

    pkcs11_fresh.new_token(HOSTILE)
    long_label = "a-key-label-long-enough-to-push-its-uri-past-any-table-column-" + "x" * 20
    generate_key(pkcs11_fresh.uri(HOSTILE, long_label), "ed25519", pin_handler())
    close_sessions()
    listed = json.loads(run_cli("key", "list", "--json").output)
    uris = tuple(k["uri"] for t in listed for k in t["keys"])
    assert any(long_label in u for u in uris) and any(len(u) > 80 for u in uris)
    r = run_cli("key", "list")
    assert r.exit_code == 0, r.output
    lines = _assert_fits(r.output, whole=uris)
    for uri in uris:  # each URI whole, on a line of its own, ready to copy
        assert uri in lines
    assert "evil\\x1b[2J\\u202eredro\\u200b" in r.output
    assert "Keys on token 'tuf-test-a'" in r.output


def test_key_export_prints_the_uri_whole(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    uri = pkcs11_fresh.uri("tuf-test-a", "p256")
    r = run_cli("key", "export", uri, "--public-out", tmp_path / "k.json")
    assert r.exit_code == 0, r.output
    full = json.loads(run_cli("key", "list", "--json").output)
    uris = tuple(k["uri"] for t in full for k in t["keys"])
    lines = _assert_fits(r.output, whole=uris)
    assert any(line.endswith(u) for u in uris for line in lines)


def test_status_and_merge_at_80_columns(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "req.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    alice = sign_as(workdir, req, "alice")
    r = run_cli("status", req, alice)
    assert r.exit_code == 1  # thresholds not met yet
    lines = _assert_fits(r.output)
    assert any("bob (" in line for line in lines) and "NO" in r.output
    doc = json.loads(run_cli("status", req, alice, "--json").output)
    assert set(doc) == {"request_id", "complete", "roles", "changes", "signer_sets", "actions", "problems"}

    bob = sign_as(workdir, req, "bob")
    r = run_cli("merge", req, alice, bob, "--out", workdir / "repo")
    assert r.exit_code == 0, r.output + r.stderr
    written = tuple(str(p) for p in (workdir / "repo").iterdir())
    lines = _assert_fits(r.output, whole=written)  # a long path stands whole on its own line
    for path in written:
        assert f"written: {path}" in lines or path in lines
    assert "yes" in r.output


def _threshold(label: str, names: list[str], missing: list[str]) -> Threshold:
    return Threshold(label, 2, names, missing)


def test_status_table_too_wide_becomes_vertical() -> None:
    names = [f"keyholder-with-a-long-name-{i} (0123456789ab)" for i in range(3)]
    report = StatusReport(
        request_id="ab" * 32,
        complete=False,
        statuses=[RoleStatus("root", 2, "00" * 32, [_threshold("new root", names[:2], names[2:])])],
        problems=[Problem(f"{HOSTILE}.json", "not signed by a key of this request")],
    )
    text = StatusText(80).render(report)
    lines = _assert_fits(text)
    assert "role:      new root v2" in lines  # one "header: value" line per cell
    for name in names:
        assert any(name in line for line in lines)


def _verify_report() -> Report:
    alice = KeyRef("a1" * 32, f"alice{HOSTILE}")
    bob = KeyRef("b2" * 32, "bob")
    check = ThresholdCheck("root", 2, 2, [alice, bob], [], 3)
    report = Report(
        directory=f"/media/usb/{HOSTILE}",
        checked_at="2026-12-01T00:00:00Z",
        strict=False,
        warn_days=30,
        mode="repository",
    )
    report.root_chain.append(RootStep(1, "1.root.json", "2027-12-01T00:00:00Z", True, check))
    report.root_chain.append(RootStep(2, f"2.{HOSTILE}.root.json", "2027-12-01T00:00:00Z", False, check, check))
    report.roles.append(
        RoleReport(
            "targets",
            "root",
            True,
            "1.targets.json",
            1,
            "2027-01-01T00:00:00Z",
            False,
            ThresholdCheck("targets", 1, 1, [bob]),
            12,
        )
    )
    report.roles += [
        RoleReport(
            f"bin-{n:04x}",
            "bins",
            True,
            f"1.bin-{n:04x}.json",
            1,
            "2027-01-01T00:00:00Z",
            False,
            ThresholdCheck("bin", 1, 1, [bob]),
            400,
            kind="hashed-bin",
        )
        for n in range(60)
    ]
    report.add(
        "error",
        "bad-signature",
        "signature by "
        + "c3" * 32
        + " over "
        + HOSTILE
        + " does not verify "
        + "and this message goes on for a good while to need wrapping " * 3,
        file=f"{HOSTILE}.json",
    )
    return report


def test_verify_text_fits_and_escapes() -> None:
    report = _verify_report()
    text = VerifyText(80).render(VerifyResult(report))
    lines = _assert_fits(text)
    assert "c3" * 32 in text  # a full keyid in a message is never cut
    assert "alice" + "evil\\x1b[2J\\u202eredro\\u200b" in text
    assert any(line.startswith("  60 hashed-bin roles delegated by bins") for line in lines)
    assert lines[-1].startswith("FAILED: 1 error(s)") or "FAILED: 1 error(s)" in text
    # every word of the message is whole on some line
    message = report.problems[0].message
    for word in message.split():
        if word.isascii() and word.isprintable():
            assert any(word in line for line in lines), word


def test_verify_json_is_the_report_schema() -> None:
    report = _verify_report()
    fmt: Format[VerifyResult] = JsonFormat(ensure_ascii=False)
    assert fmt.is_json
    assert json.loads(fmt.render(VerifyResult(report))) == json.loads(json.dumps(report.to_dict()))


def test_verify_cli_sigstore_history_at_80_columns() -> None:
    r = run_cli("verify", SIGSTORE, "--at", "2022-01-01")
    assert r.exit_code == 0, r.output
    lines = _assert_fits(r.output)
    assert "Root chain" in lines and "Key changes:" in lines
    doc = json.loads(run_cli("verify", SIGSTORE, "--at", "2022-01-01", "--json").output)
    for step in doc["root_chain"]:  # every signer's keyid prefix appears whole
        for signer in step["new_threshold"]["signers"]:
            assert signer["keyid"][:8] in r.output
