import numpy as np
import pytest

from device.errors import UsageError
from device.gallery import Gallery
from device.gallery.index import MAGIC
from device.keys import Purpose
from device.store.sealed import unseal
from tests.gallery.conftest import EXAMINER, decrypted_pages, enroll_people, found_before, pieces_of, search
from tests.vision.conftest import photo_bytes

REQ = dict(case="CASE-9", offense="assault", purpose="report 77", gallery="default")


def unsealed_index(gallery, path=None) -> bytes:
    data = (path or gallery.index_for("default").path).read_bytes()
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    header = data[len(MAGIC) + 4 : len(MAGIC) + 4 + length]
    return unseal(gallery.store.keyring.subkey(Purpose.INDEX), data[len(MAGIC) + 4 + length :], header)


def test_deleting_a_subject_erases_images_embeddings_and_index_entries(gallery):
    ids = enroll_people(gallery)
    image = photo_bytes("obama.jpg")
    # Pieces of the compressed picture data (headers and Huffman tables are shared by many JPEGs).
    pieces = pieces_of(image)
    assert not any(p in photo_bytes("biden.jpg") for p in pieces)
    with gallery.store.connection() as conn:
        rows = conn.execute(
            "SELECT e.id, e.vector FROM embeddings e JOIN face_images f ON f.id = e.image_id WHERE f.subject_id = ?",
            (ids["A"],),
        ).fetchall()
    keys = [r[0] for r in rows]
    stored_f16 = [np.frombuffer(r[1], "<f4").astype(np.float16).tobytes() for r in rows]
    # The scanners can fail: before deletion they find the bytes.
    pieces = found_before(pieces, decrypted_pages(gallery.store))
    assert all(v in unsealed_index(gallery) for v in stored_f16)

    result = gallery.delete_subject(ids["A"], EXAMINER, reason="court order 12")
    assert result == {"subject_id": ids["A"], "gallery": "default", "images": 2, "embeddings": 2}

    with gallery.store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM subjects WHERE id = ?", (ids["A"],)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM face_images").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone() == (1,)
        audit = conn.execute("SELECT object FROM audit_log WHERE action = 'gallery.delete_subject'").fetchall()
    assert audit == [(f"subject:{ids['A']}",)]
    pages = decrypted_pages(gallery.store)  # free pages too: secure_delete zeroed them
    assert not any(p in pages for p in pieces)
    assert b"Person A" not in pages
    index = gallery.index_for("default")
    assert not any(k in index for k in keys)
    blob = unsealed_index(gallery)
    assert not any(v in blob for v in stored_f16)
    result = search(gallery, photo_bytes("obama2.jpg"), **REQ)
    assert ids["A"] not in [c.subject_id for c in result.candidates]


def test_deleting_needs_a_reason_and_an_existing_subject(gallery):
    ids = enroll_people(gallery)
    with pytest.raises(UsageError, match="needs a reason"):
        gallery.delete_subject(ids["A"], EXAMINER, reason="")
    with pytest.raises(UsageError, match="no subject 999"):
        gallery.delete_subject(999, EXAMINER, reason="x")


def test_legal_hold_needs_a_known_case_and_a_reason(gallery):
    with pytest.raises(UsageError, match="no case 'NOPE'"):
        gallery.set_legal_hold("NOPE", True, EXAMINER, reason="x")
    with pytest.raises(UsageError, match="needs a reason"):
        gallery.set_legal_hold("NOPE", True, EXAMINER, reason=" ")


def test_a_crash_between_the_deletion_commit_and_the_index_write_is_caught_up(gallery, recognizer, fast_config):
    ids = enroll_people(gallery)
    with gallery.store.connection() as conn:
        rows = conn.execute(
            "SELECT e.id, e.vector FROM embeddings e JOIN face_images f ON f.id = e.image_id WHERE f.subject_id = ?",
            (ids["A"],),
        ).fetchall()
    stored_f16 = [np.frombuffer(r[1], "<f4").astype(np.float16).tobytes() for r in rows]
    index = gallery.index_for("default")

    def power_cut(*args, **kwargs):
        raise SystemExit("power cut after the commit, before the index file was rewritten")

    index._persist = power_cut  # the process dies before the sealed file is rewritten
    with pytest.raises(SystemExit):
        gallery.delete_subject(ids["A"], EXAMINER, reason="court order 13")
    on_disk = unsealed_index(gallery, index.path)  # read as it is, without syncing
    assert all(v in on_disk for v in stored_f16), "the file on disk is one version behind"

    fresh = Gallery(gallery.store, recognizer, fast_config)  # the next process
    after = fresh.index_for("default")
    with gallery.store.connection() as conn:
        assert after.keys() == {r[0] for r in conn.execute("SELECT id FROM embeddings")}
    assert after.version == 4
    assert not any(v in unsealed_index(fresh) for v in stored_f16), "caught up, and the erasure reached the disk"
