"""An audit log on a real SQLCipher store, and a way to tamper with it as an intruder would."""

from __future__ import annotations

import pytest

from device.audit.signing import parse_public_key


@pytest.fixture
def public_key(audit):
    return parse_public_key(audit.signer.public_key_hex)


@pytest.fixture
def filled(audit):
    """Ten entries, each its own commit (so each has its own signed checkpoint)."""
    for i in range(1, 11):
        audit.record("search.run", actor="alice", role="examiner", case="C-1", details={"n": i})
    return audit


@pytest.fixture
def tamper(store):
    """Run SQL with the append-only triggers dropped: what someone holding the DB key could do."""

    def run(*statements: str | tuple[str, tuple]):
        with store.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            for name in ("audit_log_no_update", "audit_log_no_delete",
                         "audit_checkpoint_no_update", "audit_checkpoint_no_delete"):  # fmt: skip
                conn.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                sql, params = statement if isinstance(statement, tuple) else (statement, ())
                conn.execute(sql, params)
            conn.execute("COMMIT")

    return run
