"""PostgreSQL roles of the central store, made by ``fieldface central init`` (as the owner).

- writer (every receiver): SELECT; INSERT into the append-only tables; UPDATE only of the heads
  (which also may only move forward: trigger), of unit status and of the day tallies (counts,
  recounted from the entries by ``central verify``). No DELETE, no TRUNCATE, and it
  owns nothing, so it cannot drop a trigger either.
- auditor (the console, an auditor's psql): SELECT only.
The owner (whoever runs init and registers units) is the only one who could drop a trigger: that
is what ``fieldface central verify`` is for.
Role names come from the config, validated there as plain identifiers.
"""

from __future__ import annotations

WRITER_INSERT = ("audit_entries", "audit_epochs", "audit_heads", "audit_rejects", "audit_gaps", "alerts", "unit_status",
                 "audit_days")  # fmt: skip
WRITER_UPDATE = ("audit_heads", "unit_status", "audit_days")


def ensure_roles(store, writer: str, auditor: str) -> list[str]:
    """Create the roles if missing and (re)grant exactly the privileges above; returns what was said."""
    if store.backend.dialect != "postgresql":
        return []
    conn = store._conn
    cur = conn.cursor()
    for role in (writer, auditor):
        cur.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
        )
        cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    cur.execute(f"GRANT INSERT ON {', '.join(WRITER_INSERT)} TO {writer}")
    cur.execute(f"GRANT UPDATE ON {', '.join(WRITER_UPDATE)} TO {writer}")
    conn.commit()
    return [
        f"role {writer}: SELECT; INSERT on {', '.join(WRITER_INSERT)}; UPDATE on {', '.join(WRITER_UPDATE)}",
        f"role {auditor}: SELECT only",
    ]
