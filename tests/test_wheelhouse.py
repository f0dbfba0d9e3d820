"""The air-gapped install: `make wheelhouse` (connected machine) and
`make offline-install` (air-gapped machine), README "Set-up without network".

The offline half runs for real, with the network cut off where `unshare -n`
works: on a wheelhouse built here from two small wheels made in the test
(hashes, --require-hashes, a tampered or missing wheel), and, when a real
wheelhouse exists (TUF_CEREMONY_WHEELHOUSE=DIR, made by `make wheelhouse
WHEELS=DIR`), on the real one, running the installed tuf-ceremony.
Building a real wheelhouse needs PyPI, so no test does it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP = Path(sys.executable).parent / "pip"


def _offline_prefix() -> list[str]:
    """`unshare -n` (a new network namespace: no network at all) when it works."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "-n"]
    return []


def _make(*args: str, offline: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "MAKEFLAGS"))}
    cmd = [*(_offline_prefix() if offline else []), "make", "--no-print-directory", "-C", str(ROOT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)


def _wheel(
    directory: Path,
    name: str,
    version: str,
    files: dict[str, str],
    requires: tuple[str, ...] = (),
    scripts: dict[str, str] | None = None,
) -> Path:
    """A minimal pure-Python wheel (PEP 427) written by hand."""
    dist = f"{name}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    content = dict(files)
    content[f"{dist}/METADATA"] = "\n".join(meta) + "\n"
    content[f"{dist}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if scripts:
        content[f"{dist}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{k} = {v}\n" for k, v in scripts.items()
        )
    record = []
    for path, text in content.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    content[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    out = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as z:
        for path, text in content.items():
            z.writestr(path, text)
    return out


@pytest.fixture
def small_wheelhouse(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "ceremony_dep", "1.2.3", {"ceremony_dep/__init__.py": "ANSWER = 42\n"})
    _wheel(
        wheels,
        "ceremony_app",
        "0.1.0",
        {
            "ceremony_app/__init__.py": (
                "import ceremony_dep\n\ndef main():\n    print('offline ok', ceremony_dep.ANSWER)\n"
            )
        },
        requires=("ceremony-dep==1.2.3",),
        scripts={"ceremony-app": "ceremony_app:main"},
    )
    r = _make("wheelhouse-requirements", f"WHEELS={wheels}", f"PIP={PIP}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 wheels" in r.stdout
    return wheels


def test_requirements_pin_every_wheel_with_its_hash(small_wheelhouse: Path) -> None:
    lines = (small_wheelhouse / "requirements.txt").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        req, hash_opt = line.split(" ")
        name, version = req.split("==")
        wheel = next(small_wheelhouse.glob(f"{name}-{version}-*.whl"))
        assert hash_opt == "--hash=sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_offline_install_from_the_folder_alone(small_wheelhouse: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    r = _make("offline-install", f"WHEELS={small_wheelhouse}", f"VENV={venv}", offline=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"run {venv}/bin/tuf-ceremony --help" in r.stdout
    run = subprocess.run([venv / "bin" / "ceremony-app"], capture_output=True, text=True, check=False)
    assert run.stdout == "offline ok 42\n"


def test_tampered_wheel_is_refused(small_wheelhouse: Path, tmp_path: Path) -> None:
    """Whoever had the stick swapped a wheel: --require-hashes refuses it."""
    dep = next(small_wheelhouse.glob("ceremony_dep-*.whl"))
    dep.unlink()
    _wheel(small_wheelhouse, "ceremony_dep", "1.2.3", {"ceremony_dep/__init__.py": "ANSWER = 'evil'\n"})
    venv = tmp_path / "venv"
    r = _make("offline-install", f"WHEELS={small_wheelhouse}", f"VENV={venv}", offline=True)
    assert r.returncode != 0
    assert "hash" in (r.stdout + r.stderr).lower()
    assert not (venv / "bin" / "ceremony-app").exists()


def test_missing_wheel_or_requirements_is_refused(small_wheelhouse: Path, tmp_path: Path) -> None:
    next(small_wheelhouse.glob("ceremony_dep-*.whl")).unlink()
    r = _make("offline-install", f"WHEELS={small_wheelhouse}", f"VENV={tmp_path / 'v1'}", offline=True)
    assert r.returncode != 0
    (small_wheelhouse / "requirements.txt").unlink()
    r = _make("offline-install", f"WHEELS={small_wheelhouse}", f"VENV={tmp_path / 'v2'}")
    assert r.returncode != 0
    assert "requirements.txt is missing: make it with make wheelhouse" in r.stderr
    assert not (tmp_path / "v2").exists()


def test_wheelhouse_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old.whl").write_text("x")
    r = _make("wheelhouse", f"WHEELS={tmp_path}", f"VENV={Path(sys.executable).parent.parent}")
    assert r.returncode != 0
    assert "is not empty: give a new or empty folder" in r.stderr
    r = _make("offline-install")
    assert r.returncode != 0 and "usage: make offline-install WHEELS=DIR" in r.stderr


REAL = os.environ.get("TUF_CEREMONY_WHEELHOUSE")


@pytest.mark.skipif(
    not (REAL and (Path(REAL) / "requirements.txt").is_file()),
    reason="no real wheelhouse: set TUF_CEREMONY_WHEELHOUSE to a folder made by "
    "`make wheelhouse WHEELS=DIR` (needs PyPI to build)",
)
def test_real_wheelhouse_installs_and_runs_offline(tmp_path: Path) -> None:
    assert REAL is not None
    venv = tmp_path / "venv"
    r = _make("offline-install", f"WHEELS={REAL}", f"VENV={venv}", offline=True)
    assert r.returncode == 0, r.stdout + r.stderr
    tool = venv / "bin" / "tuf-ceremony"
    run = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    assert run.stdout.startswith("tuf-ceremony, version ")
    run = subprocess.run(
        [
            *_offline_prefix(),
            tool,
            "key",
            "generate",
            "--type",
            "ed25519",
            "--private-out",
            tmp_path / "k.pem",
            "--public-out",
            tmp_path / "k.pub.json",
        ],
        input="offline-passphrase\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("keyid: ")


def test_package_metadata_builds_without_deprecation_warnings(tmp_path: Path) -> None:
    """The wheel `make wheelhouse` ships builds offline (the venv's setuptools,
    no build isolation) with no setuptools deprecation warning (issue 10:
    `license = {text = ...}` was deprecated; an SPDX string is used)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "tuf_ceremony", src / "tuf_ceremony", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    proc = subprocess.run(
        [
            *_offline_prefix(),
            sys.executable,
            "-W",
            "always",
            "-m",
            "pip",
            "--isolated",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-v",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert list((tmp_path / "dist").glob("tuf_ceremony-*.whl"))
    assert "deprecat" not in out.lower(), [ln for ln in out.splitlines() if "eprecat" in ln]
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as z:
        meta = next(n for n in z.namelist() if n.endswith("METADATA"))
        assert "License-Expression: Apache-2.0" in z.read(meta).decode()
