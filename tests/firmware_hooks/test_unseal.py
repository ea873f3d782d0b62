"""Sealing the key as a systemd credential with the real systemd-creds (null key: no TPM here)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from device.errors import LockedError, UsageError
from firmware_hooks.unseal import has_tpm2, seal

pytestmark = pytest.mark.skipif(shutil.which("systemd-creds") is None, reason="scripts/setup --test installs systemd")


def test_seal_round_trip_and_the_unit_reads_it(tmp_path, key_file, store, fast_config):
    from device.keys import obtain_secret

    sealed = tmp_path / "credstore.encrypted" / "fieldface-key"
    seal(key_file, sealed, name="fieldface-key", with_key="tpm2-absent")
    assert sealed.stat().st_mode & 0o777 == 0o600
    assert key_file.read_bytes().strip() not in sealed.read_bytes()
    # What LoadCredentialEncrypted= does at unit start: decrypt into $CREDENTIALS_DIRECTORY.
    creds = tmp_path / "credentials"
    creds.mkdir()
    subprocess.run(["systemd-creds", "decrypt", "--name=fieldface-key", str(sealed), str(creds / "fieldface-key")],
                   check=True, capture_output=True)  # fmt: skip
    secret = obtain_secret(fast_config.keys, {"CREDENTIALS_DIRECTORY": str(creds)}, interactive=False)
    assert secret.source == "credential" and secret.value == key_file.read_bytes().strip()


def test_a_credential_sealed_under_another_name_is_refused(tmp_path, key_file):
    sealed = tmp_path / "k.cred"
    seal(key_file, sealed, name="other-name", with_key="tpm2-absent")
    from firmware_hooks.unseal import _run

    # The name is bound into the credential: a file sealed for another unit does not pass for ours.
    with pytest.raises(LockedError, match="decrypt failed"):
        _run(["systemd-creds", "decrypt", "--name=fieldface-key", str(sealed), "-"])


def test_bad_choices(tmp_path, key_file):
    with pytest.raises(UsageError):
        seal(key_file, tmp_path / "x", name="fieldface-key", with_key="rot13")
    with pytest.raises(LockedError, match="cannot run"):
        seal(key_file, tmp_path / "x", name="fieldface-key", with_key="tpm2", systemd_creds=str(tmp_path / "missing"))
    assert has_tpm2(str(tmp_path / "missing")) is False
