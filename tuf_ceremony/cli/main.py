"""The ``tuf-ceremony`` entry point.

Subcommands are imported only when they run, so ``tuf-ceremony --help``
starts without loading cryptography, tuf or pkcs11. Every
:class:`~tuf_ceremony.errors.CeremonyError` becomes one line on stderr and
the exit code of its class; anything else is a bug (exit 70) and shows a
traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tuf_ceremony import __version__
from tuf_ceremony.errors import ExitCode, exit_codes_help

# name -> (module, attribute, one-line help shown by --help without importing)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "key": ("tuf_ceremony.cli.key", "key", "Generate, export and list signing keys."),
    "prepare": (
        "tuf_ceremony.cli.ceremony",
        "prepare",
        "Turn a ceremony plan into a signing request.",
    ),
    "rotate": (
        "tuf_ceremony.cli.rotate",
        "rotate",
        "Prepare an urgent key rotation without editing a plan.",
    ),
    "sign": ("tuf_ceremony.cli.ceremony", "sign", "Show, confirm and sign a signing request."),
    "status": (
        "tuf_ceremony.cli.ceremony",
        "status",
        "Show signatures collected against each threshold.",
    ),
    "merge": (
        "tuf_ceremony.cli.ceremony",
        "merge",
        "Check signature bundles and write the signed metadata.",
    ),
    "verify": (
        "tuf_ceremony.cli.verify",
        "verify",
        "Audit a root history or a whole TUF repository.",
    ),
    "publish": (
        "tuf_ceremony.cli.handoff",
        "publish",
        "Write the static repository layout with target files.",
    ),
    "export": (
        "tuf_ceremony.cli.handoff",
        "export",
        "Write RSTUF API payloads from a ceremony.",
    ),
    "import": (
        "tuf_ceremony.cli.handoff",
        "import_",
        "Turn RSTUF's pending root into a signing request.",
    ),
    "targets": ("tuf_ceremony.cli.handoff", "targets", "Hash a plan's target files (pins)."),
    "preflight": (
        "tuf_ceremony.cli.evidence",
        "preflight",
        "Check the air gap, the clock, the tool and the PKCS#11 module.",
    ),
    "script": (
        "tuf_ceremony.cli.evidence",
        "script",
        "Write the ceremony's printable run sheet from a plan.",
    ),
    "audit": (
        "tuf_ceremony.cli.evidence",
        "audit",
        "Replay a published ceremony record: transcripts, request, bundles, metadata.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        cmd = getattr(module, entry[1])
        assert isinstance(cmd, click.Command)
        from tuf_ceremony.cli.evidence import with_transcript

        return with_transcript(cmd)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run with error mapping: a CeremonyError is one line on stderr and
        its class's exit code; anything else is a bug (exit 70)."""
        kwargs["standalone_mode"] = False
        argv = kwargs.get("args")
        if argv is None and args:
            argv = args[0]
        debug = "--debug" in (argv if argv is not None else sys.argv[1:])
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("tuf-ceremony: aborted", err=True)
            sys.exit(ExitCode.ABORTED)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("tuf-ceremony: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Exception as e:  # noqa: BLE001 - every error is mapped to an exit code
            from tuf_ceremony.errors import CeremonyError

            if isinstance(e, CeremonyError):
                if debug:  # the traceback, and still the documented exit code
                    _print_traceback()
                from tuf_ceremony.cli.common import echo_wrapped

                # one line; at a terminal wrapped at spaces so no word is cut
                echo_wrapped(f"tuf-ceremony: error: {_one_line(str(e))}", err=True)
                sys.exit(e.exit_code)
            if debug:
                _print_traceback()
            click.echo(
                f"tuf-ceremony: internal error: {type(e).__name__}: {_one_line(str(e))} "
                "(run with --debug for a traceback)",
                err=True,
            )
            sys.exit(ExitCode.INTERNAL_ERROR)
        sys.exit(rv if isinstance(rv, int) else ExitCode.OK)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=f"Offline key ceremonies for TUF repositories (PEP 458, RSTUF, Sigstore).\n\nExit codes: {exit_codes_help()}",
)
@click.version_option(__version__, prog_name="tuf-ceremony")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.option(
    "--transcript",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Record the command in this JSON Lines transcript (as COMMAND --transcript).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, transcript: str | None) -> None:
    """The ``tuf-ceremony`` group (its --help text is built from the exit-code table)."""
    ctx.obj = {"debug": debug, "transcript": transcript}
    ctx.call_on_close(_close_token_sessions)


def _close_token_sessions() -> None:
    """Log out of and close PKCS#11 sessions opened during this command."""
    module = sys.modules.get("tuf_ceremony.signers.pkcs11")
    if module is not None:
        module.close_sessions()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="tuf-ceremony")


def _print_traceback() -> None:
    """The current exception's traceback on stderr, each line through
    :func:`_one_line`: exception messages hold untrusted text (file names,
    labels) that must not reach the terminal raw, with --debug too."""
    import traceback

    for line in traceback.format_exc().splitlines():
        indent = line[: len(line) - len(line.lstrip(" "))]
        click.echo(indent + _one_line(line), err=True)


def _one_line(text: str) -> str:
    """An error message on one line; a control or invisible character that
    reached it from untrusted input is shown escaped (backslashes are left
    alone: messages hold text already escaped by ``text.safe``)."""
    from tuf_ceremony.text import is_plain, safe

    flat = " ".join(text.split())
    if flat.isascii() and flat.isprintable():
        return flat
    return "".join(c if c == "\\" or is_plain(c) else safe(c) for c in flat)
