"""Prompts and rendering helpers shared by the commands.

Secrets are asked on the terminal without echo; when stdin is not a
terminal, one line is read from stdin. Never from arguments or the
environment. They are never printed or logged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tuf_ceremony.errors import Aborted, AuthenticationError, InputError

T = TypeVar("T")

#: How many times a passphrase (or PIN) is asked before giving up.
SECRET_TRIES = 3

force_option = click.option("--force", is_flag=True, help="Replace existing output files.")
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_secret(name: str, *, confirm: bool = False) -> str:
    """Ask for a secret named ``name`` (e.g. "passphrase for alice.pem"); the
    name may hold a token label, so it is shown escaped."""
    from tuf_ceremony.text import safe

    name = safe(name, 120)
    if stdin_is_tty():
        value: str = click.prompt(
            f"Enter {name}", hide_input=True, confirmation_prompt=f"Repeat {name}" if confirm else False, err=True
        )
        return value
    line = sys.stdin.readline()
    if not line:
        raise AuthenticationError(f"no {name} given (stdin is closed)")
    return line.rstrip("\r\n")


def secrets_handler() -> Callable[[str], str]:
    return lambda name: read_secret(name)


def read_new_secret(name: str, min_length: int, tries: int = SECRET_TRIES) -> str:
    """Ask for a new secret (e.g. the passphrase of a key being generated):
    one that is too short is refused at once, before it is asked again to
    confirm it. On a terminal the question is repeated up to ``tries`` times;
    from stdin (not a terminal) one line is read and checked."""
    if not stdin_is_tty():
        line = read_secret(name)
        if len(line) < min_length:
            raise InputError(f"{name}: too short (at least {min_length} characters)")
        return line
    for _ in range(tries):
        value: str = click.prompt(f"Enter {name}", hide_input=True, err=True)
        if len(value) < min_length:
            click.echo(f"Too short: the {name} needs at least {min_length} characters.", err=True)
            continue
        again: str = click.prompt(f"Repeat {name}", hide_input=True, err=True)
        if again != value:
            click.echo("The two entries differ.", err=True)
            continue
        return value
    raise InputError(f"{name}: no acceptable entry after {tries} tries")


def _retryable(error: AuthenticationError) -> bool:
    """A wrong passphrase or PIN may be typed again; a locked PIN or a
    closed stdin may not. (A token on its final try may: the message it
    gives says so, and the keyholder can still stop with Ctrl-C.)"""
    text = str(error).lower()
    if "is locked" in text or "now locked" in text:
        return False
    return "wrong passphrase" in text or "wrong pin" in text


def with_retries(action: Callable[[], T], tries: int = SECRET_TRIES) -> T:
    """Run ``action`` (which asks for a secret through the secrets handler)
    again when the secret was wrong, up to ``tries`` times, without showing
    anything else again. The token's own counter has the last word: a
    locked PIN is not tried again, and the token's warning (few tries left,
    final try) is shown before the next try."""
    from tuf_ceremony.text import safe

    for attempt in range(1, tries + 1):
        try:
            return action()
        except AuthenticationError as e:
            if attempt == tries or not _retryable(e):
                raise
            left = tries - attempt
            echo_wrapped(f"{safe(str(e), 300)}. Try again ({left} {'try' if left == 1 else 'tries'} left).", err=True)
    raise AssertionError("unreachable")


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if stdin_is_tty():
        if not click.confirm(question, default=False, err=True):
            raise Aborted("declined; nothing was signed or written")
        return
    click.echo(f"{question} [y/N]: ", err=True, nl=False)
    line = sys.stdin.readline().strip().lower()
    click.echo("", err=True)  # never echo what was read: it could be a mistyped secret
    if line not in ("y", "yes"):
        raise Aborted("declined; nothing was signed or written (use --yes to skip the question)")


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr, on one line: a control, invisible or reordering
    character that reached it from untrusted input (a plan's key name, a file
    name) is shown escaped, as in error lines."""
    from tuf_ceremony.cli.main import _one_line

    echo_wrapped(f"warning: {_one_line(message)}", err=True)


def echo_wrapped(message: str, err: bool = False) -> None:
    """``message`` wrapped at spaces to the terminal's width when the stream
    is a terminal, so the terminal never cuts a word; as one line otherwise
    (a log or a script reads it whole)."""
    stream = sys.stderr if err else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        click.echo(message, err=err)
        return
    import shutil

    from tuf_ceremony.cli.screens import wrap

    width = max(20, shutil.get_terminal_size((80, 24)).columns)
    for line in message.splitlines() or [""]:
        for piece in wrap(line, width):
            click.echo(piece, err=err)
