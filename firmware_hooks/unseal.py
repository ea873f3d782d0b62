"""Key sealing for unattended boot: the master secret as a systemd credential sealed to the TPM2.

At boot systemd itself unseals it (``LoadCredentialEncrypted=fieldface-key`` in the units) into
``$CREDENTIALS_DIRECTORY``, a non-swappable ramfs only the unit can read; device.keys reads it there.
This module is the provisioning side: seal a secret with ``systemd-creds encrypt`` and check that
the sealed file opens again on this machine before the plaintext is thrown away.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from device.errors import LockedError, UsageError

SEAL_WITH = ("tpm2", "host+tpm2", "host", "auto", "tpm2-absent")


def has_tpm2(systemd_creds: str = "systemd-creds") -> bool:
    """True when firmware, driver and systemd all support a TPM2 (``systemd-creds has-tpm2``)."""
    try:
        return subprocess.run([systemd_creds, "has-tpm2", "-q"], check=False, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def seal(secret_file: Path, sealed_file: Path, *, name: str, with_key: str = "tpm2",
         systemd_creds: str = "systemd-creds") -> None:  # fmt: skip
    """Encrypt ``secret_file`` to ``sealed_file`` for credential ``name``, then prove it decrypts.

    ``tpm2-absent`` encrypts with a null key (no protection): only for tests and bench units.
    """
    if with_key not in SEAL_WITH:
        raise UsageError(f"seal with one of {', '.join(SEAL_WITH)}, not {with_key!r}")
    sealed_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _run([systemd_creds, "encrypt", f"--with-key={with_key}", f"--name={name}", str(secret_file), str(sealed_file)])
    sealed_file.chmod(0o600)
    out = _run([systemd_creds, "decrypt", f"--name={name}", str(sealed_file), "-"], capture=True)
    if out.rstrip(b"\n") != secret_file.read_bytes().rstrip(b"\n"):
        sealed_file.unlink()
        raise LockedError(f"{sealed_file} does not decrypt to the secret it sealed; removed it")


def _run(argv: list[str], capture: bool = False) -> bytes:
    try:
        done = subprocess.run(argv, capture_output=True, check=False, timeout=60)
    except OSError as exc:
        raise LockedError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise LockedError(f"{' '.join(argv[:2])} failed: {message[-1] if message else done.returncode}")
    return done.stdout if capture else b""
