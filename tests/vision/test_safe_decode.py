"""Hostile images cannot take the process down: decoding runs in a child with memory and time limits."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from device.errors import ImageError
from device.vision.decode import check_header, decode_image, read_header
from device.vision.safe_decode import REFUSED, DecodePool, _Worker
from tests.hostile_images import apng_oversized_frame, corpus, png_141_bytes
from tests.vision.conftest import photo_bytes

LIMIT = 50_000_000


@pytest.mark.parametrize("name", sorted(corpus()))
def test_every_hostile_image_is_one_line_refusal(name):
    with pytest.raises(ImageError) as err:
        decode_image(corpus()[name], LIMIT)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_animated_png_and_lying_chunks_are_refused_before_any_decoder():
    with pytest.raises(ImageError, match="animated PNG"):
        check_header(apng_oversized_frame(), LIMIT)
    with pytest.raises(ImageError, match=r"declares \d+ bytes, more than the file holds"):
        check_header(png_141_bytes(), LIMIT)


def test_a_crashing_decoder_is_one_refusal_and_the_pool_goes_on():
    """A decoder dying of SIGSEGV in the middle of an image (what OpenCV's APNG reader did in the
    trial; the generated APNGs here do not crash this OpenCV build, so the signal is sent)."""
    pool = DecodePool(workers=1, timeout_s=30)
    try:
        good = photo_bytes("obama.jpg")
        first = pool.decode(good, read_header(good))
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGSTOP)  # it will receive the image, then die before answering
        threading.Timer(0.2, lambda: (os.kill(pid, signal.SIGSEGV), os.kill(pid, signal.SIGCONT))).start()
        with pytest.raises(ImageError, match=f"^{REFUSED}: the decoder crashed$"):
            pool.decode(good, read_header(good))
        again = pool.decode(good, read_header(good))
        assert (again == first).all()
        assert pool.pids() != [pid]
    finally:
        pool.close()


def test_a_runaway_allocation_fails_inside_the_child_within_its_limit():
    """The 141-byte PNG, past the chunk check. Decoded in-process it peaks at 3.7 GB resident
    (measured: VmHWM 3,696,516 kB); in the child, RLIMIT_AS refuses the allocation."""
    worker = _Worker()
    try:
        data = png_141_bytes()
        header = read_header(data)
        with pytest.raises(ImageError, match=f"damaged PNG|{REFUSED}"):
            worker.decode(data, header, 30)
        with open(f"/proc/{worker.pid}/status") as status:
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        assert peak < 300 << 20
    finally:
        worker.kill()


def test_a_hung_decoder_is_killed_after_the_time_limit():
    pool = DecodePool(workers=1, timeout_s=0.5)
    try:
        good = photo_bytes("obama.jpg")
        pool.decode(good, read_header(good))
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGSTOP)  # a decoder that never answers
        with pytest.raises(ImageError, match=f"^{REFUSED}: decoding took longer than 0.5 s$"):
            pool.decode(good, read_header(good))
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        assert pool.decode(good, read_header(good)).shape == (1137, 910, 3)
    finally:
        pool.close()


def test_decoding_takes_no_lock_on_fd_2_in_this_process():
    """What the child's decoder prints never reaches our stderr, and ours is never redirected."""
    before = os.readlink("/proc/self/fd/2")
    with pytest.raises(ImageError, match="part of the image data is missing"):
        decode_image(photo_bytes("obama.jpg")[:100_000] + b"\xff\xd9", LIMIT)
    assert os.readlink("/proc/self/fd/2") == before


def test_analyze_refuses_every_hostile_image_in_one_line(tmp_path, capsys):
    from device.cli import main
    from tests.vision.test_commands import INTERPRETER_CONFIG

    config = tmp_path / "config.toml"
    config.write_text(INTERPRETER_CONFIG)
    for name, data in sorted(corpus().items()):
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        assert main(["--config", str(config), "analyze", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("fieldface: "), (name, err)


def test_images_bigger_than_the_kept_buffers_decode_right_every_time():
    """Over 64 MiB of pixels the memfds are given back after the image; the next one must still be right."""
    import cv2
    import numpy as np

    big = np.zeros((4700, 5000, 3), np.uint8)  # 70.5 MB of RGB
    big[::97, :, 1] = 200
    data = cv2.imencode(".png", big)[1].tobytes()
    pool = DecodePool(workers=1, timeout_s=60)
    try:
        for _ in range(2):
            rgb = pool.decode(data, read_header(data))
            assert rgb.shape == big.shape and (rgb[:, :, 1] == big[:, :, 1]).all()
        small = photo_bytes("obama.jpg")
        assert pool.decode(small, read_header(small)).shape == (1137, 910, 3)
    finally:
        pool.close()
