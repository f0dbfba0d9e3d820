"""``tuf-ceremony key``: generate, export and list signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from tuf_ceremony.cli.common import force_option, read_new_secret, read_secret
from tuf_ceremony.keytypes import KEY_TYPES


@click.group()
@click.pass_context
def key(ctx: click.Context) -> None:
    """Generate, export and list signing keys."""
    ctx.call_on_close(_close_token_sessions)


def _close_token_sessions() -> None:
    """Log out of PKCS#11 tokens at the end of the command (if any was used)."""
    import sys

    module = sys.modules.get("tuf_ceremony.signers.pkcs11")
    if module is not None:
        module.close_sessions()


@key.command("generate")
@click.option("--type", "keytype", required=True, type=click.Choice(list(KEY_TYPES)), help="Key algorithm.")
@click.option(
    "--private-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Software key: encrypted PKCS#8 PEM file to write (mode 0600).",
)
@click.option("--uri", help="Hardware key: PKCS#11 URI of the key to create on a token.")
@click.option(
    "--public-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TUF key JSON file to write (software key default: beside the private "
    "key, alice.pem -> alice.pub.json, where `sign` finds it).",
)
@force_option
def generate(keytype: str, private_out: Path | None, uri: str | None, public_out: Path | None, force: bool) -> None:
    """Generate a key pair and write its public key as TUF key JSON.

    With --private-out the key is a software key (for rehearsals and tests),
    written encrypted with a passphrase asked twice on a terminal. With --uri
    it is generated on a PKCS#11 token and never leaves it.
    """
    from tuf_ceremony.files import check_writable, dump_json, write_atomic, write_files_atomic

    if (private_out is None) == (uri is None):
        raise click.UsageError("give exactly one of --private-out FILE or --uri URI")
    if public_out is None:
        if private_out is None:
            raise click.UsageError("--public-out FILE is needed with --uri")
        from tuf_ceremony.signers.software import public_key_path

        public_out = public_key_path(private_out)
    check_writable(public_out, force)
    if keytype == "ecdsa-p384":
        from tuf_ceremony.clients import p384_warning

        click.echo(f"warning: {p384_warning('the new key')}", err=True)
    if uri is not None:
        from tuf_ceremony.signers.pkcs11 import generate_key, key_uri_for

        pub = generate_key(uri, keytype, lambda name: read_secret(name))
        write_atomic(public_out, dump_json(pub.to_dict()), force=force)
        _show_public(pub.keyid, public_out, "on token, PKCS#11 URI:", key_uri_for(uri))
        return
    assert private_out is not None
    check_writable(private_out, force)
    if private_out.resolve() == public_out.resolve():
        raise click.UsageError("--private-out and --public-out must be different files")
    from tuf_ceremony.signers.software import (
        MIN_PASSPHRASE,
        encrypted_pem,
        generate_private_key,
        public_key_of,
    )
    from tuf_ceremony.text import safe

    passphrase = read_new_secret(f"passphrase for {safe(private_out.name, 80)}", MIN_PASSPHRASE)
    private_key = generate_private_key(keytype)
    pem = encrypted_pem(private_key, passphrase)
    pub = public_key_of(private_key)
    files = {private_out: pem, public_out: dump_json(pub.to_dict())}
    # write the private key 0600 first, then the public key; all or nothing
    write_atomic(private_out, pem, force=force, mode=0o600)
    try:
        write_files_atomic({public_out: files[public_out]}, force=force)
    except BaseException:
        if not force:
            private_out.unlink(missing_ok=True)
        raise
    _show_public(pub.keyid, public_out, "private key (encrypted):", str(private_out))


def _show_public(keyid: str, public_out: Path, where: str, value: str) -> None:
    """The new key's keyid and files; ``value`` (a URI or a path) whole on a
    line of its own when it does not fit beside its label."""
    from tuf_ceremony.cli.formats import labelled, output_width
    from tuf_ceremony.text import safe

    width = output_width()
    for label, text in (("keyid:", keyid), ("public key:", str(public_out)), (where, value)):
        for line in labelled(label, safe(text, None), width):
            click.echo(line)


@key.command("export")
@click.argument("uri")
@click.option(
    "--public-out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="TUF key JSON file to write."
)
@force_option
def export(uri: str, public_out: Path, force: bool) -> None:
    """Write the public key of a key on a PKCS#11 token as TUF key JSON.

    URI is the key's PKCS#11 URI (see `tuf-ceremony key list`), e.g. a
    YubiKey PIV slot 9c key made with ykman. No PIN is needed.
    """
    from tuf_ceremony.files import check_writable, dump_json, write_atomic
    from tuf_ceremony.signers.pkcs11 import key_uri_for, read_public_key

    check_writable(public_out, force)
    pub = read_public_key(uri)
    written = write_atomic(public_out, dump_json(pub.to_dict()), force=force)
    _show_public(pub.keyid, public_out, "on token, PKCS#11 URI:", key_uri_for(uri))
    from tuf_ceremony.cli.common import echo_wrapped
    from tuf_ceremony.files import removal_note

    echo_wrapped(removal_note([written]))


@key.command("list")
@click.option(
    "--module",
    type=click.Path(dir_okay=False),
    help="PKCS#11 module to ask (default: $TUF_CEREMONY_PKCS11_MODULE, "
    "else every module found in the usual locations).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_keys(module: str | None, as_json: bool) -> None:
    """List PKCS#11 tokens and the keys on them, with the URI of each key.

    Copy a key's URI into a ceremony plan or give it to `sign --key`.
    No PIN is asked: keys whose public half is hidden until login do not show.
    """
    from tuf_ceremony.cli.formats import Format, JsonFormat, output_width
    from tuf_ceremony.cli.formats.keys import KeyListReport, KeyListText
    from tuf_ceremony.signers.pkcs11 import list_tokens

    fmt: Format[KeyListReport] = JsonFormat() if as_json else KeyListText(output_width())
    click.echo(fmt.render(KeyListReport(list_tokens(module))))


# --- hardware attestation (ATTEST; logic in tuf_ceremony.attestation) -------

from tuf_ceremony.cli.attestation import roots_options as _roots_options  # noqa: E402


@key.command("verify-attestation")
@click.argument("pubkey", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("attestation", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Check certificate validity at this time instead of now: a date "
    "(2026-11-01, read as 00:00 UTC) or an RFC 3339 time.",
)
@_roots_options
def verify_attestation_cmd(
    pubkey: Path,
    attestation: tuple[Path, ...],
    as_json: bool,
    at: str | None,
    roots: tuple[Path, ...],
    add_roots: tuple[Path, ...],
) -> None:
    """Verify offline that PUBKEY was generated inside genuine Yubico hardware.

    ATTESTATION are the certificate files (PEM or DER, any order): the key's
    attestation and the device certificate (YubiKey slot f9, YubiHSM 2 opaque
    object 0), optionally a YubiHSM Sub-CA. The chain must end at a bundled
    Yubico root (or one given with --roots / --add-roots), the attested key
    must be exactly PUBKEY, and a YubiHSM key must have been generated on the
    device and not be exportable. Exit 0 when attested, 1 when refused (the
    reason is printed), 3 for unreadable files.
    """
    import json

    from tuf_ceremony.attestation import read_sourced, verify_attestation
    from tuf_ceremony.cli.attestation import attestation_lines, echo_lines, parse_at, store_from
    from tuf_ceremony.errors import VerificationError
    from tuf_ceremony.keys import load_public_key, public_der

    when = parse_at(at)
    pub = load_public_key(pubkey)
    store = store_from(roots, add_roots)
    certs = read_sourced(attestation)
    try:
        att = verify_attestation(public_der(pub), certs, store, when)
    except VerificationError as e:
        if as_json:
            click.echo(json.dumps({"valid": False, "keyid": pub.keyid, "reason": str(e)}, indent=2))
        raise
    if as_json:
        doc = att.to_dict()
        doc["keyid"] = pub.keyid
        click.echo(json.dumps(doc, indent=2, ensure_ascii=True))
        return
    echo_lines(attestation_lines(att, pub.keyid, when))


@key.command("attest")
@click.argument("uri")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write key-attestation.pem, device-certificate.pem and public-key.pem into (made if missing).",
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Check certificate validity at this time instead of now: a date "
    "(2026-11-01, read as 00:00 UTC) or an RFC 3339 time.",
)
@_roots_options
@force_option
def attest_cmd(
    uri: str, out_dir: Path, at: str | None, roots: tuple[Path, ...], add_roots: tuple[Path, ...], force: bool
) -> None:
    """Fetch a token key's attestation through PKCS#11 and write it to --out.

    URI is the key's PKCS#11 URI (see `tuf-ceremony key list`). YubiKey PIV
    (ykcs11) shows the slot attestation and the slot f9 certificate; a
    YubiHSM 2 shows X.509 opaque objects. The files are verified (as
    `key verify-attestation` does) before anything is written. When the
    module shows no attestation, the ykman / yubihsm-shell commands that make
    the same files are printed (exit 6). No PIN is needed.
    """
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_der_public_key,
    )

    from tuf_ceremony.attestation import SourcedCert, verify_attestation
    from tuf_ceremony.cli.attestation import attestation_lines, echo_lines, parse_at, store_from
    from tuf_ceremony.files import write_files_atomic
    from tuf_ceremony.signers.pkcs11_attest import NoAttestationObjects, fetch_attestation

    when = parse_at(at)
    store = store_from(roots, add_roots)
    try:
        fetched = fetch_attestation(uri, str(out_dir))
    except NoAttestationObjects as e:
        for line in e.commands:
            click.echo(line, err=True)
        raise
    files = {
        out_dir / "key-attestation.pem": fetched.attestation.cert.public_bytes(Encoding.PEM),
        out_dir / "device-certificate.pem": fetched.device.cert.public_bytes(Encoding.PEM),
        out_dir / "public-key.pem": load_der_public_key(fetched.public_der).public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ),
    }
    certs = [
        SourcedCert(fetched.attestation.cert, str(out_dir / "key-attestation.pem")),
        SourcedCert(fetched.device.cert, str(out_dir / "device-certificate.pem")),
    ]
    att = verify_attestation(fetched.public_der, certs, store, when)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_files_atomic(files, force=force)
    from tuf_ceremony.text import safe

    click.echo(f"read from {safe(fetched.where)}")
    echo_lines(attestation_lines(att, None, when))
    for path in files:
        click.echo(f"written: {safe(str(path))}")
    click.echo("in the ceremony plan:")
    click.echo(
        f'  NAME = {{ public = "{safe(str(out_dir / "public-key.pem"))}", attestation = '
        f'["{safe(str(out_dir / "key-attestation.pem"))}", '
        f'"{safe(str(out_dir / "device-certificate.pem"))}"] }}'
    )
