from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from device.config import validate_config

DATA = Path(__file__).resolve().parent.parent / "data"


def camera_config(tmp_path, **values):
    values.setdefault("lock_file", str(tmp_path / "camera.lock"))
    return validate_config({"camera": values}).camera


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("obama.jpg", "biden.jpg", "astronaut.png"):
        shutil.copy(DATA / name, folder / name)
    return folder
