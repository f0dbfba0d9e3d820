"""The ceremony's run sheet, from its plan: numbered steps, who performs and
who witnesses each, the command to type, and blank lines for the sign-off.

Machines: the coordinator's machine (prepare, merge, verify) and one
signing machine per keyholder; each keeps its own transcript
(``<machine>.jsonl``) and pre-flight result (``<machine>.preflight.json``),
the names ``audit`` expects in the published record.

Every string from the plan is untrusted: it goes through
:func:`tuf_ceremony.text.safe`, then is escaped for Markdown or HTML; file
names derived from key names keep only ``[A-Za-z0-9._-]``.
"""

from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tuf_ceremony.plan import Plan
from tuf_ceremony.text import safe
from tuf_ceremony.words import digest_words, group_hex

COORDINATOR = "coordinator"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Step:
    number: int
    title: str
    machine: str
    performer: str
    witnesses: list[str]
    command: str | None
    notes: list[str] = field(default_factory=list)
    signoff: list[str] = field(default_factory=list)


@dataclass
class Keyholder:
    name: str
    slug: str
    roles: list[str]
    key_source: str
    keyid: str
    token: bool


@dataclass
class RunSheet:
    ceremony: str
    plan_file: str
    plan_digest: str
    keyholders: list[Keyholder]
    steps: list[Step]


def _slug(name: str, taken: set[str]) -> str:
    base = _SLUG.sub("-", name).strip(".-")[:40] or "key"
    slug, n = base, 2
    while slug in taken or slug == COORDINATOR:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def keyholders(plan: Plan) -> list[Keyholder]:
    """The people who bring an offline key: every key of root and targets."""
    out: list[Keyholder] = []
    taken: set[str] = set()
    order: list[str] = []
    for role in ("root", "targets"):
        for name in plan.roles[role].keys:
            if name not in order:
                order.append(name)
    for name in order:
        nk = plan.keys[name]
        roles = [r for r in ("root", "targets") if name in plan.roles[r].keys]
        token = nk.source.startswith("pkcs11:")
        # a key file is shown by its name: the plan's folder is the machine's business
        source = nk.source if token else Path(nk.source).name
        out.append(Keyholder(name, _slug(name, taken), roles, source, nk.keyid, token))
    return out


class _Steps(list[Step]):
    """The steps of a run sheet, numbered as they are added."""

    def add(
        self,
        title: str,
        machine: str,
        performer: str,
        witnesses: list[str],
        command: str | None,
        notes: list[str],
        signoff: list[str],
    ) -> None:
        self.append(Step(len(self) + 1, title, machine, performer, witnesses, command, notes, signoff))


_PREFLIGHT = "tuf-ceremony preflight --expect-time HH:MM --out {m}.preflight.json --transcript {m}.jsonl"
_PREFLIGHT_SIGNOFF = ["Tool fingerprint words", "Machine time (UTC)", "Checks accepted (if any)"]


def _others(everyone: list[str], h: Keyholder) -> list[str]:
    return ["the coordinator", *[n for n in everyone if n != safe(h.name)]]


def _preflight_steps(steps: _Steps, holders: list[Keyholder], everyone: list[str]) -> None:
    steps.add(
        "Pre-flight of the coordinator's machine",
        COORDINATOR,
        "the coordinator",
        everyone,
        _PREFLIGHT.format(m=COORDINATOR),
        [
            "A witness reads the UTC time from their watch and types it for --expect-time.",
            "Every check must pass; a failure accepted with --accept CHECK is read aloud and written below.",
            "Read the tool fingerprint words aloud; every machine must show the same words.",
        ],
        _PREFLIGHT_SIGNOFF,
    )
    for h in holders:
        steps.add(
            f"Pre-flight of {safe(h.name)}'s signing machine",
            h.slug,
            safe(h.name),
            _others(everyone, h),
            _PREFLIGHT.format(m=h.slug),
            ["Compare the tool fingerprint words with step 1."],
            _PREFLIGHT_SIGNOFF,
        )


def _prepare_step(steps: _Steps, plan_file: str, everyone: list[str]) -> None:
    steps.add(
        "Prepare the signing request from the reviewed plan",
        COORDINATOR,
        "the coordinator",
        everyone,
        f"tuf-ceremony prepare {shlex.quote(safe(plan_file, None))} --out request.json "
        f"--transcript {COORDINATOR}.jsonl",
        [
            "Before preparing, compare the plan's digest words at the top of this sheet with "
            "the SHA-256 of the plan file on this machine (sha256sum) and of the reviewed plan.",
            "For a rotation, add --trusted DIR (the current metadata) and publish DIR's files "
            "under repository/ or trusted/ in the record.",
            "Read the request id and the digest words of each payload aloud.",
            "Copy request.json to each keyholder's stick.",
        ],
        ["Request id (first 16 hex digits)", "Root payload digest words", "Targets payload digest words"],
    )


def _signing_steps(steps: _Steps, holders: list[Keyholder], everyone: list[str]) -> None:
    prepare_step = len(holders) + 2
    for h in holders:
        if h.token:
            key = shlex.quote(safe(h.key_source, None))
            bring = f"hardware key {safe(h.key_source)}"
        else:
            key = f"<private key file of {h.slug}>"
            bring = f"the private key matching {safe(h.key_source)}"
        steps.add(
            f"{safe(h.name)} signs ({', '.join(h.roles)})",
            h.slug,
            safe(h.name),
            _others(everyone, h),
            f"tuf-ceremony sign request.json --key {key} --out {h.slug}.bundle.json --transcript {h.slug}.jsonl",
            [
                f"Key brought: {bring} (keyid {h.keyid[:16]}).",
                f"Check the digest words on the screen against step {prepare_step} before confirming.",
                "On a rotation, add --trusted with your own copy of the current root: the "
                "request's trusted root must be that one.",
                "Copy the bundle back to the coordinator's stick.",
            ],
            [
                "Digest words on the screen match",
                "Review digest words (after signing; the same for every keyholder)",
                "Last record hash words",
                "Bundle written (file name)",
            ],
        )


def _closing_steps(steps: _Steps, holders: list[Keyholder], everyone: list[str]) -> None:
    bundles = " ".join(f"{h.slug}.bundle.json" for h in holders)
    steps.add(
        "Merge the bundles",
        COORDINATOR,
        "the coordinator",
        everyone,
        f"tuf-ceremony merge request.json {bundles} --out repository --transcript {COORDINATOR}.jsonl",
        ["Every threshold must be met; a refused bundle is read aloud."],
        ["Files written", "Thresholds met"],
    )
    steps.add(
        "Verify the result",
        COORDINATOR,
        "the coordinator",
        everyone,
        f"tuf-ceremony verify repository --transcript {COORDINATOR}.jsonl",
        ["The verification must pass."],
        ["Verification result"],
    )
    steps.add(
        "Hand-off and publication of the record",
        COORDINATOR,
        "the coordinator",
        everyone,
        "tuf-ceremony audit RECORD-FOLDER",
        [
            "Collect into one folder: the plan and its key files, request.json, every bundle, "
            "every transcript (*.jsonl), every pre-flight result (*.preflight.json) and "
            "repository/ (docs/auditor.md).",
            "Write the last record hash words of every transcript below, then run audit.",
            "Hand repository/ to the repository operator.",
        ],
        ["Last record hash words of each transcript", "Audit result", "Handed to"],
    )


def build_run_sheet(plan: Plan, plan_file: str, plan_digest: str) -> RunSheet:
    """The run sheet of ``plan`` (read from the file named ``plan_file``,
    whose SHA-256 is ``plan_digest``): pre-flight of every machine, prepare,
    each keyholder signs, merge, verify, hand-off."""
    holders = keyholders(plan)
    everyone = [safe(h.name) for h in holders]
    steps = _Steps()
    _preflight_steps(steps, holders, everyone)
    _prepare_step(steps, plan_file, everyone)
    _signing_steps(steps, holders, everyone)
    _closing_steps(steps, holders, everyone)
    return RunSheet(safe(plan.name), safe(plan_file), plan_digest, holders, list(steps))


# -- Markdown ------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+!|~])")


def md_text(text: str) -> str:
    """Plain text for Markdown: no markup, no raw HTML."""
    escaped = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


_BLANK = "_" * 40


def render_markdown(sheet: RunSheet) -> str:
    out: list[str] = [f"# Ceremony run sheet: {md_text(sheet.ceremony)}", ""]
    out += [
        f"Plan: {md_text(sheet.plan_file)}, SHA-256 {group_hex(sheet.plan_digest)}",
        "",
        f"Plan digest words: {' '.join(digest_words(sheet.plan_digest))}",
        "",
        "Machines: the coordinator's and one per keyholder, each with its own transcript.",
        "",
        "## Keyholders",
        "",
        "| Keyholder | Signs | Key brought | Keyid |",
        "|---|---|---|---|",
    ]
    for h in sheet.keyholders:
        out.append(
            f"| {md_text(safe(h.name))} | {', '.join(h.roles)} | {md_text(safe(h.key_source))} | {h.keyid[:16]} |"
        )
    out += ["", "Date: " + _BLANK, "", "Location: " + _BLANK, ""]
    for s in sheet.steps:
        out += [
            f"## Step {s.number}. {md_text(s.title)}",
            "",
            f"- Machine: {md_text(s.machine)}",
            f"- Performed by: {md_text(s.performer)}",
            f"- Witnessed by: {md_text(', '.join(s.witnesses)) or 'the witnesses present'}",
            "",
        ]
        if s.command:
            fence = _fence(s.command)
            out += [fence, s.command, fence, ""]
        out += [f"- {md_text(n)}" for n in s.notes]
        out.append("")
        for line in [
            "Time started (UTC)",
            "Time finished (UTC)",
            *s.signoff,
            "Signature of the performer",
            "Signature of a witness",
        ]:
            out += [f"{md_text(line)}: {_BLANK}", ""]
    return "\n".join(out).rstrip() + "\n"


# -- HTML ----------------------------------------------------------------------

_CSS = """
body { font-family: serif; max-width: 48em; margin: 2em auto; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
section.step { page-break-inside: avoid; border-top: 1px solid #000; padding-top: .5em; }
pre { background: #f4f4f4; padding: .5em; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #000; padding: .3em; text-align: left; vertical-align: top; }
td.blank { height: 2em; width: 60%; }
@media print { body { margin: 0; } pre { background: none; border: 1px solid #000; } }
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def render_html(sheet: RunSheet) -> str:
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Ceremony run sheet: {_h(sheet.ceremony)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Ceremony run sheet: {_h(sheet.ceremony)}</h1>",
    ]
    out += [
        f"<p>Plan: {_h(sheet.plan_file)}, SHA-256 {_h(group_hex(sheet.plan_digest))}<br>"
        f"Plan digest words: <b>{_h(' '.join(digest_words(sheet.plan_digest)))}</b></p>",
        "<p>Machines: the coordinator's and one per keyholder, each with its own transcript.</p>",
        "<h2>Keyholders</h2>",
        "<table>",
        "<tr><th>Keyholder</th><th>Signs</th><th>Key brought</th><th>Keyid</th></tr>",
    ]
    for h in sheet.keyholders:
        out.append(
            f"<tr><td>{_h(safe(h.name))}</td><td>{_h(', '.join(h.roles))}</td>"
            f"<td>{_h(safe(h.key_source))}</td><td>{_h(h.keyid[:16])}</td></tr>"
        )
    out += [
        "</table>",
        "<table>",
        '<tr><th>Date</th><td class="blank"></td></tr>',
        '<tr><th>Location</th><td class="blank"></td></tr>',
        "</table>",
    ]
    for s in sheet.steps:
        out += [
            '<section class="step">',
            f"<h2>Step {s.number}. {_h(s.title)}</h2>",
            f"<p>Machine: {_h(s.machine)}<br>Performed by: {_h(s.performer)}<br>"
            f"Witnessed by: {_h(', '.join(s.witnesses)) or 'the witnesses present'}</p>",
        ]
        if s.command:
            out.append(f"<pre>{_h(s.command)}</pre>")
        if s.notes:
            out.append("<ul>" + "".join(f"<li>{_h(n)}</li>" for n in s.notes) + "</ul>")
        out.append("<table>")
        for line in [
            "Time started (UTC)",
            "Time finished (UTC)",
            *s.signoff,
            "Signature of the performer",
            "Signature of a witness",
        ]:
            out.append(f'<tr><th>{_h(line)}</th><td class="blank"></td></tr>')
        out += ["</table>", "</section>"]
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
