"""The console's demo: a central store (SQLCipher, its own random key) with three simulated units'
verified chains, made once: ``unit-north`` reporting, ``unit-south`` restored from a backup (a
second epoch, its lost range kept centrally) and ``unit-east`` silent for two days; one forged
batch refused. Demo accounts as on the unit's demo (password ``fieldface-demo``): ``auditor``,
``supervisor`` and ``admin``. The agency's gallery ``wanted`` (the unit demo's sample photos, through
the real gallery authority): published, one subject erased by an order that ``unit-north`` proved,
``unit-south`` one version behind, silent ``unit-east`` holding nothing and owing the order.
Layout: ``<dir>/key`` (0600, a demo only), ``<dir>/agency-key`` (the demo agency's publishing key,
0600: ``FIELDFACE_AGENCY_KEY_FILE`` for ``central gallery``) and ``<dir>/central/``.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
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
        units = fill_demo(store, datetime.now(UTC))
        fill_demo_gallery(store, units, config, root / "agency-key")
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


def fill_demo_gallery(store, units: dict[str, SimUnit], config, key_file: Path) -> None:
    """Enroll, publish, erase and acknowledge as the agency and its units would (skipped, with a
    warning, when the sample photos of the source tree are not there)."""
    from device.central.gallery import authority, publish
    from device.central.gallery.agency import generate
    from device.demo import DEMO_GALLERY, SAMPLE_PHOTOS, recognizer_for
    from device.gallery import SubjectInfo
    from device.policy import Policy

    if not SAMPLE_PHOTOS.is_dir():
        log.warning("no sample photos at %s: the demo has no agency gallery", SAMPLE_PHOTOS)
        return
    agency, policy = generate(key_file), Policy(config, {})
    with recognizer_for(config) as recognizer:
        for name, reference, files in DEMO_GALLERY:
            info = SubjectInfo(name, "demo: MIT-licensed sample photo", "wanted", reference)
            images = [(f, (SAMPLE_PHOTOS / f).read_bytes()) for f in files]
            authority.enroll(store, agency, recognizer, policy, info, images, "demo", datetime.now(UTC).date())

    def published(base: int) -> dict:
        data, manifest = publish.build(store, agency, "wanted", base=base)
        publish.record_publication(store, manifest, len(data), "file", "demo")
        return manifest

    first = published(0)
    order = authority.erase(store, agency, DEMO_GALLERY[0][1], "demo: court order, legal basis ended", "demo")
    second = published(first["version"])
    verifier, t = Verifier(store), datetime.now(UTC)
    north, south = units["unit-north"], units["unit-south"]
    for unit, done in ((north, [north.apply_bundle(t, first), north.apply_bundle(t, second),
                                north.apply_order(t, order["envelope"])]),
                       (south, [south.apply_bundle(t, first)])):  # fmt: skip
        unit.deliver(verifier, done[0].seq, done[-1].seq)
