"""``tuf-ceremony rotate``: an urgent rotation without editing a plan."""

from __future__ import annotations

from pathlib import Path

import click

from tuf_ceremony.cli.ceremony import _at, render_request_summary
from tuf_ceremony.cli.common import force_option, warn

_ROLES = ("root", "targets", "snapshot", "timestamp")


@click.command()
@click.option(
    "--trusted",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory of trusted metadata (N.root.json history, latest targets).",
)
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    type=click.Choice(_ROLES),
    help="A role whose keys change. Repeatable: every role named changes in the one new root.",
)
@click.option(
    "--revoke",
    multiple=True,
    metavar="[ROLE:]KEY",
    help="Remove a key (name, keyid or unique keyid prefix) from every --role "
    "that holds it, or from ROLE only. Repeatable.",
)
@click.option(
    "--add",
    multiple=True,
    metavar="[ROLE:]PUBKEY",
    help="Add a public key (file or pkcs11: URI of a token key) to every --role, or to ROLE only. Repeatable.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="[ROLE:]N",
    help="New threshold of every --role, or of ROLE only. Repeatable.",
)
@click.option(
    "--expires",
    help="Expiry of the new root (and re-signed targets): a duration "
    "like 365d, a date or an RFC 3339 time. Default: 365d.",
)
@click.option(
    "--names",
    "names_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan, signing request or {keyid: name} JSON naming the trusted keys (no token needed). Repeatable.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Signing request file to write."
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Preparation time: a date (2026-11-01, 00:00 UTC) or an RFC 3339 time. Default: now.",
)
@force_option
def rotate(
    trusted: Path,
    roles: tuple[str, ...],
    revoke: tuple[str, ...],
    add: tuple[str, ...],
    thresholds: tuple[str, ...],
    expires: str | None,
    names_files: tuple[Path, ...],
    out: Path,
    at: str | None,
    force: bool,
) -> None:
    """Prepare root N+1 with the keys of every --role revoked or added, for the
    urgent case: a lost or compromised key. With --role targets, or when a
    revoked key signs delegations of the trusted targets (PEP 458 bins,
    succinct bins), the request also holds targets M+1 with those keys
    replaced."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.files import check_writable, removal_note, write_atomic
    from tuf_ceremony.names import load_names
    from tuf_ceremony.rotation import RotationSpec
    from tuf_ceremony.rotation import rotate as do_rotate
    from tuf_ceremony.text import safe
    from tuf_ceremony.timeutil import parse_expiry
    from tuf_ceremony.trusted import load_trusted

    check_writable(out, force)
    if not (revoke or add or thresholds or expires):
        raise click.UsageError("nothing to rotate: give --revoke, --add, --threshold or --expires")
    now = _at(at)
    try:
        exp = parse_expiry(expires or "365d", now)
    except ValueError as e:
        raise InputError(f"--expires: {e}") from None
    state = load_trusted(trusted)
    names: dict[str, str] = {}
    notes: list[str] = []
    for f in names_files:
        names.update(load_names(f, notes))
    ordered = [r for r in _ROLES if r in roles]
    spec = RotationSpec(ordered, list(revoke), list(add), list(thresholds), exp)
    result = do_rotate(state, spec, now, names, f"rotate-{'-'.join(ordered)}")
    for w in [*notes, *result.warnings]:
        warn(safe(w))
    from tuf_ceremony.anchor import check_request_against_directory
    from tuf_ceremony.prepare import check_new_request

    request = check_new_request(result.request, now, str(trusted))  # issue 9 rules
    check_request_against_directory(request, trusted)
    written = write_atomic(out, request.to_bytes(), force=force)
    render_request_summary(request)
    for note in result.notes:
        click.echo(safe(note))
    click.echo(f"signing request written: {out}")
    click.echo(f"request id: {request.request_id}")
    from tuf_ceremony.cli.common import echo_wrapped

    echo_wrapped(removal_note([written]))
