"""``tuf-ceremony verify``: audit a root history or a whole repository."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tuf_ceremony.verify.report import Report

_path = click.Path(path_type=Path)
_file = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("directory", type=_path)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Judge expiry at this time instead of now: a date (2026-11-01, 00:00 UTC) or an RFC 3339 time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report (docs/verify-report.md).")
@click.option(
    "--trusted-root",
    type=_file,
    metavar="FILE",
    help="Trust anchor root metadata (default: the lowest root version in DIRECTORY).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Treat anomalies strict clients reject (keyids that are not the SHA-256 of their key) as errors.",
)
@click.option(
    "--warn-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="N",
    help="Warn when the newest root or targets expires within N days.",
)
@click.option(
    "--names",
    "names_files",
    type=_file,
    multiple=True,
    metavar="FILE",
    help="Ceremony plan (TOML), signing request (JSON) or {keyid: name} JSON giving key names for display. Repeatable.",
)
@click.option(
    "--attestations",
    "attestations_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Hardware attestation certificates (PEM/DER files, any layout): "
    "report which root and targets keys of the newest root they "
    "prove were generated on Yubico hardware.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    hidden=True,
    help="Processes for delegated roles (default: every CPU).",
)
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
    from tuf_ceremony.cli.formats import Format, JsonFormat, output_width
    from tuf_ceremony.cli.formats.verify import VerifyResult, VerifyText
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
        result = VerifyResult(report, hardware)
        fmt: Format[VerifyResult] = JsonFormat() if as_json else VerifyText(output_width())
        click.echo(fmt.render(result))
        if hardware is not None and not fmt.is_json:
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
    when: datetime,
    trusted_root: Path | None,
    strict: bool,
    warn_days: int,
    names: dict[str, str],
    workers: int | None,
) -> Report:
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
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

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
