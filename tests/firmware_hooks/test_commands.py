"""``lock``, ``unlock``, ``wipe``, ``wait-unlocked``, ``hooks fire``, ``hooks seal-key`` through the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from tests.firmware_hooks.conftest import write_hook


@pytest.fixture
def unit(store, key_file, tmp_path):
    return {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(store.data_dir)}


def test_lock_then_unlock_with_the_key_file(run_cli, unit, key_file):
    assert run_cli("lock", env=unit).returncode == 0
    status = run_cli("status", env=unit)
    assert status.returncode == 0  # status reads the store directly; the lock binds the services
    waited = run_cli("wait-unlocked", "--timeout", "0.3", env=unit)
    assert waited.returncode == 3 and "still locked" in waited.stderr
    # Without a terminal and without --key-file, the credential alone must not end a lock.
    refused = run_cli("unlock", env=unit)
    assert refused.returncode == 3 and "passphrase typed on a terminal" in refused.stderr
    tmp_path_key = key_file.with_name("wrong.key")
    tmp_path_key.write_text("not the key\n")
    wrong = run_cli("unlock", "--key-file", str(tmp_path_key), env=unit)
    assert wrong.returncode == 3 and "wrong key" in wrong.stderr
    ok = run_cli("unlock", "--key-file", str(key_file), env=unit)
    assert ok.returncode == 0 and "was locked: operator" in ok.stdout
    assert run_cli("wait-unlocked", "--timeout", "1", env=unit).returncode == 0


def test_wait_unlocked_returns_when_the_lock_ends(store, unit, key_file, fast_config_file):
    from device import service

    service.Lockdown(store.data_dir).engage("tamper")
    env = {k: v for k, v in unit.items()} | {"FIELDFACE_CONFIG": str(fast_config_file)}
    waiter = subprocess.Popen([sys.executable, "-m", "device.cli", "wait-unlocked"], env=env)
    time.sleep(0.5)
    assert waiter.poll() is None
    service.Lockdown(store.data_dir).clear()
    assert waiter.wait(5) == 0


def test_wipe_needs_yes_then_erases(run_cli, unit, store):
    refused = run_cli("wipe", env=unit)
    assert refused.returncode == 2 and "nothing was erased" in refused.stderr
    assert (store.data_dir / "keyslots").exists()
    done = run_cli("wipe", "--yes", "--upstream-timeout", "0", env=unit)
    assert done.returncode == 0 and "audited yes" in done.stdout
    after = run_cli("status", env=unit)
    assert after.returncode == 4 and "no keyslots" in after.stderr


def test_hooks_fire_runs_a_sites_scripts(tmp_path, run_cli, fast_config_file):
    hooks = tmp_path / "hooks"
    fast_config_file.write_text(fast_config_file.read_text().replace("[hooks]\n", f'[hooks]\ndir = "{hooks}"\n'))
    write_hook(hooks, "tamper", "10-ok", "echo siren on")
    assert run_cli("hooks", "fire", "tamper").stdout.strip().endswith("exit 0: siren on")
    write_hook(hooks, "tamper", "20-bad", "exit 4")
    assert run_cli("hooks", "fire", "tamper").returncode == 1
    bad = run_cli("hooks", "fire", "meltdown")
    assert bad.returncode == 2 and "unknown event" in bad.stderr


@pytest.mark.skipif(shutil.which("systemd-creds") is None, reason="scripts/setup --test installs systemd")
def test_seal_key(tmp_path, run_cli, key_file):
    out = tmp_path / "credstore.encrypted" / "fieldface-key"
    result = run_cli("hooks", "seal-key", str(key_file), "--out", str(out), "--with-key", "tpm2-absent")
    assert result.returncode == 0, result.stderr
    assert out.exists() and "shred -u" in result.stdout
