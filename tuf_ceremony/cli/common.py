"""Prompts and rendering helpers shared by the commands.

Secrets are asked on the terminal without echo; when stdin is not a
terminal, one line is read from stdin. Never from arguments or the
environment. They are never printed or logged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from tuf_ceremony.errors import Aborted, AuthenticationError

force_option = click.option("--force", is_flag=True, help="Replace existing output files.")
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_secret(name: str, *, confirm: bool = False) -> str:
    """Ask for a secret named ``name`` (e.g. "passphrase for alice.pem")."""
    if stdin_is_tty():
        value: str = click.prompt(f"Enter {name}", hide_input=True,
                                  confirmation_prompt=f"Repeat {name}" if confirm else False,
                                  err=True)
        return value
    line = sys.stdin.readline()
    if not line:
        raise AuthenticationError(f"no {name} given (stdin is closed)")
    return line.rstrip("\r\n")


def secrets_handler() -> Callable[[str], str]:
    return lambda name: read_secret(name)


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
    click.echo(f"warning: {message}", err=True)
