"""Issue 15's audit points and screens through the test client: refused imports and views of
biometric images and lead reports are recorded (ids only); the dissent and below-line screens;
the supervisor's menu; plain words for slugs and times."""

from __future__ import annotations

import io
from datetime import date, timedelta

from tests.web.test_reports_pages import audited
from tests.web.test_routes import ALL_SIMILAR, post, start, to_review


def test_refused_imports_are_recorded_without_pixels(app, as_user, store):
    exa = as_user("exa")
    for probe, reason in (((io.BytesIO(b"%PDF-1.4 not an image"), "x.pdf"), "not an image"),
                          ((io.BytesIO(b""), "empty.jpg"), "empty")):  # fmt: skip
        assert start(exa, probe=probe).status_code == 400
        entry = audited(store, "exam.probe_refused")[-1]
        assert (entry.actor, entry.outcome, entry.details["reason"], entry.case) == ("exa", "denied", reason, "C-1")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    assert start(exa, probe=(io.BytesIO(b"\xff\xd8" + b"0" * 100_000), "big.jpg")).status_code == 413
    entry = audited(store, "exam.probe_refused")[-1]
    assert entry.details["reason"] == "too large" and entry.details["bytes"] > 100_000
    assert all("image" not in k or k == "image_id" for e in audited(store, "exam.probe_refused") for k in e.details)


def test_views_of_candidate_images_reports_and_gallery_subjects_are_recorded(as_user, store):
    exa = as_user("exa")
    to_review(exa)
    assert exa.get("/cases/1/candidates/1/face.jpg").mimetype == "image/jpeg"
    assert exa.get("/cases/1/candidates/1/image.jpg").mimetype == "image/jpeg"
    seen = audited(store, "view.candidate_image")
    assert [(e.actor, e.object, e.details["rank"], e.details["kind"]) for e in seen] == [
        ("exa", "exam:1", 1, "face"), ("exa", "exam:1", 1, "photo")]  # fmt: skip
    assert isinstance(seen[0].details["subject_id"], int)
    peer = as_user("peer")
    assert post(peer, "/review/1", {"choice": "1", "reason": "ears agree"}).status_code == 302
    boss = as_user("boss")
    assert post(boss, "/cases/1/release", {}, "/cases/1/verify").status_code == 302
    assert as_user("aud").get("/cases/1/report").status_code == 200
    [view] = audited(store, "view.lead_report")
    assert (view.actor, view.role, view.object, view.case) == ("aud", "auditor", "exam:1", "C-1")
    assert boss.get("/gallery/subjects/1").status_code == 200
    assert boss.get("/gallery/images/1.jpg").status_code == 200
    assert [e.object for e in audited(store, "view.gallery_subject")] == ["subject:1"]
    assert [e.object for e in audited(store, "view.gallery_image")] == ["image:1"]


def test_the_report_shows_both_face_crops_and_the_checklist_in_fiswg_order(as_user):
    exa = as_user("exa")
    to_review(exa)
    post(as_user("peer"), "/review/1", {"choice": "1", "reason": "ears agree"})
    boss = as_user("boss")
    post(boss, "/cases/1/release", {}, "/cases/1/verify")
    page = boss.get("/cases/1/report").get_data(as_text=True)
    assert 'src="/cases/1/face.jpg"' in page and 'src="/cases/1/candidates/1/face.jpg"' in page
    order = [page.index(label) for label in ("Overall face shape", "Hairline", "Eyebrows", "Eyes (shape", "Skin:")]
    assert order == sorted(order)
    assert boss.get("/cases/1/face.jpg").mimetype == "image/jpeg"


def test_a_below_line_lead_asks_for_a_justification_on_screen(as_user):
    exa = as_user("exa")
    assert start(exa).status_code == 302
    assert post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance").status_code == 302
    analysis = exa.get("/cases/1/analysis").get_data(as_text=True)
    assert "possible-lead" not in analysis and "title=" not in analysis  # no slugs, no hover-only text
    low = next(r for r in (2, 3, 4, 5) if "below the worth-examining line" in exa.get(f"/cases/1/candidates/{r}").text)
    page = f"/cases/1/candidates/{low}"
    assert "Why put forward a candidate below the line" in exa.get(page).text
    fields = {**ALL_SIMILAR, "disposition": "possible-lead", "reason": "alike"}
    refused = post(exa, page, fields)
    assert refused.status_code == 400 and "needs a written justification" in refused.text
    assert 'value="similar" checked' in refused.text  # the checklist is kept
    assert post(exa, page, {**fields, "below_line_reason": "named by a witness"}).status_code == 302


def test_after_a_dissent_the_examiner_and_a_supervisor_are_offered_a_recorded_closure(as_user):
    exa = as_user("exa")
    to_review(exa)
    assert post(as_user("peer"), "/review/1", {"choice": "none", "reason": "no"}).status_code == 302
    page = exa.get("/cases/1/verify").text
    assert "What follows a dissent" in page and "Reason for closing after the dissent" in page
    assert 'aria-current="step">4. Verification' in page
    boss = as_user("boss")
    assert "Close without a lead" in boss.get("/cases/1/verify").text
    empty = post(boss, "/cases/1/close", {"reason": ""}, "/cases/1/verify")
    assert empty.status_code == 400 and "needs a reason" in empty.text
    closed = post(boss, "/cases/1/close", {"reason": "dissent upheld"}, "/cases/1/verify")
    assert closed.status_code == 302 and "closed without a lead" in boss.get(closed.location).text


def test_a_waiting_override_is_counted_in_the_supervisors_menu_and_says_which_face_and_why(as_user):
    from tests.gallery.conftest import blurred

    exa = as_user("exa")
    assert start(exa, probe=(io.BytesIO(blurred("obama2.jpg", sigma=14)), "blur.jpg")).status_code == 302
    boss = as_user("boss")
    assert 'class="badge"' not in boss.get("/cases").text  # nothing refused yet
    assert post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance").status_code == 400
    cases = boss.get("/cases").text
    assert 'aria-label="1 quality override waiting">1</span>' in cases and "Waiting for your quality override" in cases
    page = boss.get("/cases/1/enhance").text
    assert "Face 1 (the box numbered 1 on the photo)" in page and "because:" in page
    done = post(boss, "/cases/1/override", {"reason": "only photo"}, "/cases/1/enhance")
    after = boss.get(done.location, follow_redirects=True).text
    assert "Quality override recorded" in after and 'class="badge"' not in after


def test_an_enrollment_that_skipped_everything_is_not_green(as_user):
    boss = as_user("boss")
    data = {"display_name": "X", "legal_basis": "court order 1", "category": "wanted",
            "images": (io.BytesIO(b"not an image"), "x.jpg")}  # fmt: skip
    page = post(boss, "/gallery/enroll", data, "/gallery/enroll").text
    assert 'class="error" id="enrolled" role="alert">Nothing was enrolled; 1 photo was skipped' in page
    assert "image(s)" not in page


def test_adding_a_user_is_confirmed(as_user):
    boss = as_user("boss")
    fields = {"username": "newbie", "display_name": "New Bie", "password": "a long enough secret 42",
              "roles": "examiner", "training_valid_until": (date.today() + timedelta(days=30)).isoformat()}  # fmt: skip
    added = post(boss, "/admin/users", fields)
    assert added.status_code == 302, added.text[added.text.find("error") :][:300]
    page = boss.get(added.location).text
    assert "The account was added." in page and "Roles of newbie" in page


def test_a_change_after_release_is_a_409_that_says_the_report_is_final(as_user):
    exa = as_user("exa")
    to_review(exa)
    post(as_user("peer"), "/review/1", {"choice": "1", "reason": "ears agree"})
    post(as_user("boss"), "/cases/1/release", {}, "/cases/1/verify")
    fields = {**ALL_SIMILAR, "disposition": "excluded", "reason": "changed my mind"}
    r = exa.post("/cases/1/candidates/1", data={**fields, "csrf_token": exa.get("/api/v1/csrf-token").json["token"]})
    assert r.status_code == 409 and "has a released lead report, which is final" in r.text
