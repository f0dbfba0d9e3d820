"""Make SoftHSM2 rehearsal tokens for the demo, one per keyholder.

Usage: softhsm_setup.py --check        (exit 0 when SoftHSM2 is usable)
       softhsm_setup.py WORKDIR NAME... (writes WORKDIR/softhsm2.conf, tokens NAME...)

Each token NAME gets the throwaway demo PIN "demo-pin-NAME" and a random SO
PIN. softhsm2-util only takes PINs as arguments or from a terminal, so they
are typed into it through a pseudo-terminal: no PIN is ever on a command line.
"""

from __future__ import annotations

import os
import pty
import secrets
import shutil
import sys
from pathlib import Path


def _read(fd: int, until: bytes | None) -> bytes:
    """Read from the pty until ``until`` appears (a prompt), or to the end."""
    buf = b""
    while until is None or until not in buf:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def _answer_prompts(argv: list[str], answers: list[str]) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvp(argv[0], argv)  # noqa: S606 - runs tuf-ceremony itself under a pty (argv set by this script)
    transcript = b""
    for answer in answers:
        transcript += _read(fd, b":")
        os.write(fd, (answer + "\n").encode())
    transcript += _read(fd, None)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), transcript.decode(errors="replace")


def main() -> int:
    if sys.argv[1:] == ["--check"]:
        return 0 if shutil.which("softhsm2-util") else 1
    work = Path(sys.argv[1]).resolve()
    tokens = work / "softhsm-tokens"
    tokens.mkdir(exist_ok=True)
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for name in sys.argv[2:]:
        so_pin = secrets.token_hex(8)
        pin = f"demo-pin-{name}"
        rc, out = _answer_prompts(
            ["softhsm2-util", "--init-token", "--free", "--label", name], [so_pin, so_pin, pin, pin]
        )
        if rc != 0:
            print(f"softhsm_setup: could not initialize token {name}: {out.strip()}", file=sys.stderr)
            return 1
        print(f"SoftHSM2 token '{name}' ready (demo PIN demo-pin-{name})")
    print(f"SOFTHSM2_CONF={conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
