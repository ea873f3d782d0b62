"""The case (tamper) switch and the two hold buttons: panic wipe and shutdown.

Each is a gpiozero Button whose callback runs on gpiozero's event thread; callbacks only call into
the daemon, which does the work. With no pin configured each is a ``Disabled`` stand-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from firmware_hooks import gpio

log = logging.getLogger(__name__)


class Disabled:
    """Not fitted on this unit: never fires."""

    active = False

    def close(self) -> None:
        pass


class TamperSwitch:
    """Fires ``on_tamper`` when the case opens, and once at start if it is already open (a box
    opened while powered off is still a tampered box)."""

    def __init__(self, pin: str, factory, on_tamper: Callable[[], None], open_when: str = "released"):
        self._button = gpio.button(pin, factory, bounce_time=None)  # a tamper edge must never be debounced away
        self._open_when = open_when
        self._on_tamper = on_tamper
        if open_when == "released":
            self._button.when_released = self._fire
        else:
            self._button.when_pressed = self._fire

    @property
    def active(self) -> bool:
        """True while the case is open."""
        return self._button.is_pressed == (self._open_when == "pressed")

    def check_at_start(self) -> None:
        if self.active:
            self._fire()

    def _fire(self, *_args) -> None:
        log.critical("tamper switch: the case was opened")
        self._on_tamper()

    def close(self) -> None:
        self._button.close()


class HoldButton:
    """A button that acts only when held for ``hold_s`` (a panic wipe must not be a brush of a finger)."""

    def __init__(self, pin: str, factory, hold_s: float, on_held: Callable[[], None], what: str):
        self._button = gpio.button(pin, factory, hold_time=hold_s)
        self._on_held = on_held
        self._what = what
        self._button.when_held = self._fire

    @property
    def active(self) -> bool:
        return self._button.is_held

    def _fire(self, *_args) -> None:
        log.warning("%s button held", self._what)
        self._on_held()

    def close(self) -> None:
        self._button.close()


def tamper_switch(config, factory, on_tamper: Callable[[], None]):
    if factory is None or not config.tamper_pin:
        return Disabled()
    return TamperSwitch(config.tamper_pin, factory, on_tamper, config.tamper_when)


def hold_button(pin: str, factory, hold_s: float, on_held: Callable[[], None], what: str):
    if factory is None or not pin:
        return Disabled()
    return HoldButton(pin, factory, hold_s, on_held, what)
