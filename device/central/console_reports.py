"""The agency's accountability report: the unit's period report (device/reports/period.py, its
``figures`` and ``recorded``) over the fleet's verified entries in the central store, for all
units or one unit, user, offence or purpose. The whole fleet or one unit is counted from the day
tallies the receivers keep (device/central/days.py: the same tally code, summed); a user, an
offence or a purpose from that part of the entries. The run goes into the console's log with the
figures' SHA-256, as a unit's run goes into the unit's.

Every epoch's entries count, a restored unit's lost range too: those actions happened on the lost
card, central verified them, and oversight asks what was done, not what survived.
"""

from __future__ import annotations

from datetime import date, timedelta

from device.central import console_queries as Q
from device.central import days
from device.errors import UsageError
from device.reports import period
from device.reports.tally import tally

SCOPES = ("unit", "user", "offense", "purpose")
NOTICE = ("counts from the units' tamper-evident audit logs as verified by the central receivers; candidates are "
          "investigative leads only")  # fmt: skip


def check_scope(scope: dict) -> dict:
    out = {}
    for name, value in scope.items():
        if value in (None, ""):
            continue
        if name not in SCOPES:
            raise UsageError(f"a report covers all units or one {', '.join(SCOPES)}; not {name!r}")
        value = str(value).strip()
        if not value or len(value) > 200 or any(ord(c) < 0x20 for c in value):
            raise UsageError(f"{name}: at most 200 printable characters")
        out[name] = value
    return out


def describe(scope: dict, units: int) -> str:
    if not scope:
        return f"fleet: all {units} registered units"
    return "fleet, " + ", ".join(f"{k} {v}" for k, v in sorted(scope.items()))


def fleet_report(store, clog, start: date, end: date, scope: dict, *, actor: str, role: str, fmt: str) -> dict:
    if end < start:
        raise UsageError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days > 3660:
        raise UsageError("a report covers at most ten years")
    scope = check_scope(scope)
    if set(scope) <= {"unit"}:  # the whole fleet or one unit: a period's day tallies, merged
        counted = days.merged(store, start, end, scope.get("unit"))
    else:  # one user, offence or purpose: that part of the entries, through its index, counted
        counted = tally(e for _unit, e in Q.period(store, scope, start.isoformat(),
                                                  (end + timedelta(days=1)).isoformat()))  # fmt: skip
    figures = period.figures(counted, start, end)
    return period.recorded(figures, clog, actor=actor, role=role, fmt=fmt, scope=describe(scope, len(store.units())),
                           extra={"scope": scope}, notice=NOTICE)  # fmt: skip
