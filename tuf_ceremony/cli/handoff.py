"""Hand-off to the repository: ``publish`` (a static directory),
``export rstuf ...`` / ``import rstuf ...`` (RSTUF's API payloads), and
``targets hash`` (the pins a reviewer writes into a plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tuf_ceremony.cli.common import force_option, warn

_path = click.Path(path_type=Path)
_file = click.Path(dir_okay=False, path_type=Path)


def _newest_root(path: Path) -> tuple[Any, str]:
    """A root file, or the newest N.root.json of a merged directory."""
    import re

    from tuf_ceremony.errors import InputError
    from tuf_ceremony.trusted import load_metadata

    if path.is_dir():
        found = [
            (int(m.group(1)), p) for p in path.iterdir() if (m := re.match(r"^([1-9][0-9]{0,9})\.root\.json$", p.name))
        ]
        if not found:
            raise InputError("holds no N.root.json file", source=str(path))
        path = max(found)[1]
    return load_metadata(path, "root"), str(path)


def _write_json(out: Path, doc: Any, force: bool) -> None:
    from tuf_ceremony.files import dump_json, write_atomic

    write_atomic(out, dump_json(doc), force=force)


# --- publish -------------------------------------------------------------------------------


@click.command()
@click.argument("metadata_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Site directory to write metadata/ and targets/ into.",
)
@click.option("--plan", "plan_path", type=_file, help="Plan whose [[targets.files]] name the content of each target.")
@click.option(
    "--files",
    "files_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory holding each target file at its target path.",
)
@click.option("--unversioned", is_flag=True, help="Also write root.json and targets.json (unversioned copies).")
@force_option
def publish(
    metadata_dir: Path, out: Path, plan_path: Path | None, files_dir: Path | None, unversioned: bool, force: bool
) -> None:
    """Write the static repository layout of METADATA_DIR (root history and
    targets, e.g. merge's output) with the target files under their
    consistent-snapshot names, after checking every hash."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.publish import publish as do_publish
    from tuf_ceremony.publish import sources_from_dir, sources_from_plan

    if (plan_path is None) == (files_dir is None):
        raise InputError("give exactly one of --plan or --files (where the target files are)")
    source_of = sources_from_plan(plan_path) if plan_path is not None else sources_from_dir(files_dir)  # type: ignore[arg-type]
    result = do_publish(metadata_dir, out, source_of, unversioned=unversioned, force=force)
    for p in result.metadata:
        click.echo(f"metadata: {p}")
    for p in result.targets:
        click.echo(f"target: {p}")
    click.echo(f"published {len(result.metadata)} metadata and {len(result.targets)} target file(s) into {out}")


# --- targets hash --------------------------------------------------------------------------


@click.group()
def targets() -> None:
    """Target files of a plan."""


@targets.command("hash")
@click.argument("plan_path", metavar="PLAN", type=_file)
def targets_hash(plan_path: Path) -> None:
    """Hash the target files a PLAN lists and print the sha256 pins to write
    into it at review (prepare then refuses a file that changed)."""
    from tuf_ceremony.content import hash_file
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.plan import load_plan
    from tuf_ceremony.text import safe

    plan = load_plan(plan_path)
    if plan.target_files is None:
        raise InputError("has no [targets] table", source=str(plan_path))
    for f in plan.target_files:
        try:
            d = hash_file(f.source)
        except InputError as e:
            raise InputError(f"{f.entry} ({safe(f.path)}): {e}", source=str(plan_path)) from None
        click.echo(f"{f.entry}: {safe(f.path)}  length {d.length}")
        click.echo(f"  sha512 {d.hashes['sha512']}")
        click.echo(f'  sha256 = "{d.hashes["sha256"]}"')


def _partial_options(f: Any) -> Any:
    f = click.option(
        "--bundle", "bundles", multiple=True, type=_file, help="With --request: a signature bundle (repeat)."
    )(f)
    return click.option(
        "--request",
        "request_file",
        type=_file,
        help="Export the request's root with the signatures of --bundle "
        "instead of a merged ROOT (RSTUF holds it pending the rest).",
    )(f)


def _root_to_export(root_path: Path | None, request_file: Path | None, bundles: tuple[Path, ...]) -> tuple[Any, str]:
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.merge import signed_metadata

    if (root_path is None) == (request_file is None):
        raise InputError("give a merged ROOT (file or directory) or --request with --bundle")
    if root_path is not None:
        if bundles:
            raise InputError("--bundle goes with --request, not with a merged ROOT")
        return _newest_root(root_path)
    assert request_file is not None
    request, col = _collect(request_file, bundles)
    if request.payload("root") is None:
        raise InputError("has no root payload", source=str(request_file))
    return signed_metadata(col)["root"], str(request_file)


# --- export rstuf --------------------------------------------------------------------------


@click.group("export")
def export() -> None:
    """Write what a repository service takes from a finished ceremony."""


@export.group("rstuf")
def export_rstuf() -> None:
    """RSTUF API payloads (for 'rstuf admin send ...' or curl)."""


@export_rstuf.command("bootstrap")
@click.argument("root_path", metavar="[ROOT]", required=False, type=_path)
@_partial_options
@click.option("--out", required=True, type=_file, help="Bootstrap payload file to write.")
@click.option(
    "--bins",
    default=256,
    show_default=True,
    help="Number of hash bins RSTUF delegates to (a power of two, 2 to 16384).",
)
@click.option("--root-days", type=int, help="Root expiration policy in days (default: until the root expires).")
@click.option("--targets-days", type=int, default=365, show_default=True)
@click.option("--snapshot-days", type=int, default=1, show_default=True)
@click.option("--timestamp-days", type=int, default=1, show_default=True)
@click.option("--bins-days", type=int, default=1, show_default=True)
@click.option("--timeout", type=int, default=300, show_default=True, help="Seconds RSTUF waits for the bootstrap task.")
@click.option(
    "--plan",
    "plan_path",
    type=_file,
    help="Take the targets, snapshot and timestamp expirations, and the hash bins "
    "(succinct_delegations) or custom delegations, from the ceremony plan.",
)
@click.option(
    "--delegation-days",
    type=int,
    default=1,
    show_default=True,
    help="Expiration policy of custom delegated roles (with --plan).",
)
@force_option
def export_bootstrap(
    root_path: Path | None,
    request_file: Path | None,
    bundles: tuple[Path, ...],
    out: Path,
    bins: int,
    root_days: int | None,
    targets_days: int,
    snapshot_days: int,
    timestamp_days: int,
    bins_days: int,
    timeout: int,
    plan_path: Path | None,
    delegation_days: int,
    force: bool,
) -> None:
    """POST /api/v1/bootstrap payload from a merged root version 1 (ROOT: the
    file, or merge's output directory)."""
    from tuf_ceremony.files import check_writable
    from tuf_ceremony.rstuf import bootstrap_payload, settings_from_plan
    from tuf_ceremony.timeutil import utcnow

    check_writable(out, force)
    md, source = _root_to_export(root_path, request_file, bundles)
    now = utcnow()
    days = {"targets": targets_days, "snapshot": snapshot_days, "timestamp": timestamp_days, "bins": bins_days}
    delegations = None
    if plan_path is not None:
        from tuf_ceremony.plan import load_plan

        plan_days, plan_bins, delegations = settings_from_plan(load_plan(plan_path), md.signed, now, delegation_days)
        days.update(plan_days)
        bins = plan_bins or bins
    if root_days is not None:
        days["root"] = root_days
    payload, warnings = bootstrap_payload(
        md, source, now=now, days=days, bins=bins, timeout=timeout, delegations=delegations
    )
    for w in warnings:
        warn(w)
    _write_json(out, payload, force)
    roles = payload["settings"]["roles"]
    what = (
        f"{roles['bins']['number_of_delegated_bins']} bins"
        if "bins" in roles
        else f"{len(roles['delegations']['roles'])} custom delegation(s)"
    )
    click.echo(
        f"bootstrap payload written: {out} (root v{md.signed.version}, {len(md.signatures)} signature(s), {what})"
    )


@export_rstuf.command("update")
@click.argument("root_path", metavar="[ROOT]", required=False, type=_path)
@_partial_options
@click.option("--out", required=True, type=_file, help="Metadata update payload to write.")
@click.option("--trusted", type=_path, help="Trusted root (history directory or file): the new root must follow it.")
@force_option
def export_update(
    root_path: Path | None,
    request_file: Path | None,
    bundles: tuple[Path, ...],
    out: Path,
    trusted: Path | None,
    force: bool,
) -> None:
    """POST /api/v1/metadata/ payload for a merged root N+1; refused when
    RSTUF's update path would drop any of its fields."""
    from tuf_ceremony.files import check_writable
    from tuf_ceremony.rstuf import load_pinned_root, update_payload

    check_writable(out, force)
    md, source = _root_to_export(root_path, request_file, bundles)
    pinned = load_pinned_root(trusted)[0] if trusted is not None else None
    payload, warnings = update_payload(md, source, pinned)
    for w in warnings:
        warn(w)
    _write_json(out, payload, force)
    click.echo(f"metadata update payload written: {out} (root v{md.signed.version}, {len(md.signatures)} signature(s))")


def _collect(request_file: Path, bundles: tuple[Path, ...]) -> Any:
    from tuf_ceremony.bundle import load_bundle
    from tuf_ceremony.errors import SignatureRefused
    from tuf_ceremony.merge import collect
    from tuf_ceremony.request import load_request

    request = load_request(request_file)
    col = collect(request, [load_bundle(b) for b in bundles])
    if col.problems:
        raise SignatureRefused(
            f"{len(col.problems)} signature problem(s), first: {col.problems[0]}; nothing was written"
        )
    return request, col


@export_rstuf.command("sign")
@click.argument("request_file", metavar="REQUEST", type=_file)
@click.argument("bundle", type=_file)
@click.option("--out", required=True, type=_file, help="Sign payload file to write.")
@click.option(
    "--keyid",
    "keyid_prefix",
    metavar="KEYID",
    help="When BUNDLE holds the root signature under several keyids (the same key "
    "under a legacy keyid of the trusted root and under the new root's), the "
    "one to write (a unique prefix); RSTUF takes one per call.",
)
@force_option
def export_sign(request_file: Path, bundle: Path, out: Path, force: bool, keyid_prefix: str | None) -> None:
    """POST /api/v1/metadata/sign payload: the root signature in BUNDLE,
    checked against REQUEST (e.g. one made by 'import rstuf')."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.files import check_writable
    from tuf_ceremony.rstuf import sign_payload
    from tuf_ceremony.text import safe

    check_writable(out, force)
    request, col = _collect(request_file, (bundle,))
    sigs = col.signatures.get("root", {})
    others = sorted(r for r in col.signatures if r != "root")
    if others:
        raise InputError(
            f"holds a {others[0]} signature: RSTUF takes offline signatures "
            "for root only (it signs its other roles online)",
            source=str(bundle),
        )
    if keyid_prefix is not None:
        chosen = {k: v for k, v in sigs.items() if k.startswith(keyid_prefix.lower())}
        if len(chosen) != 1:
            raise InputError(
                f"--keyid {safe(keyid_prefix, 64)} matches {len(chosen)} of the "
                f"root signatures ({', '.join(k[:12] for k in sorted(sigs))})",
                source=str(bundle),
            )
        sigs = chosen
    if len(sigs) != 1:
        kids = ", ".join(k[:12] for k in sorted(sigs))
        raise InputError(
            f"holds {len(sigs)} root signatures ({kids})"
            + (
                ": RSTUF takes one per call: write one payload per keyid with --keyid and send each"
                if len(sigs) > 1
                else ": give one keyholder's bundle"
            ),
            source=str(bundle),
        )
    ((kid, sig),) = sigs.items()
    _write_json(out, sign_payload(kid, sig.signature), force)
    click.echo(f"sign payload written: {out} (root v{request.payload('root').version}, {safe(request.label(kid))})")


@export_rstuf.command("pending")
@click.argument("request_file", metavar="REQUEST", type=_file)
@click.argument("bundles", nargs=-1, type=_file)
@click.option("--out", required=True, type=_file, help="Pending-signing file to write.")
@force_option
def export_pending(request_file: Path, bundles: tuple[Path, ...], out: Path, force: bool) -> None:
    """A GET /api/v1/metadata/sign answer for REQUEST's root with the
    signatures in BUNDLES, for RSTUF's CLI ('rstuf admin metadata sign --in')."""
    from tuf_ceremony.errors import InputError
    from tuf_ceremony.files import check_writable
    from tuf_ceremony.merge import signed_metadata
    from tuf_ceremony.rstuf import pending_response

    check_writable(out, force)
    request, col = _collect(request_file, bundles)
    if request.payload("root") is None:
        raise InputError("has no root payload: RSTUF signs only root offline", source=str(request_file))
    root_md = signed_metadata(col)["root"]
    _write_json(out, pending_response(root_md, request.trusted_root), force)
    click.echo(
        f"pending-signing file written: {out} (root v{root_md.signed.version}, {len(root_md.signatures)} signature(s))"
    )


# --- import rstuf --------------------------------------------------------------------------


@click.group("import")
def import_() -> None:
    """Turn a repository service's pending metadata into a signing request."""


@import_.command("rstuf")
@click.argument("pending_file", metavar="PENDING", type=_file)
@click.option("--out", required=True, type=_file, help="Signing request file to write.")
@click.option(
    "--trusted",
    type=_path,
    help="Your own copy of the trusted root (history directory or root file); RSTUF's trusted root must be the same.",
)
@click.option("--ceremony", "ceremony", help="Ceremony name (default: rstuf-root-vN).")
@force_option
def import_rstuf(pending_file: Path, out: Path, trusted: Path | None, ceremony: str | None, force: bool) -> None:
    """Turn RSTUF's GET /api/v1/metadata/sign answer (PENDING) into a signing
    request, checked like any other request."""
    from tuf_ceremony.describe import essential_changes, signer_sentences
    from tuf_ceremony.files import check_writable, load_json, parse_json, write_atomic
    from tuf_ceremony.request import parse_request
    from tuf_ceremony.rstuf import load_pinned_root, parse_pending, request_from_pending
    from tuf_ceremony.text import safe
    from tuf_ceremony.timeutil import fmt_time, utcnow
    from tuf_ceremony.words import digest_words, group_hex

    check_writable(out, force)
    source = str(pending_file)
    pending = parse_pending(load_json(pending_file, "RSTUF pending-signing answer"), source)
    pinned = load_pinned_root(trusted) if trusted is not None else None
    request, warnings = request_from_pending(
        pending, source, created=fmt_time(utcnow()), pinned=pinned, ceremony=ceremony
    )
    data = request.to_bytes()
    # the request goes through the one request parser, with all its checks
    checked = parse_request(parse_json(data, str(out), "signing request"), str(out))
    for w in warnings:
        warn(w)
    write_atomic(out, data, force=force)
    # plain lines, every untrusted string made safe (no rich markup to interpret)
    tr = checked.trusted_root
    if tr is None:
        click.echo(
            "FIRST ROOT: RSTUF's pending root is version 1 (a bootstrap); there is no trusted root to compare it with."
        )
    elif pinned is not None:
        click.echo(f"Trusted root version {tr.signed.version}: equal to your pinned copy {safe(pinned[1])}.")
    else:
        click.echo(
            f"Trusted root version {tr.signed.version}: NOT PINNED (taken from RSTUF's answer; see the warning above)."
        )
    for p in checked.payloads:
        click.echo(f"{p.role} version {p.version}, expires {fmt_time(p.metadata.signed.expires)}")
        for line in essential_changes(checked, p) + signer_sentences(checked, p):
            click.echo(f"  {line}")
        click.echo(f"  SHA-256 of the bytes to sign: {group_hex(p.digest)}")
        click.echo(f"  words: {' '.join(digest_words(p.digest))}")
    already = len(pending.root.signatures)
    click.echo(f"signing request written: {out} (RSTUF already holds {already} signature(s))")
    click.echo(f"request id: {checked.request_id}")


@import_.command("rstuf-signature")
@click.argument("sign_file", metavar="SIGN_PAYLOAD", type=_file)
@click.option("--request", "request_file", required=True, type=_file, help="The signing request the signature is for.")
@click.option("--out", required=True, type=_file, help="Signature bundle file to write.")
@force_option
def import_rstuf_signature(sign_file: Path, request_file: Path, out: Path, force: bool) -> None:
    """Turn a POST /api/v1/metadata/sign payload (e.g. written by
    'rstuf admin metadata sign --out') into a bundle for REQUEST, after
    verifying the signature, so status and merge count it."""
    from tuf_ceremony.bundle import BundleSignature, SignatureBundle
    from tuf_ceremony.errors import FormatError, SignatureRefused
    from tuf_ceremony.files import check_writable, load_json, write_atomic
    from tuf_ceremony.request import load_request
    from tuf_ceremony.signing import authorized_keys
    from tuf_ceremony.text import safe, safe_quoted
    from tuf_ceremony.timeutil import fmt_time, utcnow

    check_writable(out, force)
    src = str(sign_file)
    doc = load_json(sign_file, "RSTUF sign payload")
    sig_obj = doc.get("signature") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or set(doc) != {"role", "signature"}
        or not isinstance(sig_obj, dict)
        or set(sig_obj) != {"keyid", "sig"}
        or not all(isinstance(v, str) for v in sig_obj.values())
    ):
        raise FormatError(
            'not an RSTUF sign payload ({"role": ..., "signature": {"keyid": ..., "sig": ...}})', source=src
        )
    role = doc["role"]
    request = load_request(request_file)
    payload = request.payload(role) if isinstance(role, str) else None
    if payload is None:
        raise SignatureRefused(f"signs {safe_quoted(role)}, which the request does not", source=src)
    kid, sig = sig_obj["keyid"], sig_obj["sig"]
    key = authorized_keys(request, role).get(kid)
    if key is None:
        raise SignatureRefused(f"key {safe(kid[:16])} is not authorized to sign {role}", source=src)
    from securesystemslib.signer import Signature

    try:
        key.verify_signature(Signature(kid, sig), payload.signed_bytes)
    except Exception:  # noqa: BLE001 - any failure: invalid signature
        raise SignatureRefused(
            f"invalid signature by {safe(request.label(kid))} on {role} v{payload.version}", source=src
        ) from None
    bundle = SignatureBundle(
        request_id=request.request_id,
        created=fmt_time(utcnow()),
        signer_keyid=kid,
        signer_name=request.name_of(kid) or kid[:12],
        signatures=[BundleSignature(role, payload.version, payload.digest, kid, sig)],
    )
    write_atomic(out, bundle.to_bytes(), force=force)
    click.echo(f"signature bundle written: {out} ({safe(request.label(kid))}, {role} v{payload.version}, verified)")
