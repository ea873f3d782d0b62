"""A unit offline for "a week" (many versions behind) catches up with one delta from the version
it acknowledged, orders first; a full disk mid-apply leaves the old version and recovers."""

from __future__ import annotations

import pytest

from device.central.gallery import authority, publish
from device.central.gallery.status import status
from device.errors import StoreError, UsageError
from device.gallery.central import apply_file
from tests.central.fleet import WATCHLIST, agency_key, deliver_audit, enroll, new_unit, provision, state
from tests.resilience.test_full_disk import fill_up, mounted_tmpfs
from tests.sync.conftest import central_store


def test_a_unit_many_versions_behind_catches_up(tmp_path, hq, secret, recognizer, fast_config):
    agency = agency_key()
    online, away = (new_unit(tmp_path, n, secret, recognizer, fast_config) for n in ("unit-1", "unit-2"))
    provision(hq, agency, [online, away])
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    first, _ = publish.build(hq, agency, WATCHLIST)
    for unit in (online, away):
        apply_file(unit, first, "test")
        deliver_audit(hq, unit, tmp_path)
    # The week: versions come and go; the online unit takes each delta as it is published.
    for step in ("enroll REC-0002", "erase REC-0001", "enroll REC-0001 again"):
        if step.startswith("enroll"):
            ref = step.split()[1]
            if step.endswith("again"):  # an erased reference is never reused: the agency re-enrolls under a new one
                with pytest.raises(UsageError, match="new reference"):
                    enroll(hq, agency, recognizer, fast_config, ref)
                continue
            enroll(hq, agency, recognizer, fast_config, ref)
        else:
            authority.erase(hq, agency, step.split()[1], "legal basis ended", "test")
        delta, m = publish.build(hq, agency, WATCHLIST, unit="unit-1")
        assert m["base"] > 0
        apply_file(online, delta, "test")
        deliver_audit(hq, online, tmp_path)
    # The unit that was away gets one delta from the version it acknowledged (1), not the chain.
    catch_up, m = publish.build(hq, agency, WATCHLIST, unit="unit-2")
    assert m["base"] == 1 and m["version"] == authority.galleries(hq)[WATCHLIST]
    out = apply_file(away, catch_up, "test")
    assert out.orders[0]["subjects"] == 1  # the order first
    assert (out.added, out.removed) == (1, 0)  # REC-0001 already gone by the order; REC-0002 added
    deliver_audit(hq, away, tmp_path)
    doc = status(hq)
    for unit in ("unit-1", "unit-2"):
        held = doc["units"][unit][WATCHLIST]
        assert held["current"] and held["digest_ok"], (unit, held)
    assert doc["orders"][0]["outstanding"] == {}
    online.store.lock()
    away.store.lock()


@pytest.fixture
def small_disk(tmp_path):
    yield from mounted_tmpfs(tmp_path / "disk", "6m")


def test_full_disk_mid_apply_keeps_the_old_version(tmp_path, small_disk, secret, recognizer, fast_config):
    hq, agency = central_store(tmp_path), agency_key()
    unit = new_unit(small_disk, "unit-1", secret, recognizer, fast_config)
    provision(hq, agency, [unit])
    enroll(hq, agency, recognizer, fast_config, "REC-0002")
    first, _ = publish.build(hq, agency, WATCHLIST)
    apply_file(unit, first, "test")
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    delta, _ = publish.build(hq, agency, WATCHLIST, base=1)
    with unit.store.connection() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = fill_up(small_disk)
    before = state(unit)
    with pytest.raises(StoreError, match="full"):
        apply_file(unit, delta, "test")
    filler.unlink()
    assert state(unit) == before and unit.store.check_integrity() == []
    probe = unit.recognizer.embed(unit.recognizer.analyze(_biden()).faces[0]).vector
    assert len(unit.index_for(WATCHLIST).search(probe, 1)) == 1  # the old version is still searchable
    out = apply_file(unit, delta, "test")
    assert out.added == 1
    hq.close()
    unit.store.lock()


def _biden() -> bytes:
    from tests.vision.conftest import photo_bytes

    return photo_bytes("biden.jpg")
