"""Process lifecycle of ``fieldface sync`` and ``fieldface audit receive``: one stop event, set by
SIGTERM/SIGINT (device.service.stop_on_signals), clean shutdown in reverse order, exit codes.
"""

from __future__ import annotations

import logging
import threading
import time

from device import service as lifecycle
from device.errors import SyncError

log = logging.getLogger(__name__)


def run_publisher(audit, cfg, once_timeout: float | None = None, stop: threading.Event | None = None) -> int:
    """Deliver until stopped; with ``once_timeout``, until everything present at start is acked."""
    from device.sync.publisher import Publisher

    stop = stop or threading.Event()
    restore = lifecycle.stop_on_signals(stop) if threading.current_thread() is threading.main_thread() else None
    publisher = Publisher(audit, cfg)
    target, _ = audit.head()
    deadline = time.monotonic() + once_timeout if once_timeout is not None else None
    publisher.start()
    # Under systemd: a lock of the box stops this process (its keys go with it); READY once
    # unlocked and started; each loop turn read the store, so it feeds the watchdog.
    lockdown = lifecycle.lockdown_from_env()
    if lockdown is not None and once_timeout is None:
        lifecycle.stop_on_lockdown(lockdown, stop)
    lifecycle.ready("delivering audit entries")
    try:
        while not stop.is_set():
            lifecycle.watchdog_ping()
            if deadline is not None and publisher.acked >= target:
                log.info("delivered up to seq %d", publisher.acked)
                return 0
            if deadline is not None and time.monotonic() > deadline:
                detail = f" ({publisher.problem})" if publisher.problem else ""
                raise SyncError(
                    f"sync --once: receiver acknowledged seq {publisher.acked} of {target} "
                    f"within {once_timeout:.0f} s{detail}"
                )
            if publisher.step() == 0:
                publisher.wait_for_change(cfg.poll_s)
        return 0
    finally:
        publisher.stop()
        if restore:
            restore()


def run_receiver(
    cfg,
    once_idle: float | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> int:
    """Receive until stopped; with ``once_idle``, until that long without a message.
    ``ready`` is set once the subscription is in place (the broker queues for us from then on)."""
    from device.sync.central_store import CentralStore, backend_for
    from device.sync.mqtt import connect_async, make_client
    from device.sync.protocol import ack_topic, device_of
    from device.sync.receiver import Receiver
    from device.sync.registry import Registry

    stop = stop or threading.Event()
    restore = lifecycle.stop_on_signals(stop) if threading.current_thread() is threading.main_thread() else None
    registry = Registry(cfg.registry)
    store = CentralStore(backend_for(cfg.database))
    receiver = Receiver(store, registry)
    topic = f"{cfg.topic_prefix}/+/entries"
    if cfg.share_group:
        topic = f"$share/{cfg.share_group}/{topic}"
    last_activity = [time.monotonic()]

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the receiver: %s", reason_code)
            return
        client.subscribe(topic, qos=1)
        log.info("receiver connected, subscribed to %s", topic)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused the subscription to %s: %s", topic, reason_codes)
        elif ready is not None:
            ready.set()

    def on_message(client, userdata, message):
        last_activity[0] = time.monotonic()
        device = device_of(message.topic, cfg.topic_prefix)
        if device is None:
            return
        try:
            ack = receiver.handle(device, message.payload)
        except Exception:  # a store failure: no ack, so the device resends after its timeout
            log.exception("could not handle a batch from %s", device)
            return
        client.publish(ack_topic(cfg.topic_prefix, device), ack.encode(), qos=1, retain=True)

    client = make_client(cfg.client_id, cfg.broker)
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    connect_async(client, cfg.broker)
    client.loop_start()
    try:
        while not stop.wait(0.2):
            if once_idle is not None and time.monotonic() - last_activity[0] > once_idle:
                break
        return 0
    finally:
        client.disconnect()
        client.loop_stop()
        store.close()
        if restore:
            restore()
