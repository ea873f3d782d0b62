import logging

import numpy as np
import pytest

from device.config import GalleryConfig
from device.gallery import Gallery
from device.gallery.index import GalleryIndex, vector_to_blob
from device.store.db import utc_now
from tests.gallery.conftest import EXAMINER, enroll_people, search, subject
from tests.vision.conftest import photo_bytes

REQ = dict(case="CASE-2", offense="fraud", purpose="inquiry 5", gallery="default")


def clustered(identities: int, per: int, ndim: int = 128, seed: int = 7) -> np.ndarray:
    """Unit vectors in tight clusters, like several photos each of many people (random points are
    the worst case for HNSW and say nothing about faces)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((identities, ndim))
    points = np.repeat(centres, per, axis=0) + 0.35 * rng.standard_normal((identities * per, ndim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def insert_synthetic(store, vectors: np.ndarray, model_id: str = "synthetic-model") -> int:
    now = utc_now()
    with store.transaction() as conn:
        conn.execute("INSERT INTO galleries(name, created_at, version) VALUES ('synthetic', ?, 1)", (now,))
        gid = conn.execute("SELECT id FROM galleries WHERE name = 'synthetic'").fetchone()[0]
        sid = conn.execute(
            "INSERT INTO subjects(gallery_id, display_name, legal_basis, enrolled_by, enrolled_at)"
            " VALUES (?, 'synthetic', 'test', 't', ?)",
            (gid, now),
        ).lastrowid
        for i, vector in enumerate(vectors):
            image_id = conn.execute(
                "INSERT INTO face_images(subject_id, gallery_id, sha256, format, width, height, face_index,"
                " quality, image, added_by, added_at) VALUES (?, ?, ?, 'png', 1, 1, 0, '{}', x'00', 't', ?)",
                (sid, gid, f"{i:064x}", now),
            ).lastrowid
            conn.execute(
                "INSERT INTO embeddings(id, image_id, gallery_id, model_id, vector) VALUES (?, ?, ?, ?, ?)",
                (i + 1, image_id, gid, model_id, vector_to_blob(vector)),
            )
    return gid


@pytest.mark.slow
def test_hnsw_recall_at_20_against_exact_search(store):
    vectors = clustered(400, 10)  # 4,000 vectors
    gid = insert_synthetic(store, vectors)
    index = GalleryIndex(store, gid, "synthetic-model", 128, GalleryConfig(exact_search_max=0))
    calls = []
    with store.connection() as conn:
        assert index.sync(conn, lambda done, total: calls.append((done, total))) == "rebuilt"
    assert calls[0] == (0, 4000) and calls[-1] == (4000, 4000), "rebuilding reports progress"
    assert not index.exact
    # New photos of enrolled people: near their clusters, not copies of stored vectors.
    queries = vectors[::20] + 0.05 * np.random.default_rng(1).standard_normal((200, 128)).astype(np.float32)
    recall = []
    for q in queries:
        approx = {h.embedding_id for h in index.search(q, 20)}
        exact = {h.embedding_id for h in index.search(q, 20, exact=True)}
        recall.append(len(approx & exact) / 20)
    assert np.mean(recall) >= 0.99, np.mean(recall)


def test_small_galleries_use_exact_search(gallery):
    enroll_people(gallery)
    assert gallery.index_for("default").exact


def test_sealed_index_is_reused_and_holds_no_plaintext(gallery, recognizer, fast_config):
    enroll_people(gallery)
    path = gallery.index_for("default").path
    blob = path.read_bytes()
    assert b"Person A" not in blob and b"usearch" not in blob.lower()
    fresh = Gallery(gallery.store, recognizer, fast_config)  # a new process, as it were
    with gallery.store.connection() as conn:
        index = fresh.index(conn, 1)
    assert index.version == 3 and len(index) == 3
    # Loaded from the file, it searches with the configured expansion, not USearch's default.
    assert index.expansion_search == fast_config.gallery.hnsw_expansion_search == 512


def test_a_stale_index_catches_up_with_changes_made_elsewhere(gallery, recognizer, fast_config):
    enroll_people(gallery)
    web = Gallery(gallery.store, recognizer, fast_config)
    assert search(web, photo_bytes("obama2.jpg"), **REQ).gallery_version == 3
    cli = Gallery(gallery.store, recognizer, fast_config)  # another process enrolls meanwhile
    cli.enroll(subject("Person C"), [("astronaut.png", photo_bytes("astronaut.png"))], EXAMINER)
    result = search(web, photo_bytes("astronaut.png"), **REQ)
    assert result.gallery_version == 4
    assert result.candidates[0].display_name == "Person C" and result.candidates[0].score > 0.99


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "other-model", "missing"])
def test_a_damaged_or_foreign_index_file_is_rebuilt_from_the_database(gallery, recognizer, fast_config, damage, caplog):
    enroll_people(gallery)
    path = gallery.index_for("default").path
    data = path.read_bytes()
    if damage == "corrupt":
        path.write_bytes(data[:-40] + bytes(b ^ 0xFF for b in data[-40:]))
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "other-model":
        path.write_bytes(data.replace(recognizer.model_id.encode(), b"x" * len(recognizer.model_id)))
    else:
        path.unlink()
    fresh = Gallery(gallery.store, recognizer, fast_config)
    with caplog.at_level(logging.WARNING), gallery.store.connection() as conn:
        index = fresh.index(conn, 1)
    assert len(index) == 3 and index.version == 3
    if damage != "missing":
        assert "rebuilding from the database" in caplog.text
    result = search(fresh, photo_bytes("obama2.jpg"), **REQ)
    assert result.candidates[0].display_name == "Person A"


def test_close_lets_go_of_the_indexes(gallery):
    enroll_people(gallery)
    before = gallery.index_for("default")
    gallery.close()
    after = gallery.index_for("default")
    assert after is not before and len(after) == 3, "a fresh index, loaded from the sealed file"
