"""Every registered unit as central sees it: last contact, online, verified head, epochs, what the
unit says it still has to send, rejects. ``fieldface central units``; the console (issue 17) reads
the same ``fleet()``."""

from __future__ import annotations

from datetime import UTC, datetime

from device.audit.entry import GENESIS
from device.central.store import CentralStore


def _age_s(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    return (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


def fleet(store: CentralStore, offline_after_s: float, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    status = store.status()
    rejects: dict[str, int] = {}
    for unit, _kind, _seq, _detail in store.rejects():
        rejects[unit] = rejects.get(unit, 0) + 1
    all_epochs, all_heads, gaps = store.fleet_chains()
    out = []
    for unit, name, added_at in store.units():
        epochs, heads = all_epochs.get(unit, []), all_heads.get(unit, {})
        contact, state, reported, reported_at = status.get(unit, (None, None, {}, None))
        age = _age_s(contact, now)
        head_seq, head_hash = heads[max(heads)][:2] if heads else (0, GENESIS)
        unit_head = int(reported.get("head", {}).get("seq", 0)) if reported else None
        out.append(
            {
                "unit": unit,
                "name": name,
                "registered_at": added_at,
                "never_reported": contact is None,
                "last_contact": contact,
                "online": state == "online" and age is not None and age <= offline_after_s,
                "verified_head": {"seq": head_seq, "hash": head_hash, "epoch": epochs[-1].epoch if epochs else 0},
                "unit_head": unit_head,
                # What the unit still has to send, as its last signed heartbeat said (its head minus ours).
                "behind": None if unit_head is None else max(unit_head - head_seq, 0),
                "backlog": reported.get("backlog") if reported else None,
                "uptime_s": reported.get("uptime_s") if reported else None,
                "version": reported.get("version") if reported else None,
                "disk": reported.get("disk") if reported else None,
                "problem": reported.get("problem") if reported else None,
                "heartbeat_at": reported_at if reported else None,
                "epochs": [
                    {
                        "epoch": e.epoch,
                        "start_seq": e.start_seq,
                        "head_seq": heads.get(e.epoch, (0,))[0],
                        "lost": None if e.lost_from is None else [e.lost_from, e.lost_to],
                        "backup": e.backup or None,
                    }
                    for e in epochs
                ],
                "rejects": rejects.get(unit, 0),
                "gaps": gaps.get(unit, 0),
            }
        )
    return out


def lines(units: list[dict]) -> list[str]:
    out = [
        f"{'unit':<20} {'online':<7} {'last contact':<25} {'verified head':<16} {'epoch':>5} {'behind':>7} "
        f"{'rejects':>7}  version"
    ]
    for u in units:
        head = u["verified_head"]
        contact = u["last_contact"] or "never reported"
        behind = "-" if u["behind"] is None else str(u["behind"])
        out.append(
            f"{u['unit']:<20} {'yes' if u['online'] else 'no':<7} {contact:<25} {head['seq']:<16} "
            f"{head['epoch']:>5} {behind:>7} {u['rejects']:>7}  {u['version'] or '-'}"
        )
        for e in u["epochs"]:
            if e["lost"]:
                out.append(
                    f"{'':<20} epoch {e['epoch']} from seq {e['start_seq']}: entries {e['lost'][0]}..{e['lost'][1]} "
                    "lost on the unit, kept centrally"
                )
        if u["problem"]:
            out.append(f"{'':<20} unit reports: {u['problem']}")
    return out
