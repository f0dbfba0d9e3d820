"""A wrong PIN is asked again without showing the review again (SoftHSM2).

The PIN is read through the injected secrets handler; ``sign`` tries again
on a wrong PIN (up to 3 times, never when the token reports its final try or
a locked PIN), and the review and confirmation are not repeated.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.fixtures_core import run_cli, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM, cli_token_key


def _token_request(workdir: Path, hsm: SoftHSM) -> tuple[Path, str]:
    token = f"scr-{uuid.uuid4().hex[:8]}"
    uri = f"pkcs11:token={token};object=root-key"
    cli_token_key(hsm, token, uri, workdir / "tok.pub.json")
    plan = write_plan(
        workdir / "plan.toml", root=(["alice", "tok"], 1), targets=(["alice"], 1), keys=["alice", "tok", "online"]
    )
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output + r.stderr
    return req, uri


def test_wrong_pin_is_asked_again_and_three_wrong_pins_end_with_exit_5(workdir: Path, pkcs11_fresh: SoftHSM) -> None:
    req, uri = _token_request(workdir, pkcs11_fresh)
    out = workdir / "tok.bundle.json"
    r = run_cli("sign", req, "--key", uri, "--out", out, "--yes", input="0000\n0001\n0002\n")
    assert r.exit_code == 5, r.output + r.stderr
    assert r.stderr.count("Try again") == 2 and "wrong PIN" in r.stderr
    assert not out.exists()
    assert r.output.count("== End of the review ==") == 1

    r = run_cli("sign", req, "--key", uri, "--out", out, "--yes", input="0000\n" + USER_PIN + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    assert "Try again (2 tries left)" in r.stderr
    assert r.output.count("== End of the review ==") == 1
    assert "Give tok.bundle.json to the coordinator. It holds no secret." in r.output
    assert out.is_file()
