"""scripts/uninstall into a temp root after scripts/install and scripts/provision: no key survives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib

import pytest

from device.config import validate_config
from device.errors import WrongKeyError
from device.keys import MasterSecret
from device.store import open_store
from tests.conftest import REPO

PASSPHRASE = "supervisor passphrase 1"
pytestmark = [
    pytest.mark.skipif(shutil.which("systemd-creds") is None, reason="scripts/setup --test installs systemd"),
    pytest.mark.skipif(os.geteuid() != 0, reason="scripts/install and scripts/uninstall run as root"),
]


def _run(*argv, timeout=120):
    # --no-venv installs have no /opt/fieldface/venv: the erase runs with the test's interpreter.
    env = {**os.environ, "FIELDFACE_PYTHON": sys.executable}
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, timeout=timeout, env=env)


def _files(root):
    return {p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def _holding(root, secret: bytes):
    return [p for p in _files(root) if secret in p.read_bytes()]


@pytest.fixture
def unit(tmp_path):
    """An installed and provisioned unit in a temp root, and its plaintext secrets."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    installed = _run(REPO / "scripts/install", "--root", root, "--no-venv")
    assert installed.returncode == 0, installed.stderr
    passphrase = tmp_path / "pass"
    passphrase.write_text(PASSPHRASE + "\n")
    provisioned = _run(sys.executable, REPO / "scripts/provision", "--root", root, "--name", "Unit 7",
                       "--passphrase-file", passphrase, "--seal-with", "tpm2-absent",
                       "--camera", "files", "--gpio", "disabled")  # fmt: skip
    assert provisioned.returncode == 0, provisioned.stderr
    credential = root / "etc/credstore.encrypted/fieldface-key"
    master = _run("systemd-creds", "decrypt", "--name=fieldface-key", credential, "-").stdout.strip().encode()
    config = validate_config(tomllib.loads((root / "etc/fieldface/config.toml").read_text()))
    tls_key = (root / "etc/fieldface/mqtt/client.key").read_bytes()
    # An operator's key file left beside the config: uninstall must find it too.
    (root / "etc/fieldface/recovery.key").write_bytes(master)
    return root, master, config, tls_key


def _assert_nothing_installed(root):
    assert not (root / "opt/fieldface").exists() and not (root / "etc/fieldface").exists()
    assert not list((root / "etc/systemd/system").glob("fieldface-*"))
    assert not (root / "etc/sysusers.d/fieldface.conf").exists()
    assert not (root / "etc/tmpfiles.d/fieldface.conf").exists()
    assert not (root / "etc/credstore.encrypted/fieldface-key").exists()


def test_uninstall_keeps_the_data_but_no_key(unit):
    root, master, config, tls_key = unit
    keyslots = (root / "var/lib/fieldface/keyslots").read_bytes()
    result = _run(REPO / "scripts/uninstall", "--root", root)
    assert result.returncode == 0, result.stderr
    _assert_nothing_installed(root)
    assert "destroyed" in result.stderr and "kept" in result.stderr
    assert _holding(root, master) == [] and _holding(root, tls_key) == []
    # The data dir is as it was: the TPM key is gone, the supervisor's passphrase still opens it.
    assert (root / "var/lib/fieldface/keyslots").read_bytes() == keyslots
    open_store(root / "var/lib/fieldface", MasterSecret(PASSPHRASE.encode(), "passphrase"), config).lock()
    again = _run(REPO / "scripts/uninstall", "--root", root)  # idempotent: nothing left to remove
    assert again.returncode == 0, again.stderr


def test_uninstall_erase_data_crypto_erases_the_store(unit, tmp_path):
    root, master, config, _ = unit
    data_dir = root / "var/lib/fieldface"
    slots = (data_dir / "keyslots").read_bytes()
    # A copy of the database, as someone who imaged the SD card earlier would hold it.
    shutil.copy(data_dir / "fieldface.db", tmp_path / "imaged.db")
    result = _run(REPO / "scripts/uninstall", "--root", root, "--erase-data")
    assert result.returncode == 0, result.stderr
    assert f"crypto-erased {data_dir / 'keyslots'}" in result.stderr
    _assert_nothing_installed(root)
    assert not data_dir.exists()
    assert _holding(root, master) == [] and _holding(root, slots[40:80]) == []
    # Neither secret opens anything any more: without the slots there is no root key to unwrap.
    data_dir.mkdir()
    shutil.copy(tmp_path / "imaged.db", data_dir / "fieldface.db")
    for secret in (master, PASSPHRASE.encode()):
        with pytest.raises(Exception) as err:
            open_store(data_dir, MasterSecret(secret, "passphrase"), config)
        assert not isinstance(err.value, WrongKeyError) and "keyslots" in str(err.value)


def test_unknown_option_is_refused(tmp_path):
    result = _run(REPO / "scripts/uninstall", "--root", tmp_path, "--erase-everything")
    assert result.returncode == 2 and "unknown option" in result.stderr
