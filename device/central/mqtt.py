"""The MQTT transport of the central verifier: ``fieldface audit receive``.

Subscribes to every unit's entries (shared with the other receivers when ``receiver.share_group``
is set; only its share of the units' when ``receiver.shard`` is) and status topics; hands
batches to the Verifier and publishes its ack (retained), and a
restored unit's lost entries on its recovery topic (retained). Heartbeats become unit status.

Receivers in a share group connect without a persistent session: a receiver that dies takes its
subscription with it, so the broker hands every batch to the living ones at once instead of
queueing every other one for the dead session (measured in the closing note of issue 13).
Batches in flight to the dead one are lost at the broker; the units resend after their ack
timeout, as after any loss (end-to-end acks, idempotent storage).
"""

from __future__ import annotations

import logging
import threading
import time
import zlib

from device import service as lifecycle
from device.audit.signing import head_signature_valid
from device.central.verifier import Refusal, Verifier
from device.sync.protocol import Batch, Heartbeat, ack_topic, recovery_topic, split_topic

log = logging.getLogger(__name__)


class MqttReceiver:
    """The rules of one receiver process, apart from the network loop (tested directly)."""

    def __init__(self, verifier: Verifier, cfg):
        self.verifier = verifier
        self.cfg = cfg

    def on_batch(self, unit: str, payload: bytes) -> list[tuple[str, bytes]]:
        """What to publish (topic, payload) in answer to one batch: its ack, maybe a recovery."""
        try:
            if self.verifier.key(unit) is None:  # the first check, before the payload is even read
                raise Refusal("unknown-device", 0, f"unit {unit!r} is not registered (fieldface central unit add)")
            batch = Batch.decode(payload)
            if batch.device != unit:
                raise Refusal("impersonation", 0, f"a batch for {batch.device!r} arrived on {unit!r}'s topic")
            last = batch.entries[-1]
            if (batch.head_seq, batch.head_hash) != (last.seq, last.hash):
                raise Refusal("bad-signature", last.seq, "the batch's head is not its last entry")
        except ValueError as exc:
            outcome = self.verifier.refuse(unit, Refusal("malformed", 0, str(exc)), "mqtt")
        except Refusal as refusal:
            outcome = self.verifier.refuse(unit, refusal, "mqtt")
        else:
            outcome = self.verifier.accept(unit, batch.entries, {batch.head_seq: batch.head_sig}, "mqtt")
        prefix = self.cfg.topic_prefix
        out = [(ack_topic(prefix, unit), outcome.ack(unit).encode())]
        if outcome.new_epoch is not None and outcome.new_epoch.lost_from is not None:
            size = self.verifier.recovery_size(unit, outcome.new_epoch.epoch)
            if size <= self.cfg.recovery_max_entries:
                import json

                doc = self.verifier.recovery(unit, outcome.new_epoch.epoch)
                out.append((recovery_topic(prefix, unit), json.dumps(doc, separators=(",", ":")).encode()))
            else:
                self.verifier.store.alert(
                    unit,
                    "recovery-too-large",
                    f"{size} lost entries (> receiver.recovery_max_entries): hand them over with "
                    f"'fieldface central recovery {unit} -o FILE' and 'fieldface audit recover'",
                )
        return out

    def on_status(self, unit: str, payload: bytes) -> None:
        key = self.verifier.key(unit)
        if key is None:
            log.info("status from unregistered unit %r ignored", unit)
            return
        try:
            beat = Heartbeat.decode(payload)
            if beat.device != unit:
                raise ValueError(f"a status for {beat.device!r} on {unit!r}'s topic")
        except ValueError as exc:
            self.verifier.store.reject(unit, "malformed", 0, f"status message: {exc}", "mqtt")
            return
        if beat.state == "online":
            head = beat.report["head"]
            if not head_signature_valid(key, unit, int(head["seq"]), str(head["hash"]), str(head["sig"])):
                self.verifier.store.reject(
                    unit, "bad-signature", int(head["seq"]), "heartbeat head does not verify", "mqtt"
                )
                return
            self.verifier.store.record_status(unit, "online", beat.report)
        else:
            previous = self.verifier.store.status().get(unit)
            self.verifier.store.record_status(unit, "offline", previous[2] if previous else {})


def shard_of(unit: str, count: int) -> int:
    """Which of ``count`` receivers handles ``unit``: one receiver per unit keeps its batches in
    order (a share group hands a unit's window of batches to several, which then race)."""
    return zlib.crc32(unit.encode()) % count


def run_receiver(
    cfg,
    store,
    once_idle: float | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    persistent: bool | None = None,
) -> int:
    """Receive into ``store`` until stopped; with ``once_idle``, until that long without a message.
    ``ready`` is set once the subscriptions are in place (the broker queues for us from then on).
    ``persistent``: a session that outlives the connection; default: only without a share group
    (scripts/bench_central.py sets it to measure the alternative). With ``receiver.shard`` "K/N",
    only the units whose ``shard_of(unit, N)`` is K."""
    from device.sync.mqtt import connect_async, make_client

    stop = stop or threading.Event()
    restore = lifecycle.stop_on_signals(stop) if threading.current_thread() is threading.main_thread() else None
    receiver = MqttReceiver(Verifier(store), cfg)
    shard = tuple(int(x) for x in cfg.shard.split("/")) if cfg.shard else None
    entries = f"{cfg.topic_prefix}/+/entries"
    if cfg.share_group:
        entries = f"$share/{cfg.share_group}/{entries}"
    status = f"{cfg.topic_prefix}/+/status"
    last_activity = [time.monotonic()]
    lock = threading.Lock()  # one store connection: one message at a time

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the receiver: %s", reason_code)
            return
        client.subscribe([(entries, 1), (status, 1)])
        log.info("receiver connected, subscribed to %s and %s", entries, status)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused a subscription (%s, %s): %s", entries, status, reason_codes)
        elif ready is not None:
            ready.set()

    def on_message(client, userdata, message):
        last_activity[0] = time.monotonic()
        unit, kind = split_topic(message.topic, cfg.topic_prefix)
        if unit is None or (shard is not None and shard_of(unit, shard[1]) != shard[0]):
            return
        try:
            with lock:
                if kind == "entries":
                    for topic, payload in receiver.on_batch(unit, message.payload):
                        client.publish(topic, payload, qos=1, retain=True)
                elif kind == "status":
                    receiver.on_status(unit, message.payload)
        except Exception:  # a store failure: no ack, so the unit resends after its timeout
            log.exception("could not handle a %s message from %s", kind, unit)

    client = make_client(cfg.client_id, cfg.broker)
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    connect_async(client, cfg.broker, persistent=not cfg.share_group if persistent is None else persistent)
    client.loop_start()
    lifecycle.ready("receiving audit batches")
    next_check = 0.0
    try:
        while not stop.wait(0.2):
            if time.monotonic() >= next_check:  # the watchdog is fed only while the store answers
                next_check = time.monotonic() + 10
                try:
                    with lock:
                        store.query("SELECT 1")
                except Exception:  # systemd's watchdog restarts us if this goes on
                    log.exception("the central store does not answer")
                    continue
                lifecycle.watchdog_ping()
            if once_idle is not None and time.monotonic() - last_activity[0] > once_idle:
                break
        return 0
    finally:
        client.disconnect()
        client.loop_stop()
        store.close()
        if restore:
            restore()
