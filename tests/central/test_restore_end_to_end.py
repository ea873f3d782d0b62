"""The issue's restore scenario, over a real TLS mosquitto run from the documented configuration
and over removable media: back up, sync more, erase a subject, lose the card, restore, sync. Every
entry of both epochs is central and verified, and the erased subject is erased again on the
restored unit."""

from __future__ import annotations

import numpy as np
import pytest

from device.audit import AuditLog
from device.audit.export import export
from device.backup import restore_backup, write_backup
from device.central.check import verify_central
from device.central.media import receive_file
from device.central.verifier import Verifier
from device.gallery import Gallery
from device.sync.recovery import apply_recovery
from tests.gallery.conftest import EXAMINER, decrypted_pages, enroll_people, found_before, pieces_of
from tests.gallery.test_erasure import unsealed_index
from tests.sync.conftest import DEVICE, central_store, fill, make_config, wait_for
from tests.vision.conftest import photo_bytes


def _subject_bytes(gallery, subject_id):
    image = photo_bytes("obama.jpg")
    pieces = pieces_of(image)
    with gallery.store.connection() as conn:
        rows = conn.execute(
            "SELECT e.id, e.vector FROM embeddings e JOIN face_images f ON f.id = e.image_id WHERE f.subject_id = ?",
            (subject_id,),
        ).fetchall()
    return pieces, [r[0] for r in rows], [np.frombuffer(r[1], "<f4").astype(np.float16).tobytes() for r in rows]


def _recovered(log) -> bool:
    with log.store.connection() as conn:
        return conn.execute("SELECT 1 FROM audit_log WHERE action = 'audit.recovery'").fetchone() is not None


class Mqtt:
    """Delivery over the documented broker: the sync service does everything, recovery included."""

    def __init__(self, tmp_path, pki, broker, services):
        self.cfg = make_config(pki, broker.port, tmp_path=tmp_path)
        self.services = services
        services("receiver", self.cfg)

    def deliver(self, log, what: str, recovered: bool = False) -> None:
        pub = self.services("publisher", log, self.cfg.sync)
        done = lambda: log.acked("central")[0] == log.head()[0] and (_recovered(log) or not recovered)  # noqa: E731
        wait_for(done, 60, what)
        pub.stop()


class Media:
    """The same over removable media: audit export, central receive-file, central recovery, audit recover."""

    def __init__(self, tmp_path, *_):
        self.tmp_path = tmp_path
        self.files = 0

    def deliver(self, log, what: str, recovered: bool = False) -> None:
        self.files += 1
        path = self.tmp_path / f"export-{self.files}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            export(log, out)
        central = central_store(self.tmp_path)
        try:
            _unit, outcome = receive_file(Verifier(central), path)
            doc = Verifier(central).recovery(DEVICE, outcome.new_epoch.epoch) if recovered else None
        finally:
            central.close()
        if recovered:
            apply_recovery(log, doc, actor="cli:recover")
            self.deliver(log, what)  # the recovery's own entries go to central too


@pytest.mark.parametrize("transport", [Mqtt, Media], ids=["mqtt", "media"])
def test_backup_sync_erase_restore_sync(transport, tmp_path, pki, broker, store, audit, registry, services, secret,
                                        fast_config, recognizer):  # fmt: skip
    gallery = Gallery(store, recognizer, fast_config, audit=audit)
    ids = enroll_people(gallery)
    pieces, keys, vectors = _subject_bytes(gallery, ids["A"])
    link = transport(tmp_path, pki, broker, services)
    link.deliver(audit, "the enrollments central")
    backup = write_backup(store, tmp_path / "unit7.ffb")
    fill(audit, 40)
    gallery.delete_subject(ids["A"], EXAMINER, reason="court order 12")
    fill(audit, 5, start=40)
    link.deliver(audit, "everything, the erasure too, central")
    old = audit.entries()
    enrolled = next(e for e in old if e.action == "gallery.enroll")
    assert (enrolled.details["reference"], enrolled.details["legal_basis"]) == ("A-1", "test: consented volunteer")
    erasure = next(e for e in old if e.action == "gallery.delete_subject")
    assert erasure.details["reference"] == "A-1" and erasure.details["legal_basis"] == "test: consented volunteer"

    # The SD card is lost; the backup goes onto a new one. Person A is back: the backup predates the erasure.
    new_store, _ = restore_backup(backup.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    pieces = found_before(pieces, decrypted_pages(new_store))
    log = AuditLog(new_store)
    try:
        link.deliver(log, "the new epoch central, the recovery applied and its entries central", recovered=True)
        new = log.entries()
    finally:
        log.close()

    central = central_store(tmp_path)
    try:
        epochs = central.epochs(DEVICE)
        assert [(e.epoch, e.lost_from, e.lost_to) for e in epochs] == [
            (0, None, None),
            (1, backup.audit_head + 1, old[-1].seq),
        ]
        assert [r[1] for r in central.entries(DEVICE, 0)] == [e.hash for e in old]  # the lost timeline, whole
        assert [r[1] for r in central.entries(DEVICE)] == [e.hash for e in new]  # the new one, whole
        assert verify_central(central)[DEVICE]["problems"] == []
        assert central.rejects() == []
        assert [a[2] for a in central.alerts(DEVICE)] == ["epoch"]
    finally:
        central.close()
    replay = [e for e in new if e.action == "gallery.delete_subject"]
    assert [(e.object, e.details["replayed_seq"]) for e in replay] == [(f"subject:{ids['A']}", erasure.seq)]
    # Erased again: not in the database's pages (free pages too), not in the index rebuilt from it.
    assert not any(p in decrypted_pages(new_store) for p in pieces)
    again = Gallery(new_store, recognizer, fast_config)
    index = again.index_for("default")
    assert not any(k in index for k in keys)
    assert not any(v in unsealed_index(again) for v in vectors)
    assert new_store.counts()["subjects"] == 1
