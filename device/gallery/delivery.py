"""The unit's MQTT door for agency bundles and erasure orders (``fieldface gallery fetch``):
what it receives goes to the one applier (device/gallery/central.py), as a file from media does.

Topics under ``sync.gallery_prefix`` (default ``fieldface/gallery``), TLS and ACL as the audit's
(docs/broker/acl: units read the fleet topics and write only their own ack topic):

    <prefix>/fleet/<gallery>/manifest   retained, QoS 1: the signed envelope of the latest version
    <prefix>/fleet/<gallery>/chunk/<i>  retained, QoS 1: chunk i of that version (raw bytes)
    <prefix>/fleet/orders/<n>           retained, QoS 1: erasure order n (a signed envelope)
    <prefix>/<unit>/ack                 unit -> central, QoS 1: {"gallery", "version", "chunk"} per
                                        chunk received, then {"gallery", "version", "applied", ...}

Retained messages make delivery resumable: a unit that drops off mid-transfer reconnects, is sent
what is retained again, keeps the chunks it already holds (verified against the manifest's hashes,
in memory for this run) and asks for nothing by name. Orders jump the queue: every order received
is applied before a bundle whose chunks are complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time

from device.gallery import bundle as fmt

log = logging.getLogger(__name__)


def fleet_topics(prefix: str) -> list[str]:
    # Orders first: the broker sends retained messages filter by filter, in this order.
    return [f"{prefix}/fleet/orders/+", f"{prefix}/fleet/+/manifest", f"{prefix}/fleet/+/chunk/+"]


def fetch(gallery, broker, prefix: str, actor: str, idle_s: float = 5.0, timeout_s: float = 600.0) -> list:
    """Connect, apply every order and every newer bundle addressed to this unit; return the outcomes.
    Ends when nothing new arrived for ``idle_s`` (or after ``timeout_s``)."""
    from device.gallery.central import apply_file, apply_order, trusted_keys
    from device.sync.mqtt import connect_async, make_client

    unit = gallery.audit.device_id
    inbox: queue.Queue = queue.Queue()
    ready = threading.Event()
    client = make_client(f"{unit}-gallery", broker)

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe([(t, 1) for t in fleet_topics(prefix)])

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        ready.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = lambda c, u, message: inbox.put((message.topic, bytes(message.payload)))
    connect_async(client, broker, persistent=False)
    client.loop_start()
    outcomes, manifests, chunks = [], {}, {}
    started = last = time.monotonic()
    try:
        ready.wait(timeout_s)
        while time.monotonic() - last < idle_s and time.monotonic() - started < timeout_s:
            try:
                topic, payload = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            last = time.monotonic()
            parts = topic[len(prefix) + 1 :].split("/")
            try:
                if parts[1] == "orders":
                    env = json.loads(payload)
                    order = fmt.unpack(fmt.pack(env, []), f"order {parts[2]}")
                    with gallery.store.connection() as conn:
                        fmt.verify(order, trusted_keys(conn), f"order {parts[2]}")
                    result = apply_order(gallery, order.manifest, order.hash, actor)
                    if result["new"]:
                        outcomes.append(("order", result))
                elif parts[2] == "manifest":
                    manifests[parts[1]] = json.loads(payload)
                else:
                    chunks.setdefault(parts[1], {})[int(parts[3])] = payload
                    ack = {"gallery": parts[1], "chunk": int(parts[3]), "sha256": hashlib.sha256(payload).hexdigest()}
                    client.publish(f"{prefix}/{unit}/ack", json.dumps(ack), qos=1)
            except (ValueError, IndexError, KeyError, fmt.BundleError) as exc:
                log.warning("gallery delivery: %s refused: %s", topic, exc)
                continue
            if not inbox.empty():  # orders waiting behind this message go before any bundle
                continue
            for name, env in list(manifests.items()):
                wanted = env["manifest"].get("chunks", [])
                have = chunks.get(name, {})
                # Complete when every chunk of *this* version is here: a retained chunk of an older
                # version under the same topic does not match the hash and is waited out.
                if not all(i in have and hashlib.sha256(have[i]).hexdigest() == c.get("sha256")
                           for i, c in enumerate(wanted)):  # fmt: skip
                    continue
                data = fmt.pack(env, [have[i] for i in range(len(wanted))])
                del manifests[name]
                try:
                    out = apply_file(gallery, data, actor, f"bundle {name} over MQTT")
                except fmt.BundleError as exc:  # an old version still retained, not for us, ...
                    log.info("gallery delivery: bundle %s not applied: %s", name, exc)
                    continue
                outcomes.append(("bundle", out))
                ack = {"gallery": name, "version": out.version, "applied": True, "digest": out.digest,
                       "audit_seq": out.ack_seq}  # fmt: skip
                client.publish(f"{prefix}/{unit}/ack", json.dumps(ack), qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return outcomes
