"""The console's Galleries page and JSON: a real central gallery enrolled, published and erased by
the gallery authority (issue 16), the demo's units acknowledging bundles and proving the order in
their signed chains (delivered through the one verifier); current / behind / digest mismatch,
applied with its proof / OUTSTANDING (and a proof undone by a restore), and the overdue-erasure
alert on the fleet page, on SQLCipher and on PostgreSQL through the console's role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from device.central import console_alerts
from device.central.gallery import authority, publish
from device.central.gallery.status import acked_versions, lines, status
from device.central.simulate import SimUnit, stamp
from device.central.verifier import Verifier
from tests.central.fleet import WATCHLIST, agency_key, enroll
from tests.console.conftest import console_config, form_token, login

WEEK = 7 * 86400.0


def _published(store, agency) -> dict:
    _bundle, manifest = publish.build(store, agency, WATCHLIST, base=0)
    publish.record_publication(store, manifest, len(_bundle), "file", "test")
    return manifest


def _deliver(verifier, unit: SimUnit, entries) -> None:
    unit.deliver(verifier, entries[0].seq, entries[-1].seq)


@pytest.fixture
def agency_fleet(demo, recognizer, monkeypatch):
    """v1 (REC-0001) and v2 (+REC-0002) published; REC-0001 erased by order 1 (v3, published).
    north: v3 with its digest and order 1 proved; south: v1, owes the order; east: v3 with another
    digest, owes the order; west: registered ten days ago, order issued eight days ago, owes it."""
    store, _backend, units, config = demo
    verifier, agency, t = Verifier(store), agency_key(), datetime.now(UTC)
    enroll(store, agency, recognizer, config, "REC-0001")
    v1 = _published(store, agency)
    enroll(store, agency, recognizer, config, "REC-0002")
    _published(store, agency)
    west = SimUnit("unit-west", "West post")
    monkeypatch.setattr("device.central.store.now", lambda: stamp(t - timedelta(days=10)))
    west.register(store)
    monkeypatch.setattr("device.central.gallery.authority.now", lambda: stamp(t - timedelta(days=8)))
    order = authority.erase(store, agency, "REC-0001", "court order 2026/99: legal basis ended", "hq-clerk")
    monkeypatch.undo()
    v3 = _published(store, agency)
    north, south, east = units["unit-north"], units["unit-south"], units["unit-east"]
    _deliver(verifier, north, [north.apply_bundle(t, v3), north.apply_order(t, order["envelope"])])
    _deliver(verifier, south, [south.apply_bundle(t, v1)])
    _deliver(verifier, east, [east.apply_bundle(t, v3, digest="ab" * 32)])
    units = {**units, "unit-west": west}
    return store, units, config, order, {"v1": v1, "v3": v3}


def test_the_page_and_json_show_versions_states_and_orders(agency_fleet, demo):
    from web.console import create_console

    _store, units, config, _order, manifests = agency_fleet
    app = create_console(config, demo[1])
    data = login(app, "auditor").get("/api/v1/galleries").json
    (g,) = data["galleries"]
    assert (g["name"], g["version"], g["subjects"], g["erased"], g["published"]) == (WATCHLIST, 3, 1, 1, 3)
    assert [p["version"] for p in g["publications"]] == [3, 2, 1]
    assert all(p["base"] == 0 and p["via"] == "file" and p["by"] == "test" for p in g["publications"])
    assert g["publications"][0]["units"] == sorted(units) and g["publications"][0]["bytes"] > 1000
    held = {u["unit"]: u["galleries"][WATCHLIST] for u in data["units"]}
    assert {u: (h["state"], h["words"]) for u, h in held.items()} == {
        "unit-north": ("current", "current"),
        "unit-south": ("behind", "behind by 2 versions"),
        "unit-east": ("mismatch", "digest mismatch"),
        "unit-west": ("none", "nothing applied"),
    }
    assert held["unit-south"]["version"] == 1 and held["unit-north"]["digest"] == manifests["v3"]["digest"]
    (o,) = data["orders"]
    assert (o["order"], o["reference"], o["issued_by"]) == (1, "REC-0001", "hq-clerk")
    assert o["reason"] == "court order 2026/99: legal basis ended"
    (proof,) = o["applied"]
    north_proof = units["unit-north"].entries[-1]
    assert (proof["unit"], proof["epoch"], proof["seq"], proof["hash"]) == ("unit-north", 0, north_proof.seq,
                                                                            north_proof.hash)  # fmt: skip
    owed = {w["unit"]: w for w in o["outstanding"]}
    assert sorted(owed) == ["unit-east", "unit-south", "unit-west"]
    assert owed["unit-west"]["since"] == o["issued_at"] and owed["unit-west"]["for_s"] > WEEK
    assert owed["unit-south"]["for_s"] < 3600 and owed["unit-south"]["undone"] is None
    # Nothing but references: the subjects' names never reach the console.
    for client in (login(app, "auditor"), login(app, "admin")):
        page = client.get("/galleries").get_data(as_text=True)
        json_text = client.get("/api/v1/galleries").get_data(as_text=True)
        assert "Person A" not in page + json_text and "Person B" not in page + json_text
    page = login(app, "supervisor").get("/galleries").get_data(as_text=True)
    assert "REC-0001" in page and "court order 2026/99" in page and "issued" in page and "by hq-clerk" in page
    assert "behind by 2 versions" in page and "digest mismatch" in page and "nothing applied" in page
    assert "Applied on 1 of 4 units; 3 OUTSTANDING" in page
    assert re.search(r"for 8\.0 days \(since " + re.escape(o["issued_at"][:19].replace("T", " ")), page)
    link = f'href="/explorer/unit-north/0/{north_proof.seq}"'
    assert link in page
    assert login(app, "supervisor").get(f"/explorer/unit-north/0/{north_proof.seq}").status_code == 200
    # The admin may see the page but not the explorer: the proof is shown without a link.
    assert link not in login(app, "admin").get("/galleries").get_data(as_text=True)
    assert 'href="/galleries"' in page  # in the console's nav


def test_what_a_restore_undid_is_owed_again(agency_fleet, demo):
    from web.console import create_console

    store, units, config, order, manifests = agency_fleet
    south, verifier, t = units["unit-south"], Verifier(store), datetime.now(UTC) + timedelta(minutes=1)
    before = len(south.entries)
    _deliver(verifier, south, [south.apply_bundle(t, manifests["v3"]), south.apply_order(t, order["envelope"])])
    doc = status(store)
    (o,) = doc["orders"]
    assert o["applied"]["unit-south"]["epoch"] == 1 and "unit-south" not in o["outstanding"]
    assert doc["units"]["unit-south"][WATCHLIST]["current"] and acked_versions(store, WATCHLIST)["unit-south"] == 3
    # Restored from a backup made before it applied both: v1 and the erased face are back on the unit.
    south.restore(before, t + timedelta(minutes=1))
    south.deliver(verifier, before + 1)
    doc = status(store)
    (o,) = doc["orders"]
    undone = o["outstanding"]["unit-south"]["undone"]
    assert "unit-south" not in o["applied"] and (undone["epoch"], undone["by_epoch"]) == (1, 2)
    held = doc["units"]["unit-south"][WATCHLIST]
    assert (held["version"], held["behind"], held["epoch"]) == (1, 2, 1)
    assert acked_versions(store, WATCHLIST)["unit-south"] == 1  # the next publication's base for it
    assert any("undone by the restore of epoch 2" in line for line in lines(status(store)))
    page = login(create_console(config, demo[1]), "auditor").get("/galleries").get_data(as_text=True)
    assert f"applied at epoch 1 seq {before + 2}, undone by the restore of epoch 2" in page
    # It re-applies the order (the restore gate makes it): the new proof counts.
    _deliver(verifier, south, [south.apply_order(t + timedelta(minutes=2), order["envelope"])])
    (o,) = status(store)["orders"]
    assert o["applied"]["unit-south"]["epoch"] == 2 and "unit-south" not in o["outstanding"]


def test_an_overdue_erasure_is_an_alert_raised_once_and_acknowledged(agency_fleet, demo):
    from web.console import create_console

    store, units, config, order, _m = agency_fleet
    kinds = {(a["unit"], a["kind"]) for a in console_alerts.current(store, config)}
    assert ("unit-west", "erasure") in kinds
    assert ("unit-south", "erasure") not in kinds and ("unit-east", "erasure") not in kinds
    later = datetime.now(UTC) + timedelta(days=7, hours=1)
    overdue = {a["unit"] for a in console_alerts.current(store, config, later) if a["kind"] == "erasure"}
    assert overdue == {"unit-west", "unit-south", "unit-east"}  # north proved it
    relaxed = console_config(erasure_overdue_s=9 * 86400)
    assert not [a for a in console_alerts.current(store, relaxed) if a["kind"] == "erasure"]

    app = create_console(config, demo[1])
    published = []
    app.extensions["fieldface_alert_publisher"] = published.append
    client = login(app, "supervisor")
    page = client.get("/fleet").get_data(as_text=True)
    assert "erasure order 1 (REC-0001) not applied for 8.0 days" in page
    (alert,) = [a for a in client.get("/api/v1/units").json["alerts"] if a["kind"] == "erasure"]
    assert alert["unit"] == "unit-west" and alert["ack"] is None
    assert [a["key"] for a in published if a["kind"] == "erasure"] == [alert["key"]]  # raised (and sent) once
    r = client.post(f"/alerts/{alert['key']}/acknowledge",
                    data={"csrf_token": form_token(client), "note": "west post's card sent by courier"})  # fmt: skip
    assert r.status_code == 302
    (after,) = [a for a in client.get("/api/v1/units").json["alerts"] if a["kind"] == "erasure"]
    assert after["ack"]["by"] == "supervisor" and after["ack"]["note"] == "west post's card sent by courier"
    clog = app.extensions["fieldface_console"]["log"]
    acks = [e for e in clog.entries(limit=1000) if e.action == "alert.acknowledge"]
    assert acks[-1].details["kind"] == "erasure" and acks[-1].details["unit"] == "unit-west"
    # The unit proves the order: the alert clears.
    west = units["unit-west"]
    entry = west.apply_order(datetime.now(UTC), order["envelope"])
    west.deliver(Verifier(store), entry.seq, entry.seq)
    assert not [a for a in client.get("/api/v1/units").json["alerts"] if a["kind"] == "erasure"]


def test_no_gallery_yet(console):
    client = login(console, "auditor")
    data = client.get("/api/v1/galleries").json
    assert data["galleries"] == [] and data["orders"] == []
    assert {u["unit"]: u["galleries"] for u in data["units"]} == {"unit-north": {}, "unit-south": {}, "unit-east": {}}
    page = client.get("/galleries").get_data(as_text=True)
    assert "no central gallery yet" in page and "No erasure order issued." in page
