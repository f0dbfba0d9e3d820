"""Issue 9, bounds and exit codes: every leaf of a real signing request,
replaced by hostile values and re-sealed, gives a clean result (never exit 70,
never a traceback) from ``status``; a refusal is one line naming the file."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.fixtures_core import run_cli, write_plan
from tests.test_threat_trust import read, reseal

HOSTILE: list[Any] = [None, -1, 2**64, "\x1b[2J\u202e" + "x" * 300, [[[[]]]], {"": {}}, True]


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def test_every_leaf_mutated_never_crashes(workdir: Path) -> None:
    plan = write_plan(
        workdir / "plan.toml",
        extra="""
[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
path_hash_prefixes = ["00", "01"]
""",
    )
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    base = read(req)
    leaves = [p for p in _leaves(base) if p and p[0] != "request_id"]
    assert len(leaves) > 40
    codes: dict[int, int] = {}
    for n, path in enumerate(leaves):
        for value in (HOSTILE[n % len(HOSTILE)], HOSTILE[(n + 3) % len(HOSTILE)]):
            doc = copy.deepcopy(base)
            _set(doc, path, value)
            try:
                reseal(doc)
            except (KeyError, TypeError, AttributeError):
                doc["request_id"] = "0" * 64  # the structure reseal needs is gone
            req.write_text(json.dumps(doc))
            r = run_cli("status", req)
            codes[r.exit_code] = codes.get(r.exit_code, 0) + 1
            assert r.exit_code in (1, 3), (path, value, r.exit_code, r.stderr)
            assert "Traceback" not in r.output + r.stderr, (path, r.stderr)
            if r.exit_code == 3:
                assert r.stderr.startswith(f"tuf-ceremony: error: {req}: "), (path, r.stderr)
                assert r.stderr.count("\n") == 1 and "\x1b" not in r.stderr, (path, r.stderr)
    assert codes.get(3, 0) > len(leaves)  # most mutations are refused


def test_every_bundle_leaf_mutated_never_crashes(workdir: Path) -> None:
    from tests.fixtures_core import sign_as

    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    a = sign_as(workdir, req, "alice")
    b = sign_as(workdir, req, "bob")
    base = read(b)
    out = workdir / "out"
    for path in _leaves(base):
        for value in HOSTILE:
            doc = copy.deepcopy(base)
            _set(doc, path, value)
            b.write_text(json.dumps(doc))
            r = run_cli("merge", req, a, b, "--out", out)
            assert r.exit_code in (0, 1, 3, 4), (path, value, r.exit_code, r.stderr)
            assert "Traceback" not in r.output + r.stderr, (path, r.stderr)
            assert "\x1b" not in r.output + r.stderr, (path, r.stderr)
            if r.exit_code == 0:  # an optional field (review_digest) left out: harmless
                assert path == ("review_digest",) and value is None, path
                shutil.rmtree(out)
            assert not out.exists()


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def test_every_plan_value_mutated_never_crashes(workdir: Path) -> None:
    import tomllib

    plan = write_plan(
        workdir / "plan.toml",
        extra="""
[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
paths = ["*"]
""",
    )
    base = tomllib.loads(plan.read_text())
    out = workdir / "request.json"
    hostile = [v for v in HOSTILE if v is not None and not (isinstance(v, int) and v > 2**63)]
    hostile += [2**62, "../../x", "pkcs11:token=a;object=b?module-path=/tmp/x.so"]
    refused = 0
    for n, path in enumerate(_leaves(base)):
        for value in (hostile[n % len(hostile)], hostile[(n + 4) % len(hostile)]):
            doc = copy.deepcopy(base)
            _set(doc, path, value)
            plan.write_text("".join(f"{k} = {_toml_value(v)}\n" for k, v in doc.items()))
            r = run_cli("prepare", plan, "--out", out)
            assert r.exit_code in (0, 3, 9), (path, value, r.exit_code, r.stderr)
            assert "Traceback" not in r.output + r.stderr, (path, r.stderr)
            assert "\x1b" not in r.stderr, (path, r.stderr)
            if r.exit_code == 0:
                out.unlink()
            else:
                refused += 1
                assert not out.exists()
    assert refused > len(list(_leaves(base)))


def test_every_trusted_root_leaf_mutated_and_resigned_never_crashes(workdir: Path) -> None:
    """The trusted section is re-signed by the real keys after each change,
    so every check past the self-signature runs on the hostile value."""
    from tests.fixtures_core import PASSPHRASES, sign_as, software_signer
    from tests.test_threat_trust import tuf_sign

    plan = write_plan(workdir / "plan.toml")
    req1 = workdir / "r1.json"
    assert run_cli("prepare", plan, "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    repo = workdir / "repo"
    assert run_cli("merge", req1, *bundles, "--out", repo).exit_code == 0
    req = workdir / "r2.json"
    assert run_cli("prepare", plan, "--trusted", repo, "--out", req).exit_code == 0
    base = read(req)
    signers = [software_signer(workdir, n) for n in ("alice", "bob", "carol")]
    signed = base["trusted"]["root"]["signed"]
    for n, path in enumerate(_leaves(signed)):
        for value in (HOSTILE[n % len(HOSTILE)], HOSTILE[(n + 2) % len(HOSTILE)]):
            doc = copy.deepcopy(base)
            s = doc["trusted"]["root"]["signed"]
            _set(s, path, value)
            try:
                doc["trusted"]["root"] = tuf_sign(s, *signers).to_dict()
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # python-tuf itself refuses to build it: nothing to sign
            req.write_text(json.dumps(reseal(doc)))
            r = run_cli(
                "sign",
                req,
                "--key",
                workdir / "alice.pem",
                "--out",
                workdir / "x.json",
                "--yes",
                input=PASSPHRASES["alice"] + "\n",
            )
            assert r.exit_code in (0, 1, 3, 4), (path, value, r.exit_code, r.stderr)
            assert "Traceback" not in r.output + r.stderr, (path, r.stderr)
            (workdir / "x.json").unlink(missing_ok=True)
