import json

import pytest

from device.errors import UsageError
from tests.gallery.conftest import EXAMINER, blurred, enroll_people, search, subject, two_faces
from tests.vision.conftest import encode, photo_bytes

REQ = dict(case="CASE-1", offense="robbery", purpose="warrant 2026/17", gallery="default")


def test_a_different_photo_of_an_enrolled_person_ranks_them_first(gallery):
    ids = enroll_people(gallery)
    result = search(gallery, photo_bytes("obama2.jpg"), **REQ)
    first = result.candidates[0]
    assert first.subject_id == ids["A"] and first.band == "worth-examining" and first.score > 0.6
    # one line per subject (its best image), ranked by score
    assert [c.rank for c in result.candidates] == [1, 2]
    assert result.candidates[1].subject_id == ids["B"] and result.candidates[1].band == "below-line"
    assert "never an identification" in result.to_dict()["notice"]


def test_a_person_not_enrolled_gets_no_candidate_above_the_line(gallery):
    enroll_people(gallery)
    result = search(gallery, photo_bytes("astronaut.png"), **REQ)
    assert result.candidates, "investigation mode still lists the nearest subjects"
    assert all(c.band == "below-line" for c in result.candidates)


def test_every_search_is_recorded_with_probe_gallery_version_and_model(gallery):
    enroll_people(gallery)
    probe = photo_bytes("obama2.jpg")
    result = search(gallery, probe, **REQ)
    with gallery.store.connection() as conn:
        row = conn.execute(
            "SELECT case_id, offense, purpose, gallery_version, model_id, probe_sha256, probe_image, actor"
            " FROM searches WHERE id = ?",
            (result.search_id,),
        ).fetchone()
        n_candidates = conn.execute(
            "SELECT count(*) FROM candidates WHERE search_id = ?", (result.search_id,)
        ).fetchone()[0]
        entry = conn.execute("SELECT body FROM audit_log WHERE action = 'search'").fetchone()
    assert row[:5] == ("CASE-1", "robbery", "warrant 2026/17", 3, gallery.model_id)
    # The probe's bytes stay with the examination that holds them: the search keeps their hash only.
    assert row[5] == result.probe_sha256 and row[6] is None and row[7] == "examiner1"
    assert n_candidates == len(result.candidates)
    details = json.loads(entry[0])["details"]
    assert details["probe_sha256"] == result.probe_sha256 and details["gallery_version"] == 3
    assert details["model_id"] == gallery.model_id and details["offense"] == "robbery"
    # The candidates shown, by id only: the subject's reference (or id), rank and score; never a name.
    assert details["shown"] == [{"rank": c.rank, "subject": c.reference or c.subject_id, "score": round(c.score, 4)}
                                for c in result.candidates]  # fmt: skip
    assert details["shown"][0]["subject"] == "A-1" and "Person" not in entry[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"case": ""}, "case number is required"),
        ({"offense": ""}, "offence category is required"),
        ({"offense": "jaywalking"}, "not allowed on this unit"),
        ({"purpose": "  "}, "purpose / legal authority"),
        ({"gallery": "nosuch"}, "unknown gallery 'nosuch'"),
    ],
)
def test_a_search_needs_case_offence_purpose_and_a_known_gallery(gallery, change, message):
    enroll_people(gallery)
    with pytest.raises(UsageError, match=message):
        search(gallery, photo_bytes("obama2.jpg"), **{**REQ, **change})
    assert gallery.store.counts()["searches"] == 0


def test_a_multi_face_probe_needs_a_chosen_face(gallery):
    ids = enroll_people(gallery)
    probe = two_faces()
    with pytest.raises(UsageError, match=r"2 faces: choose one"):
        search(gallery, probe, **REQ)
    with pytest.raises(UsageError, match=r"choose one of the 2 faces found \(0 to 1\)"):
        search(gallery, probe, **REQ, face_index=5)
    chosen = {search(gallery, probe, **REQ, face_index=i).candidates[0].subject_id
              for i in (0, 1)}  # fmt: skip
    assert chosen == {ids["A"], ids["B"]}


def test_enrollment_skips_what_it_cannot_use_with_the_reason(gallery):
    blank = encode(__import__("numpy").full((200, 200, 3), 128, "uint8"))
    report = gallery.enroll(
        subject("Person A"),
        [("blank.png", blank), ("two.jpg", two_faces()), ("blurred.jpg", blurred("obama.jpg")),
         ("text.jpg", b"not an image at all"), ("obama.jpg", photo_bytes("obama.jpg"))],
        EXAMINER,
    )  # fmt: skip
    reasons = {o.label: (o.status, o.reason) for o in report.outcomes}
    assert reasons["obama.jpg"][0] == "enrolled"
    assert "no face" in reasons["blank.png"][1]
    assert "2 faces" in reasons["two.jpg"][1]
    assert "quality fail" in reasons["blurred.jpg"][1]
    assert reasons["text.jpg"][0] == "skipped"
    again = gallery.enroll(subject("Person A"), [("copy.jpg", photo_bytes("obama.jpg"))], EXAMINER)
    assert again.outcomes[0].reason.startswith("duplicate")
    assert gallery.store.counts()["face_images"] == 1


def test_forced_enrollment_records_the_reason(gallery):
    with pytest.raises(UsageError, match="needs a reason"):
        gallery.enroll(subject("Person A"), [("b.jpg", blurred("obama.jpg"))], EXAMINER, force_reason=" ")
    report = gallery.enroll(subject("Person A"), [("b.jpg", blurred("obama.jpg"))], EXAMINER,
                            force_reason="only photo on file")  # fmt: skip
    assert report.enrolled[0].reason == "forced: only photo on file"
    with gallery.store.connection() as conn:
        assert conn.execute("SELECT forced FROM face_images").fetchone() == ("only photo on file",)
        body = json.loads(conn.execute("SELECT body FROM audit_log WHERE action = 'gallery.enroll'").fetchone()[0])
    assert body["details"]["forced"] == "only photo on file"


def test_re_enrolling_the_same_images_changes_nothing(gallery):
    enroll_people(gallery)
    before = (gallery.store.counts(), gallery.store.meta())
    with gallery.store.connection() as conn:
        version = conn.execute("SELECT version FROM galleries").fetchone()
    enroll_people_again = gallery.enroll(subject("Person B"), [("biden.jpg", photo_bytes("biden.jpg"))], EXAMINER)
    assert enroll_people_again.enrolled == []
    with gallery.store.connection() as conn:
        assert conn.execute("SELECT version FROM galleries").fetchone() == version
    assert (gallery.store.counts(), gallery.store.meta()) == before


def test_subject_details_are_checked(gallery):
    img = [("obama.jpg", photo_bytes("obama.jpg"))]
    with pytest.raises(UsageError, match="legal basis"):
        gallery.enroll(subject("X").__class__("X", "", "default"), img, EXAMINER)
    with pytest.raises(UsageError, match="not a date"):
        gallery.enroll(subject("X", retain_until="next year"), img, EXAMINER)
    with pytest.raises(UsageError, match="not in the future"):
        gallery.enroll(subject("X", retain_until="2020-01-01"), img, EXAMINER)
    with pytest.raises(UsageError, match="gallery 'bad name!'"):
        gallery.enroll(subject("X", gallery="bad name!"), img, EXAMINER)


def test_galleries_are_separate(gallery):
    gallery.enroll(subject("Person A", gallery="wanted"), [("o.jpg", photo_bytes("obama.jpg"))], EXAMINER)
    gallery.enroll(subject("Person B", gallery="missing"), [("b.jpg", photo_bytes("biden.jpg"))], EXAMINER)
    result = search(gallery, photo_bytes("obama2.jpg"), **{**REQ, "gallery": "missing"})
    assert [c.display_name for c in result.candidates] == ["Person B"]
