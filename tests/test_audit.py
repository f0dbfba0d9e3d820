"""``tuf-ceremony audit``: a whole ceremony run with transcripts through the
CLI (software keys, and one keyholder on a SoftHSM2 token), published as a
record folder, passes the audit; each kind of tampering is reported with the
file and the step named."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import pytest

from tests.fixtures_core import PASSPHRASES, KeySet, run_cli, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM

# the sandbox (and CI) have a network: the air-gap checks are accepted, and
# the audit shows each acceptance as a warning
ACCEPT = ("--accept", "network", "--accept", "route", "--accept", "radio")
TOKEN_HOLDER = "hsm"


class FindingJSON(TypedDict):
    """One finding of ``audit --json`` (tuf_ceremony.evidence.audit.Finding)."""

    check: str
    status: str
    file: str
    step: str | None
    message: str


class TranscriptJSON(TypedDict):
    file: str
    records: int
    head: str
    ok: bool


class ReportJSON(TypedDict):
    """What ``audit --json`` prints (AuditReport.to_dict)."""

    format: str
    format_version: int
    directory: str
    ok: bool
    request_id: str | None
    transcripts: list[TranscriptJSON]
    findings: list[FindingJSON]


def _ok(*args: str | Path, input: str | None = None) -> str:
    r = run_cli(*args, input=input)
    assert r.exit_code == 0, r.output
    return r.output


# Long on purpose: one scenario, step by step in the order people run it.
def run_ceremony(work: Path, token_uri: str | None) -> Path:
    """Run a ceremony on four "machines" (one transcript each) and publish
    its record; returns the record folder."""
    holders = ["alice", "bob"] + ([TOKEN_HOLDER] if token_uri else [])
    if token_uri:
        _ok(
            "key",
            "generate",
            "--type",
            "ecdsa-p256",
            "--uri",
            token_uri,
            "--public-out",
            work / f"{TOKEN_HOLDER}.pub.json",
            input=USER_PIN + "\n",
        )
    targets = ["alice", TOKEN_HOLDER] if token_uri else ["alice", "bob"]
    plan = write_plan(work / "plan.toml", root=(holders, 2), targets=(targets, 2))
    coord = work / "coordinator.jsonl"
    _ok("preflight", *ACCEPT, "--out", work / "coordinator.preflight.json", "--transcript", coord)
    _ok("prepare", plan, "--out", work / "request.json", "--transcript", coord)
    bundles = []
    for name in holders:
        t = work / f"{name}.jsonl"
        _ok("preflight", *ACCEPT, "--out", work / f"{name}.preflight.json", "--transcript", t)
        key = token_uri if name == TOKEN_HOLDER and token_uri else str(work / f"{name}.pem")
        secret = USER_PIN if name == TOKEN_HOLDER else PASSPHRASES[name]
        out = work / f"{name}.bundle.json"
        # the group-level form for one of them
        if name == "bob":
            _ok(
                "--transcript",
                t,
                "sign",
                work / "request.json",
                "--key",
                key,
                "--out",
                out,
                "--yes",
                input=secret + "\n",
            )
        else:
            _ok(
                "sign",
                work / "request.json",
                "--key",
                key,
                "--out",
                out,
                "--yes",
                "--transcript",
                t,
                input=secret + "\n",
            )
        bundles.append(out)
    _ok("merge", work / "request.json", *bundles, "--out", work / "repository", "--transcript", coord)
    _ok("verify", work / "repository", "--transcript", coord)
    record = work / "record"
    record.mkdir()
    names = [
        "plan.toml",
        "request.json",
        *[f"{n}.pub.json" for n in [*holders, "online"]],
        *[f"{n}.bundle.json" for n in holders],
        "coordinator.jsonl",
        "coordinator.preflight.json",
        *[f"{n}.jsonl" for n in holders],
        *[f"{n}.preflight.json" for n in holders],
    ]
    for n in names:
        shutil.copy2(work / n, record / n)
    shutil.copytree(work / "repository", record / "repository")
    return record


@pytest.fixture(scope="module")
def software_record(tmp_path_factory: pytest.TempPathFactory, keyset: KeySet) -> Path:
    work = tmp_path_factory.mktemp("ceremony")
    keyset.copy_to(work)
    return run_ceremony(work, None)


@pytest.fixture
def record(software_record: Path, tmp_path: Path) -> Path:
    """A fresh copy of the rehearsal record, to tamper with."""
    dest = tmp_path / "record"
    shutil.copytree(software_record, dest)
    return dest


def audit(record: Path) -> tuple[int, ReportJSON, str]:
    r = run_cli("audit", record, "--json")
    text = run_cli("audit", record)
    assert r.exit_code == text.exit_code
    assert r.exit_code in (0, 1), r.output
    report: ReportJSON = json.loads(r.stdout)
    return r.exit_code, report, text.output


def failures(report: ReportJSON) -> list[FindingJSON]:
    return [f for f in report["findings"] if f["status"] == "fail"]


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def rechain(path: Path, edit: Callable[[list[dict[str, Any]]], object]) -> None:
    """Rewrite a whole transcript consistently (what a dishonest machine owner
    could do): edit the records, then recompute every prev."""
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    edit(docs)
    prev = "0" * 64
    out = []
    for i, d in enumerate(docs, 1):
        d["seq"], d["prev"] = i, prev
        line = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        prev = hashlib.sha256(line.encode()).hexdigest()
        out.append(line + "\n")
    path.write_text("".join(out))


def test_rehearsal_record_passes_the_audit(software_record: Path) -> None:
    code, report, text = audit(software_record)
    assert code == 0, text
    assert report["ok"] is True
    checks = {(f["check"], f["status"]) for f in report["findings"]}
    for check in ("chain", "flow", "replay", "signatures", "review", "preflight"):
        assert (check, "pass") in checks, check
    assert "audit passed" in text
    assert "follows from plan.toml: prepare replayed at" in text
    assert "repository/1.root.json: 2 signature(s), all from recorded bundles" in text
    assert len(report["transcripts"]) == 3
    # the record of every machine: preflight first, then the signing
    alice = [json.loads(x) for x in lines(software_record / "alice.jsonl")]
    assert [d["command"] for d in alice] == ["preflight", "sign"]
    assert alice[1]["review_digest"] == json.loads((software_record / "alice.bundle.json").read_text())["review_digest"]


def test_ceremony_with_a_token_keyholder_passes_the_audit(pkcs11_fresh: SoftHSM, workdir: Path) -> None:
    token = f"audit-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(token)
    record = run_ceremony(workdir, f"pkcs11:token={token};object={TOKEN_HOLDER}")
    code, _, text = audit(record)
    assert code == 0, text
    hsm = [json.loads(x) for x in lines(record / f"{TOKEN_HOLDER}.jsonl")]
    assert hsm[1]["command"] == "sign"
    assert hsm[1]["arguments"]["key_spec"].startswith("pkcs11:token=")
    assert f'"{USER_PIN}"' not in (record / f"{TOKEN_HOLDER}.jsonl").read_text()
    # the PIN typed on stdin is in no string of any transcript or pre-flight
    # result (digests and paths aside, where its digits may occur by chance)
    for p in [*record.glob("*.jsonl"), *record.glob("*.preflight.json")]:
        docs = (
            [json.loads(x) for x in p.read_text().splitlines()] if p.suffix == ".jsonl" else [json.loads(p.read_text())]
        )
        assert not [
            s
            for s in _strings(docs)
            if USER_PIN in s and "/" not in s and not (len(s) >= 32 and all(c in "0123456789abcdef" for c in s))
        ], p
    assert "hsm.preflight.json" in text, text
    # the token's PKCS#11 module is fingerprinted in the pre-flight
    pre = json.loads((record / f"{TOKEN_HOLDER}.preflight.json").read_text())
    assert pre["pkcs11"] and len(pre["pkcs11"][0]["sha256"]) == 64


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_edited_record_is_reported(record: Path) -> None:
    t = record / "alice.jsonl"
    first, second = lines(t)
    t.write_text(
        first.replace('"exit_code":0', '"exit_code":0 ').replace('"result":"completed"', '"result":"all fine"') + second
    )
    code, report, text = audit(record)
    assert code == 1
    f = failures(report)[0]
    assert (f["check"], f["file"]) == ("chain", "alice.jsonl")
    assert f["step"] == "record 2 (line 2, sign)"
    assert "record 1 (line 1, preflight)" in f["message"] and "edited" in f["message"]
    assert "alice.jsonl: record 2 (line 2, sign): prev does not match" in text


def test_dropped_record_is_reported(record: Path) -> None:
    t = record / "coordinator.jsonl"
    kept = lines(t)
    t.write_text(kept[0] + "".join(kept[2:]))  # the prepare record is gone
    code, report, _ = audit(record)
    assert code == 1
    fails = failures(report)
    assert fails[0]["file"] == "coordinator.jsonl"
    assert fails[0]["step"] == "record 3 (line 2, merge)"
    assert "seq 3 where 2 was expected" in fails[0]["message"]
    assert "a record was removed" in fails[0]["message"]
    assert any(
        f["file"] == "request.json" and "not written by any recorded prepare step" in f["message"] for f in fails
    )


def test_reordered_records_are_reported(record: Path) -> None:
    t = record / "coordinator.jsonl"
    a, b, c, d = lines(t)
    t.write_text(a + b + d + c)  # verify before merge
    code, report, _ = audit(record)
    assert code == 1
    fails = [f for f in failures(report) if f["check"] == "chain"]
    assert fails[0]["step"] == "record 4 (line 3, verify)"
    assert fails[1]["step"] == "record 3 (line 4, merge)"
    assert "reordered" in fails[1]["message"]


def test_swapped_bundle_is_reported(record: Path, workdir: Path) -> None:
    # alice signs the same request again, elsewhere: a valid bundle, but not
    # the one her machine recorded
    other = workdir / "other.bundle.json"
    _ok(
        "sign",
        record / "request.json",
        "--key",
        workdir / "alice.pem",
        "--out",
        other,
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert other.read_bytes() != (record / "alice.bundle.json").read_bytes()
    shutil.copy2(other, record / "alice.bundle.json")
    code, report, text = audit(record)
    assert code == 1
    f = {(x["file"], x["step"], x["message"]) for x in failures(report)}
    assert ("alice.bundle.json", None, "was not written by any recorded sign step (replaced, swapped or added)") in f
    assert any(
        file == "alice.jsonl" and step == "record 2 (line 2, sign)" and "the bundle this step wrote" in msg
        for file, step, msg in f
    )
    assert "alice.bundle.json: was not written by any recorded sign step" in text


def test_merged_bundle_not_from_a_keyholder_is_reported(record: Path) -> None:
    def swap(docs: list[dict[str, Any]]) -> None:
        merge = next(d for d in docs if d["command"] == "merge")
        bundle = next(i for i in merge["inputs"] if i["param"] == "bundles")
        bundle["sha256"] = "ab" * 32

    rechain(record / "coordinator.jsonl", swap)
    code, report, _ = audit(record)
    assert code == 1
    f = failures(report)[0]
    assert (f["file"], f["step"]) == ("coordinator.jsonl", "record 3 (line 3, merge)")
    assert "merged a bundle (SHA-256 abababab" in f["message"]


def test_request_that_does_not_follow_from_the_plan_is_reported(record: Path, keyset: KeySet) -> None:
    # the key file the plan names is not the key the request holds
    shutil.copy2(keyset.pub("erin"), record / "bob.pub.json")
    code, report, text = audit(record)
    assert code == 1
    f = next(x for x in failures(report) if x["check"] == "replay")
    assert f["file"] == "request.json"
    assert f["step"] == "coordinator.jsonl record 2 (line 2, prepare)"
    assert "does not follow from plan.toml" in f["message"]
    assert (
        "FAIL replay     request.json: coordinator.jsonl record 2 (line 2, prepare): does "
        "not follow from plan.toml" in text
    )


def test_rewritten_preparation_time_does_not_replay(record: Path) -> None:
    # the coordinator rewrites their whole transcript: the chain holds, the
    # replay does not
    def move(docs: list[dict[str, Any]]) -> None:
        docs[1]["arguments"]["at"] = "2026-01-01T00:00:00Z"

    rechain(record / "coordinator.jsonl", move)
    code, report, _ = audit(record)
    assert code == 1
    assert not [f for f in failures(report) if f["check"] == "chain"]
    f = failures(report)[0]
    assert f["check"] == "replay" and "replayed at 2026-01-01T00:00:00Z gives request" in f["message"]


def test_review_digest_that_does_not_match_is_reported(record: Path) -> None:
    # alice's machine recorded (and her bundle carries) a review other than
    # the one this tool renders from the request
    bundle = json.loads((record / "alice.bundle.json").read_text())
    bundle["review_digest"] = "cd" * 32
    data = (json.dumps(bundle, indent=2, sort_keys=True) + "\n").encode()
    (record / "alice.bundle.json").write_bytes(data)

    def forge(docs: list[dict[str, Any]]) -> None:
        docs[1]["review_digest"] = "cd" * 32
        docs[1]["outputs"][0]["sha256"] = hashlib.sha256(data).hexdigest()

    rechain(record / "alice.jsonl", forge)
    code, report, text = audit(record)
    assert code == 1
    fails = {(f["check"], f["file"], f["step"]) for f in failures(report)}
    assert ("review", "alice.jsonl", "record 2 (line 2, sign)") in fails
    assert ("review", "alice.bundle.json", None) in fails
    # alice's own record is consistent; what she was shown is not the request's review
    assert not [f for f in fails if f[1] == "alice.jsonl" and f[0] != "review"]
    assert "review digest cdcdcdcd" in text


def test_missing_or_failed_preflight_is_reported(record: Path) -> None:
    # (in the same second, the machines' results are byte for byte the same)
    (record / "bob.preflight.json").unlink()
    (record / "coordinator.preflight.json").unlink()
    # alice's machine failed a check, and her transcript says so consistently
    pre = json.loads((record / "alice.preflight.json").read_text())
    pre["checks"][0]["status"] = "fail"
    data = json.dumps(pre).encode()
    (record / "alice.preflight.json").write_bytes(data)

    def forge(docs: list[dict[str, Any]]) -> None:
        docs[0]["outputs"][0]["sha256"] = hashlib.sha256(data).hexdigest()

    rechain(record / "alice.jsonl", forge)
    code, report, _ = audit(record)
    assert code == 1
    fails = {(f["file"], f["step"], f["message"].split(":")[0]) for f in failures(report)}
    assert fails == {
        ("bob.jsonl", "record 1 (line 1, preflight)", "its result (--out) is not in the record"),
        ("alice.preflight.json", "alice.jsonl record 1 (line 1, preflight)", "unaccepted failure"),
    }


def test_foreign_signature_in_metadata_is_reported(record: Path) -> None:
    md = json.loads((record / "repository" / "1.targets.json").read_text())
    kid = md["signatures"][0]["keyid"]
    md["signatures"][0]["sig"] = "00" * 64
    (record / "repository" / "1.targets.json").write_text(json.dumps(md))
    code, report, _ = audit(record)
    assert code == 1
    msgs = [f["message"] for f in failures(report) if f["file"] == "repository/1.targets.json"]
    assert "was not written by the recorded merge step" in msgs[0], msgs
    assert any(f"the signature by keyid {kid[:16]} does not come from any recorded bundle" in m for m in msgs)
    assert any("threshold not met: 1 of 2 distinct keys" in m for m in msgs)


def test_audit_of_something_that_is_not_a_record(tmp_path: Path) -> None:
    r = run_cli("audit", tmp_path / "nope")
    assert r.exit_code in (2, 3)
    r = run_cli("audit", tmp_path)
    assert r.exit_code == 1
    assert "no transcript (*.jsonl) in the record" in r.output


def test_tool_changed_after_the_preflight_is_reported(record: Path) -> None:
    def swap_tool(docs: list[dict[str, Any]]) -> None:
        docs[1]["tool"]["fingerprint"] = "ee" * 32

    rechain(record / "bob.jsonl", swap_tool)
    code, report, _ = audit(record)
    assert code == 1
    f = failures(report)
    assert [(x["check"], x["file"], x["step"]) for x in f] == [("preflight", "bob.jsonl", "record 2 (line 2, sign)")]
    assert "ran another tool installation than the one the pre-flight fingerprinted" in f[0]["message"]
    warn = [x for x in report["findings"] if x["check"] == "tool"]
    assert warn[0]["status"] == "warn"


def test_bundle_without_review_digest_stays_readable_and_is_reported(record: Path, tmp_path: Path) -> None:
    # a bundle made before the review digest existed: merge still takes it
    old = json.loads((record / "alice.bundle.json").read_text())
    del old["review_digest"]
    legacy = tmp_path / "legacy.bundle.json"
    legacy.write_text(json.dumps(old, indent=2))
    r = run_cli("merge", record / "request.json", legacy, record / "bob.bundle.json", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    shutil.copy2(legacy, record / "alice.bundle.json")
    code, report, _ = audit(record)
    assert code == 1
    assert ("review", "alice.bundle.json", "carries no review digest") in {
        (f["check"], f["file"], f["message"]) for f in failures(report)
    }


def test_signing_without_a_preflight_is_reported(record: Path) -> None:
    rechain(record / "bob.jsonl", lambda docs: docs.pop(0))
    rechain(record / "coordinator.jsonl", lambda docs: docs.pop(0))
    code, report, _ = audit(record)
    assert code == 1
    found = {(f["status"], f["file"], f["message"]) for f in report["findings"] if f["check"] == "preflight"}
    assert ("fail", "bob.jsonl", "no successful pre-flight before record 1 (line 1, sign)") in found
    assert ("warn", "coordinator.jsonl", "no successful pre-flight before record 1 (line 1, prepare)") in found


def test_hostile_record_is_reported_never_crashes(record: Path) -> None:
    def hostile(docs: list[dict[str, Any]]) -> None:
        docs[1]["arguments"] = {"at": 5, "trusted": "yes"}
        docs[1]["inputs"] = [
            5,
            "x",
            {"param": "plan", "sha256": 7},
            {"param": "trusted", "files": [{"name": "", "sha256": "x"}]},
        ]
        docs[2]["outputs"] = [{"param": "out", "files": "not a list"}]

    rechain(record / "coordinator.jsonl", hostile)
    forged = json.loads(lines(record / "alice.jsonl")[0])
    forged.update(seq=5, command="preflight\x1b[2J\u202e")
    (record / "junk.jsonl").write_bytes(json.dumps(forged).encode() + b'\n[1, 2]\n{"format": 1}\n\xff\xfe\n')
    (record / "weird.json").write_text('{"format": "tuf-ceremony/signature-bundle"}')
    code, report, text = audit(record)
    assert code == 1
    assert "\x1b" not in text and "\u202e" not in text
    assert "preflight\\x1b[2J\\u202e" in text
    fails = {(f["file"], f["message"]) for f in failures(report)}
    assert ("junk.jsonl", "unreadable record: not a JSON object") in fails
    assert ("junk.jsonl", "unreadable record: not a transcript record (format 1)") in fails
    assert any(file == "weird.json" and msg.startswith("not a valid bundle") for file, msg in fails), fails
    assert ("request.json", "the plan this prepare read is not in the record (no file with its SHA-256)") in fails
    assert ("repository/1.root.json", "was not written by the recorded merge step") in fails
