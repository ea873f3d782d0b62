"""Epochs of the chain: a unit restored from a backup says so in a signed entry.

A backup ends at some head B; the lost card may have gone on to B+1..H, and central may hold them.
The restored log cannot continue at B+1 as if nothing happened (central would see a fork at the
first re-used seq), and must not pretend those entries never existed. So the restore writes, as
its first entry, an ``audit.epoch`` entry at B+1 that names the backup it came from and the head
it holds (B and its hash, which is also the entry's own ``prev`` link). The checkpoint signature
over it makes it a signed statement. Central keeps the old entries under the old epoch, starts a
new one at this entry, and reports B+1..H as lost (device/central/verifier.py).

The publisher never puts an epoch entry anywhere but first in a batch, so every batch belongs
to one epoch and its signed head vouches for it.
"""

from __future__ import annotations

from device.audit.entry import GENESIS, Draft

EPOCH_ACTION = "audit.epoch"


def epoch_draft(manifest: dict, backup_name: str, head: tuple[int, str], actor: str) -> Draft:
    """The entry that opens a new epoch after restoring ``backup_name`` whose log ends at ``head``."""
    seq, hash_hex = head
    backup = {
        "name": backup_name[:200],
        "created_at": str(manifest.get("created_at", ""))[:40],
        "sha256": str(manifest.get("db_sha256", ""))[:64],
        "head_seq": seq,
    }
    details = {"reason": "restore", "backup": backup, "last_head": {"seq": seq, "hash": hash_hex}}
    return Draft(EPOCH_ACTION, actor, "cli", f"backup:{backup_name[:150]}", details=details)


def last_head_matches(entry) -> bool:
    """An epoch entry's stated last head must be the entry it links to."""
    last = entry.details.get("last_head") if isinstance(entry.details, dict) else None
    return isinstance(last, dict) and last.get("seq") == entry.seq - 1 and last.get("hash") == entry.prev


def current_start(conn) -> tuple[int, str]:
    """``(seq, hash)`` of the entry that opened the current epoch; ``(0, GENESIS)`` for the first."""
    row = conn.execute(
        "SELECT seq, hash FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1", (EPOCH_ACTION,)
    ).fetchone()
    return (row[0], bytes(row[1]).hex()) if row else (0, GENESIS)


def next_start(conn, after: int) -> int | None:
    """The seq of the first epoch entry after ``after``, if any (a batch stops before it)."""
    row = conn.execute("SELECT min(seq) FROM audit_log WHERE action = ? AND seq > ?", (EPOCH_ACTION, after)).fetchone()
    return row[0] if row and row[0] is not None else None


def start_at(conn, seq: int) -> str | None:
    """The hash of the epoch entry at ``seq``, or None if the local log has none there."""
    row = conn.execute("SELECT hash FROM audit_log WHERE action = ? AND seq = ?", (EPOCH_ACTION, seq)).fetchone()
    return bytes(row[0]).hex() if row else None
