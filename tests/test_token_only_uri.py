"""`--key pkcs11:token=LABEL`: a token that holds exactly one key selects it;
with several, the error lists the full URI of each, and each works when
copied. Real SoftHSM2 tokens, through the CLI."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from tests.fixtures_core import run_cli, sign_as, write_plan
from tests.fixtures_softhsm import USER_PIN, SoftHSM


def test_token_with_one_key_is_enough(workdir: Path, pkcs11_fresh: SoftHSM) -> None:
    token = f"solo-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(token)
    r = run_cli(
        "key",
        "generate",
        "--type",
        "ecdsa-p256",
        "--uri",
        f"pkcs11:token={token};object=root",
        "--public-out",
        workdir / "solo.pub.json",
        input=USER_PIN + "\n",
    )
    assert r.exit_code == 0, r.output + r.stderr
    # the public key, by the token alone
    r = run_cli("key", "export", f"pkcs11:token={token}", "--public-out", workdir / "again.json")
    assert r.exit_code == 0, r.output + r.stderr
    assert json.loads((workdir / "again.json").read_text()) == json.loads((workdir / "solo.pub.json").read_text())
    # a ceremony in which the token key holds root: sign with pkcs11:token=LABEL
    plan = write_plan(workdir / "plan.toml", root=(["alice", "solo"], 2), keys=["alice", "bob", "solo", "online"])
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    out = workdir / "solo.bundle.json"
    r = run_cli("sign", req, "--key", f"pkcs11:token={token}", "--out", out, input="y\n" + USER_PIN + "\n")
    assert r.exit_code == 0, r.output + r.stderr
    bundles = [out, sign_as(workdir, req, "alice"), sign_as(workdir, req, "bob")]
    r = run_cli("merge", req, *bundles, "--out", workdir / "repo")
    assert r.exit_code == 0, r.output + r.stderr


def test_token_with_several_keys_lists_each_uri(workdir: Path, pkcs11_fresh: SoftHSM) -> None:
    token = f"duo-{uuid.uuid4().hex[:8]}"
    serial = pkcs11_fresh.new_token(token)
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
    out = workdir / "x.json"
    r = run_cli("key", "export", f"pkcs11:token={token}", "--public-out", out)
    assert r.exit_code == 3, r.output + r.stderr
    assert "names a token but no key, and 2 keys match" in r.stderr
    uris = re.findall(r"pkcs11:[^\s|]+", r.stderr.split("use one of these URIs:")[1])
    assert len(uris) == 2
    for uri, label in zip(sorted(uris), ("first", "second"), strict=True):
        assert f"token={token}" in uri and f"serial={serial}" in uri and f"object={label}" in uri
        assert "id=" in uri
        # each listed URI, copied as it is, selects its key
        r = run_cli("key", "export", uri, "--public-out", workdir / f"{label}.copy.json")
        assert r.exit_code == 0, r.output + r.stderr
        assert json.loads((workdir / f"{label}.copy.json").read_text()) == json.loads(
            (workdir / f"{label}.pub.json").read_text()
        )
    assert not out.exists()


def test_uri_naming_neither_token_nor_key_is_refused(workdir: Path, pkcs11_fresh: SoftHSM) -> None:
    r = run_cli("key", "export", "pkcs11:", "--public-out", workdir / "x.json")
    assert r.exit_code == 3
    assert "names no token and no key" in r.stderr


def test_empty_token_says_no_key(workdir: Path, pkcs11_fresh: SoftHSM) -> None:
    token = f"empty-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(token)
    r = run_cli("key", "export", f"pkcs11:token={token}", "--public-out", workdir / "x.json")
    assert r.exit_code == 6
    assert f"key not found: no key on token '{token}'" in r.stderr
