"""Evidence on the command line: ``--transcript`` for every command, and the
``preflight``, ``script`` and ``audit`` commands.

Transcript guarantees (docs/auditor.md, "What a transcript guarantees"):

* before the command runs, the transcript is opened for appending, locked,
  and its whole chain is checked; when it cannot be opened, is in use, is
  broken or its filesystem is full, the command fails (exit 3) before it
  reads a secret or writes anything;
* inputs are hashed before the command runs, outputs after it;
* after the command, one record is appended and synced, also when the
  command failed (with its exit code and one-line result);
* when that final append fails (the stick was pulled, the disk filled up),
  the outputs the command wrote stay, the transcript is cut back to its
  previous length, and the command exits 3 saying so: the operator knows
  the run is not recorded and can run it again with a fresh output.

Usage errors (exit 2) are found before the command starts and leave no
record.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

_NOTES = "tuf_ceremony.transcript.notes"
_file = click.Path(dir_okay=False, path_type=Path)
_path = click.Path(path_type=Path)


def transcript_option() -> click.Option:
    return click.Option(
        ["--transcript"],
        type=_file,
        metavar="FILE",
        help="Append a record of this run (arguments, file digests, result) to the "
        "JSON Lines transcript FILE; the command fails before writing anything "
        "when FILE cannot be written.",
    )


def note_transcript(**fields: Any) -> None:
    """Add fields to the transcript record of the running command (ignored
    when no transcript is kept): ``review_digest``, ``result``, ``details``."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta.setdefault(_NOTES, {}).update(fields)


def with_transcript(cmd: click.Command) -> click.Command:
    """Give ``cmd`` (every subcommand of a group) a ``--transcript`` option
    that records its run. Idempotent."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            with_transcript(sub)
        return cmd
    if cmd.callback is None or any(p.name == "transcript" for p in cmd.params):
        return cmd
    cmd.params.append(transcript_option())
    cmd.callback = _wrap(cmd, cmd.callback)
    return cmd


def _wrap(cmd: click.Command, callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        own = kwargs.pop("transcript", None)
        ctx = click.get_current_context()
        root_obj = ctx.find_root().obj
        group = root_obj.get("transcript") if isinstance(root_obj, dict) else None
        if own is not None and group is not None and Path(own) != Path(group):
            raise click.UsageError("--transcript is given twice, with different files")
        path = own if own is not None else group
        if path is None:
            return callback(*args, **kwargs)
        return _recorded(ctx, cmd, callback, Path(path), args, kwargs)

    return run


def _is_output(param: click.Parameter) -> bool:
    name = param.name or ""
    return name == "out" or name.endswith("_out")


def _path_values(cmd: click.Command, kwargs: dict[str, Any]) -> list[tuple[str, Path, bool]]:
    """(param, path, is_output) for every click.Path argument given."""
    out: list[tuple[str, Path, bool]] = []
    for p in cmd.params:
        if p.name is None or not isinstance(p.type, click.Path):
            continue
        value = kwargs.get(p.name)
        values = value if isinstance(value, tuple | list) else (value,)
        for v in values:
            if v is not None:
                out.append((p.name, Path(v), _is_output(p)))
    return out


_PIN_ATTR = re.compile(r"(?i)((?:pin-value|pin-source)=)[^;?&]*")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    text = str(value)
    if text.lower().startswith("pkcs11:"):
        text = _PIN_ATTR.sub(r"\1<redacted>", text)
    return text


def _outcome(e: BaseException) -> tuple[int, str]:
    from tuf_ceremony.errors import CeremonyError, ExitCode

    if isinstance(e, click.exceptions.Exit):
        return e.exit_code, "completed" if e.exit_code == 0 else f"exit {e.exit_code}"
    if isinstance(e, CeremonyError):
        return e.exit_code, _one_line(str(e))
    if isinstance(e, click.exceptions.Abort):
        return ExitCode.ABORTED, "aborted"
    if isinstance(e, click.ClickException):
        return e.exit_code, _one_line(e.format_message())
    if isinstance(e, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "interrupted"
    if isinstance(e, SystemExit):
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        return code, "completed" if code == 0 else f"exit {code}"
    return ExitCode.INTERNAL_ERROR, f"internal error: {type(e).__name__}"


def _one_line(text: str) -> str:
    from tuf_ceremony.text import safe

    return safe(" ".join(text.split()), 500)


def _recorded(
    ctx: click.Context,
    cmd: click.Command,
    callback: Callable[..., Any],
    path: Path,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    from tuf_ceremony import __version__
    from tuf_ceremony.evidence.fingerprint import tool_fingerprint
    from tuf_ceremony.evidence.transcript import Transcript, describe_path
    from tuf_ceremony.timeutil import fmt_time, utcnow

    start = utcnow()
    _refuse_transcript_as_output(path, _path_values(cmd, kwargs))
    transcript = Transcript.open(path)
    try:
        fingerprint = tool_fingerprint()
        at_param = next((p for p in cmd.params if p.name == "at"), None)
        if at_param is not None and kwargs.get("at") is None:
            # the time the command works with is the record's time: replayable
            kwargs["at"] = fmt_time(start)
        paths = _path_values(cmd, kwargs)
        inputs = [describe_path(n, p) for n, p, is_out in paths if not is_out]
        before = {p: _tree(p) for _, p, is_out in paths if is_out and p.is_dir()}
        existed = {p for _, p, is_out in paths if is_out and (p.exists() or p.is_symlink())}
    except BaseException:
        transcript.close()
        raise
    record: dict[str, Any] = {
        "time": fmt_time(start),
        "tool": {"version": __version__, "fingerprint": fingerprint.digest, "python": sys.version.split()[0]},
        "command": " ".join(ctx.command_path.split()[1:]) or (cmd.name or "?"),
        "arguments": {k: _jsonable(v) for k, v in sorted(kwargs.items())},
        "inputs": inputs,
    }
    try:
        rv = callback(*args, **kwargs)
    except BaseException as e:
        code, result = _outcome(e)
        try:
            _finish(ctx, transcript, record, paths, before, existed, code, result)
        except Exception as te:  # noqa: BLE001 - report, then the command's own error
            click.echo(f"tuf-ceremony: error: {_one_line(str(te))}", err=True)
        raise
    code = 0
    if isinstance(rv, int) and rv:
        code = rv
    _finish(ctx, transcript, record, paths, before, existed, code, "completed")
    return rv


def _refuse_transcript_as_output(transcript: Path, paths: list[tuple[str, Path, bool]]) -> None:
    """The transcript is never an output: an output written over it would
    replace it (the record going to the replaced file), and one in an output
    directory would be recorded, and published, as the command's output."""
    from tuf_ceremony.evidence.transcript import TranscriptError

    where = transcript.resolve()
    for name, p, is_out in paths:
        if not is_out:
            continue
        out = p.resolve()
        if out == where or out in where.parents:
            what = "is" if out == where else "is inside"
            raise TranscriptError(
                f"{what} the output --{name.replace('_', '-')} {p}: keep the transcript "
                "apart from the command's outputs",
                source=str(transcript),
            )


def _tree(directory: Path) -> dict[str, str]:
    """The files already in an output directory (an unreadable one: none)."""
    from tuf_ceremony.evidence.transcript import tree_files

    try:
        return dict(tree_files(directory))
    except OSError:
        return {}


def _remove_new_outputs(
    paths: list[tuple[str, Path, bool]], before: dict[Path, dict[str, str]], existed: set[Path]
) -> tuple[list[str], list[str]]:
    """Remove what this run created (files that did not exist before it, and
    new files in output directories), so that a run the transcript could not
    record leaves nothing behind. Returns (removed, kept): files replaced
    with --force cannot be restored and are named as kept."""
    from tuf_ceremony.text import safe

    removed: list[str] = []
    kept: list[str] = []
    for _, p, is_out in paths:
        if not is_out:
            continue
        if p in before:
            old = before[p]
            for child in sorted(p.rglob("*"), reverse=True):
                name = child.relative_to(p).as_posix()
                if child.is_file() and not child.is_symlink():
                    if name in old:
                        continue
                    child.unlink(missing_ok=True)
                    removed.append(safe(child))
                elif child.is_dir() and not any(child.iterdir()):
                    child.rmdir()
            continue
        if p in existed:
            if p.is_file():
                kept.append(safe(p))
            continue
        if p.is_dir() and not p.is_symlink():
            import shutil

            shutil.rmtree(p, ignore_errors=True)
            removed.append(safe(p))
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(safe(p))
    return removed, kept


def _outputs(paths: list[tuple[str, Path, bool]], before: dict[Path, dict[str, str]]) -> list[dict[str, Any]]:
    """What the command wrote: each output file, or each new or changed file
    of an output folder, with its SHA-256."""
    from tuf_ceremony.evidence.transcript import describe_path, tree_digest, tree_files

    outputs: list[dict[str, Any]] = []
    try:
        for name, p, is_out in paths:
            if not is_out:
                continue
            if p in before or p.is_dir():
                old = before.get(p, {})
                changed = [(n, d) for n, d in tree_files(p) if old.get(n) != d]
                outputs.append(
                    {
                        "param": name,
                        "path": str(p),
                        "type": "directory",
                        "sha256": tree_digest(changed),
                        "count": len(changed),
                        "files": [{"name": n, "sha256": d} for n, d in changed],
                    }
                )
            else:
                outputs.append(describe_path(name, p))
    except OSError as e:
        outputs.append({"param": "?", "path": "?", "type": "unreadable", "error": e.strerror or type(e).__name__})
    return outputs


def _result_line(result: str, code: int, notes: dict[str, Any], outputs: list[dict[str, Any]]) -> str:
    if code != 0:
        return result
    if "result" in notes:
        return _one_line(str(notes["result"]))
    if outputs:
        result += "; wrote " + ", ".join(
            f"{Path(o['path']).name} ({o.get('count', 0)} file(s))"
            if o.get("type") == "directory"
            else Path(o["path"]).name
            for o in outputs
            if o.get("type") != "missing"
        )
    return _one_line(result)


def _not_recorded(
    error: Exception,
    paths: list[tuple[str, Path, bool]],
    before: dict[Path, dict[str, str]],
    existed: set[Path],
    code: int,
) -> Exception:
    """Writing the record is part of the command: a run that cannot be
    recorded keeps none of its new outputs."""
    from tuf_ceremony.evidence.transcript import TranscriptError

    try:
        removed, kept = _remove_new_outputs(paths, before, existed)
    except OSError as oe:
        removed, kept = [], [f"(cleaning up failed: {oe.strerror or type(oe).__name__})"]
    what = f"ended with exit {code}" if code else "failed"
    gone = f"its new outputs were removed ({', '.join(removed)})" if removed else "it wrote no new output"
    if kept:
        gone += f"; replaced with --force and not restorable: {', '.join(kept)}"
    return TranscriptError(f"{error}; the command {what}: this run is NOT recorded, so {gone}", source=None)


def _finish(
    ctx: click.Context,
    transcript: Any,
    record: dict[str, Any],
    paths: list[tuple[str, Path, bool]],
    before: dict[Path, dict[str, str]],
    existed: set[Path],
    code: int,
    result: str,
) -> None:
    from tuf_ceremony.errors import CeremonyError
    from tuf_ceremony.text import safe
    from tuf_ceremony.timeutil import fmt_time, utcnow
    from tuf_ceremony.words import digest_words, group_hex

    outputs = _outputs(paths, before)
    notes: dict[str, Any] = ctx.meta.get(_NOTES, {})
    record["finished"] = fmt_time(utcnow())
    record["outputs"] = outputs
    record["exit_code"] = code
    record["result"] = _result_line(result, code, notes, outputs)
    if isinstance(notes.get("review_digest"), str):
        record["review_digest"] = notes["review_digest"]
    if isinstance(notes.get("details"), dict):
        record["details"] = notes["details"]
    try:
        seq, digest = transcript.append(record)
    except CeremonyError as e:
        raise _not_recorded(e, paths, before, existed, code) from None
    # short lines (an 80-column console never breaks a word to be read aloud)
    click.echo(f"transcript: record {seq} appended to {safe(transcript.path)}", err=True)
    click.echo(f"  record hash {group_hex(digest[:16])}: {' '.join(digest_words(digest, 4))}", err=True)
    if "review_digest" in record:
        review = record["review_digest"]
        click.echo(f"  review digest {group_hex(review[:16])}: {' '.join(digest_words(review, 4))}", err=True)
        click.echo("  (the review digest is the same for every keyholder of this request)", err=True)


# -- preflight -----------------------------------------------------------------

_BIG_DIGITS = {
    "0": ("###", "# #", "# #", "# #", "###"),
    "1": ("  #", "  #", "  #", "  #", "  #"),
    "2": ("###", "  #", "###", "#  ", "###"),
    "3": ("###", "  #", "###", "  #", "###"),
    "4": ("# #", "# #", "###", "  #", "  #"),
    "5": ("###", "#  ", "###", "  #", "###"),
    "6": ("###", "#  ", "###", "# #", "###"),
    "7": ("###", "  #", "  #", "  #", "  #"),
    "8": ("###", "# #", "###", "# #", "###"),
    "9": ("###", "# #", "###", "  #", "###"),
    ":": ("   ", " # ", "   ", " # ", "   "),
}


def big_text(text: str) -> list[str]:
    """``text`` (digits and colons) in five rows of block characters."""
    rows = ["  ".join(_BIG_DIGITS[c][r] for c in text) for r in range(5)]
    return [r.replace("#", "\u2588") for r in rows]


def _pkcs11_modules(module: str | None) -> list[str]:
    if module is not None:
        return [module]
    from tuf_ceremony.errors import CeremonyError
    from tuf_ceremony.signers.pkcs11.modules import configured_modules

    try:
        paths, _explicit = configured_modules(None, None)
    except CeremonyError:
        return []
    return list(paths)


@click.command()
@click.option("--expect-time", metavar="TIME", help="The UTC time on a witness's watch: HH:MM[:SS] or RFC 3339.")
@click.option(
    "--tolerance",
    type=click.IntRange(min=0),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="Largest difference accepted from --expect-time.",
)
@click.option(
    "--accept",
    "accepted",
    multiple=True,
    metavar="CHECK",
    type=click.Choice(["network", "route", "radio", "clock", "tool", "pkcs11"]),
    help="Accept the failure of CHECK (recorded as accepted). Repeatable.",
)
@click.option(
    "--module",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="PKCS#11 module to fingerprint (default: the module tuf-ceremony would load).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", type=_file, help="Write the result (JSON) to this file.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def preflight(
    expect_time: str | None,
    tolerance: int,
    accepted: tuple[str, ...],
    module: str | None,
    as_json: bool,
    out: Path | None,
    force: bool,
) -> None:
    """Check this machine before any key is used: the air gap, the clock,
    the tool's fingerprint, the Python version and the PKCS#11 module.

    Exit 0 when every check passes or is accepted, 1 when one fails.
    """
    import socket

    from tuf_ceremony import __version__
    from tuf_ceremony.errors import InputError, VerificationError
    from tuf_ceremony.evidence.fingerprint import tool_fingerprint
    from tuf_ceremony.evidence.preflight import parse_expect_time, run_preflight
    from tuf_ceremony.files import check_writable
    from tuf_ceremony.timeutil import utcnow

    if out is not None:
        check_writable(out, force)
    now = utcnow()
    expected = None
    if expect_time is not None:
        try:
            expected = parse_expect_time(expect_time, now)
        except ValueError as e:
            raise InputError(f"--expect-time: {e}") from None
    result = run_preflight(
        now=now,
        fingerprint=tool_fingerprint(),
        tool_version=__version__,
        python=sys.version.split()[0],
        hostname=socket.gethostname(),
        expect_time=expected,
        tolerance=tolerance,
        accept=frozenset(accepted),
        modules=_pkcs11_modules(module),
    )
    _emit_preflight(result, as_json, out, force)
    note_transcript(
        details={
            "ok": result.ok,
            "failed": [c.name for c in result.failed],
            "accepted": [c.name for c in result.accepted],
            "fingerprint": result.tool.digest,
        }
    )
    if not result.ok:
        failed = ", ".join(f"{c.name} ({c.summary})" for c in result.failed)
        raise VerificationError(f"pre-flight failed: {failed}; fix it, or accept it with --accept CHECK")


def _emit_preflight(result: Any, as_json: bool, out: Path | None, force: bool) -> None:
    """Write the result to ``out`` (when given), then print it as JSON or as text."""
    import json

    from tuf_ceremony.files import dump_json, write_atomic

    doc = result.to_dict()
    if out is not None:
        write_atomic(out, dump_json(doc), force=force)
    if as_json:
        click.echo(json.dumps(doc, indent=2))  # ASCII: no bidi or invisible character raw
    else:
        render_preflight(result)
        if out is not None:
            click.echo(f"pre-flight result written: {out}")


def render_preflight(result: Any) -> None:
    from rich.markup import escape

    from tuf_ceremony.cli.common import console
    from tuf_ceremony.evidence.preflight import time_in_words
    from tuf_ceremony.text import safe
    from tuf_ceremony.words import digest_words, group_hex

    con = console()
    con.print("[bold]UTC time[/bold]")
    for row in big_text(result.time.strftime("%H:%M:%S")):
        con.print(f"  {row}")
    con.print(f"  {result.time.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    con.print(f"  {escape(time_in_words(result.time))}")
    con.print()
    styles = {"pass": "green", "fail": "bold red", "accepted": "bold yellow", "info": "default"}
    for c in result.checks:
        label = f"{c.status.upper():<9}"
        con.print(f"[{styles[c.status]}]{label}[/{styles[c.status]}]{c.name:<8} {escape(safe(c.summary, 300))}")
        if c.status in ("fail", "accepted"):
            for d in c.details[:12]:
                con.print(f"           {escape(safe(d))}")
    con.print()
    con.print(
        f"[bold]Tool[/bold] tuf-ceremony {escape(result.tool_version)} on Python "
        f"{escape(result.python)}, host {escape(safe(result.hostname))}"
    )
    con.print(f"  fingerprint {group_hex(result.tool.digest)}")
    con.print(f"  read aloud: [bold]{' '.join(digest_words(result.tool.digest))}[/bold]")
    if result.accepted:
        con.print(
            "[bold yellow]Accepted failures (read them aloud for the record):[/bold "
            f"yellow] {', '.join(c.name for c in result.accepted)}"
        )


# -- script ----------------------------------------------------------------------


@click.command()
@click.argument("plan", type=_file)
@click.option("--out", required=True, type=_file, help="Run sheet file to write.")
@click.option("--html", "as_html", is_flag=True, help="Write a self-contained HTML page to print instead of Markdown.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def script(plan: Path, out: Path, as_html: bool, force: bool) -> None:
    """Write the ceremony's run sheet from PLAN: numbered steps, performer and
    witnesses, the commands, and blank lines for the sign-off."""
    import hashlib

    from tuf_ceremony.errors import InputError
    from tuf_ceremony.evidence.script import build_run_sheet, render_html, render_markdown
    from tuf_ceremony.files import check_writable, read_bytes, write_atomic
    from tuf_ceremony.plan import load_plan

    check_writable(out, force)
    digest = hashlib.sha256(read_bytes(plan, "ceremony plan")).hexdigest()
    p = load_plan(plan)
    if hashlib.sha256(read_bytes(plan, "ceremony plan")).hexdigest() != digest:
        raise InputError("the plan changed while it was read", source=str(plan))
    sheet = build_run_sheet(p, plan.name, digest)
    text = render_html(sheet) if as_html else render_markdown(sheet)
    write_atomic(out, text.encode("utf-8"), force=force)
    click.echo(f"run sheet written: {out} ({len(sheet.steps)} steps, {len(sheet.keyholders)} keyholder(s))")


# -- audit -----------------------------------------------------------------------


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the audit report as JSON.")
def audit(directory: Path, as_json: bool) -> None:
    """Replay the published ceremony record in DIRECTORY (docs/auditor.md):
    transcripts, request, bundles, reviews, pre-flights and metadata.

    Exit 0 when every check holds, 1 when one fails, 3 for unreadable input.
    """
    import json

    from tuf_ceremony.errors import VerificationError
    from tuf_ceremony.evidence.audit import audit_record

    report = audit_record(directory)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))  # ASCII: no bidi character raw
    else:
        render_audit(report)
    if not report.ok:
        first = report.failures[0]
        raise VerificationError(f"audit failed: {len(report.failures)} problem(s); first: [{first.check}] {first}")


def render_audit(report: Any) -> None:
    from rich.markup import escape

    from tuf_ceremony.cli.common import console
    from tuf_ceremony.text import safe

    con = console()
    con.print(f"[bold]Ceremony record[/bold] {escape(safe(report.directory))}")
    if report.request_id:
        con.print(f"request id {report.request_id}")
    marks = {"pass": "[green]PASS[/green]", "fail": "[bold red]FAIL[/bold red]", "warn": "[yellow]WARN[/yellow]"}
    for f in report.findings:
        con.print(f"{marks[f.status]} {f.check:<10} {escape(str(f))}")  # fields are safe()d
    fails = len(report.failures)
    con.print()
    con.print(
        "[bold green]audit passed[/bold green]"
        if not fails
        else f"[bold red]audit FAILED: {fails} problem(s)[/bold red]"
    )
