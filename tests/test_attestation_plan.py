"""Attestations in ceremony plans, signing requests and `sign`, through the
CLI: prepare verifies them, `require_attestation` is enforced, the request
carries the certificates and `sign` re-verifies them and shows the hardware
line next to each key."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.attestation_forge import HSM_SERIALS, PSF, forged_hsm
from tests.fixtures_core import PASSPHRASES, run_cli


def _psf_into(workdir: Path) -> None:
    for serial in HSM_SERIALS:
        for f in (PSF / serial).iterdir():
            shutil.copy2(f, workdir / f.name)


def _hsm_key(serial: str, role: str) -> str:
    return (
        f'hsm{serial[-2:]}{role[0]} = {{ public = "{serial}_{role}_pubkey.pem", '
        f'attestation = ["{serial}_{role}_attestation.der", "{serial}_cert.der"] }}'
    )


def _plan(
    workdir: Path,
    *,
    root_require: bool = False,
    targets_require: bool = True,
    extra_keys: list[str] | None = None,
    root_keys: list[str] | None = None,
) -> Path:
    _psf_into(workdir)
    lines = ["[keys]", 'alice = "alice.pub.json"', 'online = "online.pub.json"']
    lines += [_hsm_key(s, r) for s in HSM_SERIALS for r in ("root", "targets")]
    lines += extra_keys or []
    rk = root_keys or ["alice", "hsm60r", "hsm61r", "hsm62r"]
    lines += ["[roles.root]", f"keys = {json.dumps(rk)}", "threshold = 2", 'expires = "365d"']
    if root_require:
        lines.append("require_attestation = true")
    lines += ["[roles.targets]", 'keys = ["hsm60t", "hsm61t", "hsm62t"]', "threshold = 2", 'expires = "365d"']
    if targets_require:
        lines.append("require_attestation = true")
    for role in ("snapshot", "timestamp"):
        lines += [f"[roles.{role}]", 'keys = ["online"]', "threshold = 1", 'expires = "1d"']
    plan = workdir / "plan.toml"
    plan.write_text("\n".join(lines) + "\n")
    return plan


def test_prepare_and_sign_show_the_hardware_line(workdir: Path) -> None:
    plan = _plan(workdir)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output
    doc = json.loads(req.read_text())
    # the certificates themselves travel in the request, per keyid
    assert len(doc["attestations"]) == 6
    for ders in doc["attestations"].values():
        assert len(ders) == 2 and all(base64.b64decode(d)[:1] == b"\x30" for d in ders)
    out = workdir / "alice.bundle.json"
    s = run_cli("sign", req, "--key", workdir / "alice.pem", "--out", out, "--yes", input=PASSPHRASES["alice"] + "\n")
    assert s.exit_code == 0, s.output
    for serial in HSM_SERIALS:
        assert f"YubiHSM 2 serial {int(serial)}, generated on device, not exportable" in s.output, s.output
    # next to the key, in the review the keyholder pages through
    lines = s.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("hsm60r: keyid"))
    assert "hardware: YubiHSM 2 serial 13200460, generated on device, not exportable" in " ".join(lines[at : at + 4])
    assert "NOT VERIFIED" not in s.output
    # the review (what the evidence records bind) carries the same lines
    from tuf_ceremony.request import load_request
    from tuf_ceremony.review import render_review

    review = render_review(load_request(req))
    assert review.count("hardware: YubiHSM 2 serial") == 6


def test_require_attestation_refuses_a_key_without_one(workdir: Path) -> None:
    plan = _plan(workdir, root_require=True)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 3, r.output
    assert "roles.root.require_attestation: key 'alice' has no hardware attestation" in r.output
    assert not req.exists()
    # without alice the root role passes
    plan = _plan(workdir, root_require=True, root_keys=["hsm60r", "hsm61r", "hsm62r"])
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output


def test_require_attestation_must_be_boolean(workdir: Path) -> None:
    plan = _plan(workdir)
    plan.write_text(plan.read_text().replace("require_attestation = true", 'require_attestation = "yes"'))
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 3
    assert "roles.targets.require_attestation: must be true or false" in r.output


def test_invalid_attestation_in_plan_is_a_plan_error(workdir: Path) -> None:
    plan = _plan(workdir)
    text = plan.read_text().replace(
        '"0013200460_targets_attestation.der", "0013200460_cert.der"',
        '"0013200460_root_attestation.der", "0013200460_cert.der"',
    )
    plan.write_text(text)
    req = workdir / "request.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 3, r.output
    assert "keys.hsm60t.attestation: refused:" in r.output
    assert "attests another key" in r.output
    assert not req.exists()


def test_plan_key_table_errors(workdir: Path) -> None:
    plan = _plan(workdir)
    base = plan.read_text()
    cases = {
        'hsm60r = { public = "0013200460_root_pubkey.pem", attestation = [] }': (
            "keys.hsm60r.attestation: must be a list of 1 to 8"
        ),
        'hsm60r = { attestation = ["0013200460_cert.der"] }': "keys.hsm60r: a key table needs public",
        'hsm60r = { public = "0013200460_root_pubkey.pem", attest = ["x"] }': "keys.hsm60r: unknown field 'attest'",
        'hsm60r = { public = "0013200460_root_pubkey.pem", attestation = ["nope.der"] }': "keys.hsm60r.attestation:",
    }
    original = _hsm_key("0013200460", "root")
    for line, message in cases.items():
        plan.write_text(base.replace(original, line))
        r = run_cli("prepare", plan, "--out", workdir / "r.json")
        assert r.exit_code == 3, (line, r.output)
        assert message in r.output, (line, r.output)
        assert "Traceback" not in r.output


def _rewrite(req: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """An attacker edits the request and recomputes its id (anyone can)."""
    from tuf_ceremony.keys import canonical_bytes

    doc = json.loads(req.read_text())
    change(doc)
    doc.pop("request_id")
    doc["request_id"] = hashlib.sha256(canonical_bytes(doc)).hexdigest()
    req.write_text(json.dumps(doc))


def test_sign_reverifies_and_never_trusts_the_request(workdir: Path, tmp_path: Path) -> None:
    """A request whose attestation was swapped for a forged chain (Yubico's
    names, a self-made root) still loads, but sign says NOT VERIFIED."""
    plan = _plan(workdir)
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.attestation_forge import load

    # the forger controls a fake "device" key, so the forged attestation
    # certifies the real public key of hsm60r, with perfect claims
    target = load(PSF / "0013200460" / "0013200460_root_attestation.der").public_key()
    forged = forged_hsm(public=target)
    doc0 = json.loads(req.read_text())
    kid0 = next(k for k, v in doc0["keys"].items() if v["name"] == "hsm60r")

    def swap(doc: dict[str, Any]) -> None:
        kid = kid0
        doc["attestations"][kid] = [
            base64.b64encode(c.public_bytes(Encoding.DER)).decode()
            for c in (forged.leaf, forged.device.cert, forged.subca.cert, forged.root.cert)
        ]

    _rewrite(req, swap)
    s = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "a.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert s.exit_code == 0, s.output
    assert (
        "hardware: NOT VERIFIED: 'CN=YubiHSM Attestation (13200460)' names 'CN=Yubico "
        "YubiHSM 6742036 Sub-CA' (bundled) as its issuer, but the signature does not verify"
        in " ".join(s.output.split())
    )
    # the five other keys still verify
    assert s.output.count("generated on device, not exportable") == 5


def test_request_attestations_field_is_checked(workdir: Path) -> None:
    plan = _plan(workdir)
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    cases = {
        "not base64": lambda d: d["attestations"].update({sorted(d["attestations"])[0]: ["***"]}),
        "not a key of this request": lambda d: d["attestations"].update({"ab" * 32: ["MAA="]}),
        "empty": lambda d: d.update({"attestations": {}}),
        "must be a list": lambda d: d["attestations"].update({sorted(d["attestations"])[0]: "MAA="}),
    }
    original = req.read_text()
    for message, change in cases.items():
        req.write_text(original)
        _rewrite(req, change)
        s = run_cli(
            "sign",
            req,
            "--key",
            workdir / "alice.pem",
            "--out",
            workdir / "x.json",
            "--yes",
            input=PASSPHRASES["alice"] + "\n",
        )
        assert s.exit_code == 3, (message, s.output)
        assert message in s.output, (message, s.output)
        assert not (workdir / "x.json").exists()


def test_tampered_attestation_without_new_id_is_refused(workdir: Path) -> None:
    plan = _plan(workdir)
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    doc = json.loads(req.read_text())
    kid = sorted(doc["attestations"])[0]
    doc["attestations"][kid] = doc["attestations"][kid][::-1]
    req.write_text(json.dumps(doc))
    s = run_cli(
        "sign",
        req,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "x.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert s.exit_code == 3
    assert "request_id does not match" in s.output


def test_plain_plans_unchanged(workdir: Path) -> None:
    """A plan without attestations makes a request without the field."""
    from tests.fixtures_core import write_plan

    plan = write_plan(workdir / "p.toml")
    req = workdir / "r.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    assert "attestations" not in json.loads(req.read_text())


def test_sign_screen_80x24_shows_the_hardware_line(workdir: Path) -> None:
    """In a pseudo-terminal of 80x24, paging through sign's details reaches
    the key with its re-verified hardware line, whole on the screen."""
    import os

    from tests.fixtures_screen import PtySession

    plan = _plan(workdir)
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    pty = PtySession(["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "alice.bundle.json"], cwd=workdir)
    wanted = "hardware: YubiHSM 2 serial 13200460, generated on device, not exportable"
    try:
        seen = pty.wait_for("space")
        for _ in range(30):
            if wanted in seen:
                break
            page = seen
            pty.send(" ")
            for _ in range(50):  # until the next page is drawn
                pty._pump(0.1)
                seen = pty.text()
                if seen != page and "space" in seen:
                    break
        assert wanted in seen, seen
        lines = pty.lines()
        at = next(i for i, line in enumerate(lines) if wanted in line)
        assert any("hsm60r: keyid" in line for line in lines[max(0, at - 3) : at]), seen
        assert all(len(line) <= 80 for line in lines)
    finally:
        pty.proc.kill()  # the child this test started: no signature wanted
        pty.proc.wait(timeout=10)
        os.close(pty.master)
    assert not (workdir / "alice.bundle.json").exists()
