"""The policy switches as the touchscreen shows them: enhancement off, review not blind."""

from __future__ import annotations

from device.policy import set_setting
from tests.web.test_routes import post, start, to_review


def change(store, config, key, value):
    set_setting(store, config, key, value, actor="boss", role="supervisor", reason="agency rule")


def test_enhancement_off_shows_no_edit_controls_and_refuses_an_edit(app, as_user, store, config):
    exa = as_user("exa")
    assert start(exa).status_code == 302
    change(store, config, "policy.enhancement_allowed", False)
    page = exa.get("/cases/1/enhance").get_data(as_text=True)
    assert 'id="enhancement-off"' in page and 'id="apply-rotate"' not in page
    assert 'id="run-search"' in page, "the original can still be searched"
    assert exa.get("/cases/1/enhance/preview.jpg?op=rotate&degrees=3").status_code == 403


def test_peer_page_shows_the_examiners_dispositions_only_when_review_is_not_blind(app, as_user, store, config):
    to_review(as_user("exa"))
    peer = as_user("peer")
    blind = peer.get("/review/1").get_data(as_text=True)
    assert "Blind peer review" in blind and "examiner-disposition" not in blind
    change(store, config, "policy.blind_review", False)
    open_page = peer.get("/review/1").get_data(as_text=True)
    assert 'id="not-blind"' in open_page
    assert 'class="examiner-disposition">possible lead: ears<' in open_page


def test_the_new_search_form_lists_the_policys_offences_and_the_search_follows_them(app, as_user, store, config):
    exa = as_user("exa")
    change(store, config, "search.offense_categories", ["arson"])
    page = exa.get("/cases/new").get_data(as_text=True)
    assert ">arson<" in page and ">robbery<" not in page
    refused = start(exa)  # robbery: the config allows it, the policy no longer does
    assert refused.status_code == 400 and "not allowed on this unit" in refused.get_data(as_text=True)
    assert start(exa, offense="arson").status_code == 302


def test_the_api_search_answers_with_the_policys_top_k(app, as_user, store, config):
    exa = as_user("exa")
    change(store, config, "search.top_k", 1)
    assert start(exa).status_code == 302
    token = exa.get("/api/v1/csrf-token").get_json()["token"]
    found = exa.post("/api/v1/searches", json={"case_id": 1, "face_index": 0}, headers={"X-CSRF-Token": token})
    assert found.status_code == 201 and len(found.get_json()["candidates"]) == 1
    assert exa.get("/api/v1/cases/1").get_json()["search"]["top_k"] == 1


def test_erased_images_answer_410_and_the_examination_stays_readable(app, as_user, store, config):
    from datetime import UTC, datetime, timedelta

    from device.gallery import Actor
    from web.services import services

    exa = as_user("exa")
    assert start(exa).status_code == 302
    assert post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance").status_code == 302
    with app.app_context():
        wf = services().workflow
        real = wf.now
        wf.now = lambda: datetime.now(UTC) + timedelta(days=wf.policy().probe_retain_days + 1)
        try:  # the daily purge, run once the probe is past retention
            assert wf.purge(Actor("boss", "supervisor")).examinations == [1]
        finally:
            wf.now = real
    for which in ("original", "working", "searched"):
        assert exa.get(f"/cases/1/image/{which}.jpg").status_code == 410
    page = exa.get("/cases/1/analysis").get_data(as_text=True)
    assert "erased under the retention policy" in page and "Person A" in page
    compare = exa.get("/cases/1/candidates/1")
    assert compare.status_code == 200 and "erased under the retention policy" in compare.get_data(as_text=True)


def api_search(client, exam_id: int = 1):
    token = client.get("/api/v1/csrf-token").get_json()["token"]
    return client.post("/api/v1/searches", json={"case_id": exam_id, "face_index": 0}, headers={"X-CSRF-Token": token})


def test_the_api_search_follows_the_policys_offences_and_quality_thresholds(app, as_user, store, config):
    exa = as_user("exa")
    assert start(exa).status_code == 302 and start(exa, case="C-2").status_code == 302
    change(store, config, "search.offense_categories", ["arson"])  # after step 1: the search re-checks
    refused = api_search(exa, 1)
    assert refused.status_code == 400 and "'robbery' is not allowed" in refused.get_json()["error"]
    change(store, config, "search.offense_categories", ["robbery"])
    change(store, config, "vision.quality", {"sharpness": [1e9, 1e8]})
    failing = api_search(exa, 2)
    assert failing.status_code == 400 and "fails the quality assessment" in failing.get_json()["error"]
    enhance = exa.get("/cases/2/enhance").get_data(as_text=True)
    assert "face blurred" in enhance, "the screen shows the verdict the search applies"


def test_the_users_screen_follows_the_policys_training_horizon(app, as_user, store, config, users):
    from datetime import date, timedelta

    change(store, config, "policy.training_valid_days", 30)
    boss, ann = as_user("boss"), users["exa"]
    far, near = (date.today() + timedelta(days=200)).isoformat(), (date.today() + timedelta(days=20)).isoformat()
    refused = post(boss, f"/admin/users/{ann.id}", {"roles": "examiner", "training_valid_until": far,
                                                    "active": "1"}, "/admin/users")  # fmt: skip
    assert refused.status_code == 400 and "30" in refused.get_data(as_text=True)
    accepted = post(boss, f"/admin/users/{ann.id}", {"roles": "examiner", "training_valid_until": near,
                                                     "active": "1"}, "/admin/users")  # fmt: skip
    assert accepted.status_code == 302
