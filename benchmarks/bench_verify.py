"""Benchmark ``tuf-ceremony verify`` at PyPI's scale, side by side in one run.

For each scale (default: 16,384 bins x 400 targets, about 6.5 million
targets, and the PEP 458 scale 16,384 x 3) this

1. generates the repository once (``benchmarks/gen_repo.py``; cached in
   ``benchmarks/.cache/``, which git ignores);
2. runs the plain python-tuf loop: ``Metadata.from_file`` and
   ``verify_delegate`` for root, timestamp, snapshot, targets and every bin
   (no bin-range check, no snapshot comparison);
3. measures the floor from its parts, over every bin, in one process: read
   the file, parse it, produce the canonical bytes of ``signed``, SHA-256 of
   every target path (what the bin-range check needs), one Ed25519 verify --
   each with orjson and with the standard library (``json``); the floor is
   the orjson parts' CPU seconds / the number of CPUs;
4. runs ``tuf-ceremony verify DIR`` (the CLI, in a subprocess);
5. runs the floor's parts as a program of their own ("floor as a program":
   interpreter start, then the same parts over every bin on every CPU by
   fork, with no check at all), the lower bound of any verifier here;

and prints the wall times, the ratios against the goals of issue 14
(verify <= 0.2x the loop at 16,384 x 400, <= 0.35x at 16,384 x 3, within 1.5x
of the floor) and every process's peak memory (``ru_maxrss`` of the measured
command and of all its waited-for children, workers included: goal 256 MiB).

Usage::

    .venv/bin/python benchmarks/bench_verify.py [--scale 16384x400 --scale 16384x3] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TUF_CEREMONY = VENV_BIN / "tuf-ceremony"
CACHE = ROOT / "benchmarks" / ".cache"
GOALS = {"16384x400": 0.2, "16384x3": 0.35}
FLOOR_GOAL = 1.5
RSS_GOAL_MIB = 256
# measure this checkout, whatever the virtualenv's editable install points at
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

LOOP = r"""
import sys
from pathlib import Path
from tuf.api.metadata import Metadata

d = Path(sys.argv[1])
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
    n += len(md.signed.targets)
print(n, file=sys.stderr)
"""

FLOOR = r"""
import hashlib, json, os, sys, time
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

d = sys.argv[1]
names = sorted(n for n in os.listdir(d) if n.startswith("1.bin-"))
root = orjson.loads(open(os.path.join(d, "1.root.json"), "rb").read())
[key] = root["signed"]["keys"].values()
public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["keyval"]["public"]))
enc = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
sha = hashlib.sha256
clock = time.process_time
parts = dict.fromkeys(("read", "parse_orjson", "canonical_orjson", "sha256_paths",
                       "ed25519", "parse_stdlib", "canonical_stdlib"), 0.0)
targets = 0
for name in names:
    t0 = clock()
    with open(os.path.join(d, name), "rb") as f:
        raw = f.read()
    t1 = clock()
    data = orjson.loads(raw)
    t2 = clock()
    payload = orjson.dumps(data["signed"], option=orjson.OPT_SORT_KEYS)
    t3 = clock()
    for path in data["signed"]["targets"]:
        sha(path.encode()).digest()
    t4 = clock()
    public.verify(bytes.fromhex(data["signatures"][0]["sig"]), payload)
    t5 = clock()
    sdata = json.loads(raw)
    t6 = clock()
    enc.encode(sdata["signed"]).encode()
    t7 = clock()
    targets += len(data["signed"]["targets"])
    for k, a, b in (("read", t0, t1), ("parse_orjson", t1, t2), ("canonical_orjson", t2, t3),
                    ("sha256_paths", t3, t4), ("ed25519", t4, t5), ("parse_stdlib", t5, t6),
                    ("canonical_stdlib", t6, t7)):
        parts[k] += b - a
print(json.dumps({"bins": len(names), "targets": targets, "parts": parts}))
"""

# The floor's parts (minus the stdlib ones) as a whole program: interpreter
# start, the same reads, parses, canonical bytes, path hashes and Ed25519
# verifies, split over every CPU by fork -- and no check at all. No verifier
# can be faster than this on the machine.
BARE = r"""
import hashlib, os, sys
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

d, cpus = sys.argv[1], int(sys.argv[2])
names = sorted(n for n in os.listdir(d) if n.startswith("1.bin-"))
root = orjson.loads(open(os.path.join(d, "1.root.json"), "rb").read())
[key] = root["signed"]["keys"].values()
public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["keyval"]["public"]))
sha = hashlib.sha256

def work(share):
    for name in share:
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read()
        data = orjson.loads(raw)
        payload = orjson.dumps(data["signed"], option=orjson.OPT_SORT_KEYS)
        for path in data["signed"]["targets"]:
            sha(path.encode()).digest()
        public.verify(bytes.fromhex(data["signatures"][0]["sig"]), payload)

size = -(-len(names) // cpus)
children = []
for i in range(1, cpus):
    pid = os.fork()
    if pid == 0:
        work(names[i * size:(i + 1) * size])
        os._exit(0)
    children.append(pid)
work(names[:size])
for pid in children:
    _, status = os.waitpid(pid, 0)
    if status:
        sys.exit("a child failed")
"""

# Run in a fresh interpreter so RUSAGE_CHILDREN covers only the command (and
# the processes it waited for, such as verify's workers).
MEASURE = r"""
import resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
if p.returncode != 0:
    sys.exit(p.stderr.decode()[-3000:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime)
sys.stderr.write(p.stdout.decode()[-4000:])
"""


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall time, peak RSS (MiB) of the command or any process it waited
    for, CPU seconds, and its output."""
    r = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, check=False, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr[-3000:]}")
    wall, rss, cpu = r.stdout.split()
    return float(wall), int(rss) / 1024, float(cpu), r.stderr


def ensure_repo(bins: int, targets: int) -> Path:
    d = CACHE / f"{bins}x{targets}"
    marker = d / ".complete"
    if marker.exists():
        return d
    if d.exists():
        for p in d.glob("*.json"):
            p.unlink()
    print(f"generating {bins} bins x {targets} targets in {d} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gen_repo.py"),
            str(d),
            "--bins",
            str(bins),
            "--targets",
            str(targets),
        ],
        check=True,
    )
    marker.write_text(f"bins={bins} targets={targets}\n")
    print(f"  generated in {time.perf_counter() - t0:.0f}s", flush=True)
    return d


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


Run = tuple[float, float, float, str]  # wall s, peak RSS MiB, CPU s, output


def _line(label: str, runs: list[Run]) -> str:
    return f"  {label:<21}" + ", ".join(f"{x[0]:.2f}s ({x[2]:.1f} CPU-s)" for x in runs)


def _measure_all(d: Path, repeat: int, cpus: int) -> tuple[list[Run], list[Run], list[Run], dict[str, Any]]:
    """The loop, verify and the floor program ``repeat`` times each,
    interleaved; then the floor's parts once."""
    scripts = {}
    for name, text in (("loop", LOOP), ("floor", FLOOR), ("bare", BARE)):
        scripts[name] = CACHE / f"bench_{name}.py"
        scripts[name].write_text(text)
    verify = [str(TUF_CEREMONY), "verify", str(d), "--at", "2027-01-01T00:00:00Z"]
    # drop nothing from the page cache: every side reads warm files (one
    # untimed verify first warms it)
    measure(verify)
    loops, verifies, bares = [], [], []
    for _ in range(repeat):
        loops.append(measure([sys.executable, str(scripts["loop"]), str(d)]))
        verifies.append(measure(verify))
        bares.append(measure([sys.executable, str(scripts["bare"]), str(d), str(cpus)]))
    _, _, _, floor_out = measure([sys.executable, str(scripts["floor"]), str(d)])
    floor: dict[str, Any] = json.loads(floor_out.strip().splitlines()[-1])
    return loops, verifies, bares, floor


def _verdict(value: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return f"  goal <= {goal}: {'MET' if value <= goal else 'NOT MET'}"


def run_scale(scale: str, repeat: int, cpus: int) -> dict[str, object]:
    bins, targets = (int(x) for x in scale.split("x"))
    d = ensure_repo(bins, targets)
    print(f"\n== {scale}: {d} ({size_of(d) / 1e6:.0f} MB), {cpus} CPUs", flush=True)
    loops, verifies, bares, floor = _measure_all(d, repeat, cpus)
    parts = floor["parts"]
    orjson_cpu = sum(parts[k] for k in ("read", "parse_orjson", "canonical_orjson", "sha256_paths", "ed25519"))
    stdlib_cpu = sum(parts[k] for k in ("read", "parse_stdlib", "canonical_stdlib", "sha256_paths", "ed25519"))
    floor_wall = orjson_cpu / cpus
    lt, bt = min(x[0] for x in loops), min(x[0] for x in bares)
    vt, vt_worst = min(x[0] for x in verifies), max(x[0] for x in verifies)
    goal = GOALS.get(scale)
    print(
        f"  floor parts (CPU s over {floor['bins']} bins, {floor['targets']} targets): "
        + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    )
    print(
        f"  floor: {orjson_cpu:.2f} CPU-s with orjson ({stdlib_cpu:.2f} with the stdlib) "
        f"/ {cpus} CPUs = {floor_wall:.2f} s"
    )
    print(_line("python-tuf loop:", loops) + f"  (peak RSS {max(x[1] for x in loops):.0f} MiB)")
    print(
        _line("tuf-ceremony verify:", verifies)
        + f"  (peak RSS {max(x[1] for x in verifies):.0f} MiB, largest of its processes)"
    )
    print(_line("floor as a program:", bares) + f"  (the floor's parts on {cpus} forked processes, no check at all)")
    below = goal is not None and bt / lt > goal
    print(
        f"  floor program / loop: {bt / lt:.3f}"
        + (f"  -- the goal {goal} is below what the floor's parts alone take here" if below else "")
    )
    ratio, fr = vt / lt, vt / floor_wall
    print(f"  verify / loop:  {ratio:.3f} (best), {vt_worst / lt:.3f} (worst verify)" + _verdict(ratio, goal))
    floor_goal = FLOOR_GOAL if scale == "16384x400" else None
    print(f"  verify / floor: {fr:.3f} (best), {vt_worst / floor_wall:.3f} (worst)" + _verdict(fr, floor_goal))
    # on a shared machine wall time suffers from other jobs, the floor (CPU
    # seconds / CPUs) does not: the CPU seconds of verify against the floor's
    vcpu, lcpu = min(x[2] for x in verifies), min(x[2] for x in loops)
    print(
        f"  verify CPU-s / floor CPU-s: {vcpu:.2f} / {orjson_cpu:.2f} = {vcpu / orjson_cpu:.3f}; "
        f"verify CPU-s / {cpus} / loop CPU-s: {vcpu / cpus / lcpu:.3f}; "
        f"load average now: {os.getloadavg()[0]:.1f}"
    )
    rss = max(x[1] for x in verifies)
    print(f"  peak RSS verify: {rss:.0f} MiB" + _verdict(rss, RSS_GOAL_MIB), flush=True)
    return {"scale": scale, "loop": lt, "verify": vt, "floor": floor_wall, "bare": bt, "ratio": ratio, "rss": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", action="append", help="BINSxTARGETS (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the loop and of verify per scale")
    args = ap.parse_args()
    cpus = len(os.sched_getaffinity(0))
    CACHE.mkdir(parents=True, exist_ok=True)
    for scale in args.scale or ["16384x400", "16384x3"]:
        run_scale(scale, args.repeat, cpus)


if __name__ == "__main__":
    main()
