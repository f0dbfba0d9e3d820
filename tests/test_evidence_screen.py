"""``sign --transcript`` on an 80x24 terminal: after the bundle is written
the keyholder sees the transcript's record hash and the review digest words
(what the witnesses write on the run sheet), and both are bound in the
bundle and the record."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures_core import PASSPHRASES, run_cli, write_plan
from tests.fixtures_screen import PtySession
from tuf_ceremony.evidence.transcript import record_hash
from tuf_ceremony.request import load_request
from tuf_ceremony.review import review_digest
from tuf_ceremony.words import digest_words, group_hex


def test_sign_on_a_terminal_shows_the_review_digest_words(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml")
    req = workdir / "request.json"
    assert run_cli("prepare", plan, "--out", req).exit_code == 0
    t = workdir / "alice.jsonl"
    s = PtySession(
        ["sign", req, "--key", workdir / "alice.pem", "--out", workdir / "alice.bundle.json", "--transcript", t],
        workdir,
        80,
        24,
    )
    s.wait_for("-- summary 1/")
    s.send("q")  # straight to the confirmation
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("[y/N]")
    s.send("y\r")
    s.wait_for("the same for every keyholder")
    assert s.finish() == 0
    lines = s.lines()
    digest = review_digest(load_request(req))
    line = t.read_bytes().splitlines()[0]
    h = record_hash(line)
    assert f"  record hash {group_hex(h[:16])}: {' '.join(digest_words(h, 4))}" in lines
    assert f"  review digest {group_hex(digest[:16])}: {' '.join(digest_words(digest, 4))}" in lines
    assert "  (the review digest is the same for every keyholder of this request)" in lines
    assert json.loads(line)["review_digest"] == digest
    assert json.loads((workdir / "alice.bundle.json").read_text())["review_digest"] == digest
