"""``fieldface analyze`` as a user runs it: human or JSON output, bad input in one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from device.cli import main
from tests.vision.conftest import DATA
from tests.vision.test_decode import BAD_INPUTS

INTERPRETER_CONFIG = f'[vision]\ninterpreter = "{os.environ.get("FIELDFACE_INTERPRETER", "auto")}"\n'


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(INTERPRETER_CONFIG)
    return path


def test_analyze_prints_faces_and_quality(config_file, capsys):
    assert main(["--config", str(config_file), "analyze", str(DATA / "obama.jpg")]) == 0
    out = capsys.readouterr().out
    assert "910x1137 JPEG, 1 face(s), largest first" in out
    assert "face 0: box (359, 135)-(641, 418), confidence 0.91, quality PASS (" in out


def test_analyze_json(config_file, capsys):
    assert main(["--config", str(config_file), "analyze", "--json", str(DATA / "biden.jpg")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["image"] == {"width": 970, "height": 2204, "format": "jpeg", "exif_orientation": 1}
    (face,) = result["faces"]
    assert set(face["keypoints"]) == {
        "right_eye",
        "left_eye",
        "nose_tip",
        "mouth_centre",
        "right_ear",
        "left_ear",
    }
    assert set(face["landmarks"]) == {"right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left"}
    assert face["quality"]["verdict"] == "pass" and 0 <= face["quality"]["unified"] <= 100
    names = {c["name"] for c in face["quality"]["components"]}
    assert names >= {"sharpness", "inter_eye_px", "yaw_deg", "pitch_deg", "eyes_open"}
    assert result["model_id"].startswith("sface-2021dec-fp16@")


@pytest.mark.parametrize(
    "case", ["empty", "text", "truncated jpeg", "cmyk jpeg", "16-bit png", "transparent png", "bomb"]
)
def test_bad_image_is_one_line_exit_2(tmp_path, config_file, capsys, case):
    image = tmp_path / "input.img"
    image.write_bytes(BAD_INPUTS[case][0])
    assert main(["--config", str(config_file), "analyze", str(image)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"fieldface: {image}: ") and captured.err.count("\n") == 1


def test_missing_file_and_no_face(tmp_path, config_file, capsys):
    assert main(["--config", str(config_file), "analyze", str(tmp_path / "absent.jpg")]) == 2
    assert "absent.jpg: no such file" in capsys.readouterr().err
    assert main(["--config", str(config_file), "analyze", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_real_process_never_shows_a_traceback_or_native_chatter(tmp_path, config_file):
    """As a user sees it: native libraries (libjpeg, TFLite) write to fd 2, which capsys cannot see."""
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((DATA / "obama.jpg").read_bytes()[:100_000] + b"\xff\xd9")  # EOI, data missing
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    for image, code in ((truncated, 2), (DATA / "obama2.jpg", 0)):
        done = subprocess.run(
            [sys.executable, "-m", "device.cli", "--config", str(config_file), "analyze", str(image)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == code
        if code == 0:
            assert done.stderr == ""
        else:
            assert done.stderr == f"fieldface: {image}: truncated or damaged JPEG: part of the image data is missing\n"
