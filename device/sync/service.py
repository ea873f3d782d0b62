"""Process lifecycle of ``fieldface sync``: one stop event, set by SIGTERM/SIGINT
(device.service.stop_on_signals), clean shutdown in reverse order, exit codes. (The receiver's is
in device/central/mqtt.py.)
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
            if deadline is not None and publisher.acked >= target and not publisher.recovery_due:
                log.info("delivered up to seq %d", publisher.acked)
                return 0
            if deadline is not None and time.monotonic() > deadline:
                if publisher.acked >= target:  # only the recovery is missing
                    raise SyncError(
                        "sync --once: everything was acknowledged, but the receiver's recovery (the entries this "
                        "restored unit lost, to re-apply their erasures) did not come; ask central for "
                        "'fieldface central recovery UNIT -o FILE' and run 'fieldface audit recover FILE'"
                    )
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
