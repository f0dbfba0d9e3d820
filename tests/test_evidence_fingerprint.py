"""The tool fingerprint across "machines": two installations of one
tuf-ceremony wheel show the same fingerprint in ``preflight``, and one
changed file on one of them shows another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP = Path(sys.executable).parent / "pip"
ACCEPT = ["--accept", "network", "--accept", "route", "--accept", "radio"]


def _preflight(site: Path, cwd: Path) -> dict[str, object]:
    """``tuf-ceremony preflight --json`` run from the installation in ``site``
    (the dependencies are those of this environment)."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("TUF_CEREMONY_PKCS11_MODULE", None)
    code = (
        "import sys, tuf_ceremony; from tuf_ceremony.cli.main import main; "
        f"assert tuf_ceremony.__file__.startswith({str(site)!r}), tuf_ceremony.__file__; "
        "main(sys.argv[1:])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "preflight", "--json", *ACCEPT],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def test_two_installs_of_one_wheel_show_one_fingerprint(tmp_path: Path) -> None:
    src = tmp_path / "src"  # build from a copy: nothing is written into the work tree
    src.mkdir()
    shutil.copytree(ROOT / "tuf_ceremony", src / "tuf_ceremony", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [str(PIP), "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip()[-200:]}")
    wheel = next(wheels.glob("tuf_ceremony-*.whl"))
    sites = []
    for machine in ("laptop-a", "laptop-b"):
        site = tmp_path / machine / "site-packages"
        r = subprocess.run(
            [str(PIP), "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        sites.append(site)
    a, b = (_preflight(site, tmp_path) for site in sites)
    tool_a, tool_b = a["tool"], b["tool"]
    assert isinstance(tool_a, dict) and isinstance(tool_b, dict)
    assert tool_a["fingerprint"] == tool_b["fingerprint"]
    assert tool_a["words"] == tool_b["words"]
    # the wheel's own metadata is covered, beside the package
    own = next(d for d in tool_a["distributions"] if d["name"] == "tuf-ceremony")
    assert own["files"] > len(list((ROOT / "tuf_ceremony").rglob("*.py"))) - 5

    # one changed file on laptop-b: another fingerprint
    words = sites[1] / "tuf_ceremony" / "words.py"
    words.write_text(words.read_text() + "\n# changed on this laptop\n")
    changed = _preflight(sites[1], tmp_path)["tool"]
    assert isinstance(changed, dict)
    assert changed["fingerprint"] != tool_a["fingerprint"]
    # a .pth hook dropped next to the wheel's files is covered too (RECORD)
    record = next(sites[0].glob("tuf_ceremony-*.dist-info")) / "RECORD"
    (sites[0] / "zz-hook.pth").write_text("import os\n")
    record.write_text(record.read_text() + "zz-hook.pth,,\n")
    hooked = _preflight(sites[0], tmp_path)["tool"]
    assert isinstance(hooked, dict)
    assert hooked["fingerprint"] != tool_a["fingerprint"]
