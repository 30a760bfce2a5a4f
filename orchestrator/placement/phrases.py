"""How reasons spell durations, instants and windows, so every message reads the same way."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta


def duration(value: timedelta) -> str:
    """'2d 4h', '8h', '45min', '30s' (largest units first, zero parts left out)."""
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "-" + duration(-value)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0s"


def instant(value: datetime) -> str:
    """ISO 8601 in UTC with offset, e.g. 2027-03-04T09:00:00+00:00."""
    return value.astimezone(UTC).isoformat()


def window(start: datetime, end: datetime) -> str:
    """'2027-03-04T08:00Z\u201312:00Z' (an en dash), or both dates when the window crosses midnight."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    tail = e.strftime("%H:%MZ") if s.date() == e.date() else e.strftime("%Y-%m-%dT%H:%MZ")
    return f"{s.strftime('%Y-%m-%dT%H:%MZ')}\u2013{tail}"


def listing(items: Iterable[str]) -> str:
    return ", ".join(items)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 team', '3 teams', '2 ranges'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
