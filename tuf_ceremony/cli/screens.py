"""The keyholder's screens: summary, paged details, confirmation; layout helpers.

``sign`` shows a request in three screens when it runs on a terminal:

1. a short summary of what changes, in plain words (:func:`summary_lines`);
2. the full details, paged: the canonical review of
   :func:`tuf_ceremony.review.render_review` (every field of every payload
   and every change against the trusted version), space for the next page,
   b for the previous one, q when done;
3. a confirmation screen that repeats what matters (keys added and removed,
   thresholds, who must sign, whether the trusted root is pinned) and the
   digest words, then asks "Sign these payloads? [y/N]". It is built to fit
   the terminal (80x24 and larger); when a request changes too much to fit,
   it shows the essentials and the words and says the rest is in the details.

With ``--yes``, or when stdin or stdout is not a terminal, there is no
pager: the whole review is printed, then the confirmation text.

Every line comes from :mod:`tuf_ceremony.describe` / :mod:`tuf_ceremony.review`,
where each untrusted string has passed :func:`tuf_ceremony.text.safe`; the
screens print plain text (never rich markup), so nothing in a request is
interpreted by the terminal or by a markup parser. Lines are wrapped here,
at spaces, so the terminal never cuts a word, keyid or URI; a token longer
than the whole line is broken explicitly with a visible ``>>`` continuation.

:func:`table_lines` lays out a table in the width available, switching to a
vertical "field: value" layout when the columns cannot fit.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import click

from tuf_ceremony.describe import (
    essential_changes,
    numbered_words,
    quote,
    signer_sentences,
)
from tuf_ceremony.text import safe
from tuf_ceremony.timeutil import fmt_time
from tuf_ceremony.words import digest_words, group_hex, layout_words

CLEAR = "\x1b[H\x1b[2J"
# one line at 80 columns (79 characters): the confirmation screen has no line to spare
COMPARE_WORDS = "Compare with the coordinator and the keyholders. If any word differs, answer N."
SIGN_QUESTION = "Sign these payloads?"
MIN_WIDTH = 20
MIN_HEIGHT = 8


# --- Terminal and text layout ----------------------------------------------------------------


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass
class Terminal:
    """Where the screens go: size, and whether a person is at a terminal."""

    width: int
    height: int
    interactive: bool
    out: TextIO

    @classmethod
    def detect(cls, yes: bool = False) -> Terminal:
        size = shutil.get_terminal_size((80, 24))
        interactive = not yes and _isatty(sys.stdin) and _isatty(sys.stdout)
        return cls(max(MIN_WIDTH, size.columns), max(MIN_HEIGHT, size.lines), interactive, sys.stdout)

    def show(self, lines: Sequence[str], clear: bool = False, end: str = "\n") -> None:
        """``lines``, each ended by a newline but the last, ended by ``end``
        (a full page ends with "": a newline on the bottom line would scroll
        the page's first line away)."""
        text = (CLEAR if clear and self.interactive else "") + "\n".join(lines) + (end if lines else "")
        self.out.write(text)
        self.out.flush()

    def getkey(self) -> str:
        try:
            return click.getchar()
        except EOFError:
            return "q"


def wrap(line: str, width: int) -> list[str]:
    """``line`` wrapped at spaces to ``width`` columns, continuation lines
    indented two more than the first; a token longer than the line is
    broken explicitly, each piece after the first starting with ``>>``."""
    if len(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = " " * min(len(line) - len(body), max(0, width // 2))
    sub = indent + "  "
    out: list[str] = []
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=indent,
        subsequent_indent=sub,
        break_long_words=False,
        break_on_hyphens=False,
        drop_whitespace=True,
    )
    for piece in wrapper.wrap(body):
        if len(piece) <= width:
            out.append(piece)
            continue
        # one token longer than the line: broken here, visibly, never by the terminal
        prefix = sub + ">> " if len(sub) + 4 <= width else ">> "
        room = max(1, width - len(prefix))
        out.append(piece[:width])
        rest = piece[width:]
        while rest:
            out.append(prefix + rest[:room])
            rest = rest[room:]
    return out


def wrap_all(lines: Sequence[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        out += wrap(line, width)
    return out


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, gap: int = 2) -> list[str]:
    """A table in ``width`` columns: aligned columns when every cell fits
    whole, else one block per row with one ``header: value`` line per cell
    (wrapped at spaces). Cells are shown as given: callers pass untrusted
    text through :func:`tuf_ceremony.text.safe` first."""
    cols = len(headers)
    cells = [[str(c) for c in row] + [""] * (cols - len(row)) for row in rows]
    widths = [
        max([len(headers[i])] + [max((len(p) for p in r[i].split("\n")), default=0) for r in cells])
        for i in range(cols)
    ]
    if sum(widths) + gap * (cols - 1) <= width:

        def fmt(values: Sequence[str]) -> str:
            return (" " * gap).join(v.ljust(widths[i]) for i, v in enumerate(values)).rstrip()

        out = [fmt(headers), fmt(["-" * w for w in widths])]
        for r in cells:
            parts = [c.split("\n") for c in r]
            for k in range(max(len(p) for p in parts)):
                out.append(fmt([p[k] if k < len(p) else "" for p in parts]))
        return out
    out = []
    label_w = max(len(h) for h in headers)
    for n, r in enumerate(cells):
        if n:
            out.append("")
        for h, c in zip(headers, r, strict=True):
            values = c.split("\n") or [""]
            for k, v in enumerate(values):
                label = f"{h}:".ljust(label_w + 1) if k == 0 else " " * (label_w + 1)
                out += wrap(f"{label} {v}".rstrip(), width)
    return out


# --- Pager ---------------------------------------------------------------------------------


def pages(lines: Sequence[str], height: int) -> list[list[str]]:
    per = max(1, height - 1)
    return [list(lines[i : i + per]) for i in range(0, max(1, len(lines)), per)] or [[]]


def page(term: Terminal, lines: Sequence[str], title: str, after: str, quit_to: str = "the confirmation") -> str:
    """Show ``lines`` a page at a time. Returns "end" when the reader paged
    past the last page, "q" when they pressed q. ``after`` names what space
    shows after the last page, ``quit_to`` what q goes to."""
    book = pages(wrap_all(lines, term.width), term.height)
    i = 0
    while True:
        content = book[i] + [""] * (term.height - 1 - len(book[i]))
        last = i == len(book) - 1
        nxt = f"space: {after}" if last else "space: next page"
        for status in (
            f"-- {title} {i + 1}/{len(book)}  {nxt}  b: back  q: {quit_to} --",
            f"-- {title} {i + 1}/{len(book)}  {nxt}  q: {quit_to} --",
            f"-- {title} {i + 1}/{len(book)}  space: next  b: back  q: skip --",
            f"-- {title} {i + 1}/{len(book)} space b q --",
        ):
            if len(status) <= term.width:
                break
        term.show([*content, status[: term.width]], clear=True, end="")
        key = term.getkey()
        if key in (" ", "\r", "\n", "f", "j", "\x1b[6~", "\x1b[B"):  # also PgDn, down
            if last:
                return "end"
            i += 1
        elif key in ("b", "k", "\x1b[5~", "\x1b[A"):  # also PgUp, up
            i = max(0, i - 1)
        elif key in ("q", "Q"):
            return "q"


# --- What the screens say ------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    status: str  # "pinned", "chained", "not pinned", "first root"
    version: int | None
    digest: str | None
    line: str


def anchor_of(request: Any) -> Anchor:
    """The trusted-root anchor: TRUST's ``request.anchor`` when present,
    else computed here from the request's trusted root."""
    a = getattr(request, "anchor", None)
    if a is not None:
        return Anchor(str(a.status), a.version, a.digest, safe(a.describe(), None))
    if request.trusted_root is None:
        return Anchor("first root", None, None, "FIRST ROOT: this request has no trusted root: it is a first root.")
    from tuf_ceremony.request import sha256_hex

    tr = request.trusted_root
    digest = sha256_hex(tr.signed_bytes)
    version = int(tr.signed.version)
    return Anchor(
        "not pinned",
        version,
        digest,
        f"trusted root version {version}, SHA-256 {digest}: NOT PINNED (no "
        "--trusted given); compare this digest with the published record",
    )


def anchor_short(a: Anchor, where: str = "on the first screen") -> str:
    if a.status == "first root":
        return "This request has no trusted root: it is a first root."
    assert a.digest is not None
    if a.status == "not pinned":
        return f"Trusted root v{a.version}: NOT PINNED, SHA-256 {a.digest[:8]}... (in full {where})."
    if a.status == "chained":
        return f"Trusted root v{a.version}: checked against your own trusted root."
    return f"Trusted root v{a.version}: pinned, equal to your own copy."


def _slot_roles(slots: Sequence[Any] | None) -> set[str] | None:
    return None if slots is None else {s.role for s in slots}


def key_line(request: Any, slots: Sequence[Any] | None, name: str | None) -> list[str]:
    if slots is None:
        return ["Your key is identified once it is unlocked."]
    kid = slots[0].keyid
    who = safe(name, 60) if name else (safe(request.name_of(kid), 60) if request.name_of(kid) else kid[:12])
    signs = ", ".join(f"{s.role} version {s.version}" for s in slots)
    return [f"Your key: {who}, keyid {safe(kid, None)}", f"It signs: {signs}."]


def summary_lines(request: Any, slots: Sequence[Any] | None, name: str | None = None, width: int = 80) -> list[str]:
    """Screen 1: what the request asks, in plain words."""
    roles = _slot_roles(slots)
    lines = [f"Signing request for ceremony {quote(request.ceremony)[:120]}", f"  request id {request.request_id}"]
    lines += key_line(request, slots, name)
    a = anchor_of(request)
    lines.append("")
    lines.append(a.line)
    if a.digest is not None and a.status == "not pinned":
        lines.append("  Words of the trusted root, to compare with the published record:")
        lines += layout_words(digest_words(a.digest), width, "")
    for p in request.payloads:
        signed = p.metadata.signed
        mark = "" if roles is None else (" (you sign this)" if p.role in roles else " (not signed by your key)")
        lines.append("")
        lines.append(f"{p.role} version {p.version}, expires {fmt_time(signed.expires)}{mark}")
        lines += ["  " + c for c in essential_changes(request, p)]
        lines += ["  " + s for s in signer_sentences(request, p)]
    lines.append("")
    lines.append(
        "Next: the full details, every field signed and every change against "
        "the trusted version, then the confirmation."
    )
    return lines


_RENEWALS = (
    "No key or threshold changes: a renewal with a new expiry.",
    "No content changes: a renewal with a new expiry.",
)


def _payload_block(request: Any, p: Any, width: int, headings: bool) -> list[str]:
    """One payload on the confirmation screen: version, what changes, who
    signs (both signer sets for a rotation) and the digest words."""
    signed = p.metadata.signed
    trusted = request.trusted_root if p.role == "root" else request.trusted_targets
    follows = f" (after v{trusted.signed.version})" if trusted is not None else ""
    changes = essential_changes(request, p)
    title = f"{p.role} v{p.version}{follows}, expires {fmt_time(signed.expires)}"
    if changes and changes[0] in _RENEWALS:
        title += ": renewal, no other change" if len(changes) == 1 else ": renewal"
        changes = changes[1:]
    out = [title]
    out += ["  " + c for c in changes]
    sentences = signer_sentences(request, p)
    out += ["  " + s for s in (sentences[:2] if len(sentences) > 2 else sentences)]
    if headings:
        out.append(f"  Words of {p.role} v{p.version} (SHA-256 {p.digest[:8]}... of the bytes you sign):")
    body = wrap_all(out, width)
    body += layout_words(digest_words(p.digest), width, "")
    return body


def confirmation_lines(request: Any, slots: Sequence[Any], name: str, width: int, height: int) -> list[str]:
    """Screen 3, without the question: what matters and the digest words,
    in at most ``height - 1`` lines when it can be done (blank lines and
    headings go first; then the changes are cut with a note, never the
    words, the key, the trust anchor or the instruction)."""
    kid = slots[0].keyid
    head = wrap(
        f"Sign with {safe(name, 60)} (keyid {safe(kid[:12])}): {len(slots)} signature(s), "
        f"ceremony {quote(request.ceremony)[:60]}",
        width,
    )
    head += wrap(anchor_short(anchor_of(request)), width)
    roles = _slot_roles(slots) or set()
    signed_payloads = [p for p in request.payloads if p.role in roles]
    others = [p for p in request.payloads if p.role not in roles]
    other_lines = (
        wrap("Not signed by your key: " + ", ".join(f"{p.role} version {p.version}" for p in others) + ".", width)
        if others
        else []
    )
    tail = wrap(COMPARE_WORDS, width)
    budget = height - 1
    for blanks, headings in ((True, True), (False, True), (False, False)):
        lines = list(head)
        for p in signed_payloads:
            lines += [""] if blanks else []
            lines += _payload_block(request, p, width, headings)
        lines += other_lines
        lines += [""] if blanks else []
        lines += tail
        if len(lines) <= budget:
            return lines
    # Too much to fit: the changes are cut to what fits, with a note; the
    # words always stay; every change is in the details.
    words_blocks = [
        wrap(f"Words of {p.role} v{p.version}:", width) + layout_words(digest_words(p.digest), width, "")
        for p in signed_payloads
    ]
    room = budget - len(head) - sum(len(b) for b in words_blocks) - len(tail)
    changes: list[str] = []
    for p in signed_payloads:
        changes += wrap(f"{p.role} version {p.version}:", width)
        changes += wrap_all(
            ["  " + c for c in essential_changes(request, p)] + ["  " + s for s in signer_sentences(request, p)[:2]],
            width,
        )
    if len(changes) > room:
        note = wrap(
            "... more than fits here: every change is in the details (answer N, run again and read them).", width
        )
        changes = changes[: max(0, room - len(note))] + note
    return head + changes + [line for b in words_blocks for line in b] + tail


def plain_confirmation(request: Any, slots: Sequence[Any], name: str) -> list[str]:
    """The confirmation text for a non-terminal run (no width limit)."""
    kid = slots[0].keyid
    lines = ["", f"This key is {safe(name, 60)} (keyid {safe(kid, None)}). It will sign:"]
    for s in slots:
        p = request.payload(s.role)
        lines.append(f"  {s.role} version {s.version} as keyid {safe(s.keyid, None)}")
        lines.append(f"    SHA-256 of the bytes signed: {group_hex(p.digest)}")
        lines.append(f"    read aloud: {numbered_words(digest_words(p.digest))}")
    lines.append(anchor_short(anchor_of(request), "in the review above"))
    lines.append(COMPARE_WORDS)
    return lines


# --- The flow ------------------------------------------------------------------------------


def show_review(request: Any, slots: Sequence[Any] | None, name: str | None, term: Terminal) -> None:
    """Screens 1 and 2 on a terminal; the whole review otherwise."""
    from tuf_ceremony.review import render_review

    if not term.interactive:
        term.show(render_review(request).splitlines())
        return
    summary = summary_lines(request, slots, name, term.width)
    # the closing "Next: ..." lines alone on a second page would read as an empty
    # summary page: dropped then (the status line says space shows the details)
    whole, closing = wrap_all(summary, term.width), wrap_all(summary[-2:], term.width)
    if len(whole) > term.height - 1 >= len(whole) - len(closing):
        summary = summary[:-2]
    if page(term, summary, "summary", "the details") != "q":
        page(term, render_review(request).splitlines(), "details", "the confirmation")
    term.show([""])  # what follows (a passphrase prompt) starts below the status line


def confirm_signing(request: Any, slots: Sequence[Any], name: str, term: Terminal, ask: Callable[[str], None]) -> None:
    """Screen 3 and the question; ``ask`` raises when the answer is not yes."""
    if term.interactive:
        term.show(confirmation_lines(request, slots, name, term.width, term.height), clear=True)
    else:
        term.show(plain_confirmation(request, slots, name))
    ask(SIGN_QUESTION)


def after_signing(out_name: str) -> list[str]:
    return [f"Give {safe(out_name, 80)} to the coordinator. It holds no secret."]
