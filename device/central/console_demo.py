"""The console's demo: a central store (SQLCipher, its own random key) with three simulated units'
verified chains, made once: ``unit-north`` reporting, ``unit-south`` restored from a backup (a
second epoch, its lost range kept centrally) and ``unit-east`` silent for two days; one forged
batch refused. Demo accounts as on the unit's demo (password ``fieldface-demo``): ``auditor``,
``supervisor`` and ``admin``. Layout: ``<dir>/key`` (0600, a demo only) and ``<dir>/central/``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from device.central import console_users
from device.central.console_db import ConsoleDb, ConsoleLog
from device.central.simulate import SimUnit, stamp, workday
from device.central.store import DB_FILE, CentralStore, SqliteBackend
from device.central.verifier import Verifier
from device.errors import StoreError
from device.fsutil import write_atomic
from device.keys import MasterSecret

DEMO_PASSWORD = "fieldface-demo"  # noqa: S105 - the documented demo password (as the unit's demo)
DEMO_ACCOUNTS = (("auditor", ["auditor"]), ("supervisor", ["supervisor"]), ("admin", ["admin"]))


def ensure_console_demo(root: Path, config) -> SqliteBackend:
    root = Path(root)
    key_path, db_path = root / "key", root / "central" / DB_FILE
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not key_path.exists():
        if db_path.exists():
            raise StoreError(f"{db_path} exists but its key {key_path} is gone; delete {root} to start over")
        write_atomic(key_path, secrets.token_hex(32).encode() + b"\n", mode=0o600)
    secret = MasterSecret(key_path.read_bytes().strip(), "demo key file")
    keys = config.keys.model_copy(update={"credential_name": config.central.credential_name})
    backend = SqliteBackend(db_path, secret, keys)
    if db_path.exists():
        CentralStore(backend).close()
        return backend
    store = CentralStore(backend, create=True)
    try:
        fill_demo(store, datetime.now(UTC))
    finally:
        store.close()
    db = ConsoleDb(backend)
    log = ConsoleLog(db, config.console.name)
    for name, roles in DEMO_ACCOUNTS:
        console_users.create(db, log, config, name, DEMO_PASSWORD, roles, by="demo", display_name=f"Demo {name}")
    return backend


def fill_demo(store, now: datetime) -> dict[str, SimUnit]:
    verifier = Verifier(store)
    start = (now - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
    units = {u.unit: u for u in (SimUnit("unit-north", "North patrol"), SimUnit("unit-south", "South patrol"),
                                 SimUnit("unit-east", "East station"))}  # fmt: skip
    for u in units.values():
        u.register(store)
    north, south, east = units.values()
    for day in range(20):
        workday(north, start + timedelta(days=day), 3)
        if day < 12:
            workday(south, start + timedelta(days=day), 2, users=("ex3",), offenses=("burglary", "robbery"))
        if day < 15:
            workday(east, start + timedelta(days=day), 1, users=("ex4",), offenses=("homicide",))
    north.record(
        start + timedelta(days=3, hours=15), "exam.quality_override", "sup1", "supervisor", reason="only image"
    )
    north.deliver(verifier)
    east.deliver(verifier)
    # South: delivered up to day 12, its card then lost; restored from a backup of day 8.
    south.deliver(verifier)
    backup_seq = next(e.seq for e in south.entries if e.at >= stamp(start + timedelta(days=8))) - 1
    south.restore(backup_seq, start + timedelta(days=13, hours=7))
    for day in range(13, 20):
        workday(south, start + timedelta(days=day), 2, users=("ex3",), offenses=("burglary",))
    south.deliver(verifier, backup_seq + 1)
    # A batch with a signature that does not verify (a wrong key): refused, an alert.
    forger = SimUnit("unit-north", "forger")
    forger.entries = list(north.entries)
    forger.record(now - timedelta(hours=2), "search", "ex1", offense="robbery", purpose="x", candidates=1)
    forger.deliver(verifier, len(forger.entries))
    for u in (north, south):
        head = u.entries[-1]
        said = {"head": {"seq": head.seq, "hash": head.hash}, "backlog": 0, "uptime_s": 86400, "version": "demo"}
        store.record_status(u.unit, "online", {**said, "disk": {"low": False}})
    # East went silent two days ago: the demo dates its last contact back (status rows are updatable).
    gone = stamp(now - timedelta(days=2))
    store.write("UPDATE unit_status SET last_contact = ?, reported_at = ?, state = 'offline' WHERE unit = ?",
                (gone, gone, east.unit))  # fmt: skip
    return units
