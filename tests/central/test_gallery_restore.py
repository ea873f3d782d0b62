"""A unit restored from a backup made before an erasure order: the person is back on the card,
and is erased again by the recovery (the lost timeline's `gallery.erasure_order` entries) before
the unit is handed back; the order delivered again changes nothing and proves it anew."""

from __future__ import annotations

from device.audit import AuditLog
from device.audit.export import export
from device.backup import restore_backup, write_backup
from device.central.gallery import authority, publish
from device.central.gallery.status import status
from device.central.media import receive_file
from device.central.verifier import Verifier
from device.gallery import Gallery
from device.gallery.central import apply_file
from device.sync.recovery import apply_recovery
from tests.central.fleet import WATCHLIST, agency_key, deliver_audit, enroll, provision
from tests.sync.conftest import DEVICE, central_store


def _refs(store) -> list[str]:
    with store.connection() as conn:
        return [r[0] for r in conn.execute("SELECT reference FROM subjects ORDER BY reference")]


def test_restored_unit_erases_again_what_an_order_erased(tmp_path, store, audit, secret, fast_config, recognizer):
    hq, agency = central_store(tmp_path), agency_key()
    unit = Gallery(store, recognizer, fast_config, audit=audit)
    provision(hq, agency, [unit])
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    enroll(hq, agency, recognizer, fast_config, "REC-0002")
    apply_file(unit, publish.build(hq, agency, WATCHLIST)[0], "test")
    deliver_audit(hq, unit, tmp_path)
    backup = write_backup(store, tmp_path / "unit.ffb")
    order = authority.order_file(authority.erase(hq, agency, "REC-0001", "court order", "test")["envelope"])
    apply_file(unit, order, "test")
    deliver_audit(hq, unit, tmp_path)
    assert _refs(store) == ["REC-0002"]

    restored, _ = restore_backup(backup.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    assert _refs(restored) == ["REC-0001", "REC-0002"]  # the backup predates the order
    log = AuditLog(restored)
    try:
        path = tmp_path / "after-restore.jsonl"
        with path.open("w", encoding="utf-8") as out:
            export(log, out)
        _unit, outcome = receive_file(Verifier(hq), path)
        doc = Verifier(hq).recovery(DEVICE, outcome.new_epoch.epoch)
        done = apply_recovery(log, doc, actor="cli:recover")
        assert done["erased"] == 1
        assert _refs(restored) == ["REC-0002"]
        again = Gallery(restored, recognizer, fast_config, audit=log)
        out = apply_file(again, order, "test")  # the restored card forgot the order: applied anew
        assert out.orders[0]["new"] and out.orders[0]["subjects"] == 0
        deliver_audit(hq, again, tmp_path)
    finally:
        log.close()
    (o,) = status(hq)["orders"]
    assert DEVICE in o["applied"] and o["outstanding"] == {}
    hq.close()
