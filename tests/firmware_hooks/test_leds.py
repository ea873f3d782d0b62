"""Each state's LED pattern on mock pins: steady lights by level, blinks by their toggles."""

from __future__ import annotations

import time

import pytest

from firmware_hooks.leds import PATTERNS, DisabledLeds, LedState, status_leds


@pytest.mark.parametrize("state", [s for s in LedState])
def test_each_state_shows_its_pattern(factory, hooks_config, state):
    leds = status_leds(hooks_config.gpio, factory)
    pins = {"red": factory.pin(5), "green": factory.pin(6), "blue": factory.pin(13)}
    leds.show(state)
    for pin in pins.values():
        pin.clear_states()
    periods = [sum(how) for how in PATTERNS[state].values() if isinstance(how, tuple)]
    window = max([0.3, *(1.2 * p for p in periods)])
    time.sleep(window)
    for colour, pin in pins.items():
        how = PATTERNS[state].get(colour)
        if how is None:
            assert pin.state is False and len(pin.states) == 1, colour
        elif how == "on":
            assert pin.state is True and len(pin.states) == 1, colour
        else:
            on_s, off_s = how
            expected = window / (on_s + off_s) * 2  # two edges per period
            assert len(pin.states) - 1 >= max(1, int(expected * 0.5)), colour
    leds.close()


def test_fast_and_slow_blinks_differ_in_rhythm(factory, hooks_config):
    leds = status_leds(hooks_config.gpio, factory)
    red, blue = factory.pin(5), factory.pin(13)
    leds.show(LedState.ERROR)
    time.sleep(0.6)
    fast = len(red.states)
    leds.show(LedState.SYNCING)
    blue.clear_states()
    time.sleep(0.6)
    slow = len(blue.states)
    assert fast >= 2 * slow
    leds.close()


def test_no_leds_fitted(factory, hooks_config):
    cfg = hooks_config.gpio.model_copy(update={"led_red_pin": "", "led_green_pin": "", "led_blue_pin": ""})
    leds = status_leds(cfg, factory)
    assert isinstance(leds, DisabledLeds)
    leds.show(LedState.ERROR)
    assert leds.state is LedState.ERROR
