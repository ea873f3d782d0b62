"""The one clock: aware UTC datetimes, passed to the services that need time (tests pass their own).

``system_now()`` is the clock itself; ``utc(dt)`` the stored form of an instant (ISO 8601, ms, Z);
``dt.date()`` of a clock reading is the UTC date retention and reports count in. Local time is
for display only and never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime


def system_now() -> datetime:
    return datetime.now(UTC)


def utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
