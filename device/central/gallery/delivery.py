"""Transport: bundles and erasure orders over MQTT (topics: device/gallery/delivery.py, the unit's
side). Central publishes with the receiver's broker settings and certificate (the ACL lets the
receivers write the fleet topics), retained and QoS 1, and waits for every PUBACK: when
``publish`` returns, the broker holds the whole version for every unit that connects later."""

from __future__ import annotations

import json
import threading

from device.errors import SyncError


def _connected(cfg, role: str = "gallery"):
    from device.sync.mqtt import connect_async, make_client

    client, up = make_client(f"{cfg.client_id}-{role}", cfg.broker), threading.Event()
    client.on_connect = lambda c, u, f, rc, p: up.set() if not rc.is_failure else None
    connect_async(client, cfg.broker, persistent=False)
    client.loop_start()
    if not up.wait(30):
        client.loop_stop()
        raise SyncError(f"cannot reach the MQTT broker at {cfg.broker.host}:{cfg.broker.port} to publish")
    return client


WINDOW = 64  # chunks in flight (paho's own queue holds 256, make_client)


def _acked(info) -> None:
    info.wait_for_publish(60)
    if not info.is_published():
        raise SyncError("the MQTT broker did not acknowledge the publication; publish again")


def _send(cfg, messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt

    client = _connected(cfg)
    try:
        pending = []
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1, retain=True)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise SyncError(f"MQTT publish failed ({mqtt.error_string(info.rc)}); publish again")
            pending.append(info)
            if len(pending) >= WINDOW:
                _acked(pending.pop(0))
        for info in pending:
            _acked(info)
    finally:
        client.disconnect()
        client.loop_stop()


def bundle_messages(prefix: str, data: bytes, manifest: dict) -> list[tuple[str, bytes]]:
    from device.gallery import bundle as fmt

    parsed = fmt.unpack(data)
    envelope = {"manifest": parsed.manifest, "sig": parsed.sig}
    base = f"{prefix}/fleet/{manifest['gallery']}"
    # Chunks first, the manifest last: a unit that sees the new manifest finds its chunks retained.
    out = [(f"{base}/chunk/{i}", chunk) for i, chunk in enumerate(parsed.chunks)]
    return [*out, (f"{base}/manifest", json.dumps(envelope).encode())]


def publish_mqtt(ctx, store, agency, gallery, unit, base, models, actor) -> int:
    from device.central.gallery.publish import build, record_publication

    cfg = ctx.config.receiver
    data, manifest = build(store, agency, gallery, unit=unit, base=base, models=models)
    _send(cfg, bundle_messages(cfg.gallery_prefix, data, manifest))
    record_publication(store, manifest, len(data), "mqtt", actor)
    print(f"published {gallery} version {manifest['version']} (base {manifest['base']}, {len(manifest['chunks'])} "
          f"chunk(s), {len(data)} bytes) retained on {cfg.gallery_prefix}/fleet/{gallery}")  # fmt: skip
    return 0


def send_order(ctx, envelope: dict) -> None:
    cfg = ctx.config.receiver
    number = envelope["manifest"]["order"]
    _send(cfg, [(f"{cfg.gallery_prefix}/fleet/orders/{number}", json.dumps(envelope).encode())])
