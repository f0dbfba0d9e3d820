"""``prepare``, ``sign``, ``status`` and ``merge``: the ceremony itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuf_ceremony.cli.common import (
    confirm,
    console,
    force_option,
    secrets_handler,
    warn,
    with_retries,
    yes_option,
)

if TYPE_CHECKING:
    from tuf_ceremony.describe import PayloadView
    from tuf_ceremony.merge import Collection

_path = click.Path(path_type=Path)
_file = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("plan", type=_path)
@click.option(
    "--trusted",
    type=_path,
    help="Directory of trusted metadata (N.root.json history, latest targets): prepare root N+1 and targets M+1.",
)
@click.option("--out", required=True, type=_file, help="Signing request file to write.")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Preparation time: a date (2026-11-01, 00:00 UTC) or an RFC 3339 time; "
    "expiry durations count from it. Default: now.",
)
@force_option
def prepare(plan: Path, trusted: Path | None, out: Path, at: str | None, force: bool) -> None:
    """Turn a reviewed ceremony PLAN into a signing request."""
    from tuf_ceremony.anchor import check_request_against_directory
    from tuf_ceremony.files import check_writable, write_atomic
    from tuf_ceremony.plan import load_plan
    from tuf_ceremony.prepare import check_new_request, prepare_from_plan
    from tuf_ceremony.trusted import load_trusted

    check_writable(out, force)
    now = _at(at)
    p = load_plan(plan)
    for w in p.warnings:
        warn(w)
    state = load_trusted(trusted) if trusted is not None else None
    request = prepare_from_plan(p, now, state)
    request = check_new_request(request, now, str(plan))
    if trusted is not None:
        check_request_against_directory(request, trusted)
    written = write_atomic(out, request.to_bytes(), force=force)
    render_request_summary(request)
    click.echo(f"signing request written: {out}")
    click.echo(f"request id: {request.request_id}")
    from tuf_ceremony.cli.common import echo_wrapped
    from tuf_ceremony.files import removal_note

    echo_wrapped(removal_note([written]))


def _at(at: str | None) -> Any:
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.timeutil import parse_at

    try:
        return parse_at(at)
    except ValueError as e:
        raise InputError(str(e)) from None


def render_request_summary(request: Any, signing: set[str] | None = None) -> None:
    """Show every payload: role, version, expiry, keys, thresholds, digest."""
    from rich.markup import escape

    from tuf_ceremony.cli.formats import output_width
    from tuf_ceremony.cli.screens import table_lines
    from tuf_ceremony.describe import numbered_words, quote, view_request

    con = console()
    width = output_width()
    # At a terminal rich wraps at spaces to its width (the terminal would cut words,
    # digits of the digest and the words read aloud); piped, each line stays whole.
    tty = _stdout_is_tty()
    con.soft_wrap = not tty
    # every value below is untrusted text made safe by describe, and markup-escaped here
    con.print(f"[bold]Ceremony[/bold] {escape(quote(request.ceremony))}   request {escape(request.request_id)}")
    for view in view_request(request):
        mark = ""
        if signing is not None:
            mark = (
                "  [bold green](you sign this)[/bold green]" if view.role in signing else "  (not signed by this key)"
            )
        con.print()
        con.print(f"[bold]{view.role}[/bold] version {view.version}, expires {view.expires}{mark}")
        for s in view.signer_sets:
            con.print(f"  signers: {escape(s)}")
        if view.roles:
            # columns when every cell fits whole, else one block per role: never truncated
            rows = [[r.role, str(r.threshold), "\n".join(r.keys)] for r in view.roles]
            for line in table_lines(["role", "threshold", "keys (name, keyid)"], rows, width - 2):
                con.print(f"  {escape(line)}", soft_wrap=True)
        from rich.markup import escape

        from tuf_ceremony.attestation.evidence import payload_hardware_lines  # ATTEST

        for line in payload_hardware_lines(request, view.role):
            con.print(f"  {escape(line)}", soft_wrap=True)
        for c in view.changes:
            con.print(f"  change: {escape(c)}")
        for a in view.actions:
            con.print(f"  [bold yellow]after this root[/bold yellow]: {escape(a)}")
        con.print(f"  SHA-256 of the bytes signed: {view.digest_grouped}")
        if tty:  # numbered rows of words, as on the keyholders' confirmation screens
            from tuf_ceremony.words import layout_words

            con.print("  read aloud:")
            for row in layout_words(list(view.words), con.width, "  "):
                con.print(f"[bold]{escape(row)}[/bold]")
        else:
            con.print(f"  read aloud: [bold]{numbered_words(view.words)}[/bold]")


def _stdout_is_tty() -> bool:
    import sys

    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@click.command()
@click.argument("request_file", metavar="REQUEST", type=_file)
@click.option("--key", "key_spec", required=True, help="Private key file (encrypted PKCS#8 PEM) or pkcs11: URI.")
@click.option("--out", required=True, type=_file, help="Signature bundle file to write.")
@click.option(
    "--trusted",
    "trusted",
    type=_path,
    metavar="DIR|FILE",
    help="Your own copy of the published trusted root (a root history directory "
    "or one root file): the request's trusted root must equal it, or follow "
    "it by one checked version.",
)
@click.option("--rehearsal", is_flag=True, help="This is a rehearsal: accept an unencrypted private key file.")
@click.option("--name", "signer_name", help="Your name in the bundle (default: the key's name in the request).")
@yes_option
@force_option
def sign(
    request_file: Path,
    key_spec: str,
    out: Path,
    trusted: Path | None,
    rehearsal: bool,
    signer_name: str | None,
    yes: bool,
    force: bool,
) -> None:
    """Show what REQUEST asks to sign, confirm, sign and write a bundle."""
    from tuf_ceremony.cli.common import echo_wrapped
    from tuf_ceremony.cli.screens import Terminal, after_signing, confirm_signing, show_review
    from tuf_ceremony.files import check_writable, removal_note, write_atomic
    from tuf_ceremony.request import load_request
    from tuf_ceremony.signers import open_key_source
    from tuf_ceremony.signing import require_slots, sign_slots
    from tuf_ceremony.text import safe
    from tuf_ceremony.timeutil import fmt_time, utcnow

    check_writable(out, force)
    request = load_request(request_file)
    _check_key_file(key_spec, rehearsal)
    if trusted is not None:
        from tuf_ceremony.anchor import pin_request

        pin_request(request, trusted)
    legacy = request.legacy_trusted_keyids
    if legacy:
        warn(
            f"the trusted metadata lists {len(legacy)} key(s) under legacy keyids (not the "
            "SHA-256 of the key): they are matched and counted by key material"
        )
    source = open_key_source(key_spec, secrets_handler(), notify=lambda msg: echo_wrapped(safe(msg, 300), err=True))
    public = source.known_public_key()
    slots = require_slots(request, public, key_spec) if public is not None else None
    # display and confirmation flow: tuf_ceremony/cli/screens.py
    term = Terminal.detect(yes)
    show_review(request, slots, signer_name, term)
    if slots is None:
        click.echo("\nThe key is identified once it is unlocked.", err=True)
    public = with_retries(source.unlock)  # a software key's passphrase, asked again if wrong
    slots = require_slots(request, public, key_spec)
    name = signer_name or request.name_of(slots[0].keyid) or slots[0].keyid[:12]
    confirm_signing(request, slots, name, term, lambda q: confirm(q, yes))
    bundle = with_retries(lambda: sign_slots(request, slots, source.signer_for, name, fmt_time(utcnow())))
    _bind_review(request, bundle)
    written = write_atomic(out, bundle.to_bytes(), force=force)
    # wrapped at the terminal's width: the keyholder reads these lines whole
    echo_wrapped(
        f"signature bundle written: {out} ({len(bundle.signatures)} signature(s), each verified against the public key)"
    )
    echo_wrapped(removal_note([written]))
    for line in after_signing(out.name):
        echo_wrapped(line)


def _check_key_file(key_spec: str, rehearsal: bool) -> None:
    """An unencrypted private key file signs only in a rehearsal (issue 9)."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.keys import private_key_file_unencrypted

    if key_spec[:7].lower() == "pkcs11:" or rehearsal:
        return
    if private_key_file_unencrypted(key_spec):
        raise InputError(
            "is an unencrypted private key: a ceremony key is on a token or encrypted; "
            "give --rehearsal if this is a rehearsal",
            source=key_spec,
        )


def _bind_review(request: Any, bundle: Any) -> None:
    """Bind the canonical review the keyholder was shown to the bundle and
    to the transcript record (issue 12)."""
    from tuf_ceremony.cli.evidence import note_transcript
    from tuf_ceremony.review import review_digest

    bundle.review_digest = review_digest(request)
    signed = ", ".join(f"{s.role} v{s.version}" for s in bundle.signatures)
    note_transcript(review_digest=bundle.review_digest, result=f"signed {signed} of request {request.request_id[:16]}")


def _load_bundles(paths: tuple[Path, ...]) -> list[Any]:
    from tuf_ceremony.bundle import load_bundle_or_reason
    from tuf_ceremony.text import safe

    bundles: list[Any] = []
    for p in paths:
        loaded = load_bundle_or_reason(p)
        if isinstance(loaded, str):
            # `status request.json *.json`: the request, metadata and keys are skipped
            click.echo(f"skipped {safe(str(p))}: not a signature bundle ({loaded})", err=True)
        else:
            bundles.append(loaded)
    return bundles


def render_status(col: Collection, views: list[PayloadView] | None = None, as_json: bool = False) -> None:
    """Print the status report (text or JSON, tuf_ceremony.cli.formats.status);
    refused bundles go to stderr, one line each."""
    from tuf_ceremony.cli.formats import Format, JsonFormat, output_width
    from tuf_ceremony.cli.formats.status import StatusReport, StatusText, refused_lines

    width = output_width()
    fmt: Format[StatusReport] = JsonFormat() if as_json else StatusText(width)
    click.echo(fmt.render(StatusReport.of(col, views)))
    for line in refused_lines(col.problems, width):
        click.echo(line, err=True)


@click.command()
@click.argument("request_file", metavar="REQUEST", type=_file)
@click.argument("bundles", nargs=-1, type=_file)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.pass_context
def status(ctx: click.Context, request_file: Path, bundles: tuple[Path, ...], as_json: bool) -> None:
    """Valid signatures against each threshold, and who is missing.

    Exit 0 when every threshold is met and no bundle is refused, 1 when
    thresholds are not yet met, 4 when a bundle is refused.
    """
    from tuf_ceremony.describe import view_request
    from tuf_ceremony.merge import collect
    from tuf_ceremony.request import load_request

    request = load_request(request_file)
    col = collect(request, _load_bundles(bundles))
    views = view_request(request)
    render_status(col, views, as_json)
    from tuf_ceremony.errors import ExitCode

    if col.problems:
        ctx.exit(ExitCode.SIGNATURE_REFUSED)
    ctx.exit(ExitCode.OK if col.complete else ExitCode.VERIFICATION_FAILED)


@click.command()
@click.argument("request_file", metavar="REQUEST", type=_file)
@click.argument("bundles", nargs=-1, required=True, type=_file)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write N.root.json / N.targets.json into.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the files written and the actions required as JSON.")
@force_option
def merge(request_file: Path, bundles: tuple[Path, ...], out: Path, as_json: bool, force: bool) -> None:
    """Check every bundle and write the signed metadata when all thresholds are met."""
    from tuf_ceremony.describe import view_request
    from tuf_ceremony.merge import collect
    from tuf_ceremony.merge import merge as do_merge
    from tuf_ceremony.request import load_request

    request = load_request(request_file)
    col = collect(request, _load_bundles(bundles))
    from tuf_ceremony.cli.formats import Format, JsonFormat, output_width
    from tuf_ceremony.cli.formats.status import MergeReport, MergeText, StatusReport, StatusText, refused_lines

    width = output_width()
    if not as_json:  # the table first: when a threshold is not met, it shows who is missing
        click.echo(StatusText(width).render(StatusReport.of(col)))
    for line in refused_lines(col.problems, width):
        click.echo(line, err=True)
    written = do_merge(col, out, force)
    actions = [a for v in view_request(request) for a in v.actions]
    from tuf_ceremony.files import removal_note, sync_written

    note = removal_note(sync_written(written))
    fmt: Format[MergeReport] = JsonFormat() if as_json else MergeText(width)
    click.echo(fmt.render(MergeReport(request.request_id, written, actions, note)))
    if fmt.is_json:
        click.echo(note, err=True)  # stdout stays JSON
