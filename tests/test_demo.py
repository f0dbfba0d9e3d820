"""The demo (`make demo`) runs end to end: with SoftHSM2 tokens, and with
software keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("mode", ["softhsm", "software"])
def test_demo_runs_end_to_end(tmp_path: Path, mode: str) -> None:
    if mode == "softhsm" and not shutil.which("softhsm2-util"):
        if os.environ.get("CI"):
            pytest.fail("softhsm2 is not installed (make test installs it)")
        pytest.skip("softhsm2 not installed")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DEMO_DIR"] = str(tmp_path)
    env.pop("SOFTHSM2_CONF", None)
    if mode == "software":
        env["DEMO_SOFTWARE_KEYS"] = "1"
    proc = subprocess.run(
        ["bash", str(ROOT / "ceremonies" / "demo" / "run-demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f"1. Keys ({mode})" in out
    assert "python-tuf ngclient refreshed: trusts root v1" in out
    assert (tmp_path / "repository" / "1.root.json").is_file()
    for secret in ("demo-passphrase-alice", "demo-pin-alice\n"):
        assert secret not in proc.stdout.replace("(demo PIN demo-pin-alice)", "")
