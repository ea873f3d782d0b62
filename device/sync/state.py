"""The sync service's state as other processes see it (``fieldface status``, the heartbeat)."""

from __future__ import annotations

from device.store.db import utc_now


def record_problem(store, destination: str, problem: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO sync_status(destination, problem, problem_at) VALUES (?, ?, ?)"
            " ON CONFLICT(destination) DO UPDATE SET problem = excluded.problem, problem_at = excluded.problem_at",
            (destination, problem[:500], utc_now()),
        )


def record_contact(store, destination: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO sync_status(destination, last_ack_at) VALUES (?, ?)"
            " ON CONFLICT(destination) DO UPDATE SET last_ack_at = excluded.last_ack_at",
            (destination, utc_now()),
        )


def summary(store) -> dict[str, dict]:
    """Per destination: acked seq, backlog, last ack, last problem; and the local head."""
    with store.connection() as conn:
        head = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]
        acked = dict(conn.execute("SELECT destination, acked_seq FROM audit_sync").fetchall())
        rows = {d: (a, p, pa) for d, a, p, pa in conn.execute("SELECT * FROM sync_status").fetchall()}
    out = {}
    for dest in sorted(set(acked) | set(rows)):
        seq = acked.get(dest, 0)
        last_ack, problem, problem_at = rows.get(dest, (None, None, None))
        out[dest] = {
            "acked_seq": seq,
            "head_seq": head,
            "backlog": head - seq,
            "last_ack_at": last_ack,
            "last_problem": problem,
            "last_problem_at": problem_at,
        }
    return out
