"""The accountability report's counting, as a summary that adds up: ``tally`` counts entries,
``merge`` adds two tallies, and the report's figures (device/reports/period.py ``figures``) are
read off a tally. A unit tallies its period's entries in one go; the central store keeps one tally
per unit and UTC day, written by the receivers in the same transaction as the entries
(device/central/days.py), and a fleet report merges a month of them instead of reading millions of
entries. Same lines, same figures, whichever way the tally was made (tests/reports, tests/console).

Everything the report shows is a count, a set (units, users), a min/max (seqs) or a short list
(policy changes), so it adds up across days and units, with one exception handled here: a
candidate's disposition saved again (corrected) counts once, by its last save in the period. A
correction's entry says what it replaced (``details.replaces``: the earlier disposition and its
time, written by device/workflow/analysis.py), so its day records "one save of day D, disposition
d, was superseded"; the report subtracts those whose day D lies in its period. Entries written
before ``replaces`` existed are deduplicated by (examination, rank) within a unit's own report, as
before; the central day tallies count each of their saves (a day must not depend on batching).

A tally is plain JSON (stored as text centrally):
``{"n": entries, "seq": [min, max], "k": {group: {key: count}}, "units": [...], "users": [...],
"policy": [...], "sup": {day: {disposition: count}}}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from device.audit import Entry
from device.reports import actions as A

REPLACES = "replaces"  # details of a corrected disposition: {"disposition": d, "at": when it was saved}


def empty() -> dict[str, Any]:
    return {"n": 0, "seq": [None, None], "k": {}, "units": [], "users": [], "policy": [], "sup": {}}


def _bump(t: dict, group: str, key, by: int = 1) -> None:
    counts = t["k"].setdefault(group, {})
    key = str(key)
    counts[key] = counts.get(key, 0) + by


class Counting:
    """A tally being made, entry by entry (``tally`` and ``by_day`` below; ``central verify``
    recounts a unit's days with it). ``legacy``: deduplicate corrections that do not say what
    they replace, within this count (a unit's own report; see the module's docstring)."""

    def __init__(self, legacy: bool = True):
        self.t = empty()
        self.units: set[str] = set()
        self.users: set[str] = set()
        self.legacy: dict[tuple, tuple[str, str]] | None = {} if legacy else None

    def add(self, e: Entry) -> None:
        t = self.t
        t["n"] += 1
        lo, hi = t["seq"]
        t["seq"] = [e.seq if lo is None else min(lo, e.seq), e.seq if hi is None else max(hi, e.seq)]
        self.units.add(e.device)
        if e.role not in ("system", "none"):
            self.users.add(e.actor)
        _bump(t, "unit", e.device)
        _bump(t, "outcome", e.outcome)
        if e.outcome == "denied":
            _bump(t, "denied", e.action)
        if e.action not in A.COUNTED:
            _bump(t, "not_counted", e.action)
        if e.action == A.SEARCH_REFUSED:
            _bump(t, "refused", e.details.get("reason", "unstated"))
        elif e.action == A.LOGIN_FAILED:
            _bump(t, "count", "failed_logins")
        elif e.action == A.LOGIN_LOCKOUT:
            _bump(t, "count", "lockouts")
        if e.outcome == "ok":
            _count_ok(t, e, self.legacy)

    def result(self) -> dict[str, Any]:
        self.t["units"], self.t["users"] = sorted(self.units), sorted(self.users)
        return self.t


def tally(entries: Iterable[Entry]) -> dict[str, Any]:
    """Count ``entries`` (already limited to a period)."""
    counting = Counting()
    for e in entries:
        counting.add(e)
    return counting.result()


def _count_ok(t: dict, e: Entry, legacy: dict | None) -> None:
    d, action = e.details, e.action
    if action == A.SEARCH:
        _bump(t, "count", "searches")
        _bump(t, "search.offense", d.get("offense"))
        _bump(t, "search.user", e.actor)
        _bump(t, "search.purpose", str(d.get("purpose") or "unstated")[:80])
        _bump(t, "count", "worth_examining", 1 if d.get("worth_examining") else 0)
        _bump(t, "count", "candidates_listed", int(d.get("candidates", 0)))
        _bump(t, "count", "search_overrides", 1 if d.get(A.SEARCH_OVERRIDE_FIELD) else 0)
    elif action == A.DISPOSITION:
        _disposition(t, e, legacy)
    elif action == A.REVIEW:
        _bump(t, "verdict", d.get(A.REVIEW_FIELD))
    elif action == A.ENROLL:
        _bump(t, "count", "images_enrolled")
        _bump(t, "count", "subjects_created", 1 if d.get("new_subject") else 0)
        _bump(t, "count", "forced_enrollments", 1 if d.get(A.ENROLL_FORCED_FIELD) else 0)
    elif action == A.LEGAL_HOLD:
        _bump(t, "count", "holds_set" if d.get("hold") else "holds_lifted")
    elif action in (A.DELETE_SUBJECT, A.PURGE_SUBJECT):
        name = "deleted" if action == A.DELETE_SUBJECT else "purged"
        _bump(t, "count", f"subjects_{name}")
        _bump(t, "count", f"images_{name}", int(d.get("images", 0)))
    elif action == A.PURGE_PROBES:
        _bump(t, "count", "probes_purged", int(d.get("count", 0)))
        _bump(t, "count", "probes_held", len(d.get("held", [])))
    elif action == A.PACKAGE:
        _bump(t, "count", "packages")
        _bump(t, "count", "unredacted_packages", 1 if d.get("redacted") is False else 0)
        _bump(t, "count", "unsealed_packages", 0 if d.get("encrypted") else 1)
    elif action in (A.POLICY_SET, A.POLICY_RESET):
        t["policy"].append({"at": e.at, "by": e.actor, "action": action, "key": d.get("key"),
                            "old": d.get("old"), "new": d.get("new"), "reason": d.get("reason")})  # fmt: skip
    else:
        plain = {A.LEAD_RELEASE: "leads_released", A.ENHANCE: "enhancements", A.QUALITY_OVERRIDE: "exam_overrides",
                 A.LOGIN: "logins", A.REPORT: "reports", A.EVALUATION: "evaluations"}  # fmt: skip
        if action in plain:
            _bump(t, "count", plain[action])


def _disposition(t: dict, e: Entry, legacy: dict | None) -> None:
    d = e.details
    value, day = str(d.get(A.DISPOSITION_FIELD)), e.at[:10]
    _bump(t, "disposition", value)
    if REPLACES in d:  # written by the unit since corrections say what they replace
        old = d[REPLACES]
        if isinstance(old, dict) and old.get("at"):
            _supersede(t, str(old["at"])[:10], str(old.get(A.DISPOSITION_FIELD)))
        return
    key = (e.device, e.object, d.get("rank")) if e.object else None
    if key is None or legacy is None:
        return
    if key in legacy:
        _supersede(t, *legacy[key])
    legacy[key] = (day, value)


def _supersede(t: dict, day: str, disposition: str) -> None:
    by_day = t["sup"].setdefault(day, {})
    by_day[disposition] = by_day.get(disposition, 0) + 1


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``a`` + ``b`` (``a`` is changed and returned)."""
    a["n"] += b["n"]
    a["seq"] = [_pick(min, a["seq"][0], b["seq"][0]), _pick(max, a["seq"][1], b["seq"][1])]
    for group, counts in b["k"].items():
        mine = a["k"].setdefault(group, {})
        for key, n in counts.items():
            mine[key] = mine.get(key, 0) + n
    a["units"] = sorted(set(a["units"]) | set(b["units"]))
    a["users"] = sorted(set(a["users"]) | set(b["users"]))
    a["policy"] = a["policy"] + b["policy"]
    for day, counts in b["sup"].items():
        mine = a["sup"].setdefault(day, {})
        for key, n in counts.items():
            mine[key] = mine.get(key, 0) + n
    return a


def _pick(fn, x, y):
    return y if x is None else x if y is None else fn(x, y)


def by_day(entries: Iterable[Entry]) -> dict[str, dict[str, Any]]:
    """One tally per UTC day of ``at``: what the central store keeps per unit. Without the legacy
    deduplication, so a day's tally is the same however its entries were batched."""
    days: dict[str, Counting] = {}
    for e in entries:
        days.setdefault(e.at[:10], Counting(legacy=False)).add(e)
    return {day: c.result() for day, c in days.items()}
