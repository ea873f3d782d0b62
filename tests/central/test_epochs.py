"""A restored unit: a new signed epoch, both timelines kept centrally, the lost range reported,
and the lost entries handed back so the unit can check them with its own key."""

from __future__ import annotations

import pytest

from device.audit import AuditLog
from device.backup import restore_backup, write_backup
from device.central.check import verify_central
from device.central.verifier import Verifier
from device.errors import AuditError
from device.sync.recovery import apply_recovery
from tests.central.test_verifier import batch, handle
from tests.sync.conftest import DEVICE, fill


@pytest.fixture
def restored(tmp_path, store, audit, central, secret, fast_config):
    """Backup at seq 5, then 10 more entries all delivered to central, then the card is lost and
    the backup restored: the new log is 1..5, the epoch entry at 6, the restore entry at 7."""
    fill(audit, 5)
    info = write_backup(store, tmp_path / "unit.ffb")
    fill(audit, 10, start=5)
    assert handle(central, DEVICE, batch(audit, 1, 15)).seq == 15
    new_store, _ = restore_backup(info.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    log = AuditLog(new_store)
    yield log
    log.close()


def test_a_restored_unit_opens_a_new_epoch_and_nothing_is_lost(audit, central, restored):
    old = audit.entries()
    epoch_entry = restored.entries(after=5, limit=1)[0]
    assert (epoch_entry.seq, epoch_entry.action, epoch_entry.prev) == (6, "audit.epoch", old[4].hash)
    assert epoch_entry.details["last_head"] == {"seq": 5, "hash": old[4].hash}
    fill(restored, 3, start=100)  # 8..10 on the new timeline
    # As the publisher sends after a restore: its cursor's past (held: ok on the old timeline) ...
    stale = handle(central, DEVICE, batch(restored, 1, 5))
    assert (stale.status, stale.epoch, stale.seq) == ("ok", 0, 15)
    # ... then a batch that starts with the epoch entry.
    ack = handle(central, DEVICE, batch(restored, 6, 10))
    assert (ack.status, ack.epoch, ack.seq, ack.epoch_seq, ack.epoch_hash, ack.lost) == (
        "ok",
        1,
        10,
        6,
        epoch_entry.hash,
        15,
    )
    epochs = central.epochs(DEVICE)
    assert [(e.epoch, e.parent, e.start_seq, e.lost_from, e.lost_to) for e in epochs] == [
        (0, None, 1, None, None),
        (1, 0, 6, 6, 15),
    ]
    assert epochs[1].backup["name"] == "unit.ffb" and epochs[1].backup["head_seq"] == 5
    assert [r[1] for r in central.entries(DEVICE, 0)] == [e.hash for e in old]  # the lost entries stay
    assert [r[1] for r in central.entries(DEVICE)] == [e.hash for e in restored.entries()]
    assert central.rejects() == []
    [(_at, unit, kind, detail)] = central.alerts()
    assert (unit, kind) == (DEVICE, "epoch") and "entries 6..15 of epoch 0 were lost" in detail
    assert verify_central(central)[DEVICE]["problems"] == []
    # The next batches go on in the new epoch; a re-sent epoch batch is a harmless duplicate.
    fill(restored, 2, start=200)
    assert handle(central, DEVICE, batch(restored, 6, 12)).seq == 12
    assert len(central.epochs(DEVICE)) == 2


def test_the_lost_entries_come_back_verified_by_the_units_own_key(audit, central, restored):
    handle(central, DEVICE, batch(restored, 6, 7))
    doc = Verifier(central).recovery(DEVICE, 1)
    assert [e["seq"] for e in doc["entries"]] == list(range(6, 16)) and doc["head"]["seq"] == 15
    # A broker or receiver cannot make the unit act on entries it did not write.
    forged = {**doc, "entries": [{**e, "actor": "mallory"} if e["seq"] == 9 else e for e in doc["entries"]]}
    with pytest.raises(AuditError, match="do not verify with this unit's own key"):
        apply_recovery(restored, forged, actor="test")
    with pytest.raises(AuditError, match="do not verify"):
        apply_recovery(restored, {**doc, "entries": doc["entries"][:-2]}, actor="test")  # cut short
    done = apply_recovery(restored, doc, actor="test")
    assert (done["entries"], done["erasures"], done["lost"]) == (10, 0, [6, 15])
    assert apply_recovery(restored, doc, actor="test") is None, "applying twice changes nothing"


def test_a_restore_before_central_had_the_backup_head_loses_nothing(
    tmp_path, store, audit, central, secret, fast_config
):
    fill(audit, 8)
    info = write_backup(store, tmp_path / "unit.ffb")
    handle(central, DEVICE, batch(audit, 1, 3))  # central only had 1..3 when the card was lost
    new_store, _ = restore_backup(info.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    log = AuditLog(new_store)
    try:
        assert handle(central, DEVICE, batch(log, 4, 8)).seq == 8
        ack = handle(central, DEVICE, batch(log, 9, 10))
        assert (ack.epoch, ack.seq, ack.lost) == (1, 10, 0)
        assert central.epochs(DEVICE)[1].lost_from is None
        assert "central had nothing beyond it" in central.alerts()[0][3]
        assert verify_central(central)[DEVICE]["problems"] == []
    finally:
        log.close()
