"""The still-image / folder source, through the owner as the web process uses it."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from device.camera import CameraOwner, make_source, open_camera
from device.camera.base import CameraUnavailable
from device.errors import CameraError
from device.vision.decode import decode_image
from tests.camera.conftest import DATA, camera_config


def test_still_is_full_resolution_and_preview_is_small(tmp_path):
    cfg = camera_config(tmp_path, type="files", source=str(DATA / "obama.jpg"), preview_size=(160, 120))
    original = decode_image((DATA / "obama.jpg").read_bytes(), 10**8).rgb
    with open_camera(cfg) as camera:
        still = camera.capture_still()
        preview = cv2.imdecode(np.frombuffer(camera.preview_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert still.rgb.shape == original.shape and np.array_equal(still.rgb, original)
    assert preview.shape[1] <= 160 and preview.shape[0] <= 120
    assert max(preview.shape[:2]) < max(original.shape[:2])
    # The JPEG a probe is made of decodes to the same picture, give or take JPEG loss.
    again = decode_image(still.jpeg(95), 10**8).rgb
    assert again.shape == original.shape and np.abs(again.astype(int) - original).mean() < 3


def test_a_folder_gives_its_images_in_name_order_and_wraps(tmp_path, photos):
    cfg = camera_config(tmp_path, type="files", source=str(photos), still_size=(4000, 4000))
    with open_camera(cfg) as camera:
        sizes = [camera.capture_still().size for _ in range(4)]
    expected = [decode_image((photos / n).read_bytes(), 10**8).rgb.shape[1::-1] for n in
                ("astronaut.png", "biden.jpg", "obama.jpg", "astronaut.png")]  # fmt: skip
    assert sizes == [tuple(s) for s in expected]


def test_still_size_caps_the_picture(tmp_path):
    cfg = camera_config(tmp_path, type="files", source=str(DATA / "astronaut.png"), still_size=(100, 100))
    with open_camera(cfg) as camera:
        assert max(camera.capture_still().size) == 100


def test_missing_camera_is_reported_then_recovers(tmp_path, photos):
    moved = tmp_path / "unplugged"
    cfg = camera_config(tmp_path, type="files", source=str(photos), retry_s=0.05)
    photos.rename(moved)
    with open_camera(cfg) as camera:  # opening a missing camera is not fatal
        assert camera.status()["state"] == "unavailable" and "does not exist" in camera.status()["detail"]
        with pytest.raises(CameraUnavailable):
            camera.capture_still()
        moved.rename(photos)
        threading.Event().wait(0.06)
        assert camera.capture_still().size[0] > 0
        assert camera.status()["state"] == "ok"


def test_one_process_owns_the_camera(tmp_path):
    cfg = camera_config(tmp_path, type="files", source=str(DATA / "obama.jpg"))
    with open_camera(cfg):
        with pytest.raises(CameraError, match="owned by another process"):
            open_camera(cfg)
    with open_camera(cfg) as camera:  # released on close
        assert camera.status()["state"] == "ok"


def test_disabled_camera_is_a_clear_error(tmp_path):
    with pytest.raises(CameraError, match="no camera"):
        make_source(camera_config(tmp_path))


def test_mjpeg_stream_is_multipart_jpeg_at_the_preview_rate(tmp_path):
    cfg = camera_config(tmp_path, type="files", source=str(DATA / "obama.jpg"), preview_fps=20)
    stop = threading.Event()
    with open_camera(cfg) as camera:
        started = cv2.getTickCount()
        parts = list(camera.mjpeg(stop, max_frames=5))
        elapsed = (cv2.getTickCount() - started) / cv2.getTickFrequency()
    assert len(parts) == 5 and elapsed >= 4 / 20
    for part in parts:
        head, _, body = part.partition(b"\r\n\r\n")
        assert head.startswith(b"--frame\r\nContent-Type: image/jpeg")
        length = int(head.split(b"Content-Length: ")[1])
        assert body[:length].startswith(b"\xff\xd8") and body[length:] == b"\r\n"


def test_mjpeg_stops_when_asked_even_without_a_camera(tmp_path):
    cfg = camera_config(tmp_path, type="files", source=str(tmp_path / "nothing"), retry_s=0.05)
    stop = threading.Event()
    camera = CameraOwner(make_source(cfg), cfg)
    camera.acquire()
    threading.Timer(0.2, stop.set).start()
    assert list(camera.mjpeg(stop)) == []
    camera.close()


def test_an_unusable_lock_file_is_a_clear_error(tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    cfg = camera_config(tmp_path, type="files", source=str(DATA / "obama.jpg"),
                        lock_file=str(tmp_path / "not-a-dir" / "camera.lock"))  # fmt: skip
    with pytest.raises(CameraError, match="camera lock file"):
        open_camera(cfg)
