"""``tuf-ceremony verify``: audit a root history or a whole repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

_path = click.Path(path_type=Path)
_file = click.Path(dir_okay=False, path_type=Path)

_MAX_ROLE_ROWS = 40
_MAX_PROBLEM_ROWS = 100


@click.command()
@click.argument("directory", type=_path)
@click.option("--at", "at", metavar="TIME",
              help="Judge expiry at this time instead of now: a date (2026-11-01, 00:00 UTC) "
                   "or an RFC 3339 time.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report (docs/verify-report.md).")
@click.option("--trusted-root", type=_file, metavar="FILE",
              help="Trust anchor root metadata (default: the lowest root version in DIRECTORY).")
@click.option("--strict", is_flag=True,
              help="Treat anomalies strict clients reject (keyids that are not the SHA-256 "
                   "of their key) as errors.")
@click.option("--warn-days", type=click.IntRange(min=0), default=30, show_default=True,
              metavar="N", help="Warn when the newest root or targets expires within N days.")
@click.option("--names", "names_files", type=_file, multiple=True, metavar="FILE",
              help="Ceremony plan (TOML), signing request (JSON) or {keyid: name} JSON giving "
                   "key names for display. Repeatable.")
@click.option("--attestations", "attestations_dir", type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="Hardware attestation certificates (PEM/DER files, any layout): "
                                  "report which root and targets keys of the newest root they "
                                  "prove were generated on Yubico hardware.")
@click.option("--workers", type=click.IntRange(min=1), default=None, hidden=True,
              help="Processes for delegated roles (default: every CPU).")
def verify(
    directory: Path,
    at: str | None,
    as_json: bool,
    trusted_root: Path | None,
    strict: bool,
    warn_days: int,
    names_files: tuple[Path, ...],
    attestations_dir: Path | None,
    workers: int | None,
) -> None:
    """Audit the metadata in DIRECTORY: the root chain (every version signed
    by a threshold of the previous and of its own root keys), the newest
    targets, and when snapshot or timestamp are present the whole repository
    with every delegated role and hashed bin.

    Exit 0 when everything holds, 1 when verification fails, 3 for
    unreadable or malformed input.
    """
    from tuf_ceremony.errors import VerificationError
    from tuf_ceremony.timeutil import parse_at

    try:
        when = parse_at(at)
    except ValueError as e:
        raise click.BadParameter(str(e).removeprefix("--at: "), param_hint="--at") from None
    names: dict[str, str] = {}
    for f in names_files:
        names.update(load_names(f))

    # a large report (100,000 objects for PEP 458) is built and printed:
    # spare it the cyclic GC's repeated scans meanwhile
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        report = _run(directory, when, trusted_root, strict, warn_days, names, workers)
        hardware = None
        if attestations_dir is not None:  # ATTEST: report section, logic in tuf_ceremony.attestation
            from tuf_ceremony.cli.attestation import audit_directory

            hardware = audit_directory(directory, attestations_dir, when, names)
        if as_json:
            doc = report.to_dict()
            if hardware is not None:
                doc["attestations"] = hardware.to_dict()
            click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            render(report)
            if hardware is not None:
                from tuf_ceremony.cli.attestation import render_audit

                render_audit(hardware)
    finally:
        if gc_was_enabled:
            gc.enable()
    if not report.ok:
        errors = report.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise VerificationError(f"verification failed: {errors[0].one_line()}{more}")


def _run(
    directory: Path,
    when: Any,
    trusted_root: Path | None,
    strict: bool,
    warn_days: int,
    names: dict[str, str],
    workers: int | None,
) -> Any:
    from tuf_ceremony.verify import VerifyOptions, verify_directory

    progress = _Progress() if _stderr_tty() else None
    try:
        return verify_directory(
            directory,
            VerifyOptions(
                at=when,
                trusted_root=trusted_root,
                strict=strict,
                warn_days=warn_days,
                names=names,
                workers=workers,
                progress=progress,
            ),
        )
    finally:
        if progress is not None:
            progress.stop()


def load_names(path: Path) -> dict[str, str]:
    """keyid -> name from a plan, a signing request or a {keyid: name} JSON."""
    from tuf_ceremony.names import load_names as _load

    return _load(path)


def _stderr_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """A rich progress bar on stderr, started on the first long level."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, done: int, total: int, label: str) -> None:
        if total < 200:
            return
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            from tuf_ceremony.cli.common import console

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self._progress.start()
        task = self._tasks.get(label)
        if task is None:
            task = self._tasks[label] = self._progress.add_task(label, total=total)
        self._progress.update(task, completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# ---------------------------------------------------------------------------
# human report


def _keys(refs: list[Any]) -> str:
    return ", ".join(r.label() for r in refs) or "-"


def render(report: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from tuf_ceremony.cli.common import console

    con = console()
    if not con.is_terminal:
        con.width = max(con.width, 140)
    con.print(
        f"[bold]tuf-ceremony verify[/bold] {report.directory}  "
        f"(checked at {report.checked_at}; {report.mode}"
        f"{'; strict' if report.strict else ''})"
    )
    tr = report.trusted_root
    if tr:
        con.print(f"trust anchor: {tr.get('file')} (root version {tr.get('version')}, "
                  f"from {tr.get('source')})")

    if report.root_chain:
        t = Table(title="Root chain", title_justify="left")
        t.add_column("version", justify="right")
        t.add_column("signed by (root keys)")
        t.add_column("old root", justify="center")
        t.add_column("new root", justify="center")
        t.add_column("expires")
        t.add_column("changes")
        t.add_column("status")
        details: list[str] = []
        for s in report.root_chain:
            old = "anchor" if s.old is None else _met(s.old)
            changes = []
            for c in s.changes:
                if not c.changed:
                    continue
                part = f"{c.role} +{len(c.added)}/-{len(c.removed)}"
                if c.threshold_old != c.threshold_new:
                    part += f" t{c.threshold_old}->{c.threshold_new}"
                changes.append(part)
                line = f"  v{s.version} {c.role}:"
                if c.added:
                    line += " added " + ", ".join(k.label() for k in c.added) + ";"
                if c.removed:
                    line += " removed " + ", ".join(k.label() for k in c.removed) + ";"
                if c.threshold_old != c.threshold_new:
                    line += f" threshold {c.threshold_old} -> {c.threshold_new}"
                details.append(line.rstrip(";"))
            expires = s.expires + (" [red](expired)[/red]" if s.expired else "")
            version = str(s.version)
            if s.file != f"{s.version}.root.json":
                version += f" ({s.file})"
            if s.legacy_key_encoding:
                version += " [yellow]legacy keys[/yellow]"
            t.add_row(
                version,
                _keys(s.new.signers),
                old,
                _met(s.new),
                expires,
                ", ".join(changes) or "-",
                "[green]ok[/green]" if s.ok else "[red]FAIL[/red]",
            )
        con.print(t)
        if details:
            con.print("Key changes:")
            for line in details:
                con.print(line, soft_wrap=True)

    if report.roles:
        t = Table(title="Roles", title_justify="left")
        t.add_column("role")
        t.add_column("delegated by")
        t.add_column("file")
        t.add_column("version", justify="right")
        t.add_column("signers")
        t.add_column("threshold", justify="center")
        t.add_column("expires")
        t.add_column("targets", justify="right")
        t.add_column("status")
        top = [r for r in report.roles if r.kind == "top-level"]
        delegated = [r for r in report.roles if r.kind != "top-level"]
        shown = top + (delegated if len(delegated) <= _MAX_ROLE_ROWS else [])
        for r in shown:
            t.add_row(*_role_row(r))
        if len(delegated) > _MAX_ROLE_ROWS:
            for row in _delegated_summary(delegated):
                t.add_row(*row)
            failed = [r for r in delegated if not r.ok]
            for r in failed[:_MAX_ROLE_ROWS]:
                t.add_row(*_role_row(r))
            if len(failed) > _MAX_ROLE_ROWS:
                t.add_row(f"... {len(failed) - _MAX_ROLE_ROWS} more failed roles", *[""] * 8)
        con.print(t)

    if report.problems:
        t = Table(title="Findings", title_justify="left")
        t.add_column("severity")
        t.add_column("file")
        t.add_column("code")
        t.add_column("message", overflow="fold")
        colors = {"error": "red", "warning": "yellow", "info": "cyan"}
        for sev in ("error", "warning", "info"):
            found = [p for p in report.problems if p.severity == sev]
            for p in found[:_MAX_PROBLEM_ROWS]:
                t.add_row(
                    Text(p.severity, style=colors[p.severity]),
                    p.file or (p.role or "-"),
                    p.code,
                    p.message,
                )
            if len(found) > _MAX_PROBLEM_ROWS:
                t.add_row(
                    Text(sev, style=colors[sev]),
                    "...",
                    "",
                    f"{len(found) - _MAX_PROBLEM_ROWS} more (all of them in --json)",
                )
        con.print(t)
    s = report.summary()
    verdict = "[green]OK[/green]" if report.ok else "[red]FAILED[/red]"
    con.print(
        f"{verdict}: {s['errors']} error(s), {s['warnings']} warning(s), {s['infos']} note(s); "
        f"root versions {s['root_versions']}, {s['roles_checked']} role file(s), "
        f"{s['targets_checked']} target(s) checked"
    )


def _met(check: Any) -> str:
    color = "green" if check.met else "red"
    return f"[{color}]{check.valid} of {check.threshold}[/{color}]"


def _role_row(r: Any) -> list[str]:
    status = "[green]ok[/green]" if r.ok else "[red]FAIL[/red]"
    if not r.present:
        status = "[dim]not present[/dim]" if r.ok else "[red]missing[/red]"
    return [
        r.role,
        r.delegator,
        r.file or "-",
        str(r.version) if r.version is not None else "-",
        _keys(r.threshold.signers) if r.threshold else "-",
        _met(r.threshold) if r.threshold else "-",
        (r.expires or "-") + (" [red](expired)[/red]" if r.expired else ""),
        str(r.targets) if r.targets is not None else "-",
        status,
    ]


def _delegated_summary(roles: list[Any]) -> list[list[str]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in roles:
        groups.setdefault((r.delegator, r.kind), []).append(r)
    rows = []
    for (delegator, kind), rs in groups.items():
        present = [r for r in rs if r.present]
        versions = sorted({r.version for r in present if r.version is not None})
        expiries = sorted(r.expires for r in present if r.expires)
        signers: dict[str, str] = {}
        for r in present:
            if r.threshold:
                for k in r.threshold.signers:
                    signers.setdefault(k.keyid, k.label())
        thresholds = sorted({r.threshold.threshold for r in present if r.threshold})
        ok = sum(1 for r in rs if r.ok)
        vtext = (f"{versions[0]}" if len(versions) == 1 else f"{versions[0]}-{versions[-1]}") if versions else "-"
        rows.append(
            [
                f"{len(rs)} {kind} roles",
                delegator,
                f"{len(present)} files",
                vtext,
                ", ".join(signers.values()) or "-",
                "/".join(map(str, thresholds)) or "-",
                f"earliest {expiries[0]}" if expiries else "-",
                str(sum(r.targets or 0 for r in rs)),
                f"[green]{ok} ok[/green]" + (f", [red]{len(rs) - ok} failed[/red]" if ok < len(rs) else ""),
            ]
        )
    return rows
