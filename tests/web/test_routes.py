"""Every route through the Flask test client: guards, CSRF and replay, bad input, the rules' doors."""

from __future__ import annotations

import io

import pytest

from tests.vision.conftest import encode, photo_bytes, photo_rgb
from tests.web.conftest import token_from
from tests.workflow.conftest import PASSWORD

ALL_SIMILAR = {f"v_{k}": "similar" for k in ("face_shape", "hairline", "eyebrows", "eyes", "nose", "cheeks", "ears",
                                             "mouth", "chin", "facial_hair", "skin")}  # fmt: skip


def small_jpeg(name: str) -> bytes:
    # Under Werkzeug's 500 KB: a bigger test upload spools to a temp file the test client leaves open.
    return encode(photo_rgb(name), ".jpg")


def start(client, **fields) -> object:
    data = {"case": "C-1", "offense": "robbery", "purpose": "warrant 1", "csrf_token": token_from(client, "/cases/new")}
    data.update(fields)
    data.setdefault("probe", (io.BytesIO(photo_bytes("obama2.jpg")), "probe.jpg"))
    return client.post("/cases/new", data=data, content_type="multipart/form-data")


def post(client, path: str, data: dict, page: str | None = None):
    return client.post(path, data={"csrf_token": token_from(client, page or path), **data})


def to_review(exa) -> int:
    assert start(exa).status_code == 302
    assert post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance").status_code == 302
    page = "/cases/1/candidates/1"
    r = post(exa, page, {**ALL_SIMILAR, "disposition": "possible-lead", "reason": "ears", "n_ears": "<b>x</b>"})
    assert r.status_code == 302
    assert post(exa, "/cases/1/verify", {"corroboration": "seen nearby"}).status_code == 302
    return 1


def test_unauthenticated_pages_redirect_and_api_answers_401(app, users):
    client = app.test_client()
    for path in ("/cases", "/cases/new", "/cases/1", "/review", "/gallery", "/audit", "/admin/users", "/status"):
        assert client.get(path).headers["Location"].startswith("/login"), path
    for path in ("/api/v1/cases", "/api/v1/subjects", "/api/v1/audit", "/api/v1/csrf-token"):
        assert client.get(path).status_code == 401, path
    assert client.post("/api/v1/searches", json={"case_id": 1}).status_code == 401
    assert client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/searches"]["post"]


def test_wrong_password_and_slow_down_through_the_login_form(app, users):
    client = app.test_client()
    pages = {}
    for name in ("exa", "nobody"):  # a real and an unknown account answer alike
        for _ in range(5):
            assert client.post("/login", data={"username": name, "password": "nope"}).status_code == 401
        pages[name] = client.post("/login", data={"username": name, "password": "nope"}).get_data(as_text=True)
        assert "too many failed logins: wait 1 s before trying again" in pages[name]
    assert client.post("/login", data={"username": "exa", "password": PASSWORD}).status_code == 401


def test_posts_without_a_token_replayed_or_cross_site_are_refused(as_user):
    exa = as_user("exa")
    r = exa.post("/cases/new", data={"case": "C-1", "offense": "robbery", "purpose": "p"})
    assert r.status_code == 403 and b"not from this session" in r.data
    token = token_from(exa, "/cases/new")
    data = {"csrf_token": token, "case": "C-1", "offense": "robbery", "purpose": "p"}
    first = exa.post("/cases/new", data=data)  # no probe: refused, but the token is spent
    assert first.status_code == 400 and b"probe image is required" in first.data
    replay = exa.post("/cases/new", data=data)
    assert replay.status_code == 403 and b"already submitted" in replay.data
    cross = exa.post("/cases/new", data={**data, "csrf_token": token_from(exa, "/cases/new")},
                     headers={"Sec-Fetch-Site": "cross-site"})  # fmt: skip
    assert cross.status_code == 403 and b"cross-site" in cross.data
    foreign = exa.post("/cases/new", data=data, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    other = as_user("exb")
    stolen = other.post("/cases/new", data={**data, "csrf_token": token_from(exa, "/cases/new")})
    assert stolen.status_code == 403


def test_bad_input_is_refused_with_a_message_and_nothing_saved(app, as_user):
    exa = as_user("exa")
    for fields, message in (({"case": ""}, b"case number is required"), ({"offense": "parking"}, b"not allowed"),
                            ({"purpose": ""}, b"purpose"),
                            ({"probe": (io.BytesIO(b"%PDF-1.4 not an image"), "x.pdf")}, b"JPEG")):  # fmt: skip
        r = start(exa, **fields)
        assert r.status_code == 400 and message in r.data, r.data
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    r = start(exa, probe=(io.BytesIO(b"\xff\xd8" + b"0" * 100_000), "big.jpg"), purpose="warrant 7/2026")
    page = r.get_data(as_text=True)
    assert r.status_code == 413 and "larger than the 64 KB this unit accepts" in page
    assert 'value="C-1"' in page and "warrant 7/2026</textarea>" in page  # the form is kept
    assert "capacity limit" not in page
    assert exa.get("/api/v1/cases").get_json()["cases"] == []


def test_another_users_case_is_refused_by_id(as_user):
    exa = as_user("exa")
    assert start(exa).status_code == 302
    exb = as_user("exb")
    for path in ("/cases/1", "/cases/1/probe", "/cases/1/enhance", "/cases/1/image/original.jpg", "/api/v1/cases/1"):
        assert exb.get(path).status_code == 403, path
    assert post(exb, "/cases/1/enhance", {"op": "rotate", "degrees": "90"}, "/cases").status_code == 403
    token = exb.get("/api/v1/csrf-token").get_json()["token"]
    assert exb.post("/api/v1/searches", json={"case_id": 1}, headers={"X-CSRF-Token": token}).status_code == 403


def test_full_flow_roles_blind_review_escaping_and_report(as_user):
    exa = as_user("exa")
    to_review(exa)
    assert exa.get("/review").status_code == 403  # examiner only: not a reviewer
    peer = as_user("peer")
    page = peer.get("/review/1").get_data(as_text=True)
    assert "seen nearby" not in page and "possible-lead" not in page  # blind
    assert post(peer, "/review/1", {"choice": "", "reason": "r"}).status_code == 400
    assert post(peer, "/review/1", {"choice": "1", "reason": "ears agree"}).status_code == 302
    page = exa.get("/cases/1/verify").get_data(as_text=True)
    assert "A supervisor now releases the lead report" in page and "Release the lead report" not in page
    refused = post(exa, "/cases/1/release", {}, "/cases/1/verify")
    assert refused.status_code == 403 and b"a supervisor releases lead reports" in refused.data
    boss = as_user("boss")
    assert "5. Release the lead report" in boss.get("/cases/1/verify").get_data(as_text=True)
    released = post(boss, "/cases/1/release", {}, "/cases/1/verify")
    assert released.status_code == 302
    assert "The lead report was released." in boss.get(released.location).get_data(as_text=True)
    report = exa.get("/cases/1/report").get_data(as_text=True)
    assert "not a positive identification" in report and "not probable cause" in report
    assert "&lt;b&gt;x&lt;/b&gt;" in report and "<b>x</b>" not in report  # notes escaped
    assert as_user("aud").get("/cases/1/report").status_code == 200  # auditors read
    assert as_user("exb").get("/cases/1/report").status_code == 403


def test_the_examiner_cannot_review_their_own_case(as_user):
    peer = as_user("peer")  # reviewer and examiner
    to_review(peer)
    assert b"Nothing awaits" in peer.get("/review").data
    assert peer.get("/review/1").status_code == 403
    assert post(peer, "/review/1", {"choice": "1", "reason": "mine"}, "/review").status_code == 403


def test_release_before_concurrence_is_refused(as_user):
    exa = as_user("exa")
    to_review(exa)
    boss = as_user("boss")
    r = boss.post("/cases/1/release", data={"csrf_token": token_from(boss, "/cases/1/verify")})
    assert r.status_code == 409 and b"awaits peer review" in r.data
    assert exa.get("/cases/1/report").status_code == 409


@pytest.mark.parametrize("path", ["/gallery", "/gallery/enroll", "/admin/users", "/audit"])
def test_role_pages_refuse_examiners(as_user, path):
    assert as_user("exa").get(path).status_code == 403


def test_supervisor_screens_gallery_users_audit_and_override(as_user):
    boss = as_user("boss")
    assert b"Person A" in boss.get("/gallery").data
    assert boss.get("/gallery/subjects/1").status_code == 200
    assert boss.get("/gallery/images/1.jpg").mimetype == "image/jpeg"
    form = {"csrf_token": token_from(boss, "/gallery/enroll"), "display_name": "Person C", "legal_basis": "warrant",
            "images": (io.BytesIO(small_jpeg("astronaut.png")), "a.jpg")}  # fmt: skip
    enroll = boss.post("/gallery/enroll", content_type="multipart/form-data", data=form)
    assert enroll.status_code == 200 and b"1 photo enrolled." in enroll.data
    assert post(boss, "/gallery/subjects/3/delete", {"reason": "r"}).status_code == 400  # not confirmed
    assert post(boss, "/gallery/subjects/3/delete", {"reason": "expired warrant", "confirm": "yes"}).status_code == 302
    assert b"Person C" not in boss.get("/gallery").data
    r = post(boss, "/admin/users", {"username": "newbie", "password": PASSWORD, "roles": "examiner"})
    assert r.status_code == 302 and b"newbie" in boss.get("/admin/users").data
    audit = boss.get("/audit?action=gallery").get_data(as_text=True)
    assert "gallery.delete_subject" in audit
    assert b"The chain verifies" in post(boss, "/audit/verify", {}, "/audit").data
    assert as_user("aud").get("/api/v1/audit?after=0&limit=5").get_json()["entries"][0]["seq"] == 1
    assert boss.get("/api/v1/subjects").get_json()["subjects"][0]["display_name"] == "Person A"


def test_failing_probe_needs_the_supervisor_override_on_screen(as_user):
    from tests.gallery.conftest import blurred

    exa = as_user("exa")
    assert start(exa, probe=(io.BytesIO(blurred("obama2.jpg", sigma=14)), "blur.jpg")).status_code == 302
    page = exa.get("/cases/1/enhance").get_data(as_text=True)
    assert 'id="needs-override"' in page
    r = post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance")
    assert r.status_code == 400 and b"fails the quality assessment" in r.data
    boss = as_user("boss")
    assert post(boss, "/cases/1/override", {"reason": ""}, "/cases/1/enhance").status_code == 400
    allowed = post(boss, "/cases/1/override", {"reason": "only photo"}, "/cases/1/enhance")
    assert allowed.status_code == 302
    confirmed = boss.get(allowed.location, follow_redirects=True).get_data(as_text=True)
    assert "Quality override recorded" in confirmed
    token = exa.get("/api/v1/csrf-token").get_json()["token"]
    r = exa.post("/api/v1/searches", json={"case_id": 1, "face_index": 0}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201 and "match" not in r.get_json()["notice"].replace("never", "")


def test_enhancement_preview_apply_and_logout(as_user):
    exa = as_user("exa")
    start(exa)
    assert exa.get("/cases/1/enhance/preview.jpg?op=rotate&degrees=10").mimetype == "image/jpeg"
    # Preview posts its form (the one-use token stays out of the URL); the picture's URL has the edit only.
    shown = post(exa, "/cases/1/enhance/preview", {"op": "crop", "x0": "0.1", "y0": "0.1", "x1": "0.9", "y1": "0.9"},
                 "/cases/1/enhance")  # fmt: skip
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "/enhance/preview.jpg?op=crop" in page
    assert "csrf_token=" not in page and 'formmethod="get"' not in page
    r = post(exa, "/cases/1/enhance", {"op": "crop", "x0": "0.9", "y0": "0", "x1": "0.1", "y1": "1"})
    assert r.status_code == 400 and "Location" not in r.headers and b'role="alert"' in r.data
    # A crafted link cannot choose the words of an alert any more.
    assert b"call 555" not in exa.get("/cases/1/enhance?error=call+555").data
    assert post(exa, "/cases/1/enhance", {"op": "denoise", "strength": "3"}).status_code == 302
    assert b"denoise" in exa.get("/cases/1/enhance").data
    assert post(exa, "/logout", {}, "/cases").status_code == 302
    assert exa.get("/cases").status_code == 302
