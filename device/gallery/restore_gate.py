"""The restore gate: a unit restored from a backup searches nothing until it holds every erasure
order the agency issued since that backup.

The backup may predate orders: the restored card has the erased people back. ``audit recover``
re-applies what the lost card had applied, but only a bundle carries the agency's *complete* list
(every order issued so far for its gallery and for '*'). So the restore (device/backup.py) sets
the gate, in the same transaction as its ``store.restore`` entry, naming the agency galleries the
card holds; each bundle applied for one of them (a newer one, or the same version, whose orders
are then applied without re-applying its content) ticks it off, and the last one clears the gate.
``run_search`` (device/workflow/analysis.py, the one door of every search) refuses while it is set.

A unit that holds no agency gallery never received central galleries: it has no agency orders to
wait for and is not gated. An erasure order file on its own is one order, not the complete list:
it does not clear the gate.

State: one row of ``meta`` (key ``restore_gate``, JSON ``{"since", "backup", "pending"}``).
"""

from __future__ import annotations

import json

from device.audit import Draft
from device.errors import NotAllowedError

KEY = "restore_gate"


def agency_galleries(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM galleries WHERE agency IS NOT NULL ORDER BY name")]


def pending(conn) -> dict | None:
    """The gate's state, or None when the unit may search."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    return json.loads(row[0]) if row else None


def set_in(conn, backup: str, since: str, actor: str) -> list[Draft]:
    """Set the gate inside the restore's transaction; the audit draft(s) to append with it."""
    galleries = agency_galleries(conn)
    if not galleries:
        return []
    state = {"since": since, "backup": backup, "pending": galleries}
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (KEY, json.dumps(state)))
    return [Draft("gallery.restore_gate_set", actor, "cli", f"backup:{backup}",
                  details={"galleries": galleries})]  # fmt: skip


def bundle_applied(conn, audit, gallery: str, version: int, actor: str) -> int:
    """A bundle of ``gallery`` (with all its orders) was applied: tick it off; clear when none is left.
    Returns the seq of the audit entry that records it (0 when the gate was not waiting for it)."""
    state = pending(conn)
    if state is None or gallery not in state["pending"]:
        return 0
    state["pending"] = [g for g in state["pending"] if g != gallery]
    details = {"gallery": gallery, "bundle_version": version, "pending": state["pending"]}
    if state["pending"]:
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(state), KEY))
        action = "gallery.restore_gate_progress"
    else:
        conn.execute("DELETE FROM meta WHERE key = ?", (KEY,))
        action = "gallery.restore_gate_cleared"
    (entry,) = audit.append_in(conn, [Draft(action, actor, "system", f"gallery:{gallery}", details=details)])
    return entry.seq


def refuse_if_gated(conn) -> None:
    state = pending(conn)
    if state is not None:
        raise NotAllowedError(
            f"this unit was restored from a backup ({state['backup']}): import the agency's latest bundle "
            f"or erasure orders for {', '.join(state['pending'])} (fieldface gallery import / gallery fetch) "
            "before searching"
        )


def describe(store) -> str | None:
    """One line for the status screens (CLI and web), or None."""
    with store.connection() as conn:
        state = pending(conn)
    if state is None:
        return None
    return (
        f"restored from {state['backup']} at {state['since']}: searches refused until the agency's latest "
        f"bundle is imported for {', '.join(state['pending'])}"
    )
