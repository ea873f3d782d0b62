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


def test_the_examinations_rebuild_keeps_every_row_and_its_children(monkeypatch):
    """0006 rebuilds ``examinations`` (probe images may now be erased): rows made under the older
    schema, and the rows of the tables that reference them (cascading deletes), all survive."""
    import sqlite3

    import device.store.migrations as m

    every = migrations()
    rebuild = next(v for v, name, _ in every if name.endswith("_probe_retention.sql"))
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    monkeypatch.setattr(m, "migrations", lambda: tuple(x for x in every if x[0] < rebuild))
    apply_migrations(conn)
    conn.executescript(
        "INSERT INTO users(id, username, display_name, password_hash, created_at, created_by)"
        "  VALUES (1, 'exa', 'Exa', 'x', 't', 'setup');"
        "INSERT INTO cases(case_id, created_at, created_by) VALUES ('C-1', 't', 'exa');"
        "INSERT INTO examinations(id, case_id, offense, purpose, examiner_id, probe_image, probe_sha256, probe_format,"
        "  created_at, updated_at) VALUES (7, 'C-1', 'robbery', 'w', 1, x'ffd8', 'abc', 'jpeg', 't', 't');"
        "INSERT INTO enhancements VALUES (7, 1, 'rotate', '{}', 'abc', 'def', 1, 't');"
        "INSERT INTO dispositions VALUES (7, 1, 'excluded', 'nose', 1, 't');"
    )
    monkeypatch.setattr(m, "migrations", lambda: every)
    apply_migrations(conn)
    assert conn.execute("SELECT id, probe_image, images_erased_at FROM examinations").fetchall() == [
        (7, b"\xff\xd8", None)
    ]
    assert conn.execute("SELECT count(*) FROM enhancements").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM dispositions").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1, "switched back on after the migration"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.execute("UPDATE examinations SET probe_image = NULL, images_erased_at = 't2' WHERE id = 7")
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'examinations'")}
    assert {"examinations_examiner", "examinations_status", "examinations_images"} <= indexes
