"""The central store protects itself: append-only triggers on both backends, PostgreSQL roles that
cannot change history, and `central verify` that names a row altered behind the triggers' back."""

from __future__ import annotations

import pytest

from device.central.check import verify_central
from device.central.roles import ensure_roles
from device.central.store import CentralStore, PostgresBackend
from device.errors import StoreError
from tests.central.conftest import fresh_postgres
from tests.central.test_verifier import batch, handle
from tests.sync.conftest import DEVICE, central_env, central_store, fill, register


def _refused(store: CentralStore, sql: str) -> str:
    """Run ``sql`` expecting the database to refuse it; returns its message."""
    cur = store._conn.cursor()
    try:
        cur.execute(sql)
    except Exception as exc:  # noqa: BLE001 - sqlite3 and pg8000 raise their own classes
        store._conn.rollback()
        return str(exc)
    store._conn.rollback()
    raise AssertionError(f"the database accepted: {sql}")


def test_history_cannot_be_changed_even_by_the_owner(audit, central):
    fill(audit, 5)
    handle(central, DEVICE, batch(audit, 1, 5))
    handle(central, DEVICE, b"garbage")  # a reject row; row triggers fire only on rows
    for sql in (
        "UPDATE audit_entries SET body = '{}'",
        "DELETE FROM audit_entries",
        "DELETE FROM audit_heads",
        "UPDATE audit_heads SET seq = 1",
        "DELETE FROM audit_epochs",
        "UPDATE units SET audit_key = 'k'",
        "DELETE FROM audit_rejects",
        "DELETE FROM unit_status",
        "DELETE FROM audit_days",
    ):
        message = _refused(central, sql)
        assert "append-only" in message or "cannot" in message or "forward" in message, (sql, message)
    assert [r[0] for r in central.entries(DEVICE)] == [1, 2, 3, 4, 5]


def test_writer_and_auditor_roles_on_postgresql(postgres, audit):
    owner = fresh_postgres(postgres)
    try:
        ensure_roles(owner, "fieldface_writer", "fieldface_auditor")
        register(owner, audit)
    finally:
        owner.close()
    dsn = postgres.dsn.replace("postgres@", "{}@")
    writer = CentralStore(PostgresBackend(dsn.format("fieldface_writer")))
    auditor = CentralStore(PostgresBackend(dsn.format("fieldface_auditor")))
    try:
        fill(audit, 10)
        assert handle(writer, DEVICE, batch(audit, 1, 10)).seq == 10  # the receivers' role does its job
        for sql in (
            "UPDATE audit_entries SET body = '{}'",
            "DELETE FROM audit_entries",
            "TRUNCATE audit_entries",
            "DELETE FROM audit_heads",
            "INSERT INTO units VALUES ('u', 'n', 'k', '{}', 'now', 'me')",
            "DROP TRIGGER audit_entries_append_only ON audit_entries",
        ):
            message = _refused(writer, sql)
            assert "permission denied" in message or "must be owner" in message, (sql, message)
        for sql in ("INSERT INTO alerts VALUES ('now', 'u', 'k', 'd')", "UPDATE audit_heads SET seq = 99"):
            assert "permission denied" in _refused(auditor, sql)
        assert [r[0] for r in auditor.entries(DEVICE, 0)] == list(range(1, 11))  # and it reads everything
        # An update of a head is allowed to the writer, but only forward.
        assert "forward" in _refused(writer, "UPDATE audit_heads SET seq = 3")
    finally:
        writer.close()
        auditor.close()


def _disable_triggers(store: CentralStore) -> None:
    """What only the owner can do, and what `central verify` is there to catch."""
    cur = store._conn.cursor()
    if store.backend.dialect == "sqlite":
        cur.execute("DROP TRIGGER audit_entries_no_update")
    else:
        cur.execute("ALTER TABLE audit_entries DISABLE TRIGGER USER")
    store._conn.commit()


def test_central_verify_names_an_altered_row(audit, central):
    fill(audit, 30)
    handle(central, DEVICE, batch(audit, 1, 30))
    assert verify_central(central)[DEVICE]["problems"] == []
    _disable_triggers(central)
    row = central.query("SELECT body FROM audit_entries WHERE unit = ? AND seq = 17", (DEVICE,))[0][0]
    central.write(
        "UPDATE audit_entries SET body = ? WHERE unit = ? AND seq = 17", (row.replace('"alice"', '"mallory"'), DEVICE)
    )
    problems = verify_central(central)[DEVICE]["problems"]
    assert problems and problems[0].startswith("epoch 0: edited at seq 17"), problems


def test_central_verify_cli_exit_codes(tmp_path, audit, run_cli):
    store = central_store(tmp_path)
    register(store, audit)
    fill(audit, 8)
    handle(store, DEVICE, batch(audit, 1, 8))
    ok = run_cli("central", "--store", str(tmp_path / "central"), "verify", env=central_env(tmp_path))
    assert ok.returncode == 0 and "8 entries in 1 epoch(s), head 8: ok" in ok.stdout, ok.stderr
    _disable_triggers(store)
    store.write("UPDATE audit_entries SET hash = ? WHERE unit = ? AND seq = 4", ("ab" * 32, DEVICE))
    store.close()
    bad = run_cli("central", "--store", str(tmp_path / "central"), "verify", env=central_env(tmp_path))
    assert bad.returncode == 6, bad.stderr
    assert "seq 4" in bad.stderr and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_a_missing_store_is_one_line(tmp_path, run_cli):
    result = run_cli("central", "--store", str(tmp_path / "nowhere"), "units")  # no key needed to say so
    assert result.returncode == 4 and "central --store DIR init" in result.stderr
    with pytest.raises(StoreError, match="init"):
        from device.central.store import SqliteBackend

        CentralStore(SqliteBackend(tmp_path / "nowhere" / "central.db"))


def test_central_init_on_postgresql_from_the_config(tmp_path, postgres, run_cli):
    fresh_postgres(postgres).close()
    config = tmp_path / "admin.toml"
    config.write_text(f'[central]\ndatabase = "{postgres.dsn}"\n')
    made = run_cli("--config", str(config), "central", "init")
    assert made.returncode == 0, made.stderr
    assert (
        "role fieldface_writer: SELECT; INSERT on" in made.stdout
        and "role fieldface_auditor: SELECT only" in made.stdout
    )
    again = run_cli("--config", str(config), "central", "init")  # idempotent: migrations applied once, grants again
    assert again.returncode == 0, again.stderr
    listed = run_cli("--config", str(config), "central", "units", "--json")
    assert listed.returncode == 0 and '"units": []' in listed.stdout


def test_the_sqlite_store_is_encrypted_and_needs_the_central_key(tmp_path, audit, run_cli, key_file):
    store = central_store(tmp_path)
    register(store, audit)
    fill(audit, 10)
    handle(store, DEVICE, batch(audit, 1, 10))
    store.close()
    for path in (tmp_path / "central").iterdir():  # database, WAL, key slots: no plaintext anywhere
        data = path.read_bytes()
        assert b"alice" not in data and DEVICE.encode() not in data and b"candidate.view" not in data, path
    wrong = run_cli("central", "--store", str(tmp_path / "central"), "units", env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert wrong.returncode == 3 and "wrong key" in wrong.stderr and wrong.stderr.count("\n") == 1
    none = run_cli("central", "--store", str(tmp_path / "central"), "units")
    assert none.returncode == 3 and "fieldface-central-key" in none.stderr


def test_the_consoles_pool_reuses_connections_and_replaces_one_the_server_dropped(postgres):
    from device.central.store import PooledBackend

    fresh_postgres(postgres).close()
    pool = PooledBackend(PostgresBackend(postgres.dsn), keep=2)
    first = CentralStore(pool)
    pid = first.query("SELECT pg_backend_pid()")[0][0]
    first.close()
    again = CentralStore(pool)
    assert again.query("SELECT pg_backend_pid()")[0][0] == pid  # the same session, not a new one
    again.close()
    killer = CentralStore(PostgresBackend(postgres.dsn))
    killer.query("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    fresh = CentralStore(pool)  # the dropped one is noticed as it is lent, and replaced
    assert fresh.query("SELECT pg_backend_pid()")[0][0] != pid
    fresh.close()
    pool.close()
    assert pool._idle == []
