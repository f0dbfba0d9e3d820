"""``sign`` on a terminal: summary, paged details, confirmation screen.

Each test runs ``tuf-ceremony sign`` in a pseudo-terminal of a fixed size
and reads the screen through a terminal emulator (tests/fixtures_screen.py),
so the assertions are about what the keyholder sees when the question is
asked, after everything that scrolled or was cleared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures_core import PASSPHRASES, run_cli, sign_as, write_plan
from tests.fixtures_screen import PtySession
from tuf_ceremony.request import load_request
from tuf_ceremony.words import digest_words

STATUS = re.compile(r"^-- (summary|details) (\d+)/(\d+) ")


@pytest.fixture
def rotation(workdir: Path) -> Path:
    """A root rotation request: v1 (alice, bob, carol; 2 of 3) to v2 where
    carol is revoked and dave added, prepared with ``prepare --trusted``."""
    repo = workdir / "repo"
    req1 = workdir / "request1.json"
    assert run_cli("prepare", write_plan(workdir / "plan1.toml"), "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.bundle.json") for n in ("alice", "bob")]
    r = run_cli("merge", req1, *bundles, "--out", repo)
    assert r.exit_code == 0, r.output + r.stderr
    plan2 = write_plan(
        workdir / "plan2.toml", root=(["alice", "bob", "dave"], 2), keys=["alice", "bob", "carol", "dave", "online"]
    )
    req2 = workdir / "request2.json"
    r = run_cli("prepare", plan2, "--trusted", repo, "--out", req2)
    assert r.exit_code == 0, r.output + r.stderr
    return req2


def _status(s: PtySession) -> tuple[str, int, int] | None:
    for line in reversed(s.lines()):
        m = STATUS.match(line)
        if m:
            return m.group(1), int(m.group(2)), int(m.group(3))
    return None


def page_through(s: PtySession) -> list[tuple[str, int, int]]:
    """Press space on every page of the summary and the details, until the
    passphrase is asked; returns the pages seen."""
    seen: list[tuple[str, int, int]] = []
    s.wait_for("-- summary 1/")
    while True:
        st = _status(s)
        assert st is not None, s.text()
        seen.append(st)
        s.send(" ")
        if st[0] == "details" and st[1] == st[2]:
            s.wait_for("Enter passphrase")
            return seen
        nxt = ("details", 1) if st[0] == "summary" and st[1] == st[2] else (st[0], st[1] + 1)
        s.wait_for(f"-- {nxt[0]} {nxt[1]}/")


def words_on_screen(lines: list[str], role: str) -> list[str]:
    """The numbered word rows that follow the payload's title (and its
    "Words of ROLE" heading, when the screen has room for it)."""
    start = next(
        i
        for i, line in enumerate(lines)
        if line.startswith(f"{role} (after") or line.strip().startswith(f"Words of {role}")
    )
    start = next(i for i in range(start, len(lines)) if lines[i].split()[:1] == ["1"])
    words: list[str] = []
    for line in lines[start:]:
        parts = line.split()
        if not parts or not parts[0].isdigit():
            break
        assert int(parts[0]) == len(words) + 1, line
        words += parts[1:]
    return words


def _open(workdir: Path, req: Path, cols: int, rows: int, name: str = "alice", out: Path | None = None) -> PtySession:
    out = out or workdir / f"{name}.bundle.json"
    return PtySession(["sign", req, "--key", workdir / f"{name}.pem", "--out", out], workdir, cols, rows)


def test_confirmation_screen_80x24_holds_the_rotation_and_the_words(workdir: Path, rotation: Path) -> None:
    request = load_request(rotation)
    s = _open(workdir, rotation, 80, 24)
    pages = page_through(s)
    assert pages[0] == ("summary", 1, pages[0][2]) and any(p[0] == "details" for p in pages)
    s.send(PASSPHRASES["alice"] + "\r")
    screen = s.wait_for("Sign these payloads? [y/N]")
    lines = s.lines()
    (workdir / "confirmation-80x24.txt").write_text(screen + "\n")
    # nothing scrolled away: the first line of the confirmation is still on screen
    assert lines[0].startswith("Sign with alice (keyid ")
    assert "Trusted root v1: NOT PINNED, SHA-256 " in screen
    assert "root v2 (after v1)" in screen
    assert re.search(r"root: key removed: carol \([0-9a-f]{12}\)", screen)
    assert re.search(r"root: key added: dave \([0-9a-f]{12}\)", screen)
    assert "The old root (version 1) needs 2 of these 3 keys to sign: alice, bob, carol." in screen
    assert "The new root (version 2) needs 2 of these 3 keys to sign: alice, bob, dave." in screen
    assert "targets v2 (after v1)" in screen
    root_p, targets_p = request.payload("root"), request.payload("targets")
    assert root_p is not None and targets_p is not None
    assert words_on_screen(lines, "root v2") == digest_words(root_p.digest)
    assert words_on_screen(lines, "targets v2") == digest_words(targets_p.digest)
    # the instruction on one line of its own, whole
    assert ("Compare with the coordinator and the keyholders. If any word differs, answer N.") in lines
    assert max(i for i, line in enumerate(lines) if line) <= 23
    s.send("n\r")
    assert s.finish() == 8
    assert not (workdir / "alice.bundle.json").exists()


def test_answer_yes_writes_the_bundle_and_says_what_to_do(workdir: Path, rotation: Path) -> None:
    s = _open(workdir, rotation, 80, 24)
    s.wait_for("-- summary 1/")
    # the software key shows its roles before the passphrase is asked
    assert "Your key: alice, keyid" in s.text()
    assert "It signs: root version 2, targets version 2." in s.text()
    s.send("q")  # straight to the confirmation
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("[y/N]")
    s.send("y\r")
    s.wait_for("It holds no secret.")
    assert "Give alice.bundle.json to the coordinator. It holds no secret." in s.text()
    assert s.finish() == 0
    assert (workdir / "alice.bundle.json").is_file()
    r = run_cli("status", rotation, workdir / "alice.bundle.json")
    assert r.exit_code == 1 and "refused" not in r.stderr


@pytest.mark.parametrize(("cols", "rows"), [(60, 60), (132, 24), (100, 30)])
def test_same_words_on_every_width_and_no_line_wider_than_the_screen(
    workdir: Path, rotation: Path, cols: int, rows: int
) -> None:
    request = load_request(rotation)
    s = _open(workdir, rotation, cols, rows)
    s.wait_for("-- summary 1/")
    s.send("q")
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("[y/N]")
    lines = s.lines()
    root_p = request.payload("root")
    assert root_p is not None
    assert words_on_screen(lines, "root v2") == digest_words(root_p.digest)
    # every keyid shown whole on one line (the terminal never wrapped one)
    for kid in re.findall(r"keyid ([0-9a-f]+)", "\n".join(lines)):
        assert len(kid) in (12, 64)
    s.send("n\r")
    assert s.finish() == 8


def test_wrong_passphrase_is_asked_again_without_repeating_the_review(workdir: Path, rotation: Path) -> None:
    s = _open(workdir, rotation, 80, 24)
    s.wait_for("-- summary 1/")
    s.send("q")
    s.wait_for("Enter passphrase")
    s.send("not-the-passphrase\r")
    s.wait_for("Try again (2 tries left)")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("[y/N]")
    assert s.raw.count(b"-- summary 1/") == 1
    s.send("n\r")
    assert s.finish() == 8


def test_three_wrong_passphrases_end_with_exit_5_and_nothing_written(workdir: Path, rotation: Path) -> None:
    s = _open(workdir, rotation, 80, 24)
    s.wait_for("-- summary 1/")
    s.send("q")
    for left in (2, 1):
        s.wait_for("Enter passphrase")
        s.send("wrong-passphrase\r")
        s.wait_for(f"Try again ({left} tr")
    s.send("wrong-passphrase\r")
    assert s.finish() == 5
    assert b"wrong passphrase" in s.raw
    assert not (workdir / "alice.bundle.json").exists()


def test_public_key_file_beside_the_key_must_match_it(workdir: Path, rotation: Path) -> None:
    # an attacker swaps the untrusted public key file: bob's key beside alice's private key
    (workdir / "alice.pub.json").write_bytes((workdir / "bob.pub.json").read_bytes())
    r = run_cli(
        "sign",
        rotation,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "x.json",
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r.exit_code == 3
    assert "does not match the public key file beside it" in r.stderr
    assert not (workdir / "x.json").exists()


def test_key_generate_refuses_a_short_passphrase_at_the_first_entry(tmp_path: Path) -> None:
    s = PtySession(["key", "generate", "--type", "ed25519", "--private-out", tmp_path / "k.pem"], tmp_path, 80, 24)
    s.wait_for("Enter passphrase for k.pem")
    s.send("short\r")
    screen = s.wait_for("Too short")
    assert "Repeat" not in screen
    s.wait_for("Enter passphrase for k.pem")
    s.send("a-long-passphrase\r")
    s.wait_for("Repeat passphrase")
    s.send("a-long-passphrase\r")
    assert s.finish() == 0
    # the public key is written beside the private key, where sign finds it
    assert (tmp_path / "k.pub.json").is_file()


def test_pinned_trusted_root_is_shown_as_pinned(workdir: Path, rotation: Path) -> None:
    repo = workdir / "repo"
    r = run_cli(
        "sign",
        rotation,
        "--key",
        workdir / "alice.pem",
        "--out",
        workdir / "a.json",
        "--trusted",
        repo,
        "--yes",
        input=PASSPHRASES["alice"] + "\n",
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "Trusted root v1: pinned, equal to your own copy." in r.output
    r = run_cli(
        "sign",
        rotation,
        "--key",
        workdir / "bob.pem",
        "--out",
        workdir / "b.json",
        "--yes",
        input=PASSPHRASES["bob"] + "\n",
    )
    assert r.exit_code == 0, r.output + r.stderr
    assert "Trusted root v1: NOT PINNED, SHA-256 " in r.output
    s = _open(workdir, rotation, 80, 24, out=workdir / "c.json")
    screen = s.wait_for("-- summary 1/")
    assert "NOT PINNED" in screen and "Words of the trusted root" in screen
    s.send("q")
    s.wait_for("Enter passphrase")
    s.send("\x03")  # Ctrl-C at the passphrase: nothing written
    assert s.finish() != 0
    assert not (workdir / "c.json").exists()


def test_yes_on_a_terminal_prints_the_whole_review_without_pager(workdir: Path, rotation: Path) -> None:
    s = PtySession(
        ["sign", rotation, "--key", workdir / "alice.pem", "--out", workdir / "alice.bundle.json", "--yes"],
        workdir,
        80,
        24,
    )
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("It holds no secret.")
    assert s.finish() == 0
    assert b"-- summary" not in s.raw and b"\x1b[2J" not in s.raw
    assert b"== End of the review ==" in s.raw and b"read aloud: 1." in s.raw
    assert (workdir / "alice.bundle.json").is_file()


def test_every_page_keeps_its_first_line_on_screen(workdir: Path, rotation: Path) -> None:
    """A full page ends without a newline: the bottom line must not scroll
    the page's first line away (the ceremony name, the start of the details)."""
    from tuf_ceremony.cli.screens import pages, wrap_all
    from tuf_ceremony.review import render_review

    book = pages(wrap_all(render_review(load_request(rotation)).splitlines(), 80), 24)
    s = _open(workdir, rotation, 80, 24)
    s.wait_for("-- summary 1/")
    assert s.lines()[0].startswith('Signing request for ceremony "'), s.text()
    st = _status(s)
    assert st is not None
    while st[0] == "summary":
        s.send(" ")
        nxt = ("details", 1) if st[1] == st[2] else ("summary", st[1] + 1)
        s.wait_for(f"-- {nxt[0]} {nxt[1]}/")
        st = _status(s)
        assert st is not None
    for n, want in enumerate(book, start=1):
        assert _status(s) == ("details", n, len(book))
        assert s.lines()[: len(want)] == [line.rstrip() for line in want], s.text()
        s.send(" ")
        if n < len(book):
            s.wait_for(f"-- details {n + 1}/")
    s.wait_for("Enter passphrase")
    # the prompt starts on a line of its own, below the last status line
    assert any(line.startswith("Enter passphrase") for line in s.lines()), s.text()
    s.send("\x03")
    s.finish()
    assert not (workdir / "alice.bundle.json").exists()


@pytest.mark.parametrize("cols", [80, 60])
def test_lines_after_signing_are_wrapped_not_cut_by_the_terminal(workdir: Path, rotation: Path, cols: int) -> None:
    s = PtySession(["sign", rotation, "--key", "alice.pem", "--out", "alice.2.bundle.json"], workdir, cols, 24)
    s.wait_for("-- summary 1/")
    s.send("q")
    s.wait_for("Enter passphrase")
    s.send(PASSPHRASES["alice"] + "\r")
    s.wait_for("[y/N]")
    s.send("y\r")
    assert s.finish() == 0
    lines = s.lines()
    start = next(i for i, line in enumerate(lines) if line.startswith("signature bundle written: "))
    tail = lines[start:]
    # every word whole on one line: the wrapped lines joined by spaces give the messages
    words = " ".join(" ".join(tail).split())
    assert (
        "signature bundle written: alice.2.bundle.json (2 signature(s), each verified "
        "against the public key) written and flushed to disk"
    ) in words, s.text()
    assert "Give alice.2.bundle.json to the coordinator. It holds no secret." in words
    for line in tail:
        assert len(line) < cols, line  # nothing reached the edge, so nothing was cut


def test_closing_line_alone_never_makes_an_empty_summary_page(workdir: Path, rotation: Path) -> None:
    """At a height where only the closing "Next: ..." lines would spill onto a
    second summary page, the summary is one page (its status line says space
    shows the details)."""
    from tuf_ceremony.cli.screens import summary_lines, wrap_all
    from tuf_ceremony.keys import load_public_key
    from tuf_ceremony.signing import require_slots

    request = load_request(rotation)
    slots = require_slots(request, load_public_key(workdir / "alice.pub.json"), "alice.pem")
    whole = wrap_all(summary_lines(request, slots, None, 80), 80)
    rows = len(whole)  # a page of rows - 1 lines: everything but the last line fits
    s = _open(workdir, rotation, 80, rows)
    s.wait_for("-- summary 1/")
    assert _status(s) == ("summary", 1, 1), s.text()
    assert "Next: the full details" not in s.text()
    assert s.lines()[0].startswith('Signing request for ceremony "')
    s.send(" ")
    s.wait_for("-- details 1/")
    s.send("\x03")
    s.finish()
