"""Generate a PEP 458-shaped repository for the verify benchmark, fast.

Root, targets with N classic hashed-bin delegations (``path_hash_prefixes``,
as PEP 458 and python-tuf's hashed-bin example lay them out), N bins holding
PyPI-like target paths (``packages/xx/yy/<hex>/pN-1.0.tar.gz``, each with its
length and SHA-256), snapshot (versions only, as RSTUF and python-tuf's
default ``MetaFile`` write it) and timestamp (version, length and SHA-256 of
snapshot). Every role is signed by one Ed25519 key (the benchmark measures
verification, not key management). Consistent-snapshot file names.

The ``targets`` count is a mean: paths are assigned to bins by their hash, as
in a real repository, so bins hold about that many each (the total is exact).

Files are written with orjson (compact); signatures cover canonical JSON
(orjson with sorted keys: the generated strings hold no character it would
escape). The python-tuf loop of the benchmark verifies every signature with
python-tuf's own canonical encoder, so a wrong payload here would show.

Usage: python benchmarks/gen_repo.py DIR --bins 16384 --targets 400
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

EXPIRES = "2030-01-01T00:00:00Z"
SPEC = "1.0.31"
SEED = b"tuf-ceremony benchmark key, not secret"


def _key() -> tuple[Ed25519PrivateKey, str, dict[str, Any]]:
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEED).digest())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    key = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": public}}
    keyid = hashlib.sha256(orjson.dumps(key, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return private, keyid, key


def _envelope(signed: dict[str, Any], private: Ed25519PrivateKey, keyid: str) -> bytes:
    payload = orjson.dumps(signed, option=orjson.OPT_SORT_KEYS)
    assert b"\\" not in payload
    sig = private.sign(payload).hex()
    return orjson.dumps({"signatures": [{"keyid": keyid, "sig": sig}], "signed": signed})


def _prefix_len(bins: int) -> int:
    return len(f"{bins - 1:x}")


def _paths_of_worker(part: int, parts: int, total: int, bins: int) -> dict[int, list[tuple[str, str, int]]]:
    """Targets whose bin b has ``b % parts == part``: path, sha256, length."""
    plen = _prefix_len(bins)
    per_bin = 16**plen // bins
    out: dict[int, list[tuple[str, str, int]]] = {}
    sha = hashlib.sha256
    for i in range(total):
        h = sha(i.to_bytes(8, "big")).hexdigest()
        path = f"packages/{h[:2]}/{h[2:4]}/{h[4:60]}/p{i}-1.0.tar.gz"
        b = int(sha(path.encode()).hexdigest()[:plen], 16) // per_bin
        if b % parts == part:
            out.setdefault(b, []).append((path, h, 1000 + i % 100000))
    return out


def _write_bins(args: tuple[Path, int, int, int, int]) -> dict[str, int]:
    directory, part, parts, total, bins = args
    private, keyid, _ = _key()
    content = _paths_of_worker(part, parts, total, bins)
    written: dict[str, int] = {}
    for b in range(part, bins, parts):
        targets = {p: {"hashes": {"sha256": h}, "length": n} for p, h, n in content.get(b, [])}
        signed = {"_type": "targets", "expires": EXPIRES, "spec_version": SPEC, "targets": targets, "version": 1}
        name = bin_name(b, bins)
        (directory / f"1.{name}.json").write_bytes(_envelope(signed, private, keyid))
        written[name] = b
    return written


def bin_name(b: int, bins: int) -> str:
    return f"bin-{b:0{_prefix_len(bins)}x}"


def generate(directory: Path, bins: int, targets: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    private, keyid, key = _key()
    total = bins * targets
    parts = max(1, len(os.sched_getaffinity(0)))
    with multiprocessing.get_context("fork").Pool(parts) as pool:
        pool.map(_write_bins, [(directory, k, parts, total, bins) for k in range(parts)])
    plen = _prefix_len(bins)
    per_bin = 16**plen // bins
    roles = [
        {
            "name": bin_name(b, bins),
            "keyids": [keyid],
            "threshold": 1,
            "terminating": False,
            "path_hash_prefixes": [f"{p:0{plen}x}" for p in range(b * per_bin, (b + 1) * per_bin)],
        }
        for b in range(bins)
    ]
    top = {
        "_type": "targets",
        "expires": EXPIRES,
        "spec_version": SPEC,
        "targets": {},
        "version": 1,
        "delegations": {"keys": {keyid: key}, "roles": roles},
    }
    (directory / "1.targets.json").write_bytes(_envelope(top, private, keyid))
    meta: dict[str, Any] = {"targets.json": {"version": 1}}
    for b in range(bins):
        meta[f"{bin_name(b, bins)}.json"] = {"version": 1}
    snap = _envelope(
        {"_type": "snapshot", "expires": EXPIRES, "spec_version": SPEC, "meta": meta, "version": 1}, private, keyid
    )
    (directory / "1.snapshot.json").write_bytes(snap)
    ts = {
        "_type": "timestamp",
        "expires": EXPIRES,
        "spec_version": SPEC,
        "version": 1,
        "meta": {
            "snapshot.json": {"version": 1, "length": len(snap), "hashes": {"sha256": hashlib.sha256(snap).hexdigest()}}
        },
    }
    (directory / "timestamp.json").write_bytes(_envelope(ts, private, keyid))
    role = {"keyids": [keyid], "threshold": 1}
    root = {
        "_type": "root",
        "expires": EXPIRES,
        "spec_version": SPEC,
        "version": 1,
        "consistent_snapshot": True,
        "keys": {keyid: key},
        "roles": {r: dict(role) for r in ("root", "targets", "snapshot", "timestamp")},
    }
    (directory / "1.root.json").write_bytes(_envelope(root, private, keyid))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory", type=Path)
    ap.add_argument("--bins", type=int, default=16384)
    ap.add_argument("--targets", type=int, default=400, help="targets per bin (mean)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    generate(args.directory, args.bins, args.targets)
    print(f"generated in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
