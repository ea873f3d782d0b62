"""Alerts: raised once each (console log), acknowledged by a supervisor with a note (audited), and
published on the MQTT alerts topic."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from device.central import console_alerts
from device.central.console_db import ConsoleDb, ConsoleLog
from device.central.simulate import SimUnit
from device.central.verifier import Verifier
from tests.console.conftest import console_config, form_token, login


def _standing(client):
    return [a for a in client.get("/api/v1/units").json["alerts"] if a["ack"] is None]


def test_a_supervisor_acknowledges_an_alert_with_a_note(console):
    client = login(console, "supervisor")
    silence = next(a for a in _standing(client) if a["kind"] == "silence")
    url = f"/alerts/{silence['key']}/acknowledge"
    r = client.post(url, data={"csrf_token": form_token(client), "note": " "})
    assert r.status_code == 400 and "note is required" in r.get_data(as_text=True)
    r = client.post(url, data={"csrf_token": form_token(client), "note": "east station closed for the holidays"})
    assert r.status_code == 302
    after = {a["key"]: a for a in client.get("/api/v1/units").json["alerts"]}
    assert after[silence["key"]]["ack"]["by"] == "supervisor"
    assert after[silence["key"]]["ack"]["note"] == "east station closed for the holidays"
    r = client.post(url, data={"csrf_token": form_token(client), "note": "again"})
    assert r.status_code == 400 and "already acknowledged" in r.get_data(as_text=True)
    clog = console.extensions["fieldface_console"]["log"]
    acks = [e for e in clog.entries(limit=1000) if e.action == "alert.acknowledge"]
    assert len(acks) == 1 and acks[0].actor == "supervisor"
    assert acks[0].details == {"unit": "unit-east", "kind": "silence", "note": "east station closed for the holidays"}
    assert clog.verify() == []
    # The page shows it acknowledged.
    assert "Acknowledged by supervisor" in client.get("/fleet").get_data(as_text=True)
    assert client.post("/alerts/nosuchalert/acknowledge", data={"csrf_token": form_token(client), "note": "x"}
                       ).status_code == 400  # fmt: skip


def test_each_alert_is_raised_once(demo, console):
    store, backend, _units, config = demo
    db = ConsoleDb(backend)
    clog = ConsoleLog(db)
    published = []
    alerts = console_alerts.current(store, config)
    first = console_alerts.raise_new(db, clog, alerts, published.append)
    again = console_alerts.raise_new(db, clog, console_alerts.current(store, config), published.append)
    assert {a["kind"] for a in first} >= {"silence", "epoch", "rejected"} and again == []
    assert [a["key"] for a in published] == [a["key"] for a in first]
    raised = [e for e in clog.entries(limit=1000) if e.action == "alert.raise"]
    assert len(raised) == len(first)


def test_searches_and_overrides_above_the_policy_rate(demo):
    store, _backend, _units, _config = demo
    now = datetime.now(UTC)
    busy = SimUnit("unit-busy", "Busy")
    busy.register(store)
    for i in range(4):
        busy.record(now - timedelta(minutes=10 - i), "search", offense="robbery", purpose="p", candidates=1)
    busy.record(now - timedelta(minutes=5), "search", offense="robbery", purpose="p", quality_override="only image")
    busy.record(now - timedelta(minutes=4), "exam.quality_override", "sup1", "supervisor", reason="r")
    busy.deliver(Verifier(store))
    strict = console_config(max_searches=4, max_overrides=1, rate_window_h=24 * 30)
    got = {(a["unit"], a["kind"]): a for a in console_alerts.current(store, strict, now + timedelta(seconds=1))}
    assert "5 searches" in got[("unit-busy", "searches")]["detail"]
    assert "2 overrides" in got[("unit-busy", "overrides")]["detail"]
    lenient = console_config(max_searches=5, max_overrides=2, rate_window_h=24 * 30)
    kinds = {(a["unit"], a["kind"]) for a in console_alerts.current(store, lenient, now + timedelta(seconds=1))}
    assert ("unit-busy", "searches") not in kinds and ("unit-busy", "overrides") not in kinds


def test_alerts_are_published_on_the_mqtt_alerts_topic(demo, tmp_path, pki, broker):
    import threading

    import paho.mqtt.client as mqtt

    from tests.sync.conftest import make_config, wait_for
    from web.console.commands import alert_publisher

    store, backend, _units, _config = demo
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    cfg = cfg.model_copy(update={"console": cfg.console.model_copy(update={"alerts_topic": "fieldface/alerts"})})
    got, ready = [], threading.Event()
    listener = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="alert-listener",
                           protocol=mqtt.MQTTv5)  # fmt: skip
    from device.sync.mqtt import tls_context

    listener.tls_set_context(tls_context(cfg.receiver.broker))
    listener.on_connect = lambda c, *a: c.subscribe("fieldface/alerts/#", qos=1)
    listener.on_subscribe = lambda *a: ready.set()
    listener.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    listener.connect(cfg.receiver.broker.host, cfg.receiver.broker.port)
    listener.loop_start()
    publish = alert_publisher(cfg)
    try:
        wait_for(ready.is_set, 15, "the listener's subscription")
        db = ConsoleDb(backend)
        new = console_alerts.raise_new(db, ConsoleLog(db), console_alerts.current(store, cfg), publish)
        wait_for(lambda: len(got) >= len(new), 15, "the alerts on the broker")
    finally:
        publish.client.loop_stop()
        publish.client.disconnect()
        listener.loop_stop()
        listener.disconnect()
    topics = {t for t, _ in got}
    assert "fieldface/alerts/unit-east/silence" in topics and "fieldface/alerts/unit-south/epoch" in topics
    assert all(re.fullmatch(r"[0-9a-f]{20}", p["key"]) for _, p in got)
