"""Evidence on the command line (issue 12 review): the transcript can never be
one of the command's outputs, a witness's time is a time, and (with a real
wheel folder) two machines installed from it show one tool fingerprint."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, write_plan
from tests.test_wheelhouse import REAL, _make

ACCEPT = ("--accept", "network", "--accept", "route", "--accept", "radio")


def test_transcript_given_as_the_output_is_refused(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    t = workdir / "t.jsonl"
    # not yet there: nothing is created
    r = run_cli("prepare", plan, "--out", t, "--transcript", t)
    assert r.exit_code == 3, r.output
    assert f"{t}: is the output --out {t}: keep the transcript apart" in r.stderr
    assert not t.exists()
    # a transcript with records: --force would have replaced it by the request
    assert run_cli("prepare", plan, "--out", workdir / "r.json", "--transcript", t).exit_code == 0
    before = t.read_bytes()
    r = run_cli("prepare", plan, "--out", t, "--force", "--transcript", t)
    assert r.exit_code == 3, r.output
    assert t.read_bytes() == before
    # the group-level form, and the same file under another name
    r = run_cli("--transcript", t, "prepare", plan, "--out", workdir / "." / "t.jsonl", "--force")
    assert r.exit_code == 3 and t.read_bytes() == before


def test_transcript_inside_an_output_directory_is_refused(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", root=(["alice"], 1), targets=(["alice"], 1))
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundle = workdir / "alice.bundle.json"
    assert (
        run_cli(
            "sign", req, "--key", workdir / "alice.pem", "--out", bundle, "--yes", input="alice-passphrase\n"
        ).exit_code
        == 0
    )
    repo = workdir / "repository"
    repo.mkdir()
    t = repo / "coordinator.jsonl"
    r = run_cli("merge", req, bundle, "--out", repo, "--transcript", t)
    assert r.exit_code == 3, r.output
    assert f"{t}: is inside the output --out {repo}: keep the transcript apart" in r.stderr
    assert list(repo.iterdir()) == []
    # beside it, the merge is recorded
    r = run_cli("merge", req, bundle, "--out", repo, "--transcript", workdir / "c.jsonl")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("value", ["1d", "0s", "2026-12-01", "tea time"])
def test_witness_time_that_is_not_a_time_is_refused(tmp_path: Path, value: str) -> None:
    out = tmp_path / "pre.json"
    r = run_cli("preflight", *ACCEPT, "--expect-time", value, "--out", out)
    assert r.exit_code == 3, r.output
    assert "--expect-time" in r.stderr and "is not a time: give HH:MM[:SS] (UTC) or an RFC 3339" in r.stderr
    assert "\n" not in r.stderr.strip() and not out.exists()


@pytest.mark.skipif(
    not (REAL and (Path(REAL) / "requirements.txt").is_file()),
    reason="no real wheelhouse: set TUF_CEREMONY_WHEELHOUSE to a folder made by "
    "`make wheelhouse WHEELS=DIR` (needs PyPI to build)",
)
def test_two_machines_installed_from_one_wheelhouse_show_one_fingerprint(tmp_path: Path) -> None:
    """The whole installation (tuf-ceremony and every dependency) from the
    wheel folder, twice, at different paths: one fingerprint; one changed
    file of a dependency on one machine: another."""
    prints = []
    for venv in (tmp_path / "laptop-a" / "venv", tmp_path / "elsewhere" / "b" / "venv"):
        r = _make("offline-install", f"WHEELS={REAL}", f"VENV={venv}", offline=True)
        assert r.returncode == 0, r.stdout + r.stderr
        prints.append(_fingerprint(venv, tmp_path))
    assert prints[0] == prints[1]
    site = next((tmp_path / "elsewhere" / "b" / "venv" / "lib").glob("python3*/site-packages"))
    metadata_py = site / "tuf" / "api" / "metadata.py"
    metadata_py.write_text(metadata_py.read_text() + "\n# changed on this laptop\n")
    assert _fingerprint(tmp_path / "elsewhere" / "b" / "venv", tmp_path) != prints[0]


def _fingerprint(venv: Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TUF_CEREMONY_PKCS11_MODULE")}
    run = subprocess.run(
        [venv / "bin" / "tuf-ceremony", "preflight", "--json", *ACCEPT],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    tool = json.loads(run.stdout)["tool"]
    assert isinstance(tool["fingerprint"], str)
    return tool["fingerprint"]


def test_a_module_dropped_into_a_dependency_changes_the_fingerprint(tmp_path: Path) -> None:
    """A file no RECORD lists, beside a dependency's modules (it runs when
    imported): the fingerprint changes and the ``tool`` check fails."""
    import importlib.metadata as metadata
    import shutil
    import sys

    click = metadata.distribution("click")
    site = tmp_path / "site-packages"
    for entry in click.files or []:
        src = Path(str(click.locate_file(entry)))
        if ".." in entry.parts or not src.is_file():
            continue
        dest = site / entry.as_posix()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)

    def preflight() -> dict[str, object]:
        env = {**os.environ, "PYTHONPATH": str(site)}
        env.pop("TUF_CEREMONY_PKCS11_MODULE", None)
        code = (
            "import sys, click; from tuf_ceremony.cli.main import main; "
            f"assert click.__file__.startswith({str(site)!r}), click.__file__; "
            "main(sys.argv[1:])"
        )
        run = subprocess.run(
            [sys.executable, "-c", code, "preflight", "--json", *ACCEPT],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        doc: dict[str, object] = json.loads(run.stdout)
        doc["exit"] = run.returncode
        return doc

    def tool_check(doc: dict[str, object]) -> dict[str, object]:
        checks = doc["checks"]
        assert isinstance(checks, list)
        found: dict[str, object] = next(c for c in checks if c["name"] == "tool")
        return found

    clean = preflight()
    assert clean["exit"] == 0 and tool_check(clean)["status"] == "pass"
    (site / "click" / "_helper.py").write_text("print('not from the wheel')\n")
    dropped = preflight()
    assert dropped["exit"] == 1
    assert isinstance(clean["tool"], dict) and isinstance(dropped["tool"], dict)
    assert dropped["tool"]["fingerprint"] != clean["tool"]["fingerprint"]
    check = tool_check(dropped)
    assert check["status"] == "fail"
    assert "click: file click/_helper.py is not listed in any installation record" in str(check["summary"])
