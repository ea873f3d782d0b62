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
from collections import Counter
from datetime import date, timedelta
from typing import Any

from device.audit import AuditLog, Entry
from device.audit.log import entry_from_row
from device.errors import UsageError
from device.reports import actions as A


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
    by_action: dict[str, list[Entry]] = {}
    for e in entries:
        by_action.setdefault(e.action, []).append(e)

    def of(action: str, outcome: str | None = "ok") -> list[Entry]:
        return [e for e in by_action.get(action, []) if outcome is None or e.outcome == outcome]

    searches = of(A.SEARCH)
    refused = of(A.SEARCH_REFUSED, None)
    refusal_reasons = Counter(str(e.details.get("reason", "unstated")) for e in refused)
    # A candidate's disposition may be saved again (corrected): count each candidate of each
    # examination once, by its last saved disposition in the period.
    last = {(e.object, e.details.get("rank")) if e.object else e.seq: e.details.get(A.DISPOSITION_FIELD)
            for e in of(A.DISPOSITION)}  # fmt: skip
    dispositions = Counter(str(d) for d in last.values())
    verdicts = Counter(str(e.details.get(A.REVIEW_FIELD)) for e in of(A.REVIEW))
    reviews = sum(verdicts.values())
    enrolled = of(A.ENROLL)
    holds = Counter(bool(e.details.get("hold")) for e in of(A.LEGAL_HOLD))
    search_overrides = sum(1 for e in searches if e.details.get(A.SEARCH_OVERRIDE_FIELD))
    forced = sum(1 for e in enrolled if e.details.get(A.ENROLL_FORCED_FIELD))
    exam_overrides = len(of(A.QUALITY_OVERRIDE))
    seqs = [e.seq for e in entries]
    return {
        "period": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "entries": len(entries),
            "first_seq": min(seqs, default=None),
            "last_seq": max(seqs, default=None),
        },
        "searches": {
            "total": len(searches),
            "by_offense": dict(sorted(Counter(str(e.details.get("offense")) for e in searches).items())),
            "by_user": dict(sorted(Counter(e.actor for e in searches).items())),
            # The stated purpose / legal authority, as typed (first 80 characters).
            "by_purpose": dict(
                sorted(Counter(str(e.details.get("purpose") or "unstated")[:80] for e in searches).items())
            ),
            "with_candidates_worth_examining": sum(1 for e in searches if e.details.get("worth_examining")),
            "candidates_listed": sum(int(e.details.get("candidates", 0)) for e in searches),
        },
        "refusals": {
            "quality": refusal_reasons.get("quality", 0),
            "other": {k: v for k, v in sorted(refusal_reasons.items()) if k != "quality"},
            "denied_actions": dict(sorted(Counter(e.action for e in entries if e.outcome == "denied").items())),
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
        "leads_released": len(of(A.LEAD_RELEASE)),
        "enhancements": len(of(A.ENHANCE)),
        "overrides": {
            "searches_of_failing_probes": search_overrides,
            "exam_quality_overrides": exam_overrides,
            "forced_enrollments": forced,
            "total": search_overrides + exam_overrides + forced,
        },
        "gallery": {
            "images_enrolled": len(enrolled),
            "subjects_created": sum(1 for e in enrolled if e.details.get("new_subject")),
            "subjects_deleted": len(of(A.DELETE_SUBJECT)),
            "images_deleted": sum(int(e.details.get("images", 0)) for e in of(A.DELETE_SUBJECT)),
            "legal_holds_set": holds.get(True, 0),
            "legal_holds_lifted": holds.get(False, 0),
        },
        "purges": {
            "subjects": len(of(A.PURGE_SUBJECT)),
            "subject_images": sum(int(e.details.get("images", 0)) for e in of(A.PURGE_SUBJECT)),
            "probes": sum(int(e.details.get("count", 0)) for e in of(A.PURGE_PROBES)),
            "probes_kept_on_legal_hold": sum(len(e.details.get("held", [])) for e in of(A.PURGE_PROBES)),
        },
        "access": {
            "logins": len(of(A.LOGIN)),
            "failed_logins": len(of(A.LOGIN_FAILED, None)),
            "lockouts": len(of(A.LOGIN_LOCKOUT, None)),
        },
        "policy_changes": [
            {
                "at": e.at,
                "by": e.actor,
                "action": e.action,
                "key": e.details.get("key"),
                "old": e.details.get("old"),
                "new": e.details.get("new"),
                "reason": e.details.get("reason"),
            }
            for e in entries
            if e.action in (A.POLICY_SET, A.POLICY_RESET) and e.outcome == "ok"
        ],
        "activity": {
            "units_active": len({e.device for e in entries}),
            "users_active": len({e.actor for e in entries if e.role not in ("system", "none")}),
            "entries_by_unit": dict(sorted(Counter(e.device for e in entries).items())),
        },
        "accountability": {
            "reports_generated": len(of(A.REPORT)),
            "evaluations_run": len(of(A.EVALUATION)),
            # faces leave the box only in these: how many, and how many held every candidate's face
            "disclosure_packages": len(of(A.PACKAGE)),
            "unredacted_packages": sum(1 for e in of(A.PACKAGE) if e.details.get("redacted") is False),
            "unsealed_packages": sum(1 for e in of(A.PACKAGE) if not e.details.get("encrypted")),
        },
        "sync": {
            dest: {
                "acked_seq": seq,
                "entries_delivered": sum(1 for s in seqs if s <= seq),
                "coverage": _rate(sum(1 for s in seqs if s <= seq), len(seqs)),
            }
            for dest, seq in sorted(acked.items())
        },
        "outcomes": dict(sorted(Counter(e.outcome for e in entries).items())),
        "not_counted": dict(sorted(Counter(e.action for e in entries if e.action not in A.COUNTED).items())),
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
