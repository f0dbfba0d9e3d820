"""docs/keyholder.md, "When something goes wrong": each exit code the guide
lists is what ``sign`` really returns in that situation (issue 10: the
keyholder's guide says what to do on each exit code, so the codes must be
right). Each situation is made through the CLI; nothing is written."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "keyholder.md"


def guide_table() -> dict[int, str]:
    text = GUIDE.read_text(encoding="utf-8").split("## When something goes wrong", 1)[1]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| ([^|]+)\|", text, re.MULTILINE)}


@pytest.fixture
def ceremony(workdir: Path) -> Path:
    """repo/ at v1; request2.json the renewal; trusted/1.root.json alice's own copy."""
    req1 = workdir / "request1.json"
    assert run_cli("prepare", write_plan(workdir / "plan.toml"), "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    assert run_cli("merge", req1, *bundles, "--out", workdir / "repo").exit_code == 0
    req2 = workdir / "request2.json"
    r = run_cli("prepare", workdir / "plan.toml", "--trusted", workdir / "repo", "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    (workdir / "trusted").mkdir()
    (workdir / "trusted" / "1.root.json").write_bytes((workdir / "repo" / "1.root.json").read_bytes())
    return req2


def _sign(workdir: Path, req: Path, key: str, stdin: str, *extra: str | Path) -> int:
    out = workdir / "alice.bundle.json"
    existed = out.exists()
    r = run_cli("sign", req, "--key", key, "--out", out, *extra, input=stdin)
    if r.exit_code != 0 and not existed:
        assert not out.exists(), r.output + r.stderr  # nothing written
    if r.exit_code != 0:
        errors = [line for line in r.stderr.splitlines() if line.startswith("tuf-ceremony: ")]
        assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr  # one line
    return r.exit_code


def test_the_guide_lists_the_codes_sign_returns(workdir: Path, ceremony: Path, pkcs11_fresh: SoftHSM) -> None:
    table = guide_table()
    assert sorted(table) == [1, 3, 4, 5, 6, 7, 8], table
    alice = str(workdir / "alice.pem")
    ok = PASSPHRASES["alice"] + "\n"
    seen: dict[int, int] = {}
    # 1: the request does not chain from your own copy of the root (another repository's)
    other = workdir / "other"
    other.mkdir()
    oreq = other / "r.json"
    assert (
        run_cli(
            "prepare",
            workdir / "plan.toml",
            "--out",
            oreq,
            "--at",
            (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
        ).exit_code
        == 0
    )
    ob = [sign_as(workdir, oreq, n, other / f"{n}.json") for n in ("alice", "bob")]
    assert run_cli("merge", oreq, *ob, "--out", other / "repo").exit_code == 0
    seen[1] = _sign(workdir, ceremony, alice, ok, "--trusted", other / "repo" / "1.root.json", "--yes")
    # 3: a request missing from the stick; a token holding several keys
    seen[3] = _sign(workdir, workdir / "missing.json", alice, ok, "--yes")
    token = f"duo-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(token)
    for label in ("first", "second"):
        r = run_cli(
            "key",
            "generate",
            "--type",
            "ed25519",
            "--uri",
            f"pkcs11:token={token};object={label}",
            "--public-out",
            workdir / f"{label}.pub.json",
            input=USER_PIN + "\n",
        )
        assert r.exit_code == 0, r.output + r.stderr
    assert _sign(workdir, ceremony, f"pkcs11:token={token}", USER_PIN + "\n", "--yes") == 3
    # 4: a key that is in no role of this request (the online key signs no offline role)
    seen[4] = _sign(workdir, ceremony, str(workdir / "online.pem"), PASSPHRASES["online"] + "\n", "--yes")
    # 5: three wrong passphrases
    seen[5] = _sign(workdir, ceremony, alice, "wrong-1\nwrong-2\nwrong-3\n", "--yes")
    # 6: the token is not plugged in
    seen[6] = _sign(workdir, ceremony, "pkcs11:token=not-plugged-in", "y\n" + USER_PIN + "\n")
    # 8: the keyholder answers N
    seen[8] = _sign(workdir, ceremony, alice, PASSPHRASES["alice"] + "\nn\n")
    # 7: the bundle already exists
    assert _sign(workdir, ceremony, alice, ok, "--yes") == 0
    seen[7] = _sign(workdir, ceremony, alice, ok, "--yes")
    assert seen == {code: code for code in table}, (seen, table)
