"""gpiozero pin factories by ``gpio.pin_factory``; the only module that imports gpiozero."""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

# gpiozero's own names for its factories (gpiozero.pins.<module>:<class>).
FACTORIES = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
    "mock": ("gpiozero.pins.mock", "MockFactory"),
}


def make_pin_factory(config):
    """A pin factory for ``config`` (a GpioConfig); None when GPIO is disabled. Chosen explicitly,
    not by gpiozero's fallback chain, so a missing driver is an error rather than a silent mock."""
    if config.type == "disabled":
        return None
    module_name, class_name = FACTORIES[config.pin_factory]
    return getattr(importlib.import_module(module_name), class_name)()


def button(pin: str, factory, *, hold_time: float | None = None, bounce_time: float | None = 0.02):
    """A gpiozero Button (pull-up: the switch connects the pin to ground)."""
    from gpiozero import Button

    kwargs = {"pull_up": True, "bounce_time": bounce_time, "pin_factory": factory}
    if hold_time is not None:
        kwargs["hold_time"] = hold_time
    return Button(pin, **kwargs)


def led(pin: str, factory):
    from gpiozero import LED

    return LED(pin, pin_factory=factory)
