"""Red team, second wave: random structural mutations of a real signing
request, signature bundle and plan (hypothesis), re-sealed where the shape
allows, run through ``status``, ``merge`` and ``prepare`` in-process: never
exit 70, never a traceback, never a raw escape or bidi character, and a
refusal is one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures_core import run_cli, sign_as, write_plan
from tests.test_threat_trust import read, reseal

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(
        [
            "",
            "root",
            "targets",
            "\x1b[2J",
            "\u202e",
            "a" * 300,
            "0" * 64,
            "2030-01-01T00:00:00Z",
            "ed25519",
            "../x",
            "pkcs11:token=a",
        ]
    ),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*path, i))
    return out


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths[1:] or paths))
        if not path:
            return data.draw(_VALUES)
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        action = data.draw(st.sampled_from(["replace", "delete", "add", "dup"]))
        last = path[-1]
        if action == "replace":
            parent[last] = data.draw(_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=6))] = data.draw(_VALUES)
        elif action == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


def _check(r: Result, source: Path) -> None:
    text = r.output + r.stderr
    assert r.exit_code != 70, text
    assert "Traceback" not in text, text
    for ch in ("\x1b", "\u202e"):
        assert ch not in text, text
    if r.exit_code == 3:
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("tuf-ceremony: error:")]
        assert len(errors) == 1, r.stderr


@pytest.fixture
def base(workdir: Path) -> tuple[Path, dict[str, Any], dict[str, Any], Path]:
    plan = write_plan(
        workdir / "plan.toml",
        extra="""
[[roles.targets.delegations]]
name = "bins"
keys = ["online"]
threshold = 1
paths = ["a/*"]
""",
    )
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    a = sign_as(workdir, req, "alice")
    return req, read(req), read(a), plan


_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(data=st.data())
def test_fuzz_request(base: tuple[Path, dict[str, Any], dict[str, Any], Path], data: st.DataObject) -> None:
    req, doc, _, _ = base
    forged = _mutate(doc, data)
    try:
        reseal(forged)
    except (KeyError, TypeError, AttributeError, ValueError):
        pass
    target = req.with_name("fuzz.json")
    target.write_text(json.dumps(forged))
    _check(run_cli("status", target), target)


@_SETTINGS
@given(data=st.data())
def test_fuzz_bundle(base: tuple[Path, dict[str, Any], dict[str, Any], Path], data: st.DataObject) -> None:
    req, _, bundle, _ = base
    target = req.with_name("fuzz.bundle.json")
    target.write_text(json.dumps(_mutate(bundle, data)))
    out = req.with_name("never")
    r = run_cli("merge", req, target, "--out", out)
    _check(r, target)
    assert not out.exists()


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_plan(base: tuple[Path, dict[str, Any], dict[str, Any], Path], data: st.DataObject) -> None:
    import tomllib

    _, _, _, plan = base
    doc = tomllib.loads(plan.read_text())
    mutated = _mutate(doc, data)
    target = plan.with_name("fuzz.toml")
    target.write_text(_toml(mutated))
    out = plan.with_name("fuzz-request.json")
    out.unlink(missing_ok=True)
    _check(run_cli("prepare", target, "--out", out), target)


def _toml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int) and -(2**63) <= v < 2**63:
        return str(v)
    if isinstance(v, list) and not any(isinstance(x, dict) for x in v):
        return "[" + ", ".join(_toml_scalar(x) for x in v) + "]"
    return json.dumps(v if isinstance(v, str) else str(v))


def _toml(doc: Any) -> str:
    """A small TOML writer for the plan's shapes (tables of scalars and lists);
    values TOML cannot carry (null, nested lists of tables) become strings."""
    lines: list[str] = []

    def table(prefix: str, d: Any) -> None:
        if not isinstance(d, dict):
            return
        subs: list[tuple[str, dict[str, Any] | list[dict[str, Any]], bool]] = []
        for k, v in d.items():
            key = json.dumps(str(k))
            if isinstance(v, dict):
                subs.append((key, v, False))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                subs.append((key, v, True))
            else:
                lines.append(f"{key} = {_toml_scalar(v)}")
        for key, v, many in subs:
            name = f"{prefix}.{key}" if prefix else key
            for item in v if many else [v]:
                lines.append(f"[[{name}]]" if many else f"[{name}]")
                table(name, item)

    if isinstance(doc, dict):
        table("", doc)
    else:
        lines.append(f"x = {_toml_scalar(doc)}")
    return "\n".join(lines) + "\n"


def test_a_number_python_will_not_convert_is_an_input_error(workdir: Path) -> None:
    """Python refuses to convert integers of more than 4300 digits (a
    ValueError that is not a TOML or JSON error): a plan holding one ended
    in exit 70; requests, bundles and names files are refused cleanly."""
    plan = write_plan(workdir / "plan.toml")
    plan.write_text(plan.read_text().replace("threshold = 2", "threshold = " + "9" * 5000, 1))
    out = workdir / "r.json"
    r = run_cli("prepare", plan, "--out", out)
    assert r.exit_code == 3, r.stderr
    assert r.stderr == f"tuf-ceremony: error: {plan}: broken TOML: a number with too many digits\n"
    assert not out.exists()
    r = run_cli("verify", workdir, "--names", plan)
    assert r.exit_code == 3 and "a number with too many digits" in r.stderr
    doc = workdir / "request.json"
    doc.write_text('{"format": "tuf-ceremony/signing-request", "format_version": ' + "1" * 5000 + "}")
    commands: list[list[str | Path]] = [["status", doc], ["merge", doc, doc, "--out", workdir / "o"]]
    for args in commands:
        r = run_cli(*args)
        assert r.exit_code == 3 and "Traceback" not in r.stderr, r.stderr
