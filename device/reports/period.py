"""The accountability report for a period (RCW 43.386.020-style), computed from the audit log only.

One report over two sources: ``compute`` takes entries from anywhere. ``generate`` reads this
unit's log; the central console (device/central/console_reports.py) feeds it the fleet's entries
from the central store, so a unit's figures and the agency's are counted by the same lines.

Why the audit log and not the working tables: it is the one record that cannot be edited or
shortened without ``audit verify`` naming the entry, and it keeps counting after a subject, a
probe or an examination has been erased. Every figure here is a count over entries whose ``at``
falls in the period (UTC days, both ends included); which actions feed which figure is the table
in device/reports/actions.py. Producing a report is itself audited (``report.generate``), with the
SHA-256 of the figures, so a report handed out can later be matched to its entry.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

from device.audit import AuditLog, Entry
from device.audit.log import entry_from_row
from device.errors import UsageError
from device.reports import actions as A
from device.reports import tally as T


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def period_entries(conn, start: date, end: date) -> list[Entry]:
    # ISO-8601 UTC strings sort like the times they name, so a string range is a time range.
    rows = conn.execute(
        "SELECT body, hash FROM audit_log WHERE at >= ? AND at < ? ORDER BY seq",
        (start.isoformat(), (end + timedelta(days=1)).isoformat()),
    )
    return [entry_from_row(body, h) for body, h in rows]


def compute(entries: list[Entry], acked: dict[str, int], start: date, end: date) -> dict[str, Any]:
    """The figures for ``entries`` (already limited to the period); ``acked``: sync cursor per destination."""
    seqs = [e.seq for e in entries]
    out = figures(T.tally(entries), start, end)
    out["sync"] = {
        dest: {
            "acked_seq": seq,
            "entries_delivered": sum(1 for s in seqs if s <= seq),
            "coverage": _rate(sum(1 for s in seqs if s <= seq), len(seqs)),
        }
        for dest, seq in sorted(acked.items())
    }
    return out


def figures(t: dict[str, Any], start: date, end: date) -> dict[str, Any]:
    """The report's figures read off a tally of the period's entries (device/reports/tally.py)."""
    k = t["k"]

    def count(name: str) -> int:
        return k.get("count", {}).get(name, 0)

    def group(name: str) -> dict[str, int]:
        return dict(sorted(k.get(name, {}).items()))

    # A corrected disposition counts once, by its last save in the period: subtract the saves that
    # were superseded, where the superseded save itself falls in the period.
    dispositions = dict(k.get("disposition", {}))
    first, last = start.isoformat(), end.isoformat()
    for day, superseded in t["sup"].items():
        if first <= day <= last:
            for d, n in superseded.items():
                dispositions[d] = dispositions.get(d, 0) - n
    verdicts = k.get("verdict", {})
    reviews = sum(verdicts.values())
    refusals = k.get("refused", {})
    search_overrides, exam_overrides = count("search_overrides"), count("exam_overrides")
    forced = count("forced_enrollments")
    return {
        "period": {"from": first, "to": last, "entries": t["n"], "first_seq": t["seq"][0], "last_seq": t["seq"][1]},
        "searches": {
            "total": count("searches"),
            "by_offense": group("search.offense"),
            "by_user": group("search.user"),
            # The stated purpose / legal authority, as typed (first 80 characters).
            "by_purpose": group("search.purpose"),
            "with_candidates_worth_examining": count("worth_examining"),
            "candidates_listed": count("candidates_listed"),
        },
        "refusals": {
            "quality": refusals.get("quality", 0),
            "other": {r: n for r, n in sorted(refusals.items()) if r != "quality"},
            "denied_actions": group("denied"),
        },
        "dispositions": {
            **{d: dispositions.get(d, 0) for d in A.DISPOSITIONS},
            "total": sum(dispositions.values()),
        },
        "peer_review": {
            "reviews": reviews,
            "concur": verdicts.get(A.CONCUR, 0),
            "dissent": verdicts.get(A.DISSENT, 0),
            "concurrence_rate": _rate(verdicts.get(A.CONCUR, 0), reviews),
            "dissent_rate": _rate(verdicts.get(A.DISSENT, 0), reviews),
        },
        "leads_released": count("leads_released"),
        "enhancements": count("enhancements"),
        "overrides": {
            "searches_of_failing_probes": search_overrides,
            "exam_quality_overrides": exam_overrides,
            "forced_enrollments": forced,
            "total": search_overrides + exam_overrides + forced,
        },
        "gallery": {
            "images_enrolled": count("images_enrolled"),
            "subjects_created": count("subjects_created"),
            "subjects_deleted": count("subjects_deleted"),
            "images_deleted": count("images_deleted"),
            "legal_holds_set": count("holds_set"),
            "legal_holds_lifted": count("holds_lifted"),
        },
        "purges": {
            "subjects": count("subjects_purged"),
            "subject_images": count("images_purged"),
            "probes": count("probes_purged"),
            "probes_kept_on_legal_hold": count("probes_held"),
        },
        "access": {
            "logins": count("logins"),
            "failed_logins": count("failed_logins"),
            "lockouts": count("lockouts"),
        },
        "policy_changes": sorted(t["policy"], key=lambda p: p["at"]),
        "activity": {
            "units_active": len(t["units"]),
            "users_active": len(t["users"]),
            "entries_by_unit": group("unit"),
        },
        "accountability": {
            "reports_generated": count("reports"),
            "evaluations_run": count("evaluations"),
            # faces leave the box only in these: how many, and how many held every candidate's face
            "disclosure_packages": count("packages"),
            "unredacted_packages": count("unredacted_packages"),
            "unsealed_packages": count("unsealed_packages"),
        },
        "sync": {},
        "outcomes": group("outcome"),
        "not_counted": group("not_counted"),
    }


def figures_sha256(figures: dict) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def generate(store, start: date, end: date, *, actor: str, role: str, fmt: str = "json",
             audit: AuditLog | None = None) -> dict[str, Any]:  # fmt: skip
    """The report for ``start``..``end``, recorded as a ``report.generate`` audit entry."""
    if end < start:
        raise UsageError(f"the period ends ({end}) before it starts ({start})")
    audit = audit or AuditLog(store)
    with store.connection() as conn:
        # One read transaction: the figures and the sync cursors describe the same moment.
        conn.execute("BEGIN")
        try:
            entries = period_entries(conn, start, end)
            acked = dict(conn.execute("SELECT destination, acked_seq FROM audit_sync").fetchall())
        finally:
            conn.execute("COMMIT")
    return recorded(compute(entries, acked, start, end), audit, actor=actor, role=role, fmt=fmt,
                    scope=audit.device_id, extra={})  # fmt: skip


NOTICE = "counts from the device's tamper-evident audit log; candidates are investigative leads only"


def recorded(figures: dict, audit, *, actor: str, role: str, fmt: str, scope: str, extra: dict,
             notice: str = NOTICE) -> dict[str, Any]:  # fmt: skip
    """The report around ``figures``, its run recorded in ``audit`` (the unit's log, or the
    console's) as a ``report.generate`` entry with the figures' SHA-256; ``extra``: more details
    for that entry (the console's filters)."""
    period = figures["period"]
    digest = figures_sha256(figures)
    entry = audit.record(
        A.REPORT, actor=actor, role=role, object=f"report:{period['from']}..{period['to']}",
        details={"from": period["from"], "to": period["to"], "format": fmt, "entries": period["entries"],
                 "sha256": digest, **extra},
    )  # fmt: skip
    return {
        "title": "fieldface accountability report",
        "device": scope,
        "generated": {"at": entry.at, "by": actor, "role": role, "audit_seq": entry.seq, "figures_sha256": digest},
        "notice": notice,
        **figures,
    }
