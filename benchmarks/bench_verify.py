"""Benchmark ``tuf-ceremony verify`` against a plain python-tuf loop.

Generates (once, cached) a PEP 458-scale repository: root, targets with
16,384 classic hashed-bin delegations (``path_hash_prefixes``), 16,384 bins
with a few targets each, snapshot and timestamp -- about 70 MB -- and then
times, in one run:

* ``tuf-ceremony verify DIR`` (a subprocess; peak memory from
  ``getrusage(RUSAGE_CHILDREN)``),
* a plain python-tuf loop: ``Metadata.from_file`` and ``verify_delegate``
  for every role (also in a subprocess, for a fair memory figure),
* ``tuf-ceremony --help`` start-up time,
* ``tuf-ceremony verify`` of the 15-version Sigstore root history.

Usage::

    .venv/bin/python benchmarks/bench_verify.py [--dir DIR] [--bins 16384] [--targets 6]

The goal (issue 5): verify <= 0.5x the loop's wall time on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TUF_CEREMONY = VENV_BIN / "tuf-ceremony"
# measure this checkout, whatever the virtualenv's editable install points at
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

LOOP = r"""
import sys, time
from pathlib import Path
from tuf.api.metadata import Metadata

d = Path(sys.argv[1])
t0 = time.perf_counter()
root = Metadata.from_file(str(d / "1.root.json"))
root.signed.verify_delegate("root", root.signed_bytes, root.signatures)
ts = Metadata.from_file(str(d / "timestamp.json"))
root.signed.verify_delegate("timestamp", ts.signed_bytes, ts.signatures)
snap = Metadata.from_file(str(d / f"{ts.signed.snapshot_meta.version}.snapshot.json"))
root.signed.verify_delegate("snapshot", snap.signed_bytes, snap.signatures)
tv = snap.signed.meta["targets.json"].version
targets = Metadata.from_file(str(d / f"{tv}.targets.json"))
root.signed.verify_delegate("targets", targets.signed_bytes, targets.signatures)
n = 0
for name in targets.signed.delegations.roles:
    v = snap.signed.meta[f"{name}.json"].version
    md = Metadata.from_file(str(d / f"{v}.{name}.json"))
    targets.signed.verify_delegate(name, md.signed_bytes, md.signatures)
    n += 1
print(f"{n} delegated roles verified in {time.perf_counter() - t0:.2f}s", file=sys.stderr)
"""


def generate(directory: Path, bins: int, targets: int) -> None:
    marker = directory / ".bench-params"
    params = f"bins={bins} targets={targets} pypi_like=1\n"
    if marker.exists() and marker.read_text() == params:
        print(f"using cached repository in {directory}")
        return
    if any(directory.iterdir()):
        for p in directory.glob("*.json"):
            p.unlink()
    print(f"generating {bins} bins x {targets} targets in {directory} ...", flush=True)
    sys.path.insert(0, str(ROOT))
    from tests.fixtures_repo import build_repository, make_keys

    t0 = time.perf_counter()
    build_repository(
        directory, make_keys(), n_bins=bins, targets_per_bin=targets, pypi_like=True
    )
    marker.write_text(params)
    print(f"generated in {time.perf_counter() - t0:.1f}s")


def run_child(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall time of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - t0, proc


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuf-ceremony-bench")
    ap.add_argument("--bins", type=int, default=16384)
    ap.add_argument("--targets", type=int, default=11, help="targets per bin")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    args = ap.parse_args()
    d: Path = args.dir
    d.mkdir(parents=True, exist_ok=True)
    generate(d, args.bins, args.targets)
    print(f"repository: {d} ({size_of(d) / 1e6:.1f} MB, {args.bins} bins), cpus: {len(os.sched_getaffinity(0))}")

    # --help start-up
    helps = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([str(TUF_CEREMONY), "--help"], capture_output=True, check=True)
        helps.append(time.perf_counter() - t0)
    print(f"tuf-ceremony --help: best {min(helps):.3f}s (goal < 0.15s)")

    sig = ROOT / "tests" / "data" / "sigstore-root-history"
    if sig.is_dir():
        best = min(
            run_child([str(TUF_CEREMONY), "verify", str(sig), "--at", "2026-11-01T00:00:00Z"])[0]
            for _ in range(3)
        )
        print(f"tuf-ceremony verify (Sigstore root history, 15 versions): best {best:.3f}s")

    loop_script = d.parent / "bench_loop.py"
    loop_script.write_text(LOOP)
    # alternate the two, best of --repeat each; each measured from a fresh,
    # small interpreter so that RUSAGE_CHILDREN's ru_maxrss belongs to it
    loop_times: list[float] = []
    verify_times: list[float] = []
    loop_rss = verify_rss = 0
    for _ in range(args.repeat):
        t, rss = measure([sys.executable, str(loop_script), str(d)])
        loop_times.append(t)
        loop_rss = max(loop_rss, rss)
        t, rss = measure([str(TUF_CEREMONY), "verify", str(d)])
        verify_times.append(t)
        verify_rss = max(verify_rss, rss)
    lt, vt = min(loop_times), min(verify_times)
    print(
        "python-tuf loop (from_file + verify_delegate per role): "
        f"{lt:.2f}s (runs: {', '.join(f'{x:.2f}' for x in loop_times)}), peak RSS {loop_rss / 1024:.0f} MiB"
    )
    print(
        f"tuf-ceremony verify: {vt:.2f}s (runs: {', '.join(f'{x:.2f}' for x in verify_times)}), "
        f"peak RSS {verify_rss / 1024:.0f} MiB (largest of its processes)"
    )
    print(f"ratio verify/loop: {vt / lt:.2f} (goal <= 0.5)")


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of ``cmd``, run from a fresh interpreter."""
    r = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], capture_output=True, check=False, text=True
    )
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
    wall, rss = r.stdout.split()
    return float(wall), int(rss)


# Run in a fresh interpreter so RUSAGE_CHILDREN covers only the command (and
# the processes it waited for, such as verify's workers).
_MEASURE = r"""
import resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
if p.returncode != 0:
    sys.exit(p.stderr.decode())
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


if __name__ == "__main__":
    main()
