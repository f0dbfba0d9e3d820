"""Times: expiry durations ("365d", "12w", "36h"), RFC 3339 timestamps, and
plain dates ("2026-11-01", read as 00:00 UTC).

:func:`parse_at` is the one parser of every command's ``--at`` option."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(value: str, now: datetime) -> datetime:
    """Return the expiry for ``value`` relative to ``now`` (UTC, whole seconds).

    Raises ValueError with a readable reason.
    """
    m = _DURATION.match(value)
    if m:
        amount = int(m.group(1))
        if amount <= 0:
            raise ValueError(f"duration {value!r} must be positive")
        try:
            delta = timedelta(**{_UNITS[m.group(2)]: amount})
            return (now + delta).replace(microsecond=0)
        except OverflowError:
            raise ValueError(f"duration {value[:40]!r} reaches past the year 9999") from None
    return parse_time(value)


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp, or a date (``2026-11-01`` is 00:00 UTC that
    day); a timestamp without offset is refused."""
    d = _DATE.match(value)
    if d:
        try:
            return datetime(int(d.group(1)), int(d.group(2)), int(d.group(3)), tzinfo=UTC)
        except ValueError as e:
            raise ValueError(f"{value!r} is not a valid date ({e})") from None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (like 365d, 12w, 36h), a date (like 2027-01-31, "
            "read as 00:00 UTC) nor an RFC 3339 timestamp (like 2027-01-31T00:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone; add Z for UTC")
    try:
        return dt.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        raise ValueError(f"timestamp {value[:40]!r} is out of range") from None


AT_HELP = "a date (2026-11-01, read as 00:00 UTC) or an RFC 3339 time (2026-11-01T09:30:00Z)"


def parse_at(value: str | None, option: str = "--at") -> datetime:
    """The one parser of ``--at``: None is now; a date or an RFC 3339 time
    otherwise. Raises ValueError naming the option."""
    if value is None:
        return utcnow()
    try:
        return parse_time(value)
    except ValueError as e:
        msg = str(e).replace("neither a duration (like 365d, 12w, 36h), a date", "neither a date")
        raise ValueError(f"{option}: {msg}") from None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
