"""RSTUF hand-off, proven against RSTUF's own code: the ``rstuf`` CLI (PyPI:
repository-service-tuf, in its own venv made by ``make rstuf``) reads the
pending-signing files we write, signs them, and posts our bootstrap, update
and sign payloads to a loopback server that records the bodies.

Under CI=true a missing RSTUF CLI is a failure, not a skip.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as

REPO = Path(__file__).resolve().parent.parent
RSTUF_CLI = Path(os.environ.get("TUF_CEREMONY_RSTUF_CLI", REPO / ".venv-rstuf" / "bin" / "rstuf"))


@pytest.fixture(scope="session")
def rstuf_cli() -> Path:
    if not RSTUF_CLI.is_file():
        message = f"RSTUF CLI not installed at {RSTUF_CLI} (run 'make rstuf')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return RSTUF_CLI


# --- a loopback stand-in for the RSTUF API that records what it is sent -------------------

_ACCEPTED = {
    "/api/v1/bootstrap/": "Bootstrap accepted.",
    "/api/v1/metadata/": "Metadata update accepted.",
    "/api/v1/metadata/sign/": "Metadata sign accepted.",
}


@contextmanager
def fake_rstuf_api() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    received: list[tuple[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, code: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            if length > 10 * 1024 * 1024:
                self._answer(413, {"error": "too large"})
                return
            received.append((self.path, json.loads(self.rfile.read(length))))
            message = _ACCEPTED.get(self.path)
            if message is None:
                self._answer(404, {"error": "unknown endpoint"})
                return
            self._answer(
                202,
                {"message": message, "data": {"task_id": f"task{len(received)}", "last_update": "2026-12-01T10:00:00"}},
            )

        def do_GET(self) -> None:
            if self.path.startswith("/api/v1/task/?task_id="):
                self._answer(200, {"data": {"state": "SUCCESS", "result": {"status": True}}})
            else:
                self._answer(404, {"error": "unknown endpoint"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def rstuf(cli: Path, workdir: Path, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    config = workdir / "rstuf.yml"
    config.touch()
    return subprocess.run(
        [str(cli), "-c", str(config), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="120"),
        check=False,
    )


# --- driving RSTUF's interactive CLI in a pseudo-terminal --------------------------------

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def run_in_pty(args: list[str], steps: list[tuple[bytes, bytes]], timeout: float = 90) -> tuple[int, str]:
    """Run ``args`` in a 40x120 pty; for each (pattern, keys) step, wait for
    the pattern on screen (escape sequences removed), then type the keys.
    Bounded by ``timeout``; the process is killed when it runs over."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40")
    proc = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
    )
    os.close(slave)
    raw = b""
    seen = 0  # screen text already matched by earlier steps
    step = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                raw += chunk
            if step < len(steps):
                text = _ANSI.sub(b"", raw)
                pattern, keys = steps[step]
                m = re.search(pattern, text[seen:])
                if m:
                    seen += m.end()
                    time.sleep(0.2)
                    os.write(master, keys)
                    step += 1
            elif proc.poll() is not None and not ready:
                break
        else:
            proc.kill()
    finally:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)
    screen = _ANSI.sub(b"", raw).decode(errors="replace")
    assert step == len(steps), f"stopped at step {step}: {steps[step][0]!r}\n{screen[-3000:]}"
    return proc.returncode, screen


# --- ceremony fixtures ---------------------------------------------------------------------


def rstuf_keys(workdir: Path) -> None:
    """Key files as RSTUF wants them: a name on every key, and the online
    key's URI (RSTUF's worker loads fn:NAME from its ONLINE_KEY_DIR)."""
    for name in ("alice", "bob", "carol", "online"):
        doc = json.loads((workdir / f"{name}.pub.json").read_text())
        doc["x-rstuf-key-name"] = name
        if name == "online":
            doc["x-rstuf-online-key-uri"] = "fn:online.pem"
        (workdir / f"{name}.rstuf.pub.json").write_text(json.dumps(doc))


def rstuf_plan(workdir: Path, name: str, root_keys: list[str], threshold: int, extra_keys: str = "") -> Path:
    names = sorted({*root_keys, "online"})
    lines = ["[ceremony]", f'name = "{name}"', "[keys]"]
    lines += [f'{n} = "{n}.rstuf.pub.json"' for n in names] + [extra_keys]
    lines += ["[roles.root]", f"keys = {json.dumps(root_keys)}", f"threshold = {threshold}", 'expires = "365d"']
    for role, exp in (("targets", "365d"), ("snapshot", "1d"), ("timestamp", "1d")):
        lines += [f"[roles.{role}]", 'keys = ["online"]', "threshold = 1", f'expires = "{exp}"']
    path = workdir / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bootstrap_ceremony(workdir: Path) -> Path:
    """Root v1 (alice, bob; 2 of 2) merged into workdir/meta."""
    rstuf_keys(workdir)
    plan = rstuf_plan(workdir, "rstuf-bootstrap", ["alice", "bob"], 2)
    req = workdir / "req1.json"
    r = run_cli("prepare", plan, "--out", req)
    assert r.exit_code == 0, r.output + r.stderr
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.b1.json") for n in ("alice", "bob", "online")]
    meta = workdir / "meta"
    r = run_cli("merge", req, *bundles, "--out", meta)
    assert r.exit_code == 0, r.output + r.stderr
    return meta


def test_bootstrap_payload_is_sent_by_rstuf_cli_unchanged(workdir: Path, rstuf_cli: Path) -> None:
    meta = bootstrap_ceremony(workdir)
    out = workdir / "bootstrap-payload.json"
    r = run_cli("export", "rstuf", "bootstrap", meta, "--bins", "16", "--root-days", "365", "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    payload = json.loads(out.read_text())
    root_doc = json.loads((meta / "1.root.json").read_text())
    assert payload["metadata"] == {"root": root_doc}
    assert payload["settings"] == {
        "roles": {
            "root": {"expiration": 365},
            "targets": {"expiration": 365},
            "snapshot": {"expiration": 1},
            "timestamp": {"expiration": 1},
            "bins": {"expiration": 1, "number_of_delegated_bins": 16},
        }
    }
    assert payload["timeout"] == 300
    with fake_rstuf_api() as (url, received):
        p = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "bootstrap", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Bootstrap status: ACCEPTED" in p.stdout
    assert received == [("/api/v1/bootstrap/", payload)]


def test_bootstrap_export_refusals(workdir: Path) -> None:
    rstuf_keys(workdir)
    # an online key without x-rstuf-online-key-uri
    doc = json.loads((workdir / "online.rstuf.pub.json").read_text())
    del doc["x-rstuf-online-key-uri"]
    (workdir / "online.rstuf.pub.json").write_text(json.dumps(doc))
    plan = rstuf_plan(workdir, "no-uri", ["alice"], 1)
    req = workdir / "req.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.json") for n in ("alice", "online")]
    assert run_cli("merge", req, *bundles, "--out", workdir / "m").exit_code == 0
    out = workdir / "p.json"
    r = run_cli("export", "rstuf", "bootstrap", workdir / "m", "--out", out)
    assert r.exit_code == 3
    assert "1.root.json: the online key" in r.stderr and "x-rstuf-online-key-uri" in r.stderr
    assert not out.exists()
    r = run_cli("export", "rstuf", "bootstrap", workdir / "m" / "1.root.json", "--bins", "12", "--out", out)
    assert r.exit_code == 3
    r = run_cli("export", "rstuf", "update", workdir / "m", "--out", out)
    assert r.exit_code == 3 and "use 'export rstuf bootstrap'" in r.stderr
    assert not out.exists()


def test_update_refuses_a_root_whose_fields_rstuf_would_drop(workdir: Path) -> None:
    rstuf_keys(workdir)
    doc = json.loads((workdir / "carol.rstuf.pub.json").read_text())
    doc["x-acme-badge"] = "hsm-42"
    (workdir / "carol.acme.pub.json").write_text(json.dumps(doc))
    meta = bootstrap_ceremony(workdir)
    plan = rstuf_plan(workdir, "v2", ["alice", "bob", "carol"], 2)
    plan.write_text(plan.read_text().replace('carol = "carol.rstuf.pub.json"', 'carol = "carol.acme.pub.json"'))
    req = workdir / "req2.json"
    r = run_cli("prepare", plan, "--trusted", meta, "--out", req)
    assert r.exit_code == 0, r.output + r.stderr
    bundles = [sign_as(workdir, req, n, workdir / f"{n}.b2.json") for n in ("alice", "bob", "online")]
    r = run_cli("merge", req, *bundles, "--out", meta)
    assert r.exit_code == 0, r.output + r.stderr
    out = workdir / "update.json"
    r = run_cli("export", "rstuf", "update", meta, "--trusted", meta, "--out", out)
    assert r.exit_code == 3
    assert "2.root.json: RSTUF's metadata update path would change this root" in r.stderr
    assert "x-acme-badge" in r.stderr
    assert not out.exists()


# Long on purpose: one scenario, step by step in the order people run it.
def test_pending_root_round_trip_with_rstuf_cli(workdir: Path, rstuf_cli: Path) -> None:  # noqa: PLR0915 - one scenario end to end
    """Root v2 adds carol. alice signs with tuf-ceremony; RSTUF's CLI reads
    our pending-signing file and signs as bob; the pending root imported from
    that file is signed by carol with tuf-ceremony; every signature verifies
    and counts in merge, and each payload reaches the API unchanged."""
    meta = bootstrap_ceremony(workdir)
    plan = rstuf_plan(workdir, "v2", ["alice", "bob", "carol"], 2)
    req2 = workdir / "req2.json"
    r = run_cli("prepare", plan, "--trusted", meta, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    alice = sign_as(workdir, req2, "alice", workdir / "alice.b2.json")

    # what GET /api/v1/metadata/sign answers while v2 waits for signatures
    pending = workdir / "pending.json"
    r = run_cli("export", "rstuf", "pending", req2, alice, "--out", pending)
    assert r.exit_code == 0, r.output + r.stderr
    doc = json.loads(pending.read_text())
    assert set(doc["data"]["metadata"]) == {"root", "trusted_root"}
    assert doc["data"]["metadata"]["trusted_root"] == json.loads((meta / "1.root.json").read_text())

    # RSTUF's own CLI reads it and signs as bob with his encrypted key file
    sig_out = workdir / "bob.rstuf-sign.json"
    config = workdir / "rstuf.yml"
    config.touch()
    code, screen = run_in_pty(
        [
            str(rstuf_cli),
            "-c",
            str(config),
            "admin",
            "metadata",
            "sign",
            "--in",
            str(pending),
            "--dry-run",
            "--out",
            str(sig_out),
        ],
        [
            (rb"Select a role to sign", b"\r"),
            (rb"Select key for signing", b"\r"),
            (rb"Key PEM File", b"\x1b[B\r"),
            (rb"path.{0,20}to encrypted private key", str(workdir / "bob.pem").encode() + b"\r"),
            (rb"password", PASSPHRASES["bob"].encode() + b"\r"),
        ],
    )
    assert code == 0, screen[-3000:]
    assert "Signed metadata with key 'bob'" in screen
    assert "Version: 2" in screen  # RSTUF's review shows the pending root
    bob_payload = json.loads(sig_out.read_text())
    assert bob_payload["role"] == "root"

    # tuf-ceremony imports the same pending answer, pinned to the keyholder's copy
    req_rstuf = workdir / "req-rstuf.json"
    r = run_cli("import", "rstuf", pending, "--trusted", meta, "--out", req_rstuf)
    assert r.exit_code == 0, r.output + r.stderr
    assert "RSTUF already holds 1 signature(s)" in r.output
    imported = json.loads(req_rstuf.read_text())
    original = json.loads(req2.read_text())
    assert imported["payloads"][0]["digest"] == original["payloads"][0]["digest"]
    names = {v["name"] for v in imported["keys"].values()}
    assert {"alice", "bob", "carol", "online"} <= names
    carol = sign_as(workdir, req_rstuf, "carol", workdir / "carol.b2.json")
    carol_payload = workdir / "carol.sign.json"
    r = run_cli("export", "rstuf", "sign", req_rstuf, carol, "--out", carol_payload)
    assert r.exit_code == 0, r.output + r.stderr

    # the RSTUF CLI's signature becomes a bundle (verified), and with alice's and
    # carol's it meets both thresholds (old root 2 of 2, new root 2 of 3)
    bob = workdir / "bob.from-rstuf.json"
    r = run_cli("import", "rstuf-signature", sig_out, "--request", req_rstuf, "--out", bob)
    assert r.exit_code == 0, r.output + r.stderr
    alice2 = sign_as(workdir, req_rstuf, "alice", workdir / "alice.b3.json")
    r = run_cli("status", req_rstuf, alice2, bob, carol, "--json")
    assert r.exit_code == 0, r.output + r.stderr
    status = json.loads(r.output)
    assert status["complete"] is True
    out = workdir / "repo"
    shutil.copytree(meta, out)
    r = run_cli("merge", req_rstuf, alice2, bob, carol, "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    from tuf.api.metadata import Metadata

    from tuf_ceremony.policy import check_delegate

    v1 = Metadata.from_file(str(meta / "1.root.json"))
    v2 = Metadata.from_file(str(out / "2.root.json"))
    assert bob_payload["signature"]["keyid"] in v2.signatures
    for delegator in (v1.signed, v2.signed):
        res = check_delegate(delegator, "root", v2.signed_bytes, v2.signatures)
        assert res.met
    v1.signed.verify_delegate("root", v2.signed_bytes, v2.signatures)
    v2.signed.verify_delegate("root", v2.signed_bytes, v2.signatures)

    update = workdir / "update.json"
    r = run_cli("export", "rstuf", "update", out, "--trusted", meta, "--out", update)
    assert r.exit_code == 0, r.output + r.stderr
    with fake_rstuf_api() as (url, received):
        p1 = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "sign", carol_payload)
        p2 = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "sign", sig_out)
        p3 = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "update", update)
    for p in (p1, p2, p3):
        assert p.returncode == 0, p.stdout + p.stderr
    carol_doc = json.loads(carol_payload.read_text())
    assert received == [
        ("/api/v1/metadata/sign/", carol_doc),
        ("/api/v1/metadata/sign/", bob_payload),
        ("/api/v1/metadata/", json.loads(update.read_text())),
    ]
    assert carol_doc["role"] == "root" and set(carol_doc["signature"]) == {"keyid", "sig"}
    assert json.loads(update.read_text()) == {"metadata": {"root": v2.to_dict()}}


def test_bootstrap_settings_from_the_plan(workdir: Path, rstuf_cli: Path) -> None:
    """Expirations and custom delegations (or hash bins) come from the plan the
    root was prepared from; RSTUF's CLI posts the payload unchanged."""
    meta = bootstrap_ceremony(workdir)
    plan = workdir / "rstuf-bootstrap.toml"
    text = plan.read_text().replace('expires = "1d"', 'expires = "7d"')
    plan.write_text(
        text
        + "\n".join(
            [
                "[[roles.targets.delegations]]",
                'name = "dev"',
                'keys = ["online"]',
                "threshold = 1",
                'paths = ["dev/*"]',
                "terminating = true",
                "[[roles.targets.delegations]]",
                'name = "releases"',
                'keys = ["alice", "bob"]',
                "threshold = 2",
                'paths = ["releases/*", "stable/*"]',
            ]
        )
        + "\n"
    )
    out = workdir / "bootstrap.json"
    r = run_cli("export", "rstuf", "bootstrap", meta, "--plan", plan, "--delegation-days", "30", "--out", out)
    assert r.exit_code == 0, r.output + r.stderr
    assert "2 custom delegation(s)" in r.output
    roles = json.loads(out.read_text())["settings"]["roles"]
    assert "bins" not in roles
    assert roles["snapshot"] == {"expiration": 7} and roles["timestamp"] == {"expiration": 7}
    assert roles["targets"] == {"expiration": 365}
    dele = roles["delegations"]
    assert [d["name"] for d in dele["roles"]] == ["dev", "releases"]
    rel = dele["roles"][1]
    assert rel["threshold"] == 2 and rel["paths"] == ["releases/*", "stable/*"]
    assert rel["x-rstuf-expire-policy"] == 30 and rel["terminating"] is False
    assert set(rel["keyids"]) <= set(dele["keys"])
    with fake_rstuf_api() as (url, received):
        p = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "bootstrap", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert received == [("/api/v1/bootstrap/", json.loads(out.read_text()))]

    # TAP 15 succinct bins in the plan: RSTUF's hash bins, as many
    plan.write_text(text + '[roles.targets.succinct_delegations]\nkeys = ["online"]\nthreshold = 1\nbit_length = 5\n')
    r = run_cli("export", "rstuf", "bootstrap", meta, "--plan", plan, "--out", out, "--force")
    assert r.exit_code == 0, r.output + r.stderr
    assert json.loads(out.read_text())["settings"]["roles"]["bins"] == {"expiration": 1, "number_of_delegated_bins": 32}

    # what RSTUF cannot express is refused, naming the plan entry
    plan.write_text(
        text + '[[roles.targets.delegations]]\nname = "dev"\nkeys = ["online"]\n'
        'threshold = 1\npath_hash_prefixes = ["00"]\n'
    )
    r = run_cli("export", "rstuf", "bootstrap", meta, "--plan", plan, "--out", workdir / "x.json")
    assert r.exit_code == 3 and "not path_hash_prefixes" in r.stderr
    assert not (workdir / "x.json").exists()


def test_partly_signed_update_and_bootstrap_for_rstuf_to_hold_pending(workdir: Path, rstuf_cli: Path) -> None:
    """RSTUF keeps a root below its thresholds pending signatures: export it
    from the request and the bundles collected so far."""
    meta = bootstrap_ceremony(workdir)
    # v2 drops bob and adds carol: bob's signature counts for the old root only
    plan = rstuf_plan(workdir, "v2", ["alice", "carol"], 2, extra_keys='bob = "bob.rstuf.pub.json"')
    req2 = workdir / "req2.json"
    r = run_cli("prepare", plan, "--trusted", meta, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    alice = sign_as(workdir, req2, "alice", workdir / "alice.b2.json")
    bob = sign_as(workdir, req2, "bob", workdir / "bob.b2.json")
    out = workdir / "update.json"
    r = run_cli("export", "rstuf", "update", "--request", req2, "--bundle", alice, "--bundle", bob, "--out", out)
    assert r.exit_code == 1 and "is not by a root key" in r.stderr and "--trusted" in r.stderr
    assert not out.exists()
    r = run_cli(
        "export",
        "rstuf",
        "update",
        "--request",
        req2,
        "--bundle",
        alice,
        "--bundle",
        bob,
        "--trusted",
        meta,
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "threshold is not met: RSTUF keeps this root pending" in r.stderr
    payload = json.loads(out.read_text())
    assert len(payload["metadata"]["root"]["signatures"]) == 2
    assert payload["metadata"]["root"]["signed"]["version"] == 2
    with fake_rstuf_api() as (url, received):
        p = rstuf(rstuf_cli, workdir, "admin", "--api-server", url, "send", "update", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert received == [("/api/v1/metadata/", payload)]

    # a first root with one of its two signatures
    req1 = workdir / "req1.json"
    boot = workdir / "bootstrap.json"
    r = run_cli("export", "rstuf", "bootstrap", "--request", req1, "--bundle", workdir / "alice.b1.json", "--out", boot)
    assert r.exit_code == 0, r.output + r.stderr
    assert "RSTUF keeps it pending signatures" in r.stderr
    assert len(json.loads(boot.read_text())["metadata"]["root"]["signatures"]) == 1
    r = run_cli("export", "rstuf", "bootstrap", meta, "--request", req1, "--out", boot, "--force")
    assert r.exit_code == 3 and "give a merged ROOT" in r.stderr
