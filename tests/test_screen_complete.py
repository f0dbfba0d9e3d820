"""What ``sign`` shows is a total function of the signed bytes.

A real request (prepared through the CLI: a root rotation with delegations
by paths and by hash prefixes, and target files with custom metadata) is
taken apart leaf by leaf: every leaf value and every object key of every
signed payload is changed in turn, the payload is parsed again by
python-tuf, and the review (and the pages the pager shows) must differ from
the original. Nothing the keyholder signs can change unseen.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from tuf.api.metadata import Metadata

from tests.fixtures_core import run_cli, sign_as, write_plan
from tuf_ceremony.cli.screens import pages, wrap_all
from tuf_ceremony.request import Payload, SigningRequest, load_request
from tuf_ceremony.review import render_review, review_digest

EXTRA = """
[[roles.targets.delegations]]
name = "releases"
keys = ["alice", "bob"]
threshold = 1
paths = ["releases/*", "stable/*.tar.gz"]
terminating = true

[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
path_hash_prefixes = ["00", "7f", "ff"]

[targets]
[[targets.files]]
path = "docs/readme.txt"
source = "readme.txt"
custom = { channel = "stable", build = { number = 7, tags = ["a", "b"] } }

[[targets.files]]
path = "pkg/tool-1.0.tar.gz"
source = "tool.tar.gz"
"""


@pytest.fixture
def full_request(workdir: Path) -> Path:
    (workdir / "readme.txt").write_text("read me\n")
    (workdir / "tool.tar.gz").write_bytes(b"\x1f\x8b" + bytes(range(200)))
    repo = workdir / "repo"
    req1 = workdir / "request1.json"
    assert run_cli("prepare", write_plan(workdir / "plan1.toml"), "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    assert run_cli("merge", req1, *bundles, "--out", repo).exit_code == 0
    plan2 = write_plan(
        workdir / "plan2.toml",
        root=(["alice", "bob", "dave"], 2),
        keys=["alice", "bob", "carol", "dave", "online"],
        extra=EXTRA,
    )
    req2 = workdir / "request2.json"
    r = run_cli("prepare", plan2, "--trusted", repo, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    return req2


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every leaf, and to every object key (marked with "KEY")."""
    out: list[tuple[Any, ...]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((*path, ("KEY", k)))
            out += _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _leaves(v, (*path, i))
    else:
        out.append(path)
    return out


_HEX = "0123456789abcdef"


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        if value.endswith("Z") and len(value) == 20:  # an expiry: one second later
            sec = int(value[17:19])
            return f"{value[:17]}{(sec + 1) % 60:02d}Z"
        if value and value[-1] in _HEX:  # keep hex strings hex
            return value[:-1] + _HEX[(_HEX.index(value[-1]) + 1) % 16]
        return value + "x"
    raise AssertionError(f"unexpected leaf {value!r}")


def _mutate(doc: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    parent: Any = new
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if isinstance(last, tuple) and last[0] == "KEY":
        key = last[1]
        parent[_changed(key)] = parent.pop(key)
    else:
        parent[last] = _changed(parent[last])
    return new


def _with_payload(request: SigningRequest, role: str, signed: dict[str, Any]) -> SigningRequest:
    md = Metadata.from_dict({"signed": signed, "signatures": []})
    payloads = [Payload(p.role, md) if p.role == role else p for p in request.payloads]
    return SigningRequest(
        ceremony=request.ceremony,
        created=request.created,
        payloads=payloads,
        key_names=request.key_names,
        names_keys=request.names_keys,
        trusted_root=request.trusted_root,
        trusted_targets=request.trusted_targets,
        online=request.online,
        source=request.source,
    )


def _pages(text: str) -> list[list[str]]:
    return pages(wrap_all(text.splitlines(), 80), 24)


def test_every_leaf_of_every_payload_changes_the_review(full_request: Path) -> None:
    request = load_request(full_request)
    base = render_review(request)
    base_pages = _pages(base)
    targets = request.payload("targets")
    assert targets is not None
    tdoc = targets.metadata.signed.to_dict()
    # the request really carries what the test claims to cover
    assert tdoc["delegations"]["roles"][0]["paths"] and tdoc["targets"]["docs/readme.txt"]["custom"]
    assert any("path_hash_prefixes" in r for r in tdoc["delegations"]["roles"])
    tried = shown = 0
    refused: list[str] = []
    for payload in request.payloads:
        doc = payload.metadata.signed.to_dict()
        for path in _leaves(doc):
            if path == ("_type",) or path[-1] == ("KEY", "_type"):
                continue
            mutated = _mutate(doc, path)
            try:
                changed = _with_payload(request, payload.role, mutated)
            except Exception:  # noqa: BLE001 - python-tuf refuses this document: not signable
                refused.append(f"{payload.role}:{path}")
                continue
            if (
                changed.payloads[[p.role for p in changed.payloads].index(payload.role)].signed_bytes
                == payload.signed_bytes
            ):
                continue  # python-tuf normalized the change away: same bytes signed
            tried += 1
            text = render_review(changed)
            assert text != base, f"{payload.role} {path}: the review did not change"
            assert _pages(text) != base_pages, f"{payload.role} {path}: the pages did not change"
            assert review_digest(changed) != review_digest(request)
            shown += 1
    assert shown == tried
    print(f"{tried} signable changes, all shown; {len(refused)} refused by python-tuf:", *refused, sep="\n  ")
    # renamed required fields and unknown key types are not signable; every
    # other leaf (values, keyids, target paths, role names, custom keys) is
    assert tried >= 60
    assert all("KEY" in r or r.endswith(("'keytype')", "'scheme')")) for r in refused), refused


def test_review_lists_every_field_flagged_and_nothing_cut(full_request: Path) -> None:
    request = load_request(full_request)
    text = render_review(request)
    targets = request.payload("targets")
    assert targets is not None
    for line in (
        '"releases/*"',
        '"stable/*.tar.gz"',
        '"00"',
        '"7f"',
        '"ff"',
        "terminating: yes",
        '"docs/readme.txt": length 8',
        "custom build.number = 7",
        'custom channel = "stable"',
        'hash "sha512"',
        "root: key removed: carol",
        "root: key added: dave",
        "consistent_snapshot: true",
        'spec_version: "1.0.31"',
    ):
        assert line in text, line
    # every leaf of the signed JSON appears on a line of its own
    doc = json.loads(json.dumps(targets.metadata.signed.to_dict()))
    from tuf_ceremony.describe import json_leaves

    for leaf in json_leaves(doc):
        assert leaf in text.splitlines(), leaf
    # an unrecognized field is flagged as such in the summary
    signed = targets.metadata.signed.to_dict()
    signed["x-extra"] = {"note": "signed but unknown"}
    text2 = render_review(_with_payload(request, "targets", signed))
    assert 'UNRECOGNIZED FIELD in targets: "x-extra"' in text2


def test_a_long_target_list_is_shown_whole(full_request: Path) -> None:
    request = load_request(full_request)
    targets = request.payload("targets")
    assert targets is not None
    signed = targets.metadata.signed.to_dict()
    for i in range(300):
        signed["targets"][f"many/file-{i:04d}.txt"] = {"length": i, "hashes": {"sha256": f"{i:064x}"}}
    text = render_review(_with_payload(request, "targets", signed))
    for i in range(300):
        assert f'"many/file-{i:04d}.txt": length {i}' in text
    assert "..." not in "".join(line for line in text.splitlines() if "many/" in line)


def test_a_key_in_no_role_is_flagged_on_the_summary(full_request: Path) -> None:
    request = load_request(full_request)
    root = request.payload("root")
    assert root is not None
    signed = root.metadata.signed.to_dict()
    kid = signed["roles"]["timestamp"]["keyids"][0]
    for role in ("snapshot", "timestamp"):  # the online key is left in no role
        signed["roles"][role]["keyids"] = signed["roles"]["root"]["keyids"][:1]
    changed = _with_payload(request, "root", signed)
    text = render_review(changed)
    assert f"WARNING: key online ({kid[:12]}) is listed but in no role" in text
    assert "IN NO ROLE: this key is listed but signs nothing" in text


SUCCINCT = """
[roles.targets.succinct_delegations]
keys = ["online"]
threshold = 1
bit_length = 8
name_prefix = "bin"
"""


def test_succinct_bins_every_leaf_shown_and_changes_the_review(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", extra=SUCCINCT)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output + r.stderr
    request = load_request(req)
    base = render_review(request)
    assert 'Succinct hash bins: 256 roles named "bin"-<n> (bit_length 8)' in base
    assert "Each bin needs 1 of this 1 key to sign: online." in base
    targets = request.payload("targets")
    assert targets is not None
    doc = targets.metadata.signed.to_dict()
    tried = 0
    for path in _leaves(doc["delegations"]["succinct_roles"]):
        full = ("delegations", "succinct_roles", *path)
        try:
            changed = _with_payload(request, "targets", _mutate(doc, full))
        except Exception:  # noqa: BLE001 - not a document python-tuf accepts
            continue
        tried += 1
        assert render_review(changed) != base, full
    assert tried >= 4
