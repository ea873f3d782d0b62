"""Erasure orders: central erases a reference, both units apply the signed order with the true
erasure (bytes gone from database pages and the index file), the proof comes back through the
audit trail, and central's status says who applied it and who is outstanding, since when."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from device.central.gallery import authority, publish
from device.central.gallery.status import status
from device.errors import UsageError
from device.gallery.central import apply_file
from tests.central.fleet import WATCHLIST, agency_key, deliver_audit, enroll, new_unit, provision, state
from tests.gallery.conftest import decrypted_pages
from tests.gallery.test_erasure import unsealed_index
from tests.sync.conftest import central_store


@pytest.fixture
def units(tmp_path, secret, recognizer, fast_config):
    made = [new_unit(tmp_path, name, secret, recognizer, fast_config) for name in ("unit-1", "unit-2")]
    yield made
    for unit in made:
        unit.store.lock()


def _held_bytes(unit, reference):
    with unit.store.connection() as conn:
        rows = conn.execute(
            "SELECT f.image, e.vector FROM face_images f JOIN embeddings e ON e.image_id = f.id"
            " JOIN subjects s ON s.id = f.subject_id WHERE s.reference = ?",
            (reference,),
        ).fetchall()
    return [bytes(r[0]) for r in rows], [bytes(r[1]) for r in rows]


def test_order_reaches_both_units_with_proof_and_status(tmp_path, units, recognizer, fast_config):
    hq = central_store(tmp_path)
    agency = agency_key()
    provision(hq, agency, units)
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    enroll(hq, agency, recognizer, fast_config, "REC-0002")
    bundle, _ = publish.build(hq, agency, WATCHLIST)
    secrets_of = {}
    for unit in units:
        apply_file(unit, bundle, "test")
        secrets_of[unit.audit.device_id] = _held_bytes(unit, "REC-0001")
        assert secrets_of[unit.audit.device_id][0]
        deliver_audit(hq, unit, tmp_path)
    doc = status(hq)
    assert all(doc["units"][u][WATCHLIST]["digest_ok"] for u in ("unit-1", "unit-2"))

    result = authority.erase(hq, agency, "REC-0001", "court order: legal basis ended", "test")
    assert [s["reference"] for s in authority.subjects(hq) if s["removed_version"] is None] == ["REC-0002"]
    order = authority.order_file(result["envelope"])
    doc = status(hq)
    (o,) = doc["orders"]
    assert o["applied"] == {} and sorted(o["outstanding"]) == ["unit-1", "unit-2"]

    # unit-1 gets the order on media; unit-2 with its next bundle (orders ride in every bundle).
    out = apply_file(units[0], order, "test")
    (proof,) = out.orders
    assert proof["subjects"] == 1 and proof["new"]
    before = state(units[0])
    again = apply_file(units[0], order, "test")  # delivered twice: applied once
    assert not again.orders[0]["new"] and state(units[0]) == before
    nxt, _ = publish.build(hq, agency, WATCHLIST, base=0)
    out2 = apply_file(units[1], nxt, "test")
    assert out2.orders[0]["subjects"] == 1
    for unit in units:
        images, vectors = secrets_of[unit.audit.device_id]
        # Pieces of the compressed picture data (headers and EXIF are shared by many JPEGs), and the
        # vectors as the index stores them (float16).
        pieces = [img[n : n + 64] for img in images for n in (len(img) // 3, len(img) // 2, len(img) - 200)]
        f16 = [np.frombuffer(v, "<f4").astype(np.float16).tobytes() for v in vectors]
        index = unsealed_index(unit, unit.index_for(WATCHLIST).path)  # rebuilt without the erased person
        pages = decrypted_pages(unit.store)
        assert not any(p in pages for p in pieces) and not any(v[:64] in pages for v in vectors)
        assert not any(v in index for v in f16)
        assert _held_bytes(unit, "REC-0001") == ([], [])
    # The scanners can fail: the person still held is found in the same pages and index.
    kept_images, kept_vectors = _held_bytes(units[0], "REC-0002")
    assert kept_images[0][len(kept_images[0]) // 2 :][:64] in decrypted_pages(units[0].store)
    kept16 = np.frombuffer(kept_vectors[0], "<f4").astype(np.float16).tobytes()
    assert kept16 in unsealed_index(units[0], units[0].index_for(WATCHLIST).path)

    deliver_audit(hq, units[0], tmp_path)
    (o,) = status(hq)["orders"]
    assert o["applied"]["unit-1"]["seq"] == proof["seq"] and o["applied"]["unit-1"]["hash"] == proof["hash"]
    assert list(o["outstanding"]) == ["unit-2"] and o["outstanding"]["unit-2"]["since"] == o["issued_at"]
    deliver_audit(hq, units[1], tmp_path)
    (o,) = status(hq)["orders"]
    assert sorted(o["applied"]) == ["unit-1", "unit-2"] and o["outstanding"] == {}

    # Expiry: a subject past its retain-until date is what `central gallery expire` orders erased.
    hq.write("UPDATE central_subjects SET retain_until = '2030-01-01' WHERE reference = 'REC-0002'")
    assert authority.expired(hq, date(2029, 12, 31)) == []
    assert authority.expired(hq, date(2030, 1, 2)) == ["REC-0002"]  # REC-0001 is erased already
    hq.close()


def test_an_order_for_a_reference_only_enrolled_locally(tmp_path, units, recognizer, fast_config):
    """The integrator's case: REC-0001 enrolled by hand on the box, under a local number."""
    from device.gallery import Actor, SubjectInfo
    from tests.vision.conftest import photo_bytes

    hq = central_store(tmp_path)
    agency = agency_key()
    provision(hq, agency, units[:1])
    units[0].enroll(SubjectInfo("Local", "warrant", "local", "REC-0001"), [("o", photo_bytes("obama.jpg"))],
                    Actor("sup", "supervisor"))  # fmt: skip
    result = authority.erase(hq, agency, "REC-0001", "court order", "test")
    assert result["galleries"] == []
    out = apply_file(units[0], authority.order_file(result["envelope"]), "test")
    assert out.orders[0]["subjects"] == 1
    with units[0].store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM subjects").fetchone()[0] == 0
    forged = bytearray(authority.order_file(result["envelope"]))
    forged[forged.index(b"REC-0001")] = ord("X")
    with pytest.raises(UsageError, match="signature does not verify"):
        apply_file(units[0], bytes(forged), "test")
    hq.close()
