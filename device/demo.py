"""The demo unit: a data dir with its own random key and a small gallery, made once.

Layout: ``<dir>/key`` (the demo's key file, mode 0600) and ``<dir>/data`` (the data dir). The
key sits next to the data only because this is a demo; a real unit keeps it in a TPM-sealed
systemd credential or in a person's head.

The demo gallery holds the MIT-licensed sample photos of the source tree's tests/data (see its
README): two photos of one person and one of another. ``obama2.jpg`` (a third photo of the first
person) and ``astronaut.png`` (someone not enrolled) are left out, to try searches with.

It also holds one released example case, ``DEMO-CASE-1`` (``obama2.jpg`` searched, the first
person put forward, peer-reviewed and released), so a newcomer can open a lead report and make a
disclosure package at once. It is marked as an example wherever it appears (``is_example``):
the case list, the lead report, the package and its PDF.
"""

from __future__ import annotations

import contextlib
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
EXAMPLE_CASE = "DEMO-CASE-1"
EXAMPLE_PURPOSE = "EXAMPLE made by the demo from sample photos: not a real case"
EXAMPLE_PROBE = "obama2.jpg"
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
        create_example_case(store, config)  # ... and before the example case existed
        return store
    store = init_data_dir(data_dir, secret, config, device_id=DEMO_DEVICE_ID)
    with recognizer_for(config) as recognizer:  # the models are loaded once for both
        enroll_demo_gallery(store, config, recognizer=recognizer)
        create_demo_accounts(store, config)
        create_example_case(store, config, recognizer=recognizer)
    return store


@contextlib.contextmanager
def recognizer_for(config, recognizer=None):
    """``recognizer``, or one loaded for this block whose decoding children end with it (`serve`
    forks gunicorn's worker from this process next: it must not inherit them)."""
    if recognizer is not None:
        yield recognizer
        return
    from device.vision import Recognizer

    recognizer = Recognizer.from_config(config.vision)
    try:
        yield recognizer
    finally:
        recognizer.decoder.close()


def is_example(case_id: str, device_id: str) -> bool:
    """The demo's example case (on the demo unit only: a real unit's case of that name is real)."""
    return case_id == EXAMPLE_CASE and device_id == DEMO_DEVICE_ID


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


def enroll_demo_gallery(store: Store, config, photos: Path = SAMPLE_PHOTOS, recognizer=None) -> int:
    """Enroll the sample photos (when the source tree is there); returns the images enrolled."""
    from device.gallery import Actor, Gallery, SubjectInfo

    if not photos.is_dir():
        log.warning("no sample photos at %s: the demo gallery stays empty", photos)
        return 0
    actor = Actor("demo-setup", "supervisor")
    enrolled = 0
    with recognizer_for(config, recognizer) as rec:
        gallery = Gallery(store, rec, config)
        for name, reference, files in DEMO_GALLERY:
            info = SubjectInfo(name, "demo: MIT-licensed sample photo", config.gallery.default_gallery, reference,
                               "demo", "face_recognition 1.3.0 test images")  # fmt: skip
            report = gallery.enroll(info, [(f, (photos / f).read_bytes()) for f in files], actor)
            enrolled += len(report.enrolled)
    return enrolled


def create_example_case(store: Store, config, photos: Path = SAMPLE_PHOTOS, recognizer=None) -> int | None:
    """The released example case, through the workflow like any other (so its audit trail, lead
    report and package are real); made once, on the demo unit, when its accounts and gallery exist.
    Returns the examination id, or None when there was nothing to do."""
    from device.gallery import Gallery
    from device.workflow import Workflow
    from device.workflow.analysis import FEATURES
    from device.workflow.users import find_user

    with store.connection() as conn:
        if (
            store.meta()["device_id"] != DEMO_DEVICE_ID
            or conn.execute("SELECT 1 FROM cases WHERE case_id = ?", (EXAMPLE_CASE,)).fetchone()
        ):
            return None
        examiner, peer, boss = (find_user(conn, name) for name in ("examiner", "peer", "supervisor"))
    if None in (examiner, peer, boss) or not (photos / EXAMPLE_PROBE).is_file():
        log.warning("no demo accounts or sample photos: the demo has no example case")
        return None
    with recognizer_for(config, recognizer) as rec:
        gallery = Gallery(store, rec, config)
        wf = Workflow(store, gallery.audit, gallery, config)
        offenses = wf.policy().offense_categories
        offense = "robbery" if "robbery" in offenses else offenses[0]
        exam = wf.start(examiner, EXAMPLE_CASE, offense, EXAMPLE_PURPOSE, (photos / EXAMPLE_PROBE).read_bytes())
        wf.run_search(examiner, exam.id)
        _facts, rows = wf.candidates(examiner, exam.id)
        lead = next((r["rank"] for r in rows if r["reference"] == DEMO_GALLERY[0][1]), rows[0]["rank"])
        for row in rows:
            if row["rank"] == lead:
                checklist = {key: "similar" for key, _ in FEATURES} | {"ears": "not-visible", "skin": "not-visible"}
                wf.record_analysis(examiner, exam.id, row["rank"], checklist, {"eyebrows": "EXAMPLE: same arch"},
                                   "possible-lead", "EXAMPLE: face shape, eyes, nose and mouth agree")  # fmt: skip
            else:
                checklist = {key: "dissimilar" for key, _ in FEATURES} | {"ears": "not-visible"}
                wf.record_analysis(examiner, exam.id, row["rank"], checklist, {}, "excluded",
                                   "EXAMPLE: face shape and nose differ")  # fmt: skip
        wf.submit_for_review(examiner, exam.id, "EXAMPLE: no real corroboration; the demo's sample photos only")
        wf.submit_review(peer, exam.id, lead, "EXAMPLE: same face shape, eyes and mouth")
        wf.release(boss, exam.id)  # a supervisor releases (policy.release_by)
    return exam.id
