"""``tuf-ceremony script``: the printable run sheet from a plan, in Markdown
and in HTML, with every plan string escaped."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from tests.fixtures_core import run_cli, write_plan
from tests.fixtures_softhsm import SoftHSM, cli_token_key


def test_markdown_run_sheet_lists_every_step(workdir: Path) -> None:
    plan = write_plan(workdir / "plan.toml", root=(["alice", "bob", "carol"], 2), targets=(["alice", "bob"], 2))
    out = workdir / "sheet.md"
    r = run_cli("script", plan, "--out", out)
    assert r.exit_code == 0, r.output
    assert "run sheet written" in r.output and "(11 steps, 3 keyholder(s))" in r.output
    text = out.read_text()
    titles = re.findall(r"^## Step (\d+)\. (.*)$", text, re.MULTILINE)
    assert titles == [
        ("1", "Pre-flight of the coordinator's machine"),
        ("2", "Pre-flight of alice's signing machine"),
        ("3", "Pre-flight of bob's signing machine"),
        ("4", "Pre-flight of carol's signing machine"),
        ("5", "Prepare the signing request from the reviewed plan"),
        ("6", "alice signs (root, targets)"),
        ("7", "bob signs (root, targets)"),
        ("8", "carol signs (root)"),
        ("9", "Merge the bundles"),
        ("10", "Verify the result"),
        ("11", "Hand-off and publication of the record"),
    ]
    assert "tuf-ceremony prepare plan.toml --out request.json --transcript coordinator.jsonl" in text
    # the sheet names the plan it was made from, by digest
    from tuf_ceremony.words import digest_words, group_hex

    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    assert f"Plan: plan.toml, SHA-256 {group_hex(digest)}" in text
    assert f"Plan digest words: {' '.join(digest_words(digest))}" in text
    assert (
        "tuf-ceremony sign request.json --key <private key file of carol> --out "
        "carol.bundle.json --transcript carol.jsonl"
    ) in text
    assert "Key brought: the private key matching carol.pub.json (keyid " in text
    assert (
        "tuf-ceremony merge request.json alice.bundle.json bob.bundle.json "
        "carol.bundle.json --out repository --transcript coordinator.jsonl"
    ) in text
    # who performs and witnesses, and a blank line for every sign-off
    step8 = text.split("## Step 8.")[1].split("## Step 9.")[0]
    assert "- Performed by: carol" in step8
    assert "- Witnessed by: the coordinator, alice, bob" in step8
    for line in (
        "Time started (UTC)",
        "Review digest words (after signing; the same for every keyholder)",
        "Last record hash words",
        "Signature of the performer",
        "Signature of a witness",
    ):
        assert f"{line}: ________" in step8
    assert "Tool fingerprint words: ____" in text
    assert "Last record hash words of each transcript: ____" in text
    # the online key brings nothing to the room
    assert "online" not in text.split("## Keyholders")[1].split("Date:")[0]
    r = run_cli("script", plan, "--out", out)
    assert r.exit_code == 7


def test_token_key_is_named_by_its_uri(pkcs11_fresh: SoftHSM, workdir: Path) -> None:
    token = f"script-{uuid.uuid4().hex[:8]}"
    uri = f"pkcs11:token={token};object=kh 1"
    cli_token_key(pkcs11_fresh, token, uri, workdir / "kh.pub.json")
    plan = write_plan(workdir / "plan.toml", root=(["alice", "kh"], 2), targets=(["alice"], 1))
    plan.write_text(plan.read_text().replace('kh = "kh.pub.json"', f'kh = "{uri}"'))
    out = workdir / "sheet.md"
    r = run_cli("script", plan, "--out", out)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert f"tuf-ceremony sign request.json --key '{uri}' --out kh.bundle.json" in text
    assert f"Key brought: hardware key {uri} (keyid" in text


HOSTILE = "<script>alert('x')</script>\\u001b[31m & *bold* `tick` | <!-- -->"
HOSTILE_KEY = "<img src=x onerror=alert(1)>"


def _hostile_plan(workdir: Path) -> Path:
    plan = write_plan(workdir / "plan.toml", root=(["alice", "bob"], 1), targets=(["bob"], 1))
    text = plan.read_text().replace('alice = "alice.pub.json"', f'"{HOSTILE_KEY}" = "alice.pub.json"')
    text = text.replace('keys = ["alice", "bob"]', f'keys = ["{HOSTILE_KEY}", "bob"]')
    plan.write_text(f'[ceremony]\nname = "{HOSTILE}"\n' + text)
    return plan


def test_html_run_sheet_escapes_every_plan_string(workdir: Path) -> None:
    plan = _hostile_plan(workdir)
    out = workdir / "sheet.html"
    r = run_cli("script", plan, "--out", out, "--html")
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "<img" not in page and "<!-- -->" not in page
    assert "\x1b" not in page
    assert (
        "<h1>Ceremony run sheet: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\\x1b[31m "
        "&amp; *bold* `tick` | &lt;!-- --&gt;</h1>"
    ) in page
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in page
    # the key's file names keep only safe characters
    assert "--out img-src-x-onerror-alert-1.preflight.json" in page
    # self-contained: nothing loaded from elsewhere
    assert not re.search(r"(src|href)\s*=", page.replace("src=x", ""))
    assert page.count('<section class="step">') == 9


def test_markdown_run_sheet_escapes_every_plan_string(workdir: Path) -> None:
    plan = _hostile_plan(workdir)
    out = workdir / "sheet.md"
    assert run_cli("script", plan, "--out", out).exit_code == 0
    text = out.read_text()
    assert "<script" not in text and "<img" not in text and "\x1b" not in text
    assert text.splitlines()[0] == (
        "# Ceremony run sheet: &lt;script&gt;alert('x')&lt;/script&gt;\\\\x1b\\[31m &amp; "
        "\\*bold\\* \\`tick\\` \\| &lt;\\!-- --&gt;"
    )
