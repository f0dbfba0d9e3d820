"""``audit`` of a rotation: prepare read trusted metadata (``--trusted``),
which the record publishes under repository/; the replay rebuilds that
directory from the digests the transcript recorded, and both root
thresholds (old and new) are judged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan
from tests.test_audit import ACCEPT, failures, rechain

KEEP = ("alice", "carol")


def _ok(*args: str | Path, input: str | None = None) -> None:
    r = run_cli(*args, input=input)
    assert r.exit_code == 0, r.output


def rotation_record(work: Path) -> Path:
    # the current repository: root 1 (alice, bob, carol; 2 of 3), targets 1
    first = work / "first"
    first.mkdir()
    plan1 = write_plan(first / "plan.toml", root=(["alice", "bob", "carol"], 2), targets=(["alice", "bob"], 2))
    for p in work.glob("*.pub.json"):
        shutil.copy2(p, first / p.name)
    _ok("prepare", plan1, "--out", first / "request.json")
    bundles = [sign_as(work, first / "request.json", n, first / f"{n}.json") for n in ("alice", "bob")]
    trusted = work / "trusted-metadata"
    _ok("merge", first / "request.json", *bundles, "--out", trusted)

    # the rotation ceremony, recorded: bob leaves, dave joins
    plan = write_plan(work / "plan.toml", root=(["alice", "carol", "dave"], 2), targets=(["alice", "carol"], 2))
    coord = work / "coordinator.jsonl"
    _ok("preflight", *ACCEPT, "--out", work / "coordinator.preflight.json", "--transcript", coord)
    _ok("prepare", plan, "--trusted", trusted, "--out", work / "request.json", "--transcript", coord)
    for n in KEEP:
        _ok("preflight", *ACCEPT, "--out", work / f"{n}.preflight.json", "--transcript", work / f"{n}.jsonl")
        _ok(
            "sign",
            work / "request.json",
            "--key",
            work / f"{n}.pem",
            "--out",
            work / f"{n}.bundle.json",
            "--yes",
            "--transcript",
            work / f"{n}.jsonl",
            input=PASSPHRASES[n] + "\n",
        )
    # merge writes into the repository, next to the history it builds on
    shutil.copytree(trusted, work / "merged")
    _ok(
        "merge",
        work / "request.json",
        *[work / f"{n}.bundle.json" for n in KEEP],
        "--out",
        work / "merged",
        "--transcript",
        coord,
    )

    record = work / "record"
    (record / "repository").mkdir(parents=True)
    for name in [
        "plan.toml",
        "request.json",
        "coordinator.jsonl",
        "coordinator.preflight.json",
        *[f"{n}.pub.json" for n in ("alice", "carol", "dave", "online")],
        *[f"{n}.{kind}" for n in KEEP for kind in ("jsonl", "preflight.json", "bundle.json")],
    ]:
        shutil.copy2(work / name, record / name)
    for p in (work / "merged").iterdir():
        shutil.copy2(p, record / "repository" / p.name)
    return record


def test_rotation_record_passes_and_judges_both_roots(workdir: Path) -> None:
    record = rotation_record(workdir)
    r = run_cli("audit", record, "--json")
    report = json.loads(r.stdout)
    assert r.exit_code == 0, [f for f in report["findings"] if f["status"] != "pass"]
    messages = [f["message"] for f in report["findings"] if f["status"] == "pass"]
    assert any("follows from plan.toml: prepare replayed at" in m for m in messages)
    root2 = next(f for f in report["findings"] if f["file"] == "repository/2.root.json")
    assert root2["status"] == "pass"
    prepare = json.loads((record / "coordinator.jsonl").read_text().splitlines()[1])
    trusted = prepare["inputs"][1]
    assert trusted["param"] == "trusted" and trusted["type"] == "directory"
    assert {f["name"] for f in trusted["files"]} == {"1.root.json", "1.targets.json"}


def test_rotation_without_the_trusted_metadata_cannot_be_replayed(workdir: Path) -> None:
    record = rotation_record(workdir)
    (record / "repository" / "1.root.json").unlink()
    r = run_cli("audit", record, "--json")
    assert r.exit_code == 1
    f = next(x for x in failures(json.loads(r.stdout)) if x["check"] == "replay")
    assert f["step"] == "coordinator.jsonl record 2 (line 2, prepare)"
    assert "the trusted file 1.root.json prepare read" in f["message"]
    assert "is not in repository/ or trusted/" in f["message"]


def test_old_root_threshold_is_judged(workdir: Path) -> None:
    # only alice's signature on root 2: the merged file is forged from the
    # bundles and the merge record rewritten to match; both thresholds fail
    record = rotation_record(workdir)
    root2 = record / "repository" / "2.root.json"
    md = json.loads(root2.read_text())
    alice = json.loads((record / "alice.bundle.json").read_text())
    alice_root = next(s for s in alice["signatures"] if s["role"] == "root")
    md["signatures"] = [{"keyid": alice_root["keyid"], "sig": alice_root["sig"]}]
    data = json.dumps(md).encode()
    root2.write_bytes(data)

    def forge(docs: list[dict[str, Any]]) -> None:
        import hashlib

        out = docs[2]["outputs"][0]
        for f in out["files"]:
            if f["name"] == "2.root.json":
                f["sha256"] = hashlib.sha256(data).hexdigest()

    rechain(record / "coordinator.jsonl", forge)
    r = run_cli("audit", record, "--json")
    assert r.exit_code == 1
    msgs = [f["message"] for f in failures(json.loads(r.stdout)) if f["file"] == "repository/2.root.json"]
    assert msgs == [
        "old root threshold not met: 1 of 2 distinct keys signed",
        "new root threshold not met: 1 of 2 distinct keys signed",
    ]


# Long on purpose: one scenario, step by step in the order people run it.
def test_urgent_rotation_record_is_audited_without_replay(workdir: Path) -> None:
    # rotate (no plan): bob's root key is revoked, dave's added
    first = workdir / "first"
    first.mkdir()
    plan1 = write_plan(first / "plan.toml", root=(["alice", "bob", "carol"], 2), targets=(["alice", "bob"], 2))
    for p in workdir.glob("*.pub.json"):
        shutil.copy2(p, first / p.name)
    _ok("prepare", plan1, "--out", first / "request.json")
    bundles = [sign_as(workdir, first / "request.json", n, first / f"{n}.json") for n in ("alice", "bob")]
    repo = workdir / "repository"
    _ok("merge", first / "request.json", *bundles, "--out", repo)
    coord = workdir / "coordinator.jsonl"
    _ok("preflight", *ACCEPT, "--out", workdir / "coordinator.preflight.json", "--transcript", coord)
    _ok(
        "rotate",
        "--trusted",
        repo,
        "--role",
        "root",
        "--revoke",
        "bob",
        "--add",
        workdir / "dave.pub.json",
        "--names",
        plan1,
        "--out",
        workdir / "request.json",
        "--transcript",
        coord,
    )
    for n in KEEP:
        _ok("preflight", *ACCEPT, "--out", workdir / f"{n}.preflight.json", "--transcript", workdir / f"{n}.jsonl")
        _ok(
            "sign",
            workdir / "request.json",
            "--key",
            workdir / f"{n}.pem",
            "--out",
            workdir / f"{n}.bundle.json",
            "--yes",
            "--transcript",
            workdir / f"{n}.jsonl",
            input=PASSPHRASES[n] + "\n",
        )
    _ok(
        "merge",
        workdir / "request.json",
        *[workdir / f"{n}.bundle.json" for n in KEEP],
        "--out",
        repo,
        "--transcript",
        coord,
    )
    record = workdir / "record"
    record.mkdir()
    for name in [
        "request.json",
        "coordinator.jsonl",
        "coordinator.preflight.json",
        *[f"{n}.{kind}" for n in KEEP for kind in ("jsonl", "preflight.json", "bundle.json")],
    ]:
        shutil.copy2(workdir / name, record / name)
    shutil.copytree(repo, record / "repository")
    r = run_cli("audit", record, "--json")
    report = json.loads(r.stdout)
    assert r.exit_code == 0, failures(report)
    replay = [f for f in report["findings"] if f["check"] == "replay"]
    assert [(f["status"], f["message"]) for f in replay] == [("warn", "made by rotate, not from a plan: not replayed")]
    assert any(f["file"] == "repository/2.root.json" and f["status"] == "pass" for f in report["findings"])
