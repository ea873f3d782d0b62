"""The device side: an outbox over the audit log, delivered in signed batches with end-to-end acks.

State is two numbers: ``acked`` (persisted in ``audit_sync``: the receiver verified and stored up
to here) and ``sent`` (in memory: published up to here). Up to ``window`` batches go out before
the first is acked; acks move ``acked`` forward. If acks stop coming for ``ack_timeout_s`` the
sender goes back to ``acked`` and resends (go-back-N), doubling the timeout each time up to
``ack_timeout_max_s``; the receiver stores idempotently, so resends are harmless. A restart of
either side resumes from ``acked``: the retained ack on the ack topic tells a restarted device
where the receiver is, and a receiver that lost messages answers ``gap`` with its head.
"""

from __future__ import annotations

import logging
import threading
import time

import paho.mqtt.client as mqtt

from device.audit.log import AuditLog
from device.config import SyncConfig
from device.sync.mqtt import connect_async, make_client
from device.sync.protocol import ACK_GAP, ACK_OK, Ack, Batch, ack_topic, entries_topic, status_topic

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, audit: AuditLog, cfg: SyncConfig, *, clock=time.monotonic):
        self.audit = audit
        self.cfg = cfg
        self.device = audit.device_id
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.acked, _ = audit.acked(cfg.destination)
        self.sent = self.acked
        self.connected = threading.Event()
        self.problem: str | None = None  # last loud failure (fork, truncation, rejection)
        self._timeout = cfg.ack_timeout_s
        self._last_progress = clock()
        self._hold_until = 0.0
        prefix = cfg.topic_prefix
        self._entries = entries_topic(prefix, self.device)
        self._ack = ack_topic(prefix, self.device)
        self._status = status_topic(prefix, self.device)
        self.client = make_client(f"fieldface-{self.device}", cfg.broker, will=(self._status, b"offline"))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # ---- paho callbacks (network thread) --------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.publish(self._status, b"online", qos=1, retain=True)
        client.subscribe(self._ack, qos=1)
        log.info("connected (session present: %s); acked %d", flags.session_present, self.acked)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s; reconnecting with back-off", reason_code)

    def _on_message(self, client, userdata, message):
        try:
            ack = Ack.decode(message.payload)
        except ValueError as exc:
            log.error("ignoring a malformed ack: %s", exc)
            return
        try:
            self._take_ack(ack)
        except Exception:  # a callback must not kill paho's thread; the error is logged, not lost
            log.exception("failed to handle ack %s", ack)

    def _take_ack(self, ack: Ack) -> None:
        local = self.audit.entry_hash(ack.seq)
        if local is None:
            self._loud(f"the receiver holds seq {ack.seq} but the local log ends before it: "
                       "the local log was truncated or rolled back")  # fmt: skip
            return
        if local != ack.hash:
            self._loud(f"fork: the receiver's entry {ack.seq} differs from the local one")
            return
        with self._changed:
            if ack.seq > self.acked:
                self.audit.set_acked(self.cfg.destination, ack.seq, ack.hash)
                self.acked = ack.seq
                self._last_progress = self._clock()
                self._timeout = self.cfg.ack_timeout_s
            if ack.status == ACK_OK:
                self.sent = max(self.sent, self.acked)
            elif ack.status == ACK_GAP:
                if self.sent > ack.seq:
                    log.warning("receiver expects seq %d; resending from there", ack.seq + 1)
                self.sent = ack.seq
            else:
                log.error("receiver rejected a batch: %s", ack.reason)
                self.problem = ack.reason
                self.sent = ack.seq
                self._hold_until = self._clock() + self._timeout
            self._changed.notify_all()

    def _loud(self, message: str) -> None:
        log.error("AUDIT SYNC: %s", message)
        self.problem = message

    # ---- the sending loop (caller's thread) -----------------------------------------------------

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()

    def step(self) -> int:
        """Publish what the window allows; returns how many entries were published."""
        if not self.connected.is_set():
            return 0
        now = self._clock()
        with self._lock:
            if now < self._hold_until:
                return 0
            if self.sent > self.acked and now - self._last_progress > self._timeout:
                log.warning("no ack for %.0f s: resending from seq %d", self._timeout, self.acked + 1)
                self.sent = self.acked
                self._last_progress = now
                self._timeout = min(self._timeout * 2, self.cfg.ack_timeout_max_s)
            room = self.cfg.window * self.cfg.batch_size - (self.sent - self.acked)
            start = self.sent
        published = 0
        while room >= self.cfg.batch_size or (room > 0 and published == 0):
            entries = self.audit.entries(after=start, limit=min(room, self.cfg.batch_size))
            if not entries:
                break
            last = entries[-1]
            batch = Batch(self.device, entries, last.seq, last.hash, self.audit.signer.sign_head(last.seq, last.hash))
            info = self.client.publish(self._entries, batch.encode(), qos=1)
            # NO_CONN still queues a QoS 1 message for the reconnect; only a full queue refuses it.
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                break
            with self._lock:
                if self.sent == start:  # an ack may have rewound us meanwhile: then resend from there
                    if self.sent == self.acked:
                        self._last_progress = self._clock()
                    self.sent = last.seq
            start, room, published = last.seq, room - len(entries), published + len(entries)
        return published

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def stop(self) -> None:
        if self.connected.is_set():
            # A clean stop says so; the will only covers crashes and lost links.
            self.client.publish(self._status, b"offline", qos=1, retain=True).wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()
