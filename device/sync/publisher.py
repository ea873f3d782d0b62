"""The device side: an outbox over the audit log, delivered in signed batches with end-to-end acks.

State is two numbers: ``acked`` (persisted in ``audit_sync``: the receiver verified and stored up
to here) and ``sent`` (in memory: published up to here). Up to ``window`` batches go out before
the first is acked; acks move ``acked`` forward. If acks stop coming for ``ack_timeout_s`` the
sender goes back to ``acked`` and resends (go-back-N), doubling the timeout each time up to
``ack_timeout_max_s``; the receiver stores idempotently, so resends are harmless. A restart of
either side resumes from ``acked``: the retained ack on the ack topic tells a restarted device
where the receiver is, and a receiver that lost messages answers ``gap`` with its head.

Epochs (device/audit/epoch.py): a unit restored from a backup has an ``audit.epoch`` entry the
receiver has not seen yet, while the receiver's ack names a head on the timeline the unit lost.
Such an ack cannot move the cursor; the publisher sends from its epoch entry instead, which the
receiver accepts as a new epoch, and then acks on the new timeline. The receiver sends back what
was lost (the recovery topic) so that erasures recorded since the backup are applied again.

A signed heartbeat (head, backlog, uptime, version, disk) goes to the status topic every
``heartbeat_s``; the last will says "offline".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from device.audit.epoch import EPOCH_ACTION, current_start, start_at
from device.audit.log import AuditLog
from device.config import SyncConfig
from device.fsutil import disk_status
from device.sync import state
from device.sync.mqtt import connect_async, make_client
from device.sync.protocol import (
    ACK_GAP,
    ACK_OK,
    ACK_REJECTED,
    Ack,
    Batch,
    Heartbeat,
    ack_topic,
    entries_topic,
    offline_payload,
    recovery_topic,
    status_topic,
)

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
        # Where sending resumes while the receiver is still on a timeline this unit lost: the entry
        # before our epoch entry (it holds that much, or says gap). 0: not in that state.
        self._resume = 0
        with audit.store.connection() as conn:
            self.epoch = current_start(conn)  # (seq, hash) of the entry that opened our epoch
            marker = f"epoch:{self.epoch[0]}:{self.epoch[1][:16]}"
            self._recovered = (
                conn.execute(
                    "SELECT 1 FROM audit_log WHERE action = 'audit.recovery' AND object = ?", (marker,)
                ).fetchone()
                is not None
            )
        self.recovery_due = False  # the receiver said our epoch lost entries; not re-applied yet
        self.connected = threading.Event()
        self.problem: str | None = None  # last loud failure (fork, truncation, rejection)
        self.recoveries: list[bytes] = []  # recovery messages to apply in the sending thread
        self._timeout = cfg.ack_timeout_s
        self._last_progress = clock()
        self._hold_until = 0.0
        self._next_beat = 0.0
        self._contact_noted = 0.0
        prefix = cfg.topic_prefix
        self._entries = entries_topic(prefix, self.device)
        self._ack = ack_topic(prefix, self.device)
        self._status = status_topic(prefix, self.device)
        self._recovery = recovery_topic(prefix, self.device)
        self.client = make_client(
            f"fieldface-{self.device}", cfg.broker, will=(self._status, offline_payload(self.device))
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # ---- paho callbacks (network thread) --------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.subscribe([(self._ack, 1), (self._recovery, 1)])
        log.info("connected (session present: %s); acked %d", flags.session_present, self.acked)
        self._next_beat = 0.0  # say who we are at once
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s; reconnecting with back-off", reason_code)

    def _on_message(self, client, userdata, message):
        if message.topic == self._recovery:
            with self._changed:
                self.recoveries.append(message.payload)
                self._changed.notify_all()
            return
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
        if (ack.epoch_seq, ack.epoch_hash) != self.epoch and self._other_epoch(ack):
            return
        if ack.lost and (ack.epoch_seq, ack.epoch_hash) == self.epoch and not self._recovered:
            self.recovery_due = True
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
                self._reject(ack.reason)
                self.sent = ack.seq
            self._changed.notify_all()

    def _other_epoch(self, ack: Ack) -> bool:
        """An ack from a timeline other than ours; True if it was fully handled here."""
        with self.audit.store.connection() as conn:
            ours = ack.epoch_seq == 0 or start_at(conn, ack.epoch_seq) == ack.epoch_hash
        if not ours:
            self._loud(f"the receiver is on a timeline this unit does not have (epoch {ack.epoch} opened at "
                       f"seq {ack.epoch_seq}): nothing is sent until an operator compares them")  # fmt: skip
            with self._lock:
                self._hold_until = float("inf")
            return True
        if ack.seq < self.epoch[0]:
            return False  # the receiver's head is before our epoch entry: a common past, handle normally
        # The receiver is ahead on the timeline we lost: our epoch entry goes next.
        with self._changed:
            self._resume = self.epoch[0] - 1
            if ack.status == ACK_REJECTED:
                self._reject(ack.reason)
                self.sent = self._resume
            elif self.sent < self._resume:
                log.warning("the receiver holds entries this unit lost (up to seq %d); sending the new epoch "
                            "from seq %d", ack.seq, self.epoch[0])  # fmt: skip
                self.sent = self._resume
            self._changed.notify_all()
        return True

    def _reject(self, reason: str) -> None:
        log.error("receiver rejected a batch: %s", reason)
        self._note_problem(reason)
        self._hold_until = self._clock() + self._timeout

    def _loud(self, message: str) -> None:
        log.error("AUDIT SYNC: %s", message)
        self._note_problem(message)

    def _note_problem(self, message: str) -> None:
        if message != self.problem:
            self.problem = message
            state.record_problem(self.audit.store, self.cfg.destination, message)

    # ---- the sending loop (caller's thread) -----------------------------------------------------

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()

    def step(self) -> int:
        """Publish what the window allows; returns how many entries were published."""
        if not self.connected.is_set():
            return 0
        now = self._clock()
        self._housekeeping(now)
        with self._lock:
            if now < self._hold_until:
                return 0
            base = max(self.acked, self._resume)
            if self.sent > self.acked and now - self._last_progress > self._timeout:
                log.warning("no ack for %.0f s: resending from seq %d", self._timeout, base + 1)
                self.sent = base
                self._last_progress = now
                self._timeout = min(self._timeout * 2, self.cfg.ack_timeout_max_s)
            room = self.cfg.window * self.cfg.batch_size - (self.sent - base)
            start = self.sent
        published = 0
        while room >= self.cfg.batch_size or (room > 0 and published == 0):
            entries = self.audit.entries(after=start, limit=min(room, self.cfg.batch_size))
            # One epoch per batch: an epoch entry only ever starts one (device/audit/epoch.py).
            cut = next((i for i, e in enumerate(entries) if i and e.action == EPOCH_ACTION), None)
            entries = entries[:cut] if cut else entries
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

    def _housekeeping(self, now: float) -> None:
        """Heartbeats, the last-contact note for `fieldface status`, and recoveries to apply."""
        if now >= self._next_beat:
            self._next_beat = now + self.cfg.heartbeat_s
            self.client.publish(self._status, self.heartbeat().encode(), qos=1, retain=True)
            if self.acked and self._last_progress > self._contact_noted:
                self._contact_noted = self._last_progress
                state.record_contact(self.audit.store, self.cfg.destination)
        with self._lock:
            pending, self.recoveries = self.recoveries, []
        for payload in pending:
            self._apply_recovery(payload)

    def heartbeat(self) -> Heartbeat:
        from device import __version__

        seq, hash_hex = self.audit.head()
        disk = disk_status(self.audit.store.data_dir)
        report = {
            "head": {"seq": seq, "hash": hash_hex, "sig": self.audit.signer.sign_head(seq, hash_hex)},
            "acked": self.acked, "backlog": seq - self.acked, "uptime_s": _uptime(), "version": __version__,
            "disk": {"free_bytes": disk["free_bytes"], "low": disk["low"]},
            "epoch": {"seq": self.epoch[0], "hash": self.epoch[1]},
            "problem": (self.problem or "")[:300],
        }  # fmt: skip
        return Heartbeat(self.device, "online", report)

    def _apply_recovery(self, payload: bytes) -> None:
        from device.sync.recovery import apply_recovery

        try:
            doc = json.loads(payload)
            done = apply_recovery(self.audit, doc, actor="system:sync")
        except Exception as exc:  # noqa: BLE001 - reported and kept as the last problem, never fatal
            self._loud(f"could not apply the receiver's recovery message: {exc}")
            return
        self._recovered, self.recovery_due = True, False
        if done is not None:
            log.warning("recovery applied: %s", done)

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def stop(self) -> None:
        if self.connected.is_set():
            # A clean stop says so; the will only covers crashes and lost links.
            self.client.publish(self._status, offline_payload(self.device), qos=1, retain=True).wait_for_publish(
                timeout=5
            )
        self.client.disconnect()
        self.client.loop_stop()


def _uptime() -> int:
    """Seconds since boot (the box's, not this process's)."""
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return int(time.monotonic())
