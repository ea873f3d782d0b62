"""Bundles and erasure orders over a real TLS mosquitto with the documented ACL: retained
manifest and chunks per fleet, QoS 1, each chunk acknowledged by the unit, the same applier as
media; two units, a full version then a delta, then an order that jumps the queue."""

from __future__ import annotations

import json
import threading

from device.central.gallery import authority, publish
from device.central.gallery.delivery import _connected, _send, bundle_messages
from device.central.gallery.status import status
from device.gallery.delivery import fetch
from tests.central.fleet import WATCHLIST, agency_key, deliver_audit, enroll, new_unit, provision
from tests.sync.conftest import DEVICE, central_store, make_config

PREFIX = "fieldface/gallery"


def _listen_acks(cfg):
    """Central's side of the acks: every message on <prefix>/+/ack, as (unit, body)."""
    got, lock = [], threading.Lock()
    client = _connected(cfg.receiver, "gallery-acks")

    def on_message(c, u, m):
        with lock:
            got.append((m.topic.split("/")[2], json.loads(m.payload)))

    client.on_message = on_message
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    client.subscribe(f"{PREFIX}/+/ack", qos=1)
    assert done.wait(10)
    return client, got


def test_bundles_and_an_order_over_mqtt_to_two_units(tmp_path, broker, pki, secret, recognizer, fast_config):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    unit_cfgs = {DEVICE: cfg, "unit-b": make_config(pki, broker.port, who="unit-b")}
    hq, agency = central_store(tmp_path), agency_key()
    units = [new_unit(tmp_path, name, secret, recognizer, fast_config) for name in unit_cfgs]
    provision(hq, agency, units)
    listener, acks = _listen_acks(cfg)
    try:
        enroll(hq, agency, recognizer, fast_config, "REC-0001")
        data, manifest = publish.build(hq, agency, WATCHLIST)
        _send(cfg.receiver, bundle_messages(PREFIX, data, manifest))
        for unit in units:
            (kind, out), *rest = fetch(unit, unit_cfgs[unit.audit.device_id].sync.broker, PREFIX, "test", idle_s=1.5)
            assert kind == "bundle" and out.added == 1 and out.digest == manifest["digest"] and not rest
            # Fetching again: everything retained is already held (replay refused quietly).
            assert fetch(unit, unit_cfgs[unit.audit.device_id].sync.broker, PREFIX, "test", idle_s=1) == []
            deliver_audit(hq, unit, tmp_path)

        enroll(hq, agency, recognizer, fast_config, "REC-0002")
        data, delta = publish.build(hq, agency, WATCHLIST)
        assert delta["base"] == manifest["version"]  # both acknowledged the first version
        _send(cfg.receiver, bundle_messages(PREFIX, data, delta))
        # An erasure order published after the delta is applied first (it jumps the queue).
        order = authority.erase(hq, agency, "REC-0001", "court order", "test")
        _send(cfg.receiver, [(f"{PREFIX}/fleet/orders/{order['order']}", json.dumps(order["envelope"]).encode())])
        for unit in units:
            got = fetch(unit, unit_cfgs[unit.audit.device_id].sync.broker, PREFIX, "test", idle_s=1.5)
            kinds = [k for k, _ in got]
            assert kinds[0] == "order" and got[0][1]["subjects"] == 1, got
            assert kinds[1:] == ["bundle"] and got[1][1].added == 1
            deliver_audit(hq, unit, tmp_path)
        doc = status(hq)
        (o,) = doc["orders"]
        assert sorted(o["applied"]) == sorted(unit_cfgs) and o["outstanding"] == {}
        assert all(doc["units"][u][WATCHLIST]["version"] == delta["version"] for u in unit_cfgs)
    finally:
        listener.disconnect()
        listener.loop_stop()
        hq.close()
        for unit in units:
            unit.store.lock()
    chunk_acks = {(u, a["gallery"], a["chunk"]) for u, a in acks if "chunk" in a}
    assert {(u, WATCHLIST, 0) for u in unit_cfgs} <= chunk_acks
    applied = [(u, a["version"]) for u, a in acks if a.get("applied")]
    assert sorted(applied) == sorted((u, v) for u in unit_cfgs for v in (manifest["version"], delta["version"]))
