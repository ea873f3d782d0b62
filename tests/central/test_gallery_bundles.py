"""Signed, encrypted gallery bundles from the agency to two units, on SQLite and PostgreSQL
central stores: full then delta applied; every refusal changes nothing; searchable afterwards."""

from __future__ import annotations

import pytest

from device.central.gallery import publish
from device.errors import UsageError
from device.gallery import bundle as fmt
from device.gallery.central import apply_file
from tests.central.fleet import WATCHLIST, agency_key, enroll, new_unit, provision, state
from tests.vision.conftest import photo_bytes


@pytest.fixture
def units(tmp_path, secret, recognizer, fast_config):
    made = [new_unit(tmp_path, name, secret, recognizer, fast_config) for name in ("unit-1", "unit-2")]
    yield made
    for unit in made:
        unit.store.lock()


def refused(unit, data: bytes, match: str) -> None:
    before = state(unit)
    with pytest.raises(UsageError, match=match):
        apply_file(unit, data, "test")
    assert state(unit) == before


def searchable(unit, photo: str) -> list[str]:
    """References of the top candidates for a probe photo, from the unit's index."""
    face = unit.recognizer.analyze(photo_bytes(photo)).faces[0]
    vector = unit.recognizer.embed(face).vector
    index = unit.index_for(WATCHLIST)
    hits = index.search(vector, 3)
    with unit.store.connection() as conn:
        refs = [
            conn.execute("SELECT s.reference FROM embeddings e JOIN face_images f ON f.id = e.image_id"
                         " JOIN subjects s ON s.id = f.subject_id WHERE e.id = ?", (h.embedding_id,)).fetchone()[0]
            for h in hits
        ]  # fmt: skip
    return refs


def test_full_then_delta_on_two_units_and_every_refusal(hq, units, recognizer, fast_config):
    agency = agency_key()
    provision(hq, agency, units)
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    full, manifest = publish.build(hq, agency, WATCHLIST)
    assert manifest["base"] == 0 and sorted(manifest["keys"]["units"]) == ["unit-1", "unit-2"]
    assert b"Person A" not in full and photo_bytes("obama.jpg")[:4096] not in full  # encrypted

    for unit in units:
        out = apply_file(unit, full, "test")
        assert (out.added, out.changed, out.removed, out.version) == (1, 0, 0, manifest["version"])
        assert out.digest == manifest["digest"]  # the unit holds exactly what central published
        assert searchable(unit, "obama2.jpg")[0] == "REC-0001"
        refused(unit, full, "not newer than the version")  # replay

    # Read-only on the unit: enrolling into or deleting from the agency's gallery is refused.
    from device.gallery import Actor, SubjectInfo

    with pytest.raises(UsageError, match="read-only"):
        units[0].enroll(SubjectInfo("X", "test", WATCHLIST), [("b", photo_bytes("biden.jpg"))], Actor("e", "examiner"))
    with units[0].store.connection() as conn:
        sid = conn.execute("SELECT id FROM subjects WHERE reference = 'REC-0001'").fetchone()[0]
    with pytest.raises(UsageError, match="read-only"):
        units[0].delete_subject(sid, Actor("s", "supervisor"), "test")

    # A delta: one new subject; the base is what the units hold.
    enroll(hq, agency, recognizer, fast_config, "REC-0002")
    delta, dm = publish.build(hq, agency, WATCHLIST, base=manifest["version"])
    assert dm["subjects"] == 1
    older, _ = publish.build(hq, agency, WATCHLIST, base=0)  # built now, applied after the delta: a rollback

    forged = bytearray(delta)
    forged[forged.index(b'"subjects":1') + 11] = ord("7")  # the manifest edited after signing
    refused(units[0], bytes(forged), "signature does not verify")
    other = agency_key()  # signed properly, by a key the unit never trusted
    parsed = fmt.unpack(delta)
    resigned = fmt.pack(fmt.sign({**parsed.manifest, "agency": other.public}, other.private), parsed.chunks)
    refused(units[0], resigned, "does not trust")
    only2, _ = publish.build(hq, agency, WATCHLIST, unit="unit-2", base=manifest["version"])
    refused(units[0], only2, "not for unit unit-1")
    refused(units[0], delta[:-100], "truncated")
    altered = bytearray(delta)
    altered[-50] ^= 1
    refused(units[0], bytes(altered), "does not match its hash")
    alien, _ = publish.build(hq, agency, WATCHLIST, base=manifest["version"], models=["another-model-v9"])
    refused(units[0], alien, "this unit runs")
    refused(units[0], b"not a bundle at all", "not a fieldface bundle")

    for unit in units:
        seen = []
        out = apply_file(unit, delta, "test", progress=lambda *a: seen.append(a))  # noqa: B023
        assert seen[0] == ("checking", 0, 1) and seen[-1] == ("writing", 1, 1)
        assert (out.added, out.changed, out.removed) == (1, 0, 0)
        assert out.digest == dm["digest"]
        assert searchable(unit, "biden.jpg")[0] == "REC-0002"
    # An older version built before the delta was applied is a rollback: refused.
    refused(units[0], older, "not newer")


def test_a_delta_needs_its_base(hq, units, recognizer, fast_config):
    agency = agency_key()
    provision(hq, agency, units[:1])
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    first, m1 = publish.build(hq, agency, WATCHLIST)
    enroll(hq, agency, recognizer, fast_config, "REC-0002")
    delta, _ = publish.build(hq, agency, WATCHLIST, base=m1["version"])
    refused(units[0], delta, "is a delta from version")
    apply_file(units[0], first, "test")
    assert apply_file(units[0], delta, "test").added == 1
    assert isinstance(fmt.unpack(delta).manifest["chunks"], list)


def test_embeddings_for_another_model_are_computed_on_the_unit(tmp_path, units, recognizer, fast_config):
    """Central enrolled with another model build (its embeddings ride along, named): the unit, whose
    model the agency accepts too, computes its own from the images instead of using them."""
    from tests.sync.conftest import central_store

    hq, agency = central_store(tmp_path), agency_key()
    provision(hq, agency, units[:1])
    enroll(hq, agency, recognizer, fast_config, "REC-0001")
    # The carried vectors are replaced by a marker: if the unit used them, its index would hold it.
    import numpy as np

    from device.gallery.index import vector_to_blob

    marker = np.zeros(units[0].ndim, np.float32)
    marker[0] = 1.0
    for (sha,) in hq.query("SELECT sha256 FROM central_images"):
        sealed = agency.seal(vector_to_blob(marker), f"{WATCHLIST}/{sha}/embedding")
        hq.write("UPDATE central_images SET model_id = 'sface-central-build', embedding = ? WHERE sha256 = ?",
                 (sealed, sha))  # fmt: skip
    data, m = publish.build(hq, agency, WATCHLIST, models=["sface-central-build", recognizer.model_id])
    assert m["model_id"] == "sface-central-build"
    assert apply_file(units[0], data, "test").added == 1
    with units[0].store.connection() as conn:
        rows = conn.execute("SELECT model_id, vector FROM embeddings").fetchall()
    assert {r[0] for r in rows} == {recognizer.model_id} and len(rows) == 2
    assert all(bytes(r[1]) != vector_to_blob(marker) for r in rows)
    assert searchable(units[0], "obama2.jpg")[0] == "REC-0001"
    hq.close()
