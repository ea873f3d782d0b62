"""The demo unit: a data dir with its own random key and a small gallery, made once.

Layout: ``<dir>/key`` (the demo's key file, mode 0600) and ``<dir>/data`` (the data dir). The
key sits next to the data only because this is a demo; a real unit keeps it in a TPM-sealed
systemd credential or in a person's head.

The demo gallery holds the MIT-licensed sample photos of the source tree's tests/data (see its
README): two photos of one person and one of another. ``obama2.jpg`` (a third photo of the first
person) and ``astronaut.png`` (someone not enrolled) are left out, to try searches with.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from device.errors import StoreError
from device.fsutil import write_atomic
from device.keys import MasterSecret
from device.store import Store, init_data_dir, is_data_dir, open_store

log = logging.getLogger(__name__)

DEMO_DEVICE_ID = "demo-unit"
# Demo accounts, all with DEMO_PASSWORD (printed in the README; never on a real unit).
DEMO_PASSWORD = "fieldface-demo"  # noqa: S105 - documented demo password, demo data dir only
DEMO_ACCOUNTS = (
    ("supervisor", "Demo Supervisor", ["supervisor"]),
    ("examiner", "Demo Examiner", ["examiner"]),
    ("peer", "Demo Peer Reviewer", ["reviewer", "examiner"]),
    ("auditor", "Demo Auditor", ["auditor"]),
)
SAMPLE_PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "data"
DEMO_GALLERY = (
    ("Sample person 1", "DEMO-0001", ("obama.jpg", "obama3.jpg")),
    ("Sample person 2", "DEMO-0002", ("biden.jpg",)),
)


def ensure_demo(root: Path, config) -> Store:
    root = Path(root)
    key_path, data_dir = root / "key", root / "data"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not key_path.exists():
        if is_data_dir(data_dir):
            raise StoreError(f"{data_dir} exists but its key {key_path} is gone; delete {root} to start over")
        write_atomic(key_path, secrets.token_hex(32).encode() + b"\n", mode=0o600)
    secret = MasterSecret(key_path.read_bytes().strip(), "demo key file")
    if is_data_dir(data_dir):
        store = open_store(data_dir, secret, config)
        create_demo_accounts(store, config)  # a demo made before accounts existed gets them now
        return store
    store = init_data_dir(data_dir, secret, config, device_id=DEMO_DEVICE_ID)
    enroll_demo_gallery(store, config)
    create_demo_accounts(store, config)
    return store


def create_demo_accounts(store: Store, config) -> list[str]:
    """The documented demo users (README), made once, while the unit has no user at all."""
    from datetime import UTC, date, datetime, timedelta

    from device.audit import AuditLog
    from device.workflow import users

    with store.connection() as conn:
        if users.user_count(conn):
            return []
    audit, now = AuditLog(store), datetime.now(UTC)
    until = (date.today() + timedelta(days=365)).isoformat()
    name, display, roles = DEMO_ACCOUNTS[0]
    boss = users.create_user(store, audit, config, None, name, display, DEMO_PASSWORD, roles, until, now, True)
    for name, display, roles in DEMO_ACCOUNTS[1:]:
        users.create_user(store, audit, config, boss, name, display, DEMO_PASSWORD, roles, until, now)
    return [a[0] for a in DEMO_ACCOUNTS]


def enroll_demo_gallery(store: Store, config, photos: Path = SAMPLE_PHOTOS) -> int:
    """Enroll the sample photos (when the source tree is there); returns the images enrolled."""
    from device.gallery import Actor, Gallery, SubjectInfo
    from device.vision import Recognizer

    if not photos.is_dir():
        log.warning("no sample photos at %s: the demo gallery stays empty", photos)
        return 0
    recognizer = Recognizer.from_config(config.vision)
    gallery = Gallery(store, recognizer, config)
    actor = Actor("demo-setup", "supervisor")
    enrolled = 0
    try:
        for name, reference, files in DEMO_GALLERY:
            info = SubjectInfo(name, "demo: MIT-licensed sample photo", config.gallery.default_gallery, reference,
                               "demo", "face_recognition 1.3.0 test images")  # fmt: skip
            report = gallery.enroll(info, [(f, (photos / f).read_bytes()) for f in files], actor)
            enrolled += len(report.enrolled)
    finally:
        # `serve` forks gunicorn's worker from this process next: no decoding children to inherit.
        recognizer.decoder.close()
    return enrolled
