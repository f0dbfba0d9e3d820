"""``tuf-ceremony rotate``: an urgent rotation without editing a plan."""

from __future__ import annotations

from pathlib import Path

import click

from tuf_ceremony.cli.ceremony import _at, render_request_summary
from tuf_ceremony.cli.common import force_option, warn


@click.command()
@click.option("--trusted", required=True, type=click.Path(path_type=Path),
              help="Directory of trusted metadata (N.root.json history, latest targets).")
@click.option("--role", required=True,
              type=click.Choice(["root", "targets", "snapshot", "timestamp"]),
              help="The role whose keys change.")
@click.option("--revoke", multiple=True, metavar="KEYID_OR_NAME",
              help="Remove a key (name, keyid or unique keyid prefix). Repeatable.")
@click.option("--add", multiple=True, metavar="PUBKEY",
              help="Add a public key (file or pkcs11: URI of a token key). Repeatable.")
@click.option("--threshold", type=int, help="New threshold of the role.")
@click.option("--expires", help="Expiry of the new root (and re-signed targets): a duration "
                                "like 365d or an RFC 3339 time. Default: 365d.")
@click.option("--names", "names_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Plan or signing request that names the trusted keys.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Signing request file to write.")
@click.option("--at", "at", help="Preparation time (RFC 3339). Default: now.")
@force_option
def rotate(trusted: Path, role: str, revoke: tuple[str, ...], add: tuple[str, ...],
           threshold: int | None, expires: str | None, names_file: Path | None, out: Path,
           at: str | None, force: bool) -> None:
    """Prepare root N+1 with ROLE's keys revoked or added (and targets M+1
    when ROLE is targets), for the urgent case: a lost or compromised key."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.files import check_writable, write_atomic
    from tuf_ceremony.names import load_names
    from tuf_ceremony.rotation import RotationSpec
    from tuf_ceremony.rotation import rotate as do_rotate
    from tuf_ceremony.timeutil import parse_expiry
    from tuf_ceremony.trusted import load_trusted

    check_writable(out, force)
    if not (revoke or add or threshold is not None or expires):
        raise click.UsageError("nothing to rotate: give --revoke, --add, --threshold or --expires")
    now = _at(at)
    try:
        exp = parse_expiry(expires or "365d", now)
    except ValueError as e:
        raise InputError(f"--expires: {e}") from None
    state = load_trusted(trusted)
    names = load_names(names_file) if names_file else {}
    warnings: list[str] = []
    request = do_rotate(state, RotationSpec(role, list(revoke), list(add), threshold, exp),
                        now, names, f"rotate-{role}", warnings)
    for w in warnings:
        warn(w)
    write_atomic(out, request.to_bytes(), force=force)
    render_request_summary(request)
    click.echo(f"signing request written: {out}")
    click.echo(f"request id: {request.request_id}")
