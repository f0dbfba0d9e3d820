"""Every command shown in README.md and docs/*.md runs, with the exit code the
doc states (issue 10: a documented command cannot silently break again).

How a doc is read
-----------------
* Fenced blocks tagged ``sh``, ``shell``, ``bash`` or ``console`` are run; so
  is an untagged block holding a line that starts with ``tuf-ceremony``. A
  synopsis (``tuf-ceremony verify DIR [--at TIME]``) goes in a ``text`` block.
* In ``console`` blocks only ``$ `` lines are commands; the rest is output.
* Each line (with ``\\`` continuations joined) is one command. Lines whose
  every program is in :data:`RUNNABLE` run (``tuf-ceremony``, and harmless
  shell such as ``printf``, ``cp``, ``export``, ``softhsm2-util``); others
  (``ykman``, ``sudo apt install``, ``$EDITOR``) are skipped, never run.
* A trailing comment naming an exit code (``# exit 1 until 2 of 3 signed``)
  is the expected exit code of that line; otherwise 0.
* ``<!-- not-run: REASON -->`` on the line before a block skips the block.
  Keep these rare: for hardware this machine cannot have (a YubiKey).

Where the commands run
----------------------
Every doc page runs, top to bottom, in one shell in its own copy of a
prepared "ceremony room" (:func:`room`): software keys ``alice``, ``bob``,
``carol``, ``online`` (``NAME.pem`` encrypted with ``NAME-passphrase``,
``NAME.pub.json``); SoftHSM2 tokens ``alice``, ``bob``, ``carol`` holding the
same keys as the files (one key, labelled ``root``), and empty tokens
``dave``, ``erin`` and ``online`` for new keys, user PIN ``1234``; ``plan.toml`` (root and targets
alice, bob, carol 2-of-3, snapshot and timestamp ``online``, and, as in PEP 458, a
delegation of every path to ``bins``, signed by ``online``); ``repo/`` with
root and targets v1 signed by that plan; ``request.json`` (the renewal,
root and targets v2, unsigned); ``usb/``, which stands for the stick at
``/media/usb`` and holds a copy of ``request.json``; ``trusted/1.root.json``, a
keyholder's own copy of the published root. ``~`` is a home folder inside
the room.

docs/cli.md is also checked against the commands themselves
(:func:`test_cli_reference_matches_the_commands`): a synopsis names only
options the command has, and every option of every command is documented.

Secrets go in on stdin, one line each, as tuf-ceremony reads them when stdin
is not a terminal (docs/cli.md): ``sign`` with a key file gets the
passphrase then ``y``; with a token key ``y`` then the PIN (``--yes``: no
``y``); ``key generate`` gets the passphrase or PIN. A command that pipes its
own input (``printf 'y\\n1234\\n' | tuf-ceremony sign ...``) gets only that.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli, write_plan
from tests.fixtures_softhsm import SO_PIN, USER_PIN, find_softhsm_module

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUNNABLE = {
    "tuf-ceremony",
    "printf",
    "echo",
    "cp",
    "mv",
    "mkdir",
    "ls",
    "cat",
    "cd",
    "export",
    "softhsm2-util",
    "sha256sum",
    "diff",
    "test",
    "true",
    ".",
    "source",
    "cmp",
    "head",
    "tail",
    "grep",
    "wc",
    "jq",
}
RUN_TAGS = {"sh", "shell", "bash", "console"}
STICK = "/media/usb"
ROOM_KEYS = ("alice", "bob", "carol", "online")
TOKEN_KEYS = ("alice", "bob", "carol")
EMPTY_TOKENS = ("dave", "erin", "online")


def passphrase(stem: str) -> str:
    return f"{stem}-passphrase"


@dataclass
class Step:
    doc: Path
    line: int
    command: str
    expected: int
    run: bool
    why_not: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def _strip_comment(line: str) -> tuple[str, str]:
    """(command, comment): a ``#`` outside quotes, after whitespace or at the start."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def _programs(command: str) -> list[str]:
    """The program of every simple command in a line (pipes, &&, ;)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    programs: list[str] = []
    expect = True
    for token in lexer:
        if token in ("|", "||", "&&", ";", "&"):
            expect = True
            continue
        if expect:
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                continue  # VAR=value before a command
            programs.append(token)
            expect = False
    return programs


def _program_name(program: str) -> str:
    if program.endswith("/tuf-ceremony") or program == "tuf-ceremony":
        return "tuf-ceremony"
    return program


@dataclass
class _Block:
    """A fenced code block: its tag, the line of its opening fence (0-based),
    its numbered lines, and the last non-blank line before it."""

    tag: str
    start: int
    body: list[tuple[int, str]]
    before: str


def _fenced_blocks(lines: list[str]) -> Iterator[_Block]:
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```+\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        start = i
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```", lines[i]):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        yield _Block(fence.group(2).lower(), start, body, prev)


def _joined_commands(tag: str, body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The block's commands, ``\\`` continuations joined, each with its first
    line number; in a console block only the ``$ `` lines."""
    joined: list[tuple[int, str]] = []
    pending = ""
    first = 0
    for n, text in body:
        if tag == "console" and not pending:
            if not text.startswith("$ "):
                continue
            text = text[2:]
        if not pending:
            first = n
        else:
            text = text.lstrip()
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1].rstrip() + " "
            continue
        joined.append((first, pending + text))
        pending = ""
    return joined


def _step(doc: Path, n: int, text: str) -> Step | None:
    command, comment = _strip_comment(text.strip())
    if not command:
        return None
    exit_match = re.search(r"\bexit (\d+)\b", comment)
    expected = int(exit_match.group(1)) if exit_match else 0
    try:
        programs = [_program_name(p) for p in _programs(command)]
    except ValueError as e:
        raise AssertionError(f"{doc}:{n}: cannot parse {command!r}: {e}") from None
    blocked = [p for p in programs if p not in RUNNABLE]
    return Step(doc, n, command, expected, not blocked, f"{blocked[0]} is not run by the docs test" if blocked else "")


def parse_doc(doc: Path) -> list[Step]:
    steps: list[Step] = []
    for block in _fenced_blocks(doc.read_text(encoding="utf-8").splitlines()):
        runnable = block.tag in RUN_TAGS or (
            block.tag == "" and any(t.lstrip().startswith("tuf-ceremony ") for _, t in block.body)
        )
        if not runnable:
            continue
        marker = re.match(r"^\s*<!--\s*not-run:\s*(.*?)\s*-->\s*$", block.before)
        if marker is not None:
            if not marker.group(1):
                raise AssertionError(f"{doc}:{block.start}: <!-- not-run: --> needs a reason")
            steps.extend(
                Step(doc, n, text.strip(), 0, False, f"marked: {marker.group(1)}")
                for n, text in block.body
                if "tuf-ceremony" in text
            )
            continue
        for n, text in _joined_commands(block.tag, block.body):
            step = _step(doc, n, text)
            if step is not None:
                steps.append(step)
    return steps


def _cli_args(command: str) -> list[str] | None:
    """The arguments given to tuf-ceremony in ``command``; None when there is
    no tuf-ceremony in it or the doc pipes its own input into it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if "|" in command.split("tuf-ceremony")[0]:
        return None  # the doc pipes its own input
    idx = next((k for k, w in enumerate(words) if _program_name(w) == "tuf-ceremony"), None)
    if idx is None:
        return None
    return words[idx + 1 :]


def _stdin_for(command: str) -> str:
    """The secrets (and answers) a command asks for, in the documented order."""
    args = _cli_args(command)
    if args is None:
        return ""

    def value(option: str) -> str | None:
        for k, w in enumerate(args):
            if w == option and k + 1 < len(args):
                return args[k + 1]
            if w.startswith(option + "="):
                return w.split("=", 1)[1]
        return None

    yes = "--yes" in args or "-y" in args
    if args[:1] == ["sign"]:
        key = value("--key") or ""
        if key.startswith("pkcs11:"):
            return ("" if yes else "y\n") + USER_PIN + "\n"
        stem = Path(key).name.split(".")[0]
        return passphrase(stem) + "\n" + ("" if yes else "y\n")
    if args[:2] == ["key", "generate"]:
        if value("--uri"):
            return USER_PIN + "\n"
        private = value("--private-out") or "key"
        return passphrase(Path(private).name.split(".")[0]) + "\n"
    if args[:2] == ["key", "attest"]:
        return USER_PIN + "\n"
    return ""


def _softhsm_conf(room_dir: Path) -> Path:
    conf = room_dir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {room_dir / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    return conf


# Long on purpose: one scenario, step by step in the order people run it.
@pytest.fixture(scope="session")
def room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared ceremony room every doc page runs in (a copy each)."""
    module = find_softhsm_module()
    util = shutil.which("softhsm2-util")
    if not (module and util):
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 is missing: the docs use token keys (make softhsm)", pytrace=False)
        pytest.skip("SoftHSM2 is missing: the docs use token keys")
    d = tmp_path_factory.mktemp("room")
    for name in ROOM_KEYS:
        keytype = "ed25519" if name.startswith("online") else "ecdsa-p256"
        r = run_cli(
            "key",
            "generate",
            "--type",
            keytype,
            "--private-out",
            d / f"{name}.pem",
            "--public-out",
            d / f"{name}.pub.json",
            input=passphrase(name) + "\n",
        )
        assert r.exit_code == 0, r.output
    (d / "tokens").mkdir()
    conf = _softhsm_conf(d)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    from cryptography.hazmat.primitives import serialization

    for label in (*TOKEN_KEYS, *EMPTY_TOKENS):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", USER_PIN],
            env=env,
            check=True,
            capture_output=True,
        )
    for label in TOKEN_KEYS:
        # the token holds the same key as the file, so a doc may use either
        private = serialization.load_pem_private_key((d / f"{label}.pem").read_bytes(), passphrase(label).encode())
        plain = d / f".{label}.plain.pem"
        plain.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        subprocess.run(
            [util, "--import", str(plain), "--token", label, "--label", "root", "--id", "01", "--pin", USER_PIN],
            env=env,
            check=True,
            capture_output=True,
        )
        plain.unlink()
    # PEP 458's shape: targets delegates every path to "bins", signed online
    write_plan(
        d / "plan.toml",
        root=(["alice", "bob", "carol"], 2),
        targets=(["alice", "bob", "carol"], 2),
        keys=["alice", "bob", "carol", "online"],
        extra=(
            '[[roles.targets.delegations]]\nname = "bins"\nkeys = ["online"]\n'
            'threshold = 1\npaths = ["*"]\nterminating = true\n'
        ),
    )
    v1 = d / "v1.request.json"
    assert run_cli("prepare", d / "plan.toml", "--out", v1).exit_code == 0
    bundles = []
    for who in ("alice", "bob"):
        out = d / f"{who}.v1.bundle.json"
        r = run_cli("sign", v1, "--key", d / f"{who}.pem", "--out", out, "--yes", input=passphrase(who) + "\n")
        assert r.exit_code == 0, r.output
        bundles.append(out)
    r = run_cli("merge", v1, *bundles, "--out", d / "repo")
    assert r.exit_code == 0, r.output
    for p in (v1, *bundles):
        p.unlink()
    r = run_cli("prepare", d / "plan.toml", "--trusted", d / "repo", "--out", d / "request.json")
    assert r.exit_code == 0, r.output
    (d / "usb").mkdir()
    shutil.copy(d / "request.json", d / "usb" / "request.json")  # the coordinator's stick
    (d / "trusted").mkdir()  # a keyholder's own copy of the published root
    shutil.copy(d / "repo" / "1.root.json", d / "trusted" / "1.root.json")
    (d / "home").mkdir()
    return d


def _run_doc(doc: Path, steps: list[Step], room_dir: Path, work: Path) -> list[str]:
    """Run the doc's steps in one shell in a copy of the room; the problems."""
    here = work / "room"
    shutil.copytree(room_dir, here, symlinks=True)
    conf = _softhsm_conf(here)
    io = work / "io"
    io.mkdir()
    script = ['exec 3>"$DOCS_RESULTS"', f"cd {shlex.quote(str(here))}"]
    for k, step in enumerate(steps):
        if not step.run:
            continue
        command = step.command.replace(STICK, str(here / "usb"))
        command = re.sub(r"(?<![\w/])\.venv/bin/", f"{BIN}/", command)
        (io / f"{k}.in").write_text(_stdin_for(step.command))
        script.append(f'{{ {command}\n}} <{io}/{k}.in >{io}/{k}.out 2>&1; echo "{k} $?" >&3')
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(here / "home"),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "SOFTHSM2_CONF": str(conf),
        "TUF_CEREMONY_PKCS11_MODULE": find_softhsm_module() or "",
        "DOCS_RESULTS": str(io / "results"),
        "COLUMNS": "100",
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    results: dict[int, int] = {}
    if (io / "results").exists():
        for line in (io / "results").read_text().splitlines():
            index, rc = line.split()
            results[int(index)] = int(rc)
    problems = []
    for k, step in enumerate(steps):
        if not step.run:
            continue
        got = results.get(k)
        if got == step.expected:
            continue
        out = (io / f"{k}.out").read_text(errors="replace") if (io / f"{k}.out").exists() else ""
        tail = "\n      ".join(out.strip().splitlines()[-6:])
        problems.append(f"{step.where}: `{step.command}` exited {got}, the doc says {step.expected}\n      {tail}")
    if proc.returncode != 0 and not problems:
        problems.append(f"{doc.name}: the shell failed: {proc.stderr.strip()[-500:]}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_documented_commands_run(doc: Path, room: Path, tmp_path: Path) -> None:
    steps = parse_doc(doc)
    if not any(s.run for s in steps):
        pytest.skip(f"{doc.name} shows no runnable command")
    problems = _run_doc(doc, steps, room, tmp_path)
    assert not problems, "documented commands that do not work as written:\n" + "\n".join(problems)


def test_every_doc_is_checked() -> None:
    """New docs/*.md are picked up without editing this file, and a doc that
    shows tuf-ceremony commands has them run (or marked, with a reason)."""
    assert ROOT / "docs" / "keyholder.md" in DOCS
    assert ROOT / "docs" / "coordinator.md" in DOCS
    for doc in DOCS:
        for step in parse_doc(doc):
            if "tuf-ceremony" in _programs_safe(step.command) and not step.run:
                assert step.why_not.startswith("marked: "), (step.where, step.why_not)


def _programs_safe(command: str) -> list[str]:
    try:
        return [_program_name(p) for p in _programs(command)]
    except ValueError:
        return []


def test_parser_reads_the_conventions(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "\n".join(
            [
                "```sh",
                "tuf-ceremony status request.json *.json   # exit 1 until enough have signed",
                "ykman piv info",
                "tuf-ceremony merge request.json a.json \\",
                "  b.json --out repo/",
                "printf 'y\\n1234\\n' | tuf-ceremony sign r.json --key 'pkcs11:token=a' --out a.json",
                "```",
                "<!-- not-run: needs a YubiKey -->",
                "```sh",
                "tuf-ceremony key attest 'pkcs11:token=YubiKey' --out att",
                "```",
                "```text",
                "tuf-ceremony verify DIR [--at TIME]",
                "```",
                "```console",
                "$ tuf-ceremony --version",
                "tuf-ceremony, version 0.1.0",
                "```",
            ]
        )
        + "\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        steps = parse_doc(doc)
    finally:
        ROOT = saved
    assert [(s.line, s.expected, s.run) for s in steps] == [
        (2, 1, True),
        (3, 0, False),
        (4, 0, True),
        (6, 0, True),
        (10, 0, False),
        (16, 0, True),
    ]
    assert steps[2].command == "tuf-ceremony merge request.json a.json b.json --out repo/"
    assert steps[4].why_not == "marked: needs a YubiKey"
    assert _stdin_for(steps[3].command) == ""
    assert _stdin_for("tuf-ceremony sign r.json --key alice.pem --out a.json") == "alice-passphrase\ny\n"
    assert _stdin_for("tuf-ceremony sign r.json --key 'pkcs11:token=alice' --out a.json") == "y\n1234\n"


def _cli_commands() -> list[tuple[tuple[str, ...], object]]:
    import click

    from tuf_ceremony.cli.main import cli

    ctx = click.Context(cli)
    out: list[tuple[tuple[str, ...], object]] = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, (*prefix, name))
            elif cmd is not None:
                out.append(((*prefix, name), cmd))

    walk(cli, ())
    return out


def test_cli_reference_matches_the_commands() -> None:
    """docs/cli.md: every option in a `tuf-ceremony CMD ...` synopsis is an
    option of CMD, and every option of every command is documented there."""
    import click

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    synopses = [" ".join(s.split()) for s in re.findall(r"`(tuf-ceremony [^`]+)`", text)]
    problems = []
    for path, cmd in _cli_commands():
        assert isinstance(cmd, click.Command)
        options = {
            o
            for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden
            for o in (*p.opts, *p.secondary_opts)
            if o.startswith("--")
        }
        name = "tuf-ceremony " + " ".join(path)
        mine = [s for s in synopses if s == name or s.startswith(name + " ")]
        for s in mine:
            for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", s):
                if opt not in options:
                    problems.append(f"{name}: the synopsis shows {opt}, which it does not have")
        for opt in sorted(options - {"--help"}):
            if not re.search(re.escape(opt) + r"(?![a-z0-9-])", text):
                problems.append(f"{name}: {opt} is not documented in docs/cli.md")
    assert not problems, "\n".join(problems)
