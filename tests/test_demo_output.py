"""`make demo` as a person runs it piped into a log: no raw escape codes
(its headings, rich's tables, `key list`), and it cleans up after itself, or
says what it left and where."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "ceremonies" / "demo" / "run-demo.sh"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(tmp_path)  # where mktemp makes the demo's directory
    for name in ("SOFTHSM2_CONF", "DEMO_DIR", "DEMO_KEEP", "DEMO_SOFTWARE_KEYS", "TERM"):
        env.pop(name, None)
    if not shutil.which("softhsm2-util"):
        env["DEMO_SOFTWARE_KEYS"] = "1"
    env.update(extra)
    return env


def test_piped_demo_prints_no_escape_codes_and_removes_its_directory(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "\x1b" not in out
    assert "== 7. verify: what an auditor runs" in proc.stdout
    if "DEMO_SOFTWARE_KEYS" not in _env(tmp_path):
        assert "Keys on token 'alice'" in proc.stdout  # key list ran, piped
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("demo: removed its temporary directory ")
    assert "DEMO_KEEP=1 keeps it" in last
    assert list(tmp_path.iterdir()) == []


def test_demo_keep_says_where(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        env=_env(tmp_path, DEMO_KEEP="1", DEMO_SOFTWARE_KEYS="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (kept,) = list(tmp_path.iterdir())
    assert proc.stdout.strip().splitlines()[-1] == (
        f"demo: its files are left in {kept} (remove them with: rm -rf '{kept}')"
    )
    assert (kept / "repository" / "1.root.json").is_file()


def test_failed_demo_keeps_its_files_and_says_so(tmp_path: Path) -> None:
    env = _env(tmp_path, DEMO_SOFTWARE_KEYS="1")
    env["PATH"] = "/usr/bin:/bin"  # no tuf-ceremony: the first step fails
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    (kept,) = list(tmp_path.iterdir())
    assert f"demo FAILED (exit {proc.returncode}): its files are left in {kept}" in proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr
