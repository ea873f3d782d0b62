"""``fieldface camera snapshot`` and ``camera check`` as a user runs them."""

from __future__ import annotations

from device.vision.decode import decode_image
from tests.camera.conftest import DATA


def _config(tmp_path, fast_config_file, source):
    fast_config_file.write_text(
        fast_config_file.read_text()
        + f'\n[camera]\ntype = "files"\nsource = "{source}"\nlock_file = "{tmp_path / "cam.lock"}"\n'
    )


def test_snapshot_writes_a_full_resolution_jpeg(tmp_path, run_cli, fast_config_file):
    _config(tmp_path, fast_config_file, DATA / "obama.jpg")
    out = tmp_path / "probe.jpg"
    result = run_cli("camera", "snapshot", "--out", str(out))
    assert result.returncode == 0, result.stderr
    original = decode_image((DATA / "obama.jpg").read_bytes(), 10**8)
    assert decode_image(out.read_bytes(), 10**8).rgb.shape == original.rgb.shape
    assert out.stat().st_mode & 0o777 == 0o600


def test_missing_camera_is_one_line_with_exit_8(tmp_path, run_cli, fast_config_file):
    _config(tmp_path, fast_config_file, tmp_path / "unplugged")
    result = run_cli("camera", "snapshot", "--out", str(tmp_path / "x.jpg"))
    assert result.returncode == 8 and result.stderr.count("\n") == 1
    assert "camera unavailable" in result.stderr and "does not exist" in result.stderr
    check = run_cli("camera", "check", "--json")
    assert check.returncode == 8 and '"state": "unavailable"' in check.stdout


def test_no_camera_configured(tmp_path, run_cli):
    result = run_cli("camera", "check")
    assert result.returncode == 8 and "no camera on this unit" in result.stderr
