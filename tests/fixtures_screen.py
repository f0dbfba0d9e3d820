"""Drive ``tuf-ceremony`` in a pseudo-terminal and read the screen.

The command runs in a real pty of a given size (its controlling terminal,
so passphrase prompts behave as on a console) and everything it writes goes
through pyte, a VT100/xterm emulator: tests read what a person would see
on an 80x24 screen, after clears and cursor movement, not the raw bytes.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte


def _make_controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtySession:
    """One ``tuf-ceremony`` process in a pty of ``cols`` x ``rows``."""

    def __init__(self, args: list[str | Path], cwd: Path, cols: int = 80, rows: int = 24) -> None:
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm"
        code = "import sys; from tuf_ceremony.cli.main import main; sys.exit(main())"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *[str(a) for a in args]],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=_make_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.closed = False

    def _pump(self, timeout: float) -> int:
        """Read what arrives within ``timeout``: the number of bytes read,
        0 when nothing came, -1 at the end of the output."""
        if self.closed:
            return -1
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return 0
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            self.closed = True
            return -1
        self.raw += data
        self.stream.feed(data)
        return len(data)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        """Wait until ``needle`` is on the screen; return the screen."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.text():
                while self._pump(0.2) > 0:  # let the rest of a burst of output arrive
                    pass
                return self.text()
            if self._pump(0.2) < 0:
                break
        raise AssertionError(f"{needle!r} never appeared on the screen:\n{self.text()}\nraw tail: {self.raw[-800:]!r}")

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def finish(self, timeout: float = 60.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self._pump(0.2) >= 0:
            pass
        try:
            code = self.proc.wait(timeout=max(1.0, end - time.monotonic()))
        finally:
            os.close(self.master)
        return code
