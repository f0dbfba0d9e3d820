"""What the coordinator reads at a terminal is never cut by it (issue 10).

``prepare`` and ``rotate`` print the digest words the coordinator reads aloud;
errors and warnings are one line each. At an 80-column terminal these lines
are wrapped at spaces (words in numbered rows, as on the keyholders'
confirmation screens), so no word or digit group is split by the terminal's
edge. Each test runs the command in a pseudo-terminal and reads the screen
through a terminal emulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, sign_as, write_plan
from tests.fixtures_screen import PtySession
from tuf_ceremony.keys import load_public_key
from tuf_ceremony.request import load_request
from tuf_ceremony.words import digest_words


def _word_rows(lines: list[str], after: int) -> list[str]:
    """The numbered word rows that follow the ``read aloud:`` line ``after``."""
    words: list[str] = []
    for line in lines[after + 1 :]:
        parts = line.split()
        if not parts or not parts[0].isdigit():
            break
        assert int(parts[0]) == len(words) + 1, line
        words += parts[1:]
    return words


def _repo(workdir: Path) -> Path:
    req1 = workdir / "request1.json"
    plan = write_plan(
        workdir / "plan.toml",
        extra=(  # PEP 458: every path to bins, online
            '[[roles.targets.delegations]]\nname = "bins"\nkeys = ["online"]\nthreshold = 1\n'
            'paths = ["*"]\nterminating = true\n'
        ),
    )
    assert run_cli("prepare", plan, "--out", req1).exit_code == 0
    bundles = [sign_as(workdir, req1, n, workdir / f"{n}1.json") for n in ("alice", "bob")]
    assert run_cli("merge", req1, *bundles, "--out", workdir / "repo").exit_code == 0
    return workdir / "repo"


def test_rotate_at_80_columns_prints_every_word_whole_in_numbered_rows(workdir: Path) -> None:
    _repo(workdir)
    s = PtySession(
        [
            "rotate",
            "--trusted",
            "repo",
            "--role",
            "timestamp",
            "--role",
            "snapshot",
            "--revoke",
            "online",
            "--add",
            "online2.pub.json",
            "--names",
            "plan.toml",
            "--out",
            "urgent.json",
        ],
        workdir,
        80,
        200,
    )
    assert s.finish() == 0, s.text()
    lines = s.lines()
    request = load_request(workdir / "urgent.json")
    starts = [i for i, line in enumerate(lines) if line.strip() == "read aloud:"]
    assert len(starts) == len(request.payloads) == 2, s.text()
    for start, payload in zip(starts, request.payloads, strict=True):
        assert _word_rows(lines, start) == digest_words(payload.digest), s.text()
    # the long "after this root" line is wrapped at a space, not cut mid-word
    text = " ".join(" ".join(lines).split())
    assert (
        "delegated roles signed by a replaced online key (e.g. PEP 458 bins): re-sign every one with a bumped version"
    ) in text
    assert all(len(line) <= 80 for line in lines)


def test_prepare_piped_keeps_one_line_of_words(workdir: Path) -> None:
    r = run_cli("prepare", write_plan(workdir / "plan.toml"), "--out", workdir / "r.json")
    assert r.exit_code == 0
    words = digest_words(load_request(workdir / "r.json").payloads[0].digest)
    assert "read aloud: " + " ".join(f"{n}.{w}" for n, w in enumerate(words, 1)) in r.output


def test_an_error_at_80_columns_is_wrapped_at_spaces(workdir: Path) -> None:
    _repo(workdir)
    s = PtySession(
        [
            "rotate",
            "--trusted",
            "repo",
            "--role",
            "timestamp",
            "--revoke",
            "no-such-key-anywhere",
            "--add",
            "online2.pub.json",
            "--names",
            "plan.toml",
            "--out",
            "urgent.json",
        ],
        workdir,
        80,
        24,
    )
    code = s.finish()
    assert code == 9 or code == 3, (code, s.text())
    lines = [line for line in s.lines() if line]
    first = next(i for i, line in enumerate(lines) if line.startswith("tuf-ceremony: error: "))
    message = lines[first:]
    assert len(message) > 1 and all(len(line) < 80 for line in message), s.text()
    assert "--revoke no-such-key-anywhere: no key of the trusted root has that name or keyid" in " ".join(
        " ".join(message).split()
    )
    assert not (workdir / "urgent.json").exists()


def test_prepare_table_turns_vertical_instead_of_truncating_a_long_name(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = "alice-the-treasurer-of-the-python-software-foundation-board"
    plan = write_plan(
        workdir / "plan.toml",
        root=([long, "bob", "carol"], 2),
        targets=([long, "bob"], 2),
        keys=[long, "bob", "carol", "online"],
    )
    (workdir / f"{long}.pub.json").write_bytes((workdir / "alice.pub.json").read_bytes())
    monkeypatch.setenv("COLUMNS", "80")
    r = run_cli("prepare", plan, "--out", workdir / "r.json")
    assert r.exit_code == 0, r.output + r.stderr
    assert "\u2026" not in r.output  # rich's ellipsis: a cell cut without a word
    kid = load_public_key(workdir / "alice.pub.json").keyid
    # the name (cut by safe() at 60 characters, visibly) and the keyid, both whole
    assert f"{long} ({kid[:12]})" in " ".join(r.output.split())
    assert "role:" in r.output and "threshold:" in r.output  # the vertical layout
    table = [
        line for line in r.output.splitlines() if line.startswith(("  role", "  threshold", "  keys", "    ", "      "))
    ]
    assert table and all(len(line) <= 80 for line in table), table
