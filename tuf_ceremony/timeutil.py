"""Expiry parsing: durations ("365d", "12w", "36h") or RFC 3339 timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
        delta = timedelta(**{_UNITS[m.group(2)]: amount})
        return (now + delta).replace(microsecond=0)
    return parse_time(value)


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp; a value without offset is refused."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (like 365d, 12w, 36h) nor an RFC 3339 "
            "timestamp (like 2027-01-31T00:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone; add Z for UTC")
    return dt.astimezone(UTC).replace(microsecond=0)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
