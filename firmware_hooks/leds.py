"""Status LED patterns: one look at the unit says locked, ready, searching, syncing or error.

Three LEDs (red, green, blue); any may be absent. Patterns are chosen to be told apart by someone
who cannot tell red from green: steady, slow blink and fast blink differ in rhythm as well.
"""

from __future__ import annotations

import enum

from firmware_hooks import gpio


class LedState(enum.Enum):
    OFF = "off"
    LOCKED = "locked"
    READY = "ready"
    SEARCHING = "searching"
    SYNCING = "syncing"
    ERROR = "error"


# state -> {colour: None (off) | "on" | (on_s, off_s) blink}
PATTERNS: dict[LedState, dict[str, object]] = {
    LedState.OFF: {},
    LedState.LOCKED: {"red": "on"},
    LedState.READY: {"green": "on"},
    LedState.SEARCHING: {"green": (0.1, 0.1)},
    LedState.SYNCING: {"blue": (0.5, 0.5), "green": "on"},
    LedState.ERROR: {"red": (0.1, 0.1)},
}


class StatusLeds:
    def __init__(self, pins: dict[str, str], factory):
        self._leds = {colour: gpio.led(pin, factory) for colour, pin in pins.items() if pin}
        self.state = LedState.OFF

    def show(self, state: LedState) -> None:
        if state == self.state:
            return  # re-setting a blink would restart its rhythm on every poll
        pattern = PATTERNS[state]
        for colour, led in self._leds.items():
            how = pattern.get(colour)
            if how is None:
                led.off()
            elif how == "on":
                led.on()
            else:
                on_s, off_s = how
                led.blink(on_time=on_s, off_time=off_s, background=True)
        self.state = state

    def close(self) -> None:
        for led in self._leds.values():
            led.close()


class DisabledLeds:
    """No LEDs fitted: remembers the state (for status and tests) and lights nothing."""

    def __init__(self):
        self.state = LedState.OFF

    def show(self, state: LedState) -> None:
        self.state = state

    def close(self) -> None:
        pass


def status_leds(config, factory):
    pins = {"red": config.led_red_pin, "green": config.led_green_pin, "blue": config.led_blue_pin}
    if factory is None or not any(pins.values()):
        return DisabledLeds()
    return StatusLeds(pins, factory)
