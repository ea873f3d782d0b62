"""The agency's publishing key: an Ed25519 seed in a key file or systemd credential, never in the
central store (a database dump or a console bug cannot leak it).

Found as ``$CREDENTIALS_DIRECTORY/fieldface-agency-key`` (``LoadCredentialEncrypted=`` on the
publishing host) or the file named by ``$FIELDFACE_AGENCY_KEY_FILE``; the file holds 64 hex digits.
Images and embeddings kept centrally are sealed (AES-256-GCM) under an HKDF subkey of that seed,
so on PostgreSQL, where the database itself is not encrypted, they are still unreadable without it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device.errors import LockedError, StoreError, UsageError
from device.fsutil import read_user_file, write_atomic
from device.gallery.bundle import agency_public_text

CREDENTIAL = "fieldface-agency-key"
ENV_KEY_FILE = "FIELDFACE_AGENCY_KEY_FILE"
SEAL_INFO = b"fieldface/v1/central-gallery-seal"


class AgencyKey:
    def __init__(self, seed: bytes):
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = agency_public_text(self.private)
        seal_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_INFO).derive(seed)
        self._aead = AESGCM(seal_key)

    def seal(self, data: bytes, label: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, data, label.encode())

    def unseal(self, blob: bytes, label: str) -> bytes:
        blob = bytes(blob)
        try:
            return self._aead.decrypt(blob[:12], blob[12:], label.encode())
        except InvalidTag:
            raise StoreError(
                f"central image {label} does not open with this agency key (another key, or damaged)"
            ) from None

    def __repr__(self) -> str:
        return f"AgencyKey({self.public})"


def key_path(env) -> Path:
    cred = env.get("CREDENTIALS_DIRECTORY")
    if cred and (Path(cred) / CREDENTIAL).exists():
        return Path(cred) / CREDENTIAL
    if env.get(ENV_KEY_FILE):
        return Path(env[ENV_KEY_FILE])
    raise LockedError(
        f"no agency key: provide the systemd credential '{CREDENTIAL}' or set {ENV_KEY_FILE} "
        "(make one with 'fieldface central agency-key --new FILE')"
    )


def load(env=None) -> AgencyKey:
    path = key_path(os.environ if env is None else env)
    text = read_user_file(path, "agency key file", LockedError).decode("ascii", "replace").strip()
    try:
        seed = bytes.fromhex(text)
        if len(seed) != 32:
            raise ValueError
    except ValueError:
        raise LockedError(f"agency key file {path}: not 64 hex digits") from None
    return AgencyKey(seed)


def generate(path: Path) -> AgencyKey:
    if path.exists():
        raise UsageError(f"{path} exists: an agency key is never overwritten (units trust it)")
    seed = secrets.token_bytes(32)
    write_atomic(path, seed.hex().encode() + b"\n", mode=0o600)
    return AgencyKey(seed)
