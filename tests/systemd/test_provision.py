"""scripts/install and scripts/provision into a temp root, as on a fresh Raspberry Pi image."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from device.audit import AuditLog
from device.audit.card import read_card
from device.config import validate_config
from device.keys import MasterSecret
from device.store import open_store
from tests.conftest import REPO

PASSPHRASE = "supervisor passphrase 1"
pytestmark = pytest.mark.skipif(shutil.which("systemd-creds") is None, reason="scripts/setup --test installs systemd")


def _provision(root, *args, passphrase_file):
    return subprocess.run(
        [sys.executable, str(REPO / "scripts/provision"), "--root", str(root),
         "--passphrase-file", str(passphrase_file), "--seal-with", "tpm2-absent",
         "--camera", "files", "--gpio", "disabled", *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def _config(config_path):
    return validate_config(tomllib.loads(config_path.read_text()))


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "pass"
    path.write_text(PASSPHRASE + "\n")
    return path


def test_credential_unit(tmp_path, passphrase_file):
    root = tmp_path / "root"
    result = _provision(root, "--name", "Unit 7", "--device-id", "unit-7", passphrase_file=passphrase_file)
    assert result.returncode == 0, result.stderr
    etc = root / "etc/fieldface"
    config = _config(etc / "config.toml")
    assert config.device.id == "unit-7" and config.device.name == "Unit 7" and config.hooks.unlock == "credential"
    # The sealed credential opens the store (what the units do at boot) ...
    plain = subprocess.run(["systemd-creds", "decrypt", "--name=fieldface-key",
                            str(root / "etc/credstore.encrypted/fieldface-key"), "-"],
                           capture_output=True, check=True).stdout  # fmt: skip
    data_dir = root / "var/lib/fieldface"
    store = open_store(data_dir, MasterSecret(plain.strip(), "credential"), config)
    # ... and so does the supervisor's passphrase (what ends a tamper lock).
    open_store(data_dir, MasterSecret(PASSPHRASE.encode(), "passphrase"), config).lock()
    # No copy of the plaintext key anywhere in the image.
    for path in root.rglob("*"):
        if path.is_file():
            assert plain.strip() not in path.read_bytes(), path
    audit = AuditLog(store)
    try:
        assert (etc / "device.pub").read_text() == f"unit-7 ed25519:{audit.signer.public_key_hex}\n"
        card = read_card((etc / "unit-card.json").read_text())  # signed, checks itself
        assert (card["unit"], card["audit_key"]) == ("unit-7", f"ed25519:{audit.signer.public_key_hex}")
        with store.connection() as conn:
            actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
        assert actions[-1] == "device.provision"
    finally:
        audit.close()
    csr = x509.load_pem_x509_csr((etc / "mqtt/client.csr").read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "unit-7"
    assert (etc / "mqtt/client.key").stat().st_mode & 0o777 == 0o640
    assert {"on-tamper", "on-unlock", "on-sync-ok"} <= {p.name for p in (etc / "hooks").iterdir()}
    assert "next:" in result.stdout
    # Provisioning twice is refused, and changes nothing.
    again = _provision(root, "--name", "Unit 8", passphrase_file=passphrase_file)
    assert again.returncode == 2 and "already" in again.stderr
    assert _config(etc / "config.toml").device.name == "Unit 7"


def test_passphrase_unit_and_a_short_passphrase(tmp_path, passphrase_file):
    short = tmp_path / "short"
    short.write_text("short\n")
    refused = _provision(tmp_path / "r1", "--name", "x", "--unlock", "passphrase", passphrase_file=short)
    assert refused.returncode == 2 and "at least" in refused.stderr
    root = tmp_path / "r2"
    result = _provision(root, "--name", "Unit 9", "--unlock", "passphrase", passphrase_file=passphrase_file)
    assert result.returncode == 0, result.stderr
    assert not (root / "etc/credstore.encrypted/fieldface-key").exists()
    config = _config(root / "etc/fieldface/config.toml")
    open_store(root / "var/lib/fieldface", MasterSecret(PASSPHRASE.encode(), "passphrase"), config).lock()
    dropin = root / "etc/systemd/system/fieldface-web.service.d/10-passphrase-only.conf"
    assert "LoadCredentialEncrypted=\n" in dropin.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="scripts/install runs as root")
def test_install_into_a_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for _ in range(2):  # the second run is an upgrade: the source is replaced cleanly
        result = subprocess.run([str(REPO / "scripts/install"), "--root", str(root), "--no-venv"],
                                capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
    src = root / "opt/fieldface/src"
    assert (src / "device/service.py").exists() and (src / "scripts/provision").exists()
    assert not list(src.rglob("__pycache__")) and not (root / "opt/fieldface/src.old").exists()
    shipped = sorted(p.name for p in (REPO / "systemd").glob("fieldface-*"))
    assert sorted(p.name for p in (root / "etc/systemd/system").glob("fieldface-*")) == shipped
    assert "fieldface:" in (root / "etc/passwd").read_text()
    assert (root / "var/lib/fieldface").stat().st_mode & 0o777 == 0o700
