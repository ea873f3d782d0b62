"""The picamera2 backend against a fake of the small part of picamera2's API it uses."""

from __future__ import annotations

import sys
import types
from typing import ClassVar

import numpy as np
import pytest

from device.camera import open_camera
from device.camera.base import CameraUnavailable
from tests.camera.conftest import camera_config


class FakePicamera2:
    """Records calls; returns BGR frames of the configured size like picamera2's "RGB888"."""

    cameras: ClassVar[list] = [{"Model": "imx477"}]
    instances: ClassVar[list] = []
    fail_after: ClassVar[int | None] = None

    def __init__(self, camera_num=0):
        self.camera_num = camera_num
        self.calls = []
        self.config = None
        self.started = self.closed = False
        FakePicamera2.instances.append(self)

    @staticmethod
    def global_camera_info():
        return FakePicamera2.cameras

    def create_preview_configuration(self, main):
        return {"use": "preview", "main": main}

    def create_still_configuration(self, main):
        return {"use": "still", "main": main}

    def configure(self, config):
        self.config = config

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True

    def _frame(self, config):
        if FakePicamera2.fail_after is not None:
            if FakePicamera2.fail_after == 0:
                raise RuntimeError("Camera frontend has timed out!")
            FakePicamera2.fail_after -= 1
        width, height = config["main"]["size"]
        frame = np.zeros((height, width, 3), np.uint8)
        frame[:, :, 0] = 255  # blue in BGR order
        return frame

    def capture_array(self, name="main"):
        assert self.started and name == "main"
        self.calls.append("preview")
        return self._frame(self.config)

    def switch_mode(self, config):
        assert self.started
        self.calls.append("mode " + config["use"])
        self.config = config

    def switch_mode_and_capture_array(self, config, name="main"):
        assert self.started and name == "main"
        self.calls.append("still")
        return self._frame(config)


@pytest.fixture
def fake_picamera2(monkeypatch):
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    FakePicamera2.instances = []
    FakePicamera2.cameras = [{"Model": "imx477"}]
    FakePicamera2.fail_after = None
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return FakePicamera2


def test_preview_stream_and_full_resolution_still(tmp_path, fake_picamera2):
    cfg = camera_config(tmp_path, type="picamera2", still_size=(4056, 3040), preview_size=(640, 480))
    with open_camera(cfg) as camera:
        still = camera.capture_still()
        camera.preview_jpeg()
        cam = fake_picamera2.instances[0]
        assert cam.config["main"] == {"size": (640, 480), "format": "RGB888"}
        assert cam.calls == ["still", "preview"]
    assert still.size == (4056, 3040)
    # BGR from the sensor becomes RGB: the blue channel is last.
    assert still.rgb[0, 0].tolist() == [0, 0, 255]
    assert cam.closed and not cam.started


def test_a_burst_switches_to_the_still_mode_once(tmp_path, fake_picamera2):
    cfg = camera_config(tmp_path, type="picamera2", still_size=(400, 300), preview_size=(64, 48))
    with open_camera(cfg) as camera:
        stills = camera.capture_burst(3, lambda still: still.size)
        camera.preview_jpeg()
        cam = fake_picamera2.instances[0]
    assert stills == [(400, 300)] * 3
    assert cam.calls == ["mode still", "preview", "preview", "preview", "mode preview", "preview"]


def test_no_camera_connected(tmp_path, fake_picamera2):
    fake_picamera2.cameras = []
    with open_camera(camera_config(tmp_path, type="picamera2")) as camera:
        assert camera.status()["state"] == "unavailable"
        assert "no Raspberry Pi camera number 0" in camera.status()["detail"]


def test_camera_timeout_is_reported_and_the_camera_reopened(tmp_path, fake_picamera2):
    fake_picamera2.fail_after = 1
    cfg = camera_config(tmp_path, type="picamera2", retry_s=0.01, preview_size=(64, 48), still_size=(64, 48))
    with open_camera(cfg) as camera:
        camera.preview_jpeg()
        with pytest.raises(CameraUnavailable, match="timed out"):
            camera.preview_jpeg()
        assert fake_picamera2.instances[0].closed
        fake_picamera2.fail_after = None
        import time

        time.sleep(0.02)
        assert camera.capture_still().size == (64, 48)
        assert len(fake_picamera2.instances) == 2


def test_without_picamera2_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import raises ImportError
    with open_camera(camera_config(tmp_path, type="picamera2")) as camera:
        assert "python3-picamera2" in camera.status()["detail"]
