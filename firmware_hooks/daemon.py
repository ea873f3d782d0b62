"""``fieldface hooks run``: the long-lived owner of the GPIO header.

It holds the store like the other processes (to sign the audit entries of a tamper lock or a
panic wipe), reacts to the case switch and the two buttons, shows the state on the LEDs, and turns
changes of state into integrator hook scripts (``on-tamper``, ``on-unlock``, ``on-sync-ok`` ...).
Hooks are fired from observed state (the lockdown marker, the sync cursor), so a lock made by
the web UI or by ``fieldface lock`` runs ``on-lock`` just like a tamper does.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

from device import service
from firmware_hooks.gpio import make_pin_factory
from firmware_hooks.hookdirs import HookRunner, event_hooks
from firmware_hooks.leds import LedState, status_leds
from firmware_hooks.switches import hold_button, tamper_switch

log = logging.getLogger(__name__)

SYNCING_FOR_S = 3.0  # the blue LED blinks this long after the sync cursor last moved
ACTIVITY_DIR = "activity"  # <runtime dir>/activity/searching exists while the UI runs a search


class HooksDaemon:
    def __init__(self, appliance: service.Appliance, config, *, runtime_dir: Path, factory=None,
                 hooks=None, run_command=subprocess.run, clock=time.monotonic):  # fmt: skip
        self.appliance = appliance
        self.config = config
        self.runtime_dir = Path(runtime_dir)
        self.factory = factory if factory is not None else make_pin_factory(config.gpio)
        self.hooks = HookRunner(hooks if hooks is not None else event_hooks(config.hooks))
        self._run_command = run_command
        self._clock = clock
        self._marker = None
        self._acked: int | None = None
        self._audit = None  # (store, AuditLog): reads the sync cursor
        self._acked_moved = float("-inf")
        self._healthy = True
        self.tamper_latency_s: float | None = None
        self.parts: list = []

    # -- reactions (on gpiozero's event thread) --
    def on_tamper(self) -> None:
        started = time.perf_counter()
        self.appliance.lock("tamper")
        self.tamper_latency_s = time.perf_counter() - started
        log.critical("locked after tamper in %.3f s", self.tamper_latency_s)

    def on_panic(self) -> None:
        report = self.appliance.wipe(upstream_timeout_s=self.config.hooks.wipe_upstream_timeout_s,
                                     extra_files=self.config.hooks.wipe_files)  # fmt: skip
        log.critical("panic wipe done: %s", report)

    def on_shutdown(self) -> None:
        self.hooks.hooks.run("shutdown")  # now, not queued: the power goes next
        self._run_command(list(self.config.hooks.shutdown_command), check=False, timeout=30)

    # -- life --
    def start(self) -> None:
        self.appliance.start()
        self._marker = self.appliance.lockdown.read()
        gpio_cfg = self.config.gpio
        self.leds = status_leds(gpio_cfg, self.factory)
        self.tamper = tamper_switch(gpio_cfg, self.factory, self.on_tamper)
        self.panic = hold_button(gpio_cfg.panic_pin, self.factory, gpio_cfg.panic_hold_s, self.on_panic, "panic")
        self.shutdown = hold_button(gpio_cfg.shutdown_pin, self.factory, gpio_cfg.shutdown_hold_s,
                                    self.on_shutdown, "shutdown")  # fmt: skip
        self.parts = [self.leds, self.tamper, self.panic, self.shutdown]
        if hasattr(self.tamper, "check_at_start"):
            self.tamper.check_at_start()
        self.step()
        self.hooks.fire("ready", {"locked": int(self.appliance.locked)})

    def step(self) -> None:
        """One look at the world: obey locks, fire hooks on changes, LEDs, watchdog."""
        self.appliance.follow_lockdown()
        marker = self.appliance.lockdown.read()
        if marker != self._marker:
            self._on_marker_change(self._marker, marker)
            self._marker = marker
        self._healthy = self.appliance.health()
        self._watch_sync()
        self.leds.show(self.led_state())
        if self._healthy:
            service.watchdog_ping()

    def _on_marker_change(self, before: dict | None, after: dict | None) -> None:
        if after is not None and (before is None or before.get("reason") != after.get("reason")):
            reason = after.get("reason", "unknown")
            if reason in ("tamper", "wipe"):
                self.hooks.fire(reason, {"reason": reason, "at": after.get("at", "")})
            self.hooks.fire("lock", {"reason": reason, "at": after.get("at", "")})
        elif after is None and before is not None:
            self.hooks.fire("unlock", {"after": before.get("reason", "")})
            # Unlocked by a person elsewhere: take our own keys from the credential again.
            if self.appliance.locked:
                self.appliance.start()

    def _watch_sync(self) -> None:
        if self.appliance.locked:
            return
        try:
            store = self.appliance.store
            if self._audit is None or self._audit[0] is not store:  # one reader per unlocked store
                from device.audit import AuditLog

                self._audit = (store, AuditLog(store))
            acked, _ = self._audit[1].acked(self.config.sync.destination)
        except Exception:  # locked between the check and the query, or the store is ill
            log.debug("sync cursor not readable", exc_info=True)
            return
        if self._acked is not None and acked > self._acked:
            self._acked_moved = self._clock()
            self.hooks.fire("sync-ok", {"acked_seq": acked})
        self._acked = acked

    def led_state(self) -> LedState:
        if not self._healthy:
            return LedState.ERROR
        if self.appliance.locked:
            return LedState.LOCKED
        if (self.runtime_dir / ACTIVITY_DIR / "searching").exists():
            return LedState.SEARCHING
        if self._clock() - self._acked_moved < SYNCING_FOR_S:
            return LedState.SYNCING
        return LedState.READY

    def run(self, stop: threading.Event) -> int:
        self.start()
        service.ready("locked: waiting for the passphrase" if self.appliance.locked else "watching")
        try:
            while not stop.wait(self.config.hooks.poll_s):
                self.step()
        finally:
            service.stopping()
            self.close()
        return 0

    def close(self) -> None:
        for part in reversed(self.parts):
            part.close()
        self.parts = []
        self.hooks.close()
