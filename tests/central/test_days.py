"""The day tallies the receivers keep (device/central/days.py), on SQLite and PostgreSQL: counted in
the transaction that stores the entries, never twice for a redelivery, filled for a store that had
entries before migration 0004, and recounted by ``central verify``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from device.central import days
from device.central.check import verify_central
from device.central.simulate import SimUnit, workday
from device.central.store import CentralStore, migrations, split_sql
from device.central.verifier import Verifier
from device.reports import period
from device.reports import tally as T

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def _unit(name: str = "unit-d") -> SimUnit:
    u = SimUnit(name, name)
    workday(u, DAY, 4)
    workday(u, DAY + timedelta(days=1), 3)
    return u


def _stored(store, unit: str) -> dict[str, dict]:
    return {d: json.loads(t) for d, t in store.query("SELECT day, tally FROM audit_days WHERE unit = ?", (unit,))}


def test_receivers_count_each_stored_entry_once_by_its_day(hq):
    u = _unit()
    u.register(hq)
    verifier = Verifier(hq)
    n = len(u.entries)
    assert u.deliver(verifier, 1, 7).status == "ok"
    assert u.deliver(verifier, 1, n).status == "ok"  # 1..7 again (held: not stored, not counted) and the rest
    assert u.deliver(verifier, 3, n).status == "ok"  # a whole redelivery
    stored = _stored(hq, u.unit)
    assert stored == T.by_day(u.entries)
    assert sum(t["n"] for t in stored.values()) == n
    # The merged month is what the unit's own report code makes of the same entries.
    month = days.merged(hq, date(2026, 3, 1), date(2026, 3, 31))
    assert period.figures(month, date(2026, 3, 1), date(2026, 3, 31)) == period.compute(
        u.entries, {}, date(2026, 3, 1), date(2026, 3, 31)
    )
    one_day = days.merged(hq, date(2026, 3, 3), date(2026, 3, 3), u.unit)
    assert one_day["n"] == sum(1 for e in u.entries if e.at.startswith("2026-03-03"))
    assert verify_central(hq)[u.unit]["problems"] == []


def test_verify_names_a_day_tally_that_does_not_match_its_entries(hq):
    u = _unit()
    u.register(hq)
    assert u.deliver(Verifier(hq)).status == "ok"
    (text,) = hq.query("SELECT tally FROM audit_days WHERE unit = ? AND day = '2026-03-02'", (u.unit,))[0]
    t = json.loads(text)
    t["k"]["count"]["searches"] += 5  # someone with the owner's rights inflates a day
    hq.write("UPDATE audit_days SET tally = ? WHERE unit = ? AND day = '2026-03-02'", (json.dumps(t), u.unit))
    problems = verify_central(hq)[u.unit]["problems"]
    assert problems == ["the day tally of 2026-03-02 does not match its entries: count.searches 9 stored, 4 recounted"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migration_0004_fills_the_days_of_a_store_that_already_held_entries(request, tmp_path, dialect):
    """A store made at schema 3 (the SQL of 0001..0003 only) with entries, then migrated."""
    from device.central.store import DB_FILE, PostgresBackend, SqliteBackend
    from device.config import KeysConfig
    from device.keys import MasterSecret
    from tests.conftest import FAST_KEYS
    from tests.sync.conftest import CENTRAL_SECRET

    old = CentralStore.__new__(CentralStore)  # not through __init__: that would migrate to the latest
    if dialect == "sqlite":
        old.backend = SqliteBackend(tmp_path / DB_FILE, MasterSecret(CENTRAL_SECRET, "key file"),
                                    KeysConfig(**FAST_KEYS))  # fmt: skip
    else:
        old.backend = PostgresBackend(request.getfixturevalue("postgres").dsn)
    old._conn = old.backend.connect(create=True)
    cur = old._conn.cursor()
    if dialect == "postgresql":  # the shared test server: an empty schema
        cur.execute("DROP SCHEMA public CASCADE")
        cur.execute("CREATE SCHEMA public")
    cur.execute("CREATE TABLE central_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    q = old.backend.sql
    for version, script in migrations(dialect):
        if version <= 3:
            for statement in split_sql(script):
                cur.execute(statement)
            cur.execute(q("INSERT INTO central_schema VALUES (?, 'then')"), (version,))
    u = _unit()
    cur.execute(q("INSERT INTO units VALUES (?, ?, ?, '{}', 'then', 'test')"), (u.unit, u.name, u.audit_key))
    for e in u.entries:
        cur.execute(q("INSERT INTO audit_entries VALUES (?, 0, ?, ?, ?, 'then', 'file')"),
                    (u.unit, e.seq, e.hash, e.canonical().decode()))  # fmt: skip
    old._conn.commit()
    assert old.migrate() == [v for v, _ in migrations(dialect) if v > 3]
    assert _stored(old, u.unit) == T.by_day(u.entries)
    # The generated columns are there for the rows that were, too.
    assert old.query("SELECT count(*) FROM audit_entries WHERE action = 'search' AND at >= '2026-03-03'")[0][0] == 3
    old.close()
