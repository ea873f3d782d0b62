from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from device.config import validate_config
from tests.conftest import FAST_KEYS

PINS = {
    "tamper_pin": "GPIO17",
    "panic_pin": "GPIO27",
    "shutdown_pin": "GPIO22",
    "led_red_pin": "GPIO5",
    "led_green_pin": "GPIO6",
    "led_blue_pin": "GPIO13",
}


class ClosedSwitchPin(MockPin):
    """A pin held to ground by a closed switch: turning the pull-up on leaves it low."""

    def _set_pull(self, value):
        super()._set_pull(value)
        self.drive_low()


@pytest.fixture
def factory():
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.fixture
def hooks_config(tmp_path):
    """Every part fitted, short hold times, hooks in tmp_path/hooks."""
    return validate_config({
        "keys": FAST_KEYS,
        "gpio": {"type": "gpiozero", "pin_factory": "mock", "panic_hold_s": 0.2, "shutdown_hold_s": 0.1, **PINS},
        "hooks": {"dir": str(tmp_path / "hooks"), "poll_s": 0.05, "timeout_s": 5,
                  "wipe_upstream_timeout_s": 0, "wipe_files": [str(tmp_path / "credstore" / "fieldface-key")]},
    })  # fmt: skip


def write_hook(root, event: str, name: str, body: str, executable: bool = True):
    folder = root / f"on-{event}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755 if executable else 0o644)
    return path
