"""The policy switches as the touchscreen shows them: enhancement off, review not blind."""

from __future__ import annotations

from device.policy import set_setting
from tests.web.test_routes import start, to_review


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
    assert 'class="examiner-disposition">possible-lead: ears<' in open_page
