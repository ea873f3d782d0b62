"""A restored unit takes back what its lost timeline did that must not be undone: erasures.

After a restore (device/audit/epoch.py) the receiver holds entries the unit no longer has. It
sends them back (MQTT recovery topic, or a file from `fieldface central recovery` for
`fieldface audit recover`). They are the unit's own entries: the unit checks them with its own
public key (the chain from the entry its epoch entry links to, up to the signed head the receiver
kept), so neither the broker nor the receiver can make it erase anything the unit did not erase.
Then every subject erased in the lost timeline is erased again (device/gallery/erasure.py), and
an ``audit.recovery`` entry records what was done. Applying the same message twice changes
nothing the second time.
"""

from __future__ import annotations

from device.audit.entry import Entry
from device.audit.epoch import EPOCH_ACTION, start_at
from device.audit.signing import parse_public_key
from device.audit.verify import ChainChecker
from device.errors import AuditError, UsageError
from device.gallery.erasure import ERASURE_ACTIONS, reapply_erasures
from device.sync.protocol import RECOVERY_FORMAT

RECOVERY_ACTION = "audit.recovery"


def apply_recovery(audit, doc: dict, actor: str) -> dict | None:
    """Check ``doc`` and re-apply its erasures; returns what was done, None if it was done before."""
    try:
        if doc.get("format") != RECOVERY_FORMAT:
            raise ValueError("not a fieldface audit recovery")
        epoch_seq, epoch_hash = int(doc["epoch_seq"]), str(doc["epoch_hash"])
        lost_from, lost_to = int(doc["lost"]["from"]), int(doc["lost"]["to"])
        head = doc["head"]
        entries = [Entry.from_wire(e) for e in doc["entries"]]
        device = str(doc["device"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"recovery: malformed ({exc})") from None
    if device != audit.device_id:
        raise UsageError(f"recovery: it is for unit {device!r}, this is {audit.device_id!r}")
    marker = f"epoch:{epoch_seq}:{epoch_hash[:16]}"
    with audit.store.connection() as conn:
        if start_at(conn, epoch_seq) != epoch_hash:
            raise UsageError(f"recovery: this unit has no epoch opened at seq {epoch_seq} with that hash")
        if conn.execute(
            "SELECT 1 FROM audit_log WHERE action = ? AND object = ?", (RECOVERY_ACTION, marker)
        ).fetchone():
            return None
    if lost_from != epoch_seq:
        raise UsageError(f"recovery: the lost range starts at {lost_from}, the epoch at {epoch_seq}")
    ours = audit.entries(after=epoch_seq - 1, limit=1)[0]
    checker = ChainChecker(audit.device_id, parse_public_key(audit.signer.public_key_hex), epoch_seq - 1, ours.prev)
    for entry in entries:
        checker.feed(entry)
    checker.signed_head(int(head["seq"]), str(head["hash"]), str(head["sig"]), "receiver's head of the lost timeline")
    report = checker.finish()
    if not report.ok or report.head_seq != lost_to or int(head["seq"]) != lost_to:
        first = report.problems[0] if report.problems else f"it ends at {report.head_seq}, not {lost_to}"
        raise AuditError(
            f"recovery: the lost entries do not verify with this unit's own key ({first}); nothing applied"
        )
    erasures = [e for e in entries if e.action in ERASURE_ACTIONS and e.outcome == "ok"]
    backup_time = ours.details.get("backup", {}).get("created_at", "") if ours.action == EPOCH_ACTION else ""
    erased, skipped = reapply_erasures(
        audit.store,
        audit,
        erasures,
        enrolled_before=backup_time or ours.at,
        actor=actor,
        why="re-applied after restore",
    )
    # Lists of at most 16 numbers (the audit log's limit); the counts are complete.
    details = {
        "lost": [lost_from, lost_to],
        "entries": len(entries),
        "erasures": len(erasures),
        "erasure_seqs": [e.seq for e in erasures][:16],
        "erased": len(erased),
        "erased_subjects": erased[:16],
        "skipped": len(skipped),
    }
    audit.record(RECOVERY_ACTION, actor=actor, role="system", object=marker, details=details)
    return details
