"""OpenCV VideoCapture on a real video file (what a USB camera or RTSP stream looks like to it)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.camera import open_camera
from device.camera.base import CameraUnavailable
from tests.camera.conftest import camera_config


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    assert writer.isOpened()
    for i in range(3):  # frame i is a flat grey of level 60 + 60 i (BGR)
        writer.write(np.full((240, 320, 3), 60 + 60 * i, np.uint8))
    writer.release()
    return path


def test_video_file_frames_in_order_and_looping(tmp_path, video):
    cfg = camera_config(tmp_path, type="opencv", source=str(video), preview_size=(160, 120))
    with open_camera(cfg) as camera:
        levels = [int(camera.capture_still().rgb.mean()) for _ in range(4)]
        preview = cv2.imdecode(np.frombuffer(camera.preview_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert [abs(a - b) <= 3 for a, b in zip(levels, [60, 120, 180, 60], strict=True)] == [True] * 4
    assert preview.shape[:2] == (120, 160)


def test_a_source_that_does_not_open_is_reported(tmp_path):
    cfg = camera_config(tmp_path, type="opencv", source=str(tmp_path / "no-such.avi"))
    with open_camera(cfg) as camera:
        assert camera.status()["state"] == "unavailable"
        with pytest.raises(CameraUnavailable):
            camera.capture_still()


class _DyingCapture:
    """A USB camera unplugged after two frames: read() starts failing, as V4L2 does."""

    def __init__(self, target):
        self.frames = 2
        self.released = False

    def isOpened(self):
        return True

    def set(self, prop, value):
        return True

    def read(self):
        if self.frames == 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self):
        self.released = True


def test_an_unplugged_usb_camera_is_closed_and_reported(tmp_path):
    from device.camera.opencv import OpenCVSource
    from device.camera.owner import CameraOwner

    cfg = camera_config(tmp_path, type="opencv", source="0", retry_s=600)
    camera = CameraOwner(OpenCVSource(cfg, capture_factory=_DyingCapture), cfg)
    camera.acquire()
    assert camera.capture_still().size == (64, 48)
    camera.capture_still()
    with pytest.raises(CameraUnavailable, match="stopped giving frames"):
        camera.capture_still()
    assert camera.status()["state"] == "unavailable"
    camera.close()
