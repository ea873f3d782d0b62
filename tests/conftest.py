"""Fixtures shared by every test: real SQLCipher data dirs on tmp_path, with a cheap Argon2 cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from device.config import validate_config
from device.keys import MasterSecret
from device.store import init_data_dir
from tests.processes import REPO, clean_env  # noqa: F401 - REPO: many tests import it from here

# Argon2 at 64 KiB / 1 pass: the same code path as production, without 64 MiB per unlock.
FAST_KEYS = {"argon2_memory_kib": 64, "argon2_iterations": 1, "argon2_lanes": 1}


@pytest.fixture(scope="session")
def recognizer():
    """The real shipped models, loaded once per session (FIELDFACE_INTERPRETER picks the package)."""
    from device.vision import Recognizer
    from tests.vision.conftest import vision_config

    return Recognizer.from_config(vision_config())


@pytest.fixture(scope="session")
def preview_recognizer():
    """The camera preview's recognizer: detector and face mesh on one thread, no embedder."""
    from device.vision import Recognizer
    from tests.vision.conftest import vision_config

    return Recognizer.from_config(vision_config(), preview=True)


@pytest.fixture
def fast_config():
    return validate_config({"keys": FAST_KEYS})


@pytest.fixture
def fast_config_file(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    # The "searching" marker of a command's search goes below the test's folder, not /run/fieldface.
    path.write_text(
        "[keys]\n"
        + "".join(f"{k} = {v}\n" for k, v in FAST_KEYS.items())
        + f'\n[hooks]\nruntime_dir = "{tmp_path / "run"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "unit.key"
    path.write_bytes(os.urandom(32).hex().encode() + b"\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def secret(key_file) -> MasterSecret:
    return MasterSecret(key_file.read_bytes().rstrip(b"\n"), "key file")


@pytest.fixture
def store(tmp_path, secret, fast_config):
    """A freshly initialised, unlocked store in tmp_path/data."""
    return init_data_dir(tmp_path / "data", secret, fast_config, device_id="test-unit")


@pytest.fixture
def audit(store):
    """The store's audit log (device/audit), closed after the test."""
    from device.audit import AuditLog

    log = AuditLog(store)
    yield log
    log.close()


@pytest.fixture
def run_cli(fast_config_file):
    """Run the installed ``fieldface`` command in a subprocess, as a user would."""

    def run(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 60):
        full_env = clean_env(FIELDFACE_CONFIG=str(fast_config_file))
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "device.cli", *args],
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
