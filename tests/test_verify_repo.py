"""``verify`` on whole generated repositories (classic hashed bins, TAP 15
succinct bins) and on tampered copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from securesystemslib.signer import SSlibKey
from tuf.api.metadata import Metadata, Snapshot, SuccinctRoles, Targets

from tests.fixtures_repo import (
    RepoInfo,
    VerifyCli,
    _target,
    build_repository,
    refresh_snapshot_timestamp,
    resign,
)


def test_classic_bins_pass(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    r = verify_cli(classic_repo.directory, "--json", "--at", "2027-01-01T00:00:00Z")
    assert r.code == 0, r.out
    report = r.json()
    assert report["mode"] == "repository"
    bins = [x for x in report["roles"] if x["kind"] == "hashed-bin"]
    assert len(bins) == 64 and all(b["ok"] and b["threshold"]["met"] for b in bins)
    assert report["summary"]["targets_checked"] == 64 * 2
    top = {x["role"] for x in report["roles"] if x["kind"] == "top-level"}
    assert top == {"targets", "snapshot", "timestamp"}
    assert verify_cli(classic_repo.directory).code == 0


def test_succinct_bins_pass(verify_cli: VerifyCli, succinct_repo: RepoInfo) -> None:
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 0, r.out
    bins = [x for x in r.json()["roles"] if x["kind"] == "succinct-bin"]
    assert len(bins) == 32 and all(b["ok"] for b in bins)
    human = verify_cli(succinct_repo.directory)
    assert "bin-1f" in human.out and "OK" in human.out


def test_one_altered_bin_among_many(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    name = classic_repo.bin_names[37]
    path = classic_repo.directory / f"1.{name}.json"
    data = json.loads(path.read_text())
    first = next(iter(data["signed"]["targets"]))
    data["signed"]["targets"][first]["length"] += 1
    path.write_text(json.dumps(data, indent=1))
    # snapshot/timestamp recomputed and re-signed: only the bin's signature betrays it
    assert classic_repo.keys is not None
    refresh_snapshot_timestamp(classic_repo.directory, classic_repo.keys)
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 1
    errors = r.problems(severity="error")
    assert {p["file"] for p in errors} == {path.name}
    assert [p["code"] for p in errors] == ["threshold-not-met"]
    assert path.name in r.err


def test_altered_bin_caught_by_snapshot_hashes(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    path = classic_repo.directory / f"1.{classic_repo.bin_names[3]}.json"
    path.write_bytes(path.read_bytes() + b"\n")
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 1
    codes = {p["code"] for p in r.problems(severity="error")}
    assert codes == {"meta-hash-mismatch", "meta-length-mismatch"}
    assert {p["file"] for p in r.problems(severity="error")} == {path.name}


def test_snapshot_pointing_at_wrong_version(verify_cli: VerifyCli, succinct_repo: RepoInfo) -> None:
    keys = succinct_repo.keys
    assert keys is not None
    name = succinct_repo.bin_names[5]

    def bump(md: Metadata[Snapshot]) -> None:
        md.signed.meta[f"{name}.json"].version = 2

    resign(succinct_repo.directory / "1.snapshot.json", [keys.snapshot], edit=bump)
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 1
    [p] = r.problems("missing-file")
    assert p["file"] == f"2.{name}.json" and "1.snapshot.json" in p["message"]
    # the unversioned name holding the old version is caught as well
    (succinct_repo.directory / f"1.{name}.json").rename(succinct_repo.directory / f"{name}.json")
    r = verify_cli(succinct_repo.directory, "--json")
    [p] = r.problems("meta-version-mismatch")
    assert p["file"] == f"{name}.json" and "version 2" in p["message"]


def test_timestamp_pointing_at_wrong_snapshot(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    keys = classic_repo.keys
    assert keys is not None

    def bump(md: Any) -> None:
        md.signed.snapshot_meta.version = 7
        md.signed.snapshot_meta.hashes = None
        md.signed.snapshot_meta.length = None

    resign(classic_repo.directory / "timestamp.json", [keys.timestamp], edit=bump)
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 1
    [p] = r.problems("missing-file")
    assert p["file"] == "7.snapshot.json" and "timestamp.json" in p["message"]


def test_bin_holding_target_outside_its_range(verify_cli: VerifyCli, succinct_repo: RepoInfo) -> None:
    keys = succinct_repo.keys
    assert keys is not None
    a, b = succinct_repo.bin_names[1], succinct_repo.bin_names[2]
    stray = succinct_repo.bin_targets[b][0]

    def add(md: Metadata[Targets]) -> None:
        md.signed.targets[stray] = _target(stray)

    resign(succinct_repo.directory / f"1.{a}.json", [keys.bins], edit=add)
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 1
    [p] = r.problems("target-outside-range")
    assert p["file"] == f"1.{a}.json" and stray in p["message"] and b in p["message"]
    sr = SuccinctRoles([], 1, 5, "bin")
    assert sr.get_role_for_target(stray) == b


def test_classic_bin_target_outside_range(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    keys = classic_repo.keys
    assert keys is not None
    a, b = classic_repo.bin_names[10], classic_repo.bin_names[11]
    stray = classic_repo.bin_targets[b][1]
    resign(
        classic_repo.directory / f"1.{a}.json",
        [keys.bins],
        edit=lambda md: md.signed.targets.__setitem__(stray, _target(stray)),
    )
    refresh_snapshot_timestamp(classic_repo.directory, keys)
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 1
    [p] = r.problems("target-outside-range")
    assert p["file"] == f"1.{a}.json" and stray in p["message"]


def test_duplicated_key_in_delegation(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    from tuf_ceremony.keys import keyid_of

    keys = classic_repo.keys
    assert keys is not None
    kd = keys.bins.public_key.to_dict()
    kd["x-alias"] = "same key"
    alias = keyid_of(kd)
    victim = classic_repo.bin_names[0]

    def dup(md: Metadata[Targets]) -> None:
        assert md.signed.delegations is not None and md.signed.delegations.roles is not None
        md.signed.delegations.keys[alias] = SSlibKey.from_dict(alias, dict(kd))
        role = md.signed.delegations.roles[victim]
        role.keyids.append(alias)
        role.threshold = 2

    resign(classic_repo.directory / "1.targets.json", keys.targets, edit=dup)
    refresh_snapshot_timestamp(classic_repo.directory, keys)
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 1
    [p] = r.problems("duplicate-key")
    assert p["file"] == "1.targets.json" and alias in p["message"]
    [t] = r.problems("threshold-not-met")
    assert t["file"] == f"1.{victim}.json"


def test_unknown_keyid_on_a_bin_listed(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    from securesystemslib.signer import CryptoSigner

    keys = classic_repo.keys
    assert keys is not None
    stranger = CryptoSigner.generate_ed25519()
    path = classic_repo.directory / f"1.{classic_repo.bin_names[9]}.json"
    resign(path, [keys.bins, stranger])
    refresh_snapshot_timestamp(classic_repo.directory, keys)
    r = verify_cli(classic_repo.directory, "--json")
    assert r.code == 0
    [p] = r.problems("unknown-keyid")
    assert p["file"] == path.name and p["severity"] == "warning"


def test_expired_bin_and_targets_warning(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    r = verify_cli(classic_repo.directory, "--json", "--at", "2029-12-15T00:00:00Z")
    assert r.code == 0
    files = {p["file"] for p in r.problems("expires-soon")}
    assert files == {"1.root.json", "1.targets.json"}
    r = verify_cli(classic_repo.directory, "--json", "--at", "2030-01-02T00:00:00Z")
    assert r.code == 1
    expired = {p["file"] for p in r.problems("expired")}
    assert f"1.{classic_repo.bin_names[0]}.json" in expired and "timestamp.json" in expired


def test_malformed_bin_exit_3(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    path = classic_repo.directory / f"1.{classic_repo.bin_names[20]}.json"
    path.write_text('{"signed": ')
    r = verify_cli(classic_repo.directory)
    assert r.code == 3
    assert path.name in r.err and len(r.err.strip().splitlines()) == 1


def test_parallel_workers_large_level(verify_cli: VerifyCli, tmp_path: Path, repo_keys: Any) -> None:
    info = build_repository(tmp_path / "m", repo_keys, n_bins=256, targets_per_bin=1)
    r = verify_cli(info.directory, "--workers", "2", "--json")
    assert r.code == 0, r.err
    assert len([x for x in r.json()["roles"] if x["kind"] == "hashed-bin"]) == 256
    path = info.directory / f"1.{info.bin_names[200]}.json"
    data = json.loads(path.read_text())
    data["signatures"][0]["sig"] = "00" * 64
    path.write_text(json.dumps(data))
    r = verify_cli(info.directory, "--workers", "2", "--json")
    assert r.code == 1
    assert {p["file"] for p in r.problems(severity="error")} == {path.name}
    # a malformed bin checked by a worker: one line naming it, exit 3
    bad = info.directory / f"1.{info.bin_names[3]}.json"
    bad.write_text('{"signed": {"_type": "targets", "_type": "x"}, "signatures": []}')
    r = verify_cli(info.directory, "--workers", "2")
    assert r.code == 3, r.err
    assert bad.name in r.err and "duplicate key '_type'" in r.err and len(r.err.strip().splitlines()) == 1


def test_engine_reports_progress(tmp_path: Path, repo_keys: Any) -> None:
    from tuf_ceremony.timeutil import utcnow
    from tuf_ceremony.verify import VerifyOptions, verify_directory

    info = build_repository(tmp_path / "p", repo_keys, n_bins=256, targets_per_bin=1, succinct=True)
    calls: list[tuple[int, int, str]] = []
    report = verify_directory(
        info.directory,
        VerifyOptions(at=utcnow(), workers=2, progress=lambda d, t, label: calls.append((d, t, label))),
    )
    assert report.ok, [p.one_line() for p in report.errors()]
    assert calls and calls[-1][:2] == (256, 256)
    assert all(t == 256 for _, t, _ in calls)


def test_unversioned_file_names_accepted(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    d = classic_repo.directory
    for p in list(d.glob("1.*.json")):
        if p.name != "1.root.json":
            p.rename(d / p.name[len("1.") :])
    r = verify_cli(d, "--json")
    assert r.code == 0, r.out
    files = {x["file"] for x in r.json()["roles"]}
    assert "targets.json" in files and f"{classic_repo.bin_names[0]}.json" in files


def _with_duplicate(text: str, spaced: bool) -> str:
    """Repeat the first target's length key (JSON keeps the last value)."""
    i = text.index('"length":')
    dup = '"length" : 1,\n' if spaced else '"length":1,'
    return text[:i] + dup + text[i:]


def test_duplicate_json_keys_refused(verify_cli: VerifyCli, classic_repo: RepoInfo) -> None:
    for n, spaced in ((30, False), (31, True)):
        path = classic_repo.directory / f"1.{classic_repo.bin_names[n]}.json"
        path.write_text(_with_duplicate(path.read_text(), spaced))
        r = verify_cli(classic_repo.directory)
        assert r.code == 3, r.err
        assert path.name in r.err and "duplicate key 'length'" in r.err
        path.unlink()  # the next round tampers with another bin


def test_canonical_payload_matches_securesystemslib(classic_repo: RepoInfo) -> None:
    from securesystemslib.formats import encode_canonical

    from tuf_ceremony.verify.doc import load_doc

    raw = (classic_repo.directory / f"1.{classic_repo.bin_names[0]}.json").read_bytes()
    doc = load_doc(raw, "f", "targets")

    def sslib_canonical(obj: dict[str, Any]) -> bytes:
        text = encode_canonical(obj)
        assert text is not None  # None only when an output function is given
        return text.encode()

    assert doc.payload == sslib_canonical(json.loads(raw)["signed"])
    # strings with escapes take securesystemslib's encoder
    escaped = raw.replace(b'"_type"', b'"x-note": "a \\"quoted\\" \\u00e9 \\n",\n  "_type"', 1)
    doc = load_doc(escaped, "f", "targets")
    assert doc.payload == sslib_canonical(json.loads(escaped)["signed"])
    assert b'\\"quoted\\"' in doc.payload and b"\n" in doc.payload


def test_ceremony_output_with_delegations_only_checks_present_roles(
    verify_cli: VerifyCli, succinct_repo: RepoInfo
) -> None:
    d = succinct_repo.directory
    (d / "1.snapshot.json").unlink()
    (d / "timestamp.json").unlink()
    for name in succinct_repo.bin_names[2:]:
        (d / f"1.{name}.json").unlink()
    r = verify_cli(d, "--json")
    assert r.code == 0, r.out
    report = r.json()
    assert report["mode"] == "root-history"
    assert len([x for x in report["roles"] if x["kind"] == "succinct-bin"]) == 2
    [p] = [p for p in r.problems("not-present") if p["role"] == "targets"]
    assert "30 of the 32" in p["message"]


def test_targets_tampered_in_parallel_run(verify_cli: VerifyCli, classic_repo: RepoInfo, monkeypatch: Any) -> None:
    import tuf_ceremony.verify.repo as repo_mod

    monkeypatch.setattr(repo_mod, "PARALLEL_MIN", 16)
    monkeypatch.setattr(repo_mod, "BIG_DELEGATOR", 16)
    r = verify_cli(classic_repo.directory, "--workers", "2", "--json")
    assert r.code == 0, r.out
    assert len(r.json()["roles"]) == 3 + 64
    path = classic_repo.directory / "1.targets.json"
    data = json.loads(path.read_text())
    data["signatures"][0]["sig"] = "00" * 64
    path.write_text(json.dumps(data, indent=1))
    keys = classic_repo.keys
    assert keys is not None
    refresh_snapshot_timestamp(classic_repo.directory, keys)
    r = verify_cli(classic_repo.directory, "--workers", "2", "--json")
    assert r.code == 1
    assert {p["file"] for p in r.problems(severity="error")} == {"1.targets.json"}
    # a delegation python-tuf refuses (a top-level role name) is malformed input
    data = json.loads(path.read_text())
    data["signed"]["delegations"]["roles"][5]["name"] = "snapshot"
    path.write_text(json.dumps(data, indent=1))
    r = verify_cli(classic_repo.directory, "--workers", "2")
    assert r.code == 3 and "1.targets.json" in r.err and "snapshot" in r.err


def test_escaped_strings_verified_through_the_reference_encoder(verify_cli: VerifyCli, succinct_repo: RepoInfo) -> None:
    """python-tuf writes non-ASCII and control characters as \\u escapes:
    such bins take the stdlib parser and securesystemslib's encoder (the
    orjson fast path needs input without backslashes), and still verify --
    or fail, once tampered with."""
    keys = succinct_repo.keys
    assert keys is not None
    sr = SuccinctRoles([], 1, 5, "bin")
    hostile = 'packages/é/"q"/back\\slash/\x01ctl/\u2028/\U0001f600.tar.gz'
    name = sr.get_role_for_target(hostile)
    path = succinct_repo.directory / f"1.{name}.json"
    resign(path, [keys.bins], edit=lambda md: md.signed.targets.__setitem__(hostile, _target(hostile)))
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    assert b"\\u00e9" in path.read_bytes() and b"\\u0001" in path.read_bytes()
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 0, r.out
    [role] = [x for x in r.json()["roles"] if x["role"] == name]
    assert role["targets"] == 3 and role["threshold"]["met"]
    path.write_bytes(path.read_bytes().replace(b"\\u00e9", b"\\u00e8"))
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 1
    # the signature betrays it (and the renamed path may fall in another bin)
    assert "threshold-not-met" in {p["code"] for p in r.problems(severity="error")}
    assert {p["file"] for p in r.problems(severity="error")} == {path.name}


def test_workers_from_a_forkserver_while_a_thread_runs(classic_repo: RepoInfo, monkeypatch: Any) -> None:
    """With another thread alive (a progress bar) workers cannot be forked:
    they come from a forkserver and get their jobs pickled; same report."""
    import threading

    import tuf_ceremony.verify.repo as repo_mod
    from tuf_ceremony.timeutil import utcnow
    from tuf_ceremony.verify import VerifyOptions, scheduler, verify_directory

    monkeypatch.setattr(repo_mod, "PARALLEL_MIN", 16)
    methods: list[str | None] = []
    real = scheduler.start_method

    def recording_start_method() -> str | None:
        methods.append(real())
        return methods[-1]

    monkeypatch.setattr(scheduler, "start_method", recording_start_method)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        report = verify_directory(classic_repo.directory, VerifyOptions(at=utcnow(), workers=2))
    finally:
        stop.set()
        thread.join()
    assert methods == ["forkserver"]
    assert report.ok, [p.one_line() for p in report.errors()]
    assert len([r for r in report.roles if r.kind == "hashed-bin"]) == 64


def test_numbers_orjson_cannot_hold_take_the_stdlib(verify_cli: VerifyCli, succinct_repo: RepoInfo) -> None:
    """orjson reads an integer beyond 64 bits as a float: such a bin is read
    by the strict stdlib parser instead and verifies (canonical JSON allows
    any integer); a real float is refused, one line naming the file."""
    keys = succinct_repo.keys
    assert keys is not None
    name = succinct_repo.bin_names[4]
    path = succinct_repo.directory / f"1.{name}.json"

    def big(md: Metadata[Targets]) -> None:
        md.signed.unrecognized_fields["x-serial"] = 2**70

    resign(path, [keys.bins], edit=big)
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    assert str(2**70).encode() in path.read_bytes()
    r = verify_cli(succinct_repo.directory, "--json")
    assert r.code == 0, r.out
    path.write_bytes(path.read_bytes().replace(str(2**70).encode(), b"1.5"))
    refresh_snapshot_timestamp(succinct_repo.directory, keys)
    r = verify_cli(succinct_repo.directory)
    assert r.code == 3
    assert path.name in r.err and "non-integer number 1.5" in r.err and len(r.err.strip().splitlines()) == 1
