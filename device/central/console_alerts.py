"""Fleet alerts: what a person must look at, from what the receivers stored and what the units did.

Kinds: ``silence`` (no batch or heartbeat for ``console.silence_after_s``), ``fork`` and
``rejected`` (a batch the verifier refused: audit_rejects), the receivers' own alerts (``epoch``:
a restored unit, with its lost range), and ``searches`` / ``overrides`` (one unit above the
policy's count within ``console.rate_window_h``), and ``erasure`` (an erasure order a unit has
not proved applied within ``console.erasure_overdue_s``: device/central/gallery/status.py). Each
alert has a key made from what raised it, so the same fact is one alert however often the page is
drawn; a supervisor acknowledges it with a note (``alert_acks``, with the console-log entry), and
the console raises each new one once: a row in ``alerts_raised``, a console-log entry and, when
configured, an MQTT message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from datetime import UTC, datetime

from device.audit.entry import Draft
from device.central import console_queries as Q
from device.central.units import fleet
from device.errors import UsageError

log = logging.getLogger(__name__)
MAX_NOTE = 500


def _key(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:20]


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current(store, config, now: datetime | None = None, units: list[dict] | None = None) -> list[dict]:
    """Every alert standing now, newest first (acknowledged ones included: see ``with_acks``)."""
    now = now or datetime.now(UTC)
    console = config.console
    out = []
    for at, unit, kind, detail in store.alerts():
        out.append({"key": _key("stored", at, unit, kind, detail), "unit": unit, "kind": kind, "at": at,
                    "detail": detail})  # fmt: skip
    for at, unit, kind, seq, detail in store.query("SELECT at, unit, kind, seq, detail FROM audit_rejects"):
        out.append({"key": _key("reject", at, unit, kind, seq), "unit": unit,
                    "kind": "fork" if kind == "fork" else "rejected", "at": at,
                    "detail": f"{kind} at seq {seq}: {detail}"})  # fmt: skip
    for u in units if units is not None else fleet(store, config.central.offline_after_s, now):
        since = u["last_contact"] or u["registered_at"]
        age = (now - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()
        if age > console.silence_after_s:
            said = "never reported" if u["last_contact"] is None else f"last heard {since}"
            detail = f"silent for {age / 3600:.1f} h ({said}); limit {console.silence_after_s / 3600:g} h"
            out.append({"key": _key("silence", u["unit"], since), "unit": u["unit"], "kind": "silence", "at": since,
                        "detail": detail})  # fmt: skip
    window = console.rate_window_h * 3600
    bucket = math.floor(now.timestamp() / window)
    since = datetime.fromtimestamp(bucket * window, UTC)
    for unit, searches, overrides in Q.rates(store, _stamp(since), _stamp(now)):
        for kind, count, limit in (("searches", searches, console.max_searches),
                                   ("overrides", overrides, console.max_overrides)):  # fmt: skip
            if count > limit:
                out.append({"key": _key("rate", unit, kind, bucket), "unit": unit, "kind": kind, "at": _stamp(since),
                            "detail": f"{count} {kind} since {_stamp(since)} (policy: at most {limit} in "
                                      f"{console.rate_window_h:g} h)"})  # fmt: skip
    out += overdue_erasures(store, console.erasure_overdue_s, now, units)
    return sorted(out, key=lambda a: a["at"], reverse=True)


def overdue_erasures(store, limit_s: float, now: datetime, units: list[dict] | None = None) -> list[dict]:
    """One ``erasure`` alert per order and unit still without proof ``limit_s`` after it was owed;
    it clears when the unit's proof is verified centrally (as ``silence`` clears on contact)."""
    from device.central.gallery.status import orders

    registered = None if units is None else [(u["unit"], u["name"], u["registered_at"]) for u in units]
    out = []
    for o in orders(store, now, registered):
        for unit, owed in o["outstanding"].items():
            if owed["for_s"] <= limit_s:
                continue
            was = owed["undone"]
            undone = f"; its proof (seq {was['seq']}) was undone by a restore" if was else ""
            detail = (f"erasure order {o['order']} ({o['reference']}) not applied for {owed['for_s'] / 86400:.1f} days "
                      f"(owed since {owed['since'][:19]}{undone}); limit {limit_s / 86400:g} days")  # fmt: skip
            out.append({"key": _key("erasure", o["hash"], unit), "unit": unit, "kind": "erasure",
                        "at": owed["since"], "detail": detail})  # fmt: skip
    return out


def with_acks(db, alerts: list[dict]) -> list[dict]:
    with db.connection() as conn:
        acks = {k: (at, by, note) for k, at, by, note in
                conn.execute("SELECT alert_key, at, by_user, note FROM alert_acks").fetchall()}  # fmt: skip
    for a in alerts:
        ack = acks.get(a["key"])
        a["ack"] = None if ack is None else {"at": ack[0], "by": ack[1], "note": ack[2]}
    return alerts


def acknowledge(db, clog, store, config, user, key: str, note: str) -> dict:
    """A supervisor's acknowledgement with a note, in one transaction with its console-log entry."""
    note = (note or "").strip()
    if not note:
        raise UsageError("say what was done about this alert (a note is required)")
    if len(note) > MAX_NOTE:
        raise UsageError(f"a note is at most {MAX_NOTE} characters")
    alert = next((a for a in current(store, config) if a["key"] == key), None)
    if alert is None:
        raise UsageError("no such alert standing (it may have been cleared)")
    with db.connection() as conn, db.transaction(conn):
        if conn.execute("SELECT 1 FROM alert_acks WHERE alert_key = ?", (key,)).fetchone():
            raise UsageError("this alert is already acknowledged")
        details = {"unit": alert["unit"], "kind": alert["kind"], "note": note}
        draft = Draft("alert.acknowledge", user.username, "supervisor", f"alert:{key}", details=details)
        entry = clog.append_in(conn, [draft])[0]
        conn.execute(
            "INSERT INTO alert_acks(alert_key, at, by_user, note, log_seq) VALUES (?, ?, ?, ?, ?)",
            (key, entry.at, user.username, note, entry.seq),
        )
    return {**alert, "ack": {"at": entry.at, "by": user.username, "note": note}}


def raise_new(db, clog, alerts: list[dict], publish=None) -> list[dict]:
    """Log (and publish) each alert not raised before; returns those. ``publish(alert)`` after commit."""
    with db.connection() as conn:
        seen = {r[0] for r in conn.execute("SELECT alert_key FROM alerts_raised").fetchall()}
    new = [a for a in alerts if a["key"] not in seen]
    for a in new:
        with db.connection() as conn, db.transaction(conn):
            if conn.execute("SELECT 1 FROM alerts_raised WHERE alert_key = ?", (a["key"],)).fetchone():
                continue  # another console process raised it meanwhile
            entry = clog.append_in(conn, [Draft("alert.raise", "console", "system", f"alert:{a['key']}",
                                                details={"unit": a["unit"], "kind": a["kind"],
                                                         "detail": a["detail"][:500]})])[0]  # fmt: skip
            conn.execute(
                "INSERT INTO alerts_raised(alert_key, at, unit, kind, detail) VALUES (?, ?, ?, ?, ?)",
                (a["key"], entry.at, a["unit"], a["kind"], a["detail"][:2000]),
            )
        log.warning("ALERT %s for unit %r: %s", a["kind"], a["unit"], a["detail"])
        if publish is not None:
            publish(a)
    return new


def alert_payload(alert: dict) -> bytes:
    keep = ("key", "unit", "kind", "at", "detail")
    return json.dumps({k: alert[k] for k in keep}, sort_keys=True).encode()
