"""Pre-flight checks of a ceremony machine, before any key is used.

Checks (names for ``--accept``):

``network``  no network interface is up except loopback (``/sys/class/net/*``:
             ``flags`` bit IFF_UP, ``operstate``);
``route``    no default route, IPv4 (``/proc/net/route``) or IPv6
             (``/proc/net/ipv6_route``; reject routes on ``lo`` do not count);
``radio``    every wireless, bluetooth and other radio the machine reports
             in ``/sys/class/rfkill`` is soft- or hard-blocked;
``clock``    the UTC time agrees with the witness's ``--expect-time`` within
             the tolerance (without it, the time is shown for the witnesses);
``tool``     the tool's fingerprint could be computed over every installed file;
``pkcs11``   the PKCS#11 module, when one is configured, can be read (its
             path and SHA-256 are shown).

The roots of ``/sys`` and ``/proc`` are parameters, so tests build fake trees.
A failed check is an error unless accepted; an accepted failure stays in the
result as ``accepted``.

Result format ``tuf-ceremony/preflight`` version 1 (docs/auditor.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tuf_ceremony.evidence.fingerprint import ToolFingerprint
from tuf_ceremony.text import safe

PREFLIGHT_FORMAT = "tuf-ceremony/preflight"
PREFLIGHT_FORMAT_VERSION = 1
CHECKS = ("network", "route", "radio", "clock", "tool", "pkcs11")
DEFAULT_TOLERANCE = 120

PASS, FAIL, ACCEPTED, INFO = "pass", "fail", "accepted", "info"
_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8
_RTF_UP = 0x1
_RTF_REJECT = 0x200


@dataclass
class Check:
    name: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "summary": self.summary, "details": self.details}


@dataclass
class PreflightResult:
    time: datetime
    hostname: str
    python: str
    tool: ToolFingerprint
    tool_version: str
    checks: list[Check]
    pkcs11: list[dict[str, str]] = field(default_factory=list)
    expect_time: datetime | None = None
    tolerance: int = DEFAULT_TOLERANCE

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def accepted(self) -> list[Check]:
        return [c for c in self.checks if c.status == ACCEPTED]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        from tuf_ceremony.timeutil import fmt_time
        from tuf_ceremony.words import digest_words

        return {
            "format": PREFLIGHT_FORMAT,
            "format_version": PREFLIGHT_FORMAT_VERSION,
            "time": fmt_time(self.time),
            "time_words": time_in_words(self.time),
            "expect_time": fmt_time(self.expect_time) if self.expect_time else None,
            "tolerance_seconds": self.tolerance,
            "hostname": self.hostname,
            "python": self.python,
            "tool": {
                "version": self.tool_version,
                "fingerprint": self.tool.digest,
                "words": digest_words(self.tool.digest),
                "files": self.tool.file_count,
                "distributions": self.tool.summary(),
            },
            "pkcs11": self.pkcs11,
            "ok": self.ok,
            "accepted": [c.name for c in self.accepted],
            "checks": [c.to_dict() for c in self.checks],
        }


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def check_interfaces(sys_root: Path) -> Check:
    net = sys_root / "class" / "net"
    try:
        names = sorted(p.name for p in net.iterdir())
    except OSError:
        return Check("network", FAIL, f"cannot list {net}: the interfaces are unknown")
    up: list[str] = []
    details: list[str] = []
    for name in names:
        flags_text = _read(net / name / "flags")
        state = _read(net / name / "operstate") or "?"
        try:
            flags = int(flags_text, 16) if flags_text else 0
        except ValueError:
            flags = 0
        loopback = bool(flags & _IFF_LOOPBACK) or name == "lo"
        is_up = bool(flags & _IFF_UP) or state == "up"
        details.append(
            f"{safe(name)}: operstate {safe(state)}, flags {safe(flags_text or '?')}{' (loopback)' if loopback else ''}"
        )
        if is_up and not loopback:
            up.append(safe(name))
    if up:
        return Check("network", FAIL, f"network interface(s) up: {', '.join(up)}", details)
    return Check("network", PASS, "no network interface is up except loopback", details)


def _default_routes(proc_root: Path) -> tuple[list[str], list[str]]:
    """(default routes found, problems reading)."""
    found: list[str] = []
    problems: list[str] = []
    v4 = _read(proc_root / "net" / "route")
    if v4 is None:
        problems.append(f"cannot read {proc_root / 'net' / 'route'}")
    else:
        for line in v4.splitlines()[1:]:
            f = line.split()
            if len(f) < 8:
                continue
            try:
                flags = int(f[3], 16)
            except ValueError:
                continue
            if f[1] == "00000000" and f[7] == "00000000" and flags & _RTF_UP:
                found.append(f"IPv4 default route via {safe(f[0])}")
    v6 = _read(proc_root / "net" / "ipv6_route")
    for line in (v6 or "").splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        try:
            flags = int(f[8], 16)
        except ValueError:
            continue
        if f[1] == "00" and set(f[0]) == {"0"} and flags & _RTF_UP and not flags & _RTF_REJECT and f[9] != "lo":
            found.append(f"IPv6 default route via {safe(f[9])}")
    return found, problems


def check_routes(proc_root: Path) -> Check:
    found, problems = _default_routes(proc_root)
    if found or problems:
        return Check("route", FAIL, "; ".join(found + problems), found + problems)
    return Check("route", PASS, "no default route (IPv4 or IPv6)")


def check_radios(sys_root: Path) -> Check:
    rfkill = sys_root / "class" / "rfkill"
    try:
        entries = sorted(rfkill.iterdir())
    except OSError:
        return Check("radio", PASS, "the machine reports no radio switch (no rfkill)")
    on: list[str] = []
    details: list[str] = []
    for e in entries:
        kind = safe(_read(e / "type") or "?")
        name = safe(_read(e / "name") or e.name)
        soft, hard = _read(e / "soft"), _read(e / "hard")
        blocked = soft == "1" or hard == "1"
        details.append(
            f"{kind} {name}: soft {safe(soft or '?')}, hard {safe(hard or '?')} ({'off' if blocked else 'ON'})"
        )
        if not blocked:
            on.append(f"{kind} ({name})")
    if on:
        return Check("radio", FAIL, f"radio(s) not blocked: {', '.join(on)}", details)
    return Check("radio", PASS, f"every radio is blocked ({len(entries)} reported)", details)


def check_clock(now: datetime, expect: datetime | None, tolerance: int) -> Check:
    from tuf_ceremony.timeutil import fmt_time

    shown = f"machine time {fmt_time(now)}: {time_in_words(now)}"
    if expect is None:
        return Check("clock", INFO, f"{shown}; no witness time given (--expect-time)")
    diff = int(abs((now - expect).total_seconds()))
    where = "ahead of" if now > expect else "behind"
    if diff > tolerance:
        return Check(
            "clock",
            FAIL,
            f"the clock is {diff} s {where} the witness time {fmt_time(expect)} (tolerance {tolerance} s)",
            [shown],
        )
    return Check(
        "clock", PASS, f"within {diff} s of the witness time {fmt_time(expect)} (tolerance {tolerance} s)", [shown]
    )


def check_tool(fp: ToolFingerprint) -> Check:
    if fp.problems:
        return Check(
            "tool",
            FAIL,
            f"{len(fp.problems)} problem(s) with the installed files: {safe(fp.problems[0])}",
            [safe(p) for p in fp.problems],
        )
    return Check(
        "tool",
        PASS,
        f"fingerprint over {fp.file_count} files of {len(fp.distributions)} distributions",
        [f"{d.name} {d.version}: {len(d.files)} files" for d in fp.distributions],
    )


def check_modules(paths: list[str]) -> tuple[Check, list[dict[str, str]]]:
    """Path and SHA-256 of each configured PKCS#11 module."""
    if not paths:
        return Check("pkcs11", INFO, "no PKCS#11 module configured (software keys only)"), []
    found: list[dict[str, str]] = []
    problems: list[str] = []
    for path in paths:
        p = Path(path)
        try:
            with p.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError as e:
            problems.append(f"module {safe(path)} cannot be read: {e.strerror}")
            continue
        found.append({"path": str(p.resolve()), "sha256": digest})
    lines = [f"{safe(m['path'])}: SHA-256 {m['sha256']}" for m in found]
    if problems:
        return Check("pkcs11", FAIL, "; ".join(problems), lines + problems), found
    return Check("pkcs11", PASS, "; ".join(lines), lines), found


def run_preflight(
    *,
    now: datetime,
    fingerprint: ToolFingerprint,
    tool_version: str,
    python: str,
    hostname: str,
    sys_root: Path = Path("/sys"),
    proc_root: Path = Path("/proc"),
    expect_time: datetime | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
    accept: frozenset[str] = frozenset(),
    modules: list[str] | None = None,
) -> PreflightResult:
    """Run every check; failures named in ``accept`` become ``accepted``."""
    unknown = sorted(set(accept) - set(CHECKS))
    if unknown:
        from tuf_ceremony.errors import InputError

        raise InputError(f"--accept: unknown check {unknown[0]!r} (checks: {', '.join(CHECKS)})")
    module_check, found = check_modules(modules or [])
    checks = [
        check_interfaces(sys_root),
        check_routes(proc_root),
        check_radios(sys_root),
        check_clock(now, expect_time, tolerance),
        check_tool(fingerprint),
        module_check,
    ]
    for c in checks:
        if c.status == FAIL and c.name in accept:
            c.status = ACCEPTED
    return PreflightResult(now, hostname, python, fingerprint, tool_version, checks, found, expect_time, tolerance)


_TIMESTAMP = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:Z|UTC)?\s*$", re.IGNORECASE)


def parse_expect_time(value: str, now: datetime) -> datetime:
    """A witness's time: RFC 3339, or ``HH:MM[:SS]`` in UTC on the day
    nearest to ``now``. Raises ValueError."""
    from tuf_ceremony.timeutil import parse_time

    m = _CLOCK.match(value)
    if m is None:
        if not _TIMESTAMP.match(value):
            raise ValueError(
                f"{value[:40]!r} is not a time: give HH:MM[:SS] (UTC) or an RFC 3339 "
                "timestamp (like 2027-01-31T09:30:00Z)"
            )
        return parse_time(value)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"{value!r} is not a time of day")
    base = now.replace(hour=h, minute=mi, second=s, microsecond=0)
    candidates = [base + timedelta(days=d) for d in (-1, 0, 1)]
    return min(candidates, key=lambda c: abs((c - now).total_seconds()))


_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def number_words(n: int) -> str:
    """English words for 0 <= n < 10000."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        rest = f" {number_words(n % 100)}" if n % 100 else ""
        return f"{_ONES[n // 100]} hundred{rest}"
    rest = f" {number_words(n % 1000)}" if n % 1000 else ""
    return f"{number_words(n // 1000)} thousand{rest}"


def ordinal_words(n: int) -> str:
    words = number_words(n)
    head, sep, last = words.rpartition("-")
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def time_in_words(dt: datetime) -> str:
    """``nine hours, four minutes and twelve seconds UTC, Tuesday the first of
    December two thousand twenty-six``."""
    from datetime import UTC

    t = dt.astimezone(UTC)

    def unit(n: int, name: str) -> str:
        return f"{number_words(n)} {name}{'' if n == 1 else 's'}"

    return (
        f"{unit(t.hour, 'hour')}, {unit(t.minute, 'minute')} and "
        f"{unit(t.second, 'second')} UTC, {_DAYS[t.weekday()]} the {ordinal_words(t.day)} "
        f"of {_MONTHS[t.month - 1]} {number_words(t.year)}"
    )
