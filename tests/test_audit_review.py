"""``tuf-ceremony audit`` against tampering the first tests left out (issue 12
review): copied and forked transcripts, a bundle whose keyholder's transcript
is missing, files in repository/ no step accounts for, a plan or pre-flight
edited after the fact, a transcript cut back by its last record, hostile
strings in a pre-flight result, secrets, and the shape of ``--json``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.fixtures_core import PASSPHRASES
from tests.test_audit import ReportJSON, audit, failures, lines, rechain, record, software_record

__all__ = ["record", "software_record"]  # the fixtures, shared with tests/test_audit.py


def _fails(report: ReportJSON) -> set[tuple[str, str, str | None, str]]:
    return {(f["check"], f["file"], f["step"], f["message"]) for f in failures(report)}


def test_copied_transcript_is_reported(record: Path) -> None:
    shutil.copy2(record / "alice.jsonl", record / "alice2.jsonl")
    code, report, text = audit(record)
    assert code == 1
    fails = [f for f in failures(report) if f["file"] == "alice2.jsonl"]
    assert [(f["check"], f["step"]) for f in fails] == [("chain", "record 1 (line 1, preflight)")]
    assert fails[0]["message"] == (
        "is also alice.jsonl record 1 (line 1, preflight): two transcripts claim the same "
        "machine's records (one was copied or forked from the other)"
    )
    assert "FAIL chain      alice2.jsonl: record 1 (line 1, preflight): is also alice.jsonl" in text


def test_forked_transcript_borrowing_a_preflight_is_reported(record: Path) -> None:
    # a "machine" whose transcript starts with alice's pre-flight, then goes
    # its own way (a consistent chain of its own)
    fork = record / "mallory.jsonl"
    shutil.copy2(record / "alice.jsonl", fork)

    def own_way(docs: list[dict[str, object]]) -> None:
        docs[1]["result"] = "completed; wrote something else"

    rechain(fork, own_way)
    assert lines(fork)[0] == lines(record / "alice.jsonl")[0]
    code, report, _ = audit(record)
    assert code == 1
    assert (
        "chain",
        "mallory.jsonl",
        "record 1 (line 1, preflight)",
        "is also alice.jsonl record 1 (line 1, preflight): two transcripts claim the same "
        "machine's records (one was copied or forked from the other)",
    ) in _fails(report)


def test_bundle_of_a_keyholder_whose_transcript_is_missing(record: Path) -> None:
    (record / "bob.jsonl").unlink()
    (record / "bob.preflight.json").unlink()
    code, report, _ = audit(record)
    assert code == 1
    fails = _fails(report)
    assert (
        "flow",
        "bob.bundle.json",
        None,
        "was not written by any recorded sign step (replaced, swapped or added)",
    ) in fails
    merge = [f for f in fails if f[1] == "coordinator.jsonl" and f[2] == "record 3 (line 3, merge)"]
    assert merge and "that no recorded sign step wrote" in merge[0][3]
    # bob's signature no longer counts: the thresholds fail
    assert any(f[1] == "repository/1.root.json" and "root threshold not met: 1 of 2" in f[3] for f in fails)


def test_files_in_repository_no_step_accounts_for(record: Path) -> None:
    repo = record / "repository"
    # the same bytes under another name: a root version no merge wrote
    shutil.copy2(repo / "1.root.json", repo / "2.root.json")
    (repo / "bins").mkdir()
    shutil.copy2(repo / "1.targets.json", repo / "bins" / "1.targets.json")
    (repo / "timestamp.json").symlink_to("/etc/passwd")
    code, report, text = audit(record)
    assert code == 1
    unaccounted = (
        "is in repository/, but no recorded merge wrote it and no recorded prepare read it as trusted metadata"
    )
    assert {(f[1], f[3]) for f in _fails(report)} == {
        ("repository/2.root.json", unaccounted),
        ("repository/bins/1.targets.json", unaccounted),
        ("repository/timestamp.json", "is a symbolic link: a record holds regular files only (not read)"),
    }
    assert "root:x:" not in text


def test_plan_edited_after_prepare_is_reported(record: Path) -> None:
    plan = record / "plan.toml"
    edited = plan.read_text().replace("threshold = 2", "threshold = 1")
    assert edited != plan.read_text()
    plan.write_text(edited)
    code, report, _ = audit(record)
    assert code == 1
    assert _fails(report) == {
        (
            "replay",
            "request.json",
            "coordinator.jsonl record 2 (line 2, prepare)",
            "the plan this prepare read is not in the record (no file with its SHA-256)",
        )
    }

    # the coordinator also rewrites their transcript to name the edited plan:
    # the chain holds, the replay does not
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()

    def forge(docs: list[dict[str, object]]) -> None:
        inputs = docs[1]["inputs"]
        assert isinstance(inputs, list)
        inputs[0]["sha256"] = digest

    rechain(record / "coordinator.jsonl", forge)
    code, report, _ = audit(record)
    assert code == 1
    ((check, file, step, message),) = _fails(report)
    assert (check, file, step) == ("replay", "request.json", "coordinator.jsonl record 2 (line 2, prepare)")
    assert message.startswith("does not follow from plan.toml: prepare replayed at ")


def test_edited_or_incomplete_preflight_is_reported(record: Path) -> None:
    pre = record / "alice.preflight.json"
    doc = json.loads(pre.read_text())
    doc["hostname"] = "somewhere-else"
    pre.write_text(json.dumps(doc))
    code, report, _ = audit(record)
    assert code == 1
    assert ("preflight", "alice.preflight.json", None, "was not written by any recorded preflight step") in _fails(
        report
    )

    # alice's machine owner rewrites the result without the air-gap checks,
    # and the transcript to match: a result that proves nothing
    doc["checks"] = [c for c in doc["checks"] if c["name"] not in ("network", "route")]
    data = json.dumps(doc).encode()
    pre.write_bytes(data)

    def forge(docs: list[dict[str, object]]) -> None:
        outputs = docs[0]["outputs"]
        assert isinstance(outputs, list)
        outputs[0]["sha256"] = hashlib.sha256(data).hexdigest()

    rechain(record / "alice.jsonl", forge)
    code, report, _ = audit(record)
    assert code == 1
    assert _fails(report) == {
        (
            "preflight",
            "alice.preflight.json",
            "alice.jsonl record 1 (line 1, preflight)",
            "not a complete pre-flight result: it lacks the check(s) network, route",
        )
    }


def test_hostile_strings_in_a_preflight_result_are_shown_literally(record: Path) -> None:
    pre = record / "bob.preflight.json"
    doc = json.loads(pre.read_text())
    doc["checks"][2].update(status="fail", summary="radio \x1b[2J[bold]ON[/bold]\u202eflow")
    data = json.dumps(doc).encode()
    pre.write_bytes(data)

    def forge(docs: list[dict[str, object]]) -> None:
        outputs = docs[0]["outputs"]
        assert isinstance(outputs, list)
        outputs[0]["sha256"] = hashlib.sha256(data).hexdigest()

    rechain(record / "bob.jsonl", forge)
    code, report, text = audit(record)
    assert code == 1
    assert "\x1b" not in text and "\u202e" not in text
    assert "unaccepted failure: radio: radio \\x1b[2J[bold]ON[/bold]\\u202eflow" in text
    assert any(f["file"] == "bob.preflight.json" and "\\x1b[2J" in f["message"] for f in failures(report))


def test_cut_last_record_is_shown_by_the_record_count_and_hash(software_record: Path, record: Path) -> None:
    # a whole last line removed leaves a valid chain: the run sheet's last
    # record hash words (and the record count) are what shows it
    _, original, _ = audit(software_record)
    t = record / "coordinator.jsonl"
    t.write_text("".join(lines(t)[:-1]))  # the verify record is gone
    code, report, text = audit(record)
    assert code == 0, text
    heads = {x["file"]: x for x in report["transcripts"]}
    before = {x["file"]: x for x in original["transcripts"]}
    assert heads["coordinator.jsonl"]["records"] == 3
    assert before["coordinator.jsonl"]["records"] == 4
    assert heads["coordinator.jsonl"]["head"] != before["coordinator.jsonl"]["head"]
    assert heads["alice.jsonl"] == before["alice.jsonl"]
    assert ("flow", "warn", "no successful verify of the merged metadata is recorded") in {
        (f["check"], f["status"], f["message"]) for f in report["findings"]
    }
    assert "coordinator.jsonl: chain of 3 record(s) unbroken; last record hash" in text

    # a cut sign record is a failure: its bundle is no longer accounted for
    a = record / "alice.jsonl"
    a.write_text(lines(a)[0])
    code, report, _ = audit(record)
    assert code == 1
    assert (
        "flow",
        "alice.bundle.json",
        None,
        "was not written by any recorded sign step (replaced, swapped or added)",
    ) in _fails(report)


def test_no_secret_reaches_the_record_or_the_report(software_record: Path) -> None:
    _, report, text = audit(software_record)
    published = [p.read_text() for p in software_record.rglob("*") if p.is_file()]
    for secret in (PASSPHRASES["alice"], PASSPHRASES["bob"]):
        assert secret not in text and secret not in json.dumps(report)
        assert not [p for p in published if secret in p]


def test_json_report_shape(software_record: Path, record: Path) -> None:
    code, report, _ = audit(software_record)
    assert code == 0
    assert set(report) == {"format", "format_version", "directory", "ok", "request_id", "transcripts", "findings"}
    assert (report["format"], report["format_version"], report["ok"]) == ("tuf-ceremony/audit-report", 1, True)
    assert len(str(report["request_id"])) == 64
    assert isinstance(report["transcripts"], list) and isinstance(report["findings"], list)
    for t in report["transcripts"]:
        assert set(t) == {"file", "records", "head", "ok"}
        assert len(t["head"]) == 64 and t["ok"] is True
    checks: set[str] = set()
    for f in report["findings"]:
        assert set(f) == {"check", "status", "file", "step", "message"}
        assert f["status"] in ("pass", "fail", "warn")
        assert isinstance(f["file"], str) and f["file"]
        assert f["step"] is None or isinstance(f["step"], str)
        checks.add(f["check"])
    assert checks == {"chain", "flow", "replay", "signatures", "review", "preflight", "tool"}
    # a failed audit prints the same shape, with ok false
    (record / "alice.bundle.json").unlink()
    code, bad, _ = audit(record)
    assert code == 1 and bad["ok"] is False and set(bad) == set(report)


def test_signature_with_a_keyid_that_is_not_a_string(record: Path) -> None:
    # found by fuzzing: an integer keyid in the metadata crashed the audit
    path = record / "repository" / "1.targets.json"
    md = json.loads(path.read_text())
    md["signatures"][0]["keyid"] = 2**70
    path.write_text(json.dumps(md))
    code, report, text = audit(record)
    assert code == 1, text
    msgs = [f[3] for f in _fails(report) if f[1] == "repository/1.targets.json"]
    assert "the signature by keyid 1180591620717411 does not come from any recorded bundle for this request" in msgs
    assert "internal error" not in text
