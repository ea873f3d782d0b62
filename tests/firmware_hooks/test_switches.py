"""Tamper switch and hold buttons on gpiozero's MockFactory pins."""

from __future__ import annotations

import threading

from firmware_hooks.switches import Disabled, hold_button, tamper_switch
from tests.firmware_hooks.conftest import PINS


def test_case_opening_fires_at_once(factory, hooks_config):
    fired = []
    switch = tamper_switch(hooks_config.gpio, factory, lambda: fired.append("tamper"))
    pin = factory.pin(17)
    pin.drive_low()  # case closed: the switch holds the pin to ground
    switch.check_at_start()
    assert fired == [] and not switch.active
    pin.drive_high()  # case opened
    assert fired == ["tamper"] and switch.active
    switch.close()


def test_a_case_already_open_or_a_cut_wire_at_start_fires(factory, hooks_config):
    fired = []
    # Nothing pulls the pin low: the pull-up reads "open", so a cut wire is a tamper too.
    switch = tamper_switch(hooks_config.gpio, factory, lambda: fired.append("tamper"))
    switch.check_at_start()
    assert fired == ["tamper"]
    switch.close()


def test_normally_open_switch_wiring(factory, hooks_config):
    cfg = hooks_config.gpio.model_copy(update={"tamper_when": "pressed"})
    fired = []
    pin = factory.pin(17)
    switch = tamper_switch(cfg, factory, lambda: fired.append("tamper"))
    pin.drive_low()
    assert fired == ["tamper"]
    switch.close()


def test_hold_button_ignores_a_short_press(factory, hooks_config):
    held = threading.Event()
    pin = factory.pin(27)
    button = hold_button(PINS["panic_pin"], factory, 0.2, held.set, "panic")
    pin.drive_low()
    threading.Event().wait(0.05)
    pin.drive_high()
    assert not held.wait(0.3)
    pin.drive_low()
    assert held.wait(1.0)
    pin.drive_high()
    button.close()


def test_not_fitted_parts_are_disabled(factory, hooks_config):
    cfg = hooks_config.gpio.model_copy(update={"tamper_pin": ""})
    assert isinstance(tamper_switch(cfg, factory, lambda: None), Disabled)
    assert isinstance(tamper_switch(hooks_config.gpio, None, lambda: None), Disabled)
    assert isinstance(hold_button("", factory, 1, lambda: None, "panic"), Disabled)


def test_pin_factory_by_config(hooks_config):
    from gpiozero.pins.mock import MockFactory

    from firmware_hooks.gpio import make_pin_factory

    assert isinstance(make_pin_factory(hooks_config.gpio), MockFactory)
    assert make_pin_factory(hooks_config.gpio.model_copy(update={"type": "disabled"})) is None
