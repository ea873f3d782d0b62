"""Helpers for the gallery-authority tests: an agency key, units registered from full cards, the
central gallery filled with real photos, and the units' audit delivered to central (media path)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from device.audit.card import make_card
from device.central.gallery import authority
from device.central.gallery.agency import AgencyKey
from device.central.media import receive_file
from device.central.verifier import Verifier
from device.gallery import Gallery, SubjectInfo
from device.gallery.central import bundle_key, trust
from device.policy import Policy
from device.store import init_data_dir
from tests.vision.conftest import photo_bytes

WATCHLIST = "wanted"
PEOPLE = {
    "REC-0001": ("Person A", ["obama.jpg", "obama3.jpg"]),
    "REC-0002": ("Person B", ["biden.jpg"]),
}


def agency_key() -> AgencyKey:
    return AgencyKey(secrets.token_bytes(32))


def new_unit(tmp_path, name: str, secret, recognizer, config) -> Gallery:
    store = init_data_dir(tmp_path / name, secret, config, device_id=name)
    return Gallery(store, recognizer, config)


def register(central, gallery: Gallery) -> None:
    card = make_card(gallery.audit, gallery.audit.device_id, bundle_key(gallery.store))
    central.add_unit(card["unit"], card["name"], card["audit_key"], json.dumps(card), "test")


def provision(central, agency, units) -> None:
    for unit in units:
        register(central, unit)
        trust(unit.store, agency.public + " Test agency", "test", unit.now(), unit.audit)


def enroll(central, agency, recognizer, config, reference: str, gallery: str = WATCHLIST) -> dict:
    name, photos = PEOPLE[reference]
    info = SubjectInfo(name, "court order 2026/17", gallery, reference)
    images = [(p, photo_bytes(p)) for p in photos]
    return authority.enroll(central, agency, recognizer, Policy(config, {}), info, images, "test",
                            datetime.now(UTC).date())  # fmt: skip


def deliver_audit(central, unit: Gallery, tmp_path) -> None:
    """The unit's audit trail to central as `audit export` + `central receive-file` carry it."""
    path = tmp_path / f"{unit.audit.device_id}-{secrets.token_hex(4)}.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        from device.audit.export import export

        export(unit.audit, out, after=central.head(unit.audit.device_id)[0])
    receive_file(Verifier(central), path)


def state(unit: Gallery) -> tuple:
    """What a refusal must leave untouched: the audit head, the gallery versions, the subjects."""
    with unit.store.connection() as conn:
        head = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        galleries = conn.execute("SELECT name, version FROM galleries ORDER BY name").fetchall()
        subjects = conn.execute("SELECT reference, id FROM subjects ORDER BY id").fetchall()
    return head, galleries, subjects
