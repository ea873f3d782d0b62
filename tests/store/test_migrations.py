import pytest

from device.store.migrations import apply_migrations, latest_version, migrations


def test_migrations_are_numbered_without_gaps():
    assert [v for v, _, _ in migrations()] == list(range(1, latest_version() + 1))


def test_apply_is_idempotent(store):
    with store.connection() as conn:
        assert apply_migrations(conn) == []
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()


def test_a_failing_migration_rolls_back_entirely(store, monkeypatch):
    import device.store.migrations as m

    broken = "CREATE TABLE half (x);\nSELECT nonsense FROM nowhere;"
    bad = (*migrations(), (latest_version() + 1, "9999_bad.sql", broken))
    monkeypatch.setattr(m, "migrations", lambda: bad)
    with store.connection() as conn:
        with pytest.raises(Exception, match="no such table"):
            apply_migrations(conn)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(bad) - 1
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0
