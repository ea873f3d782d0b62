"""The console's PostgreSQL role, made by ``fieldface central init`` beside the writer and auditor.

It is a member of the auditor role (SELECT on everything, nothing more on what the receivers
write) and may write only the console's own tables: its accounts and sessions (which change), its
log, acknowledgements and raised alerts (INSERT only; triggers refuse UPDATE and DELETE anyway).
"""

from __future__ import annotations

CONSOLE_WRITE = ("users", "user_roles", "sessions", "used_form_tokens", "login_throttle")
CONSOLE_APPEND = ("console_log", "alert_acks", "alerts_raised")


def ensure_console_role(store, console: str, auditor: str, writer: str) -> list[str]:
    if store.backend.dialect != "postgresql":
        return []
    cur = store._conn.cursor()
    # ensure_roles granted SELECT on every table; password hashes and session secrets are the
    # console's alone.
    cur.execute(f"REVOKE ALL ON {', '.join(CONSOLE_WRITE)} FROM {auditor}, {writer}")
    cur.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{console}') "
        f"THEN CREATE ROLE {console} LOGIN; END IF; END $$"
    )
    cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {console}")
    cur.execute(f"GRANT USAGE ON SCHEMA public TO {console}")
    cur.execute(f"GRANT {auditor} TO {console}")
    cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(CONSOLE_WRITE)} TO {console}")
    cur.execute(f"GRANT SELECT, INSERT ON {', '.join(CONSOLE_APPEND)} TO {console}")
    cur.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {console}")
    store._conn.commit()
    return [f"role {console}: member of {auditor}; writes only {', '.join(CONSOLE_WRITE + CONSOLE_APPEND)}"]
