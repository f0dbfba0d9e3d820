"""Rendering of attestation results (``key verify-attestation``, ``key
attest``, ``verify --attestations``). Every string from a certificate or a
file name goes through :func:`tuf_ceremony.text.safe`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from tuf_ceremony.text import safe


def parse_at(at: str | None) -> datetime:
    """``--at`` through :func:`tuf_ceremony.timeutil.parse_at`, the one parser."""
    from tuf_ceremony.timeutil import parse_at as parse

    try:
        return parse(at)
    except ValueError as e:
        raise click.BadParameter(str(e).removeprefix("--at: "), param_hint="--at") from None


def roots_options(f: Any) -> Any:
    f = click.option(
        "--add-roots",
        "add_roots",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Trust the certificates in FILE (PEM) as well as the bundled Yubico roots. Repeatable.",
    )(f)
    f = click.option(
        "--roots",
        "roots",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Trust ONLY the certificates in FILE (PEM; self-signed ones are roots), "
        "replacing the bundled Yubico roots. Repeatable.",
    )(f)
    return f


def store_from(roots: tuple[Path, ...], add_roots: tuple[Path, ...]) -> Any:
    from tuf_ceremony.attestation import trust_store

    return trust_store(replace=roots, add=add_roots)


def attestation_lines(att: Any, keyid: str | None, at: datetime) -> list[str]:
    from tuf_ceremony.timeutil import fmt_time

    lines = [f"attested: {safe(att.summary())}"]
    if keyid:
        lines.append(f"keyid: {keyid}")
    lines.append(f"key SPKI SHA-256: {att.key_sha256}")
    if att.hsm is not None:
        h = att.hsm
        lines += [
            f"device: YubiHSM 2, serial {h.serial if h.serial is not None else 'not stated'}, "
            f"firmware {h.firmware or 'not stated'}",
            f"key object: id 0x{h.object_id:04x}" if h.object_id is not None else "key object: id not stated",
            f"label: {safe(h.label) if h.label is not None else '-'}",
            f"origin: {h.origin_text()}",
            f"capabilities: {', '.join(h.capability_names()) or 'none'}",
            f"exportable under wrap: {'yes' if h.exportable else 'no'}",
            f"domains: {', '.join(str(d) for d in h.domains) or 'none'}",
        ]
    elif att.piv is not None:
        p = att.piv
        lines += [
            f"device: YubiKey, serial {p.serial if p.serial is not None else 'not stated'}, "
            f"firmware {p.firmware or 'not stated'}, form factor {p.form_factor or 'not stated'}"
            + (", FIPS" if p.fips else ""),
            f"slot: {att.slot or 'not stated'}",
            f"PIN policy: {p.pin_policy or 'not stated'}",
            f"touch policy: {p.touch_policy or 'not stated'}",
            "origin: generated on device (a YubiKey attests only keys it generated)",
        ]
    lines.append("chain (key attestation first):")
    for link in att.chain:
        lines.append(f"  {safe(link.subject)}  [{safe(link.source)}]")
        lines.append(f"    SHA-256 {link.fingerprint}, valid {link.not_before} .. {link.not_after}")
    lines.append(f"root: {safe(att.root.subject)} ({safe(att.root.origin, 160)})")
    for w in att.warnings:
        lines.append(f"warning: {safe(w)}")
    lines.append(f"checked at: {fmt_time(at)}")
    return lines


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def audit_directory(directory: Path, attestations: Path, at: datetime, names: dict[str, str]) -> Any:
    from tuf_ceremony.attestation.evidence import audit_keys, newest_root_keys

    version, keys, owners = newest_root_keys(directory)
    return audit_keys(keys, attestations, at, names={**owners, **names}, root_version=version)


def render_audit(report: Any) -> None:
    """The ``verify --attestations`` section: one row per root/targets key."""
    from rich.table import Table
    from rich.text import Text

    from tuf_ceremony.cli.common import console

    con = console()
    if not con.is_terminal:
        con.width = max(con.width, 140)
    attested = sum(1 for k in report.keys if k.attested)
    t = Table(
        title=f"Hardware attestation (root version {report.root_version}: "
        f"{attested} of {len(report.keys)} keys attested)",
        title_justify="left",
    )
    t.add_column("key")
    t.add_column("roles")
    t.add_column("attested")
    t.add_column("what the certificates assert, or why not", overflow="fold")
    for k in report.keys:
        label = f"{safe(k.name, 60)} ({k.keyid[:12]})" if k.name else k.keyid[:12]
        t.add_row(
            Text(label),
            ", ".join(k.roles),
            Text("yes", style="green") if k.attested else Text("NO", style="red"),
            Text(safe(k.summary or "", 200) if k.attested else safe(k.reason or "", 300)),
        )
    con.print(t)
    con.print(
        f"{report.certificates} certificate(s) read from {safe(report.directory)}"
        f", {report.skipped} other file(s) ignored",
        markup=False,
        highlight=False,
    )
