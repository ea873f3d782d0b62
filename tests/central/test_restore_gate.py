"""A restored unit searches nothing until it holds every erasure order issued since its backup
(device/gallery/restore_gate.py): the agency's latest bundle, even the very version it holds,
brings them; a unit without agency galleries is not gated."""

from __future__ import annotations

import pytest

from device.backup import restore_backup, write_backup
from device.central.gallery import authority, publish
from device.errors import NotAllowedError
from device.gallery import Gallery
from device.gallery.bundle import BundleError
from device.gallery.central import apply_file
from device.gallery.restore_gate import describe
from device.workflow import Workflow
from tests.central.fleet import WATCHLIST, agency_key, enroll, provision
from tests.sync.conftest import central_store
from tests.workflow.conftest import Clock, make_people, make_workflow, probe, workflow_config


def _restored_workflow(tmp_path, wf, secret, recognizer) -> Workflow:
    backup = write_backup(wf.store, tmp_path / "unit.ffb")
    config = workflow_config()
    restored, _ = restore_backup(backup.path, tmp_path / "restored", secret, config, actor="os:test")
    gallery = Gallery(restored, recognizer, config)
    return Workflow(restored, gallery.audit, gallery, config, clock=Clock())


def _actions(store) -> list[str]:
    with store.connection() as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'gallery.restore_gate%'"
                                           " ORDER BY seq")]  # fmt: skip


def _refs(store) -> list[str]:
    with store.connection() as conn:
        return [r[0] for r in conn.execute("SELECT reference FROM subjects ORDER BY reference")]


def test_restored_unit_searches_only_after_the_same_version_bundle_brings_the_orders(
    tmp_path, store, secret, recognizer
):
    wf = make_workflow(store, recognizer)
    people = make_people(wf)
    hq, agency = central_store(tmp_path), agency_key()
    provision(hq, agency, [wf.gallery])
    enroll(hq, agency, recognizer, wf.config, "REC-0002")
    apply_file(wf.gallery, publish.build(hq, agency, WATCHLIST)[0], "test")  # agency version 1 on the unit
    restored = _restored_workflow(tmp_path, wf, secret, recognizer)
    # Issued after the backup: central held no subject "A-1", so no new version; the unit's local
    # Person A carries that reference and must go. The latest bundle is still version 1.
    authority.erase(hq, agency, "A-1", "court order", "test")
    latest = publish.build(hq, agency, WATCHLIST)[0]
    assert "A-1" in _refs(restored.store) and _actions(restored.store) == ["gallery.restore_gate_set"]
    assert f"bundle is imported for {WATCHLIST}" in describe(restored.store)  # `status`, web status page

    exam = restored.start(people["exa"], "CASE-1", "robbery", "warrant 12/2025", probe())
    with pytest.raises(NotAllowedError, match=r"restored from a backup .*gallery import / gallery fetch"):
        restored.run_search(people["exa"], exam.id)
    with restored.store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM searches").fetchone()[0] == 0

    out = apply_file(restored.gallery, latest, "test")  # the version it holds: orders only
    assert out.orders_only and out.version == 1 and (out.added, out.changed, out.removed) == (0, 0, 0)
    assert [(o["order"], o["subjects"], o["new"]) for o in out.orders] == [(1, 1, True)]
    assert "A-1" not in _refs(restored.store) and "REC-0002" in _refs(restored.store)
    assert _actions(restored.store) == ["gallery.restore_gate_set", "gallery.restore_gate_cleared"]
    assert describe(restored.store) is None
    result = restored.run_search(people["exa"], exam.id)
    assert "Person A" not in [c.display_name for c in result.candidates]
    with pytest.raises(BundleError, match="replay or rollback refused"):  # gate cleared: a replay again
        apply_file(restored.gallery, latest, "test")
    hq.close()


def test_a_restored_unit_without_agency_galleries_is_not_gated(tmp_path, store, secret, recognizer):
    wf = make_workflow(store, recognizer)
    people = make_people(wf)
    restored = _restored_workflow(tmp_path, wf, secret, recognizer)
    assert _actions(restored.store) == []
    exam = restored.start(people["exa"], "CASE-1", "robbery", "warrant 12/2025", probe())
    assert restored.run_search(people["exa"], exam.id).candidates[0].display_name == "Person A"


def test_an_order_alone_keeps_the_gate_and_a_newer_bundle_clears_it(tmp_path, store, secret, recognizer):
    wf = make_workflow(store, recognizer)
    people = make_people(wf)
    hq, agency = central_store(tmp_path), agency_key()
    provision(hq, agency, [wf.gallery])
    enroll(hq, agency, recognizer, wf.config, "REC-0002")
    apply_file(wf.gallery, publish.build(hq, agency, WATCHLIST)[0], "test")
    restored = _restored_workflow(tmp_path, wf, secret, recognizer)
    order = authority.order_file(authority.erase(hq, agency, "REC-0002", "court order", "test")["envelope"])
    exam = restored.start(people["exa"], "CASE-1", "robbery", "warrant 12/2025", probe())

    apply_file(restored.gallery, order, "test")  # one order, not the agency's complete list
    assert "REC-0002" not in _refs(restored.store)
    with pytest.raises(NotAllowedError, match="restored from a backup"):
        restored.run_search(people["exa"], exam.id)
    out = apply_file(restored.gallery, publish.build(hq, agency, WATCHLIST)[0], "test")  # version 2
    assert not out.orders_only and out.version == 2
    assert _actions(restored.store) == ["gallery.restore_gate_set", "gallery.restore_gate_cleared"]
    restored.run_search(people["exa"], exam.id)
    hq.close()


def test_the_web_status_page_says_searches_are_refused(tmp_path, store, secret, recognizer, fast_config):
    from web import create_app

    wf = make_workflow(store, recognizer)
    hq, agency = central_store(tmp_path), agency_key()
    provision(hq, agency, [wf.gallery])
    enroll(hq, agency, recognizer, wf.config, "REC-0002")
    apply_file(wf.gallery, publish.build(hq, agency, WATCHLIST)[0], "test")
    restored = _restored_workflow(tmp_path, wf, secret, recognizer)
    hq.close()
    client = create_app(restored.store, fast_config, {"TESTING": True}).test_client()
    form = {"username": "boss", "display_name": "Boss", "password": "a long password", "password2": "a long password"}
    assert client.post("/setup", data=form).status_code == 302
    assert client.post("/login", data={"username": "boss", "password": "a long password"}).status_code == 302
    page = client.get("/status").get_data(as_text=True)
    assert "Refused: restored from unit.ffb" in page and f"imported for {WATCHLIST}" in page
