"""AEAD for anything kept outside SQLCipher (the vector index cache, exported files).

Format: ``b"FFSEAL1\\0"`` + 12-byte nonce + AES-256-GCM ciphertext with tag. The caller's
``aad`` (for example gallery version and model id) is authenticated but not stored: opening
with different ``aad`` fails, so a stale or swapped file is detected, not silently used.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from device.fsutil import write_atomic

MAGIC = b"FFSEAL1\0"
NONCE_BYTES = 12


class SealError(ValueError):
    """The sealed data is damaged, was made with another key, or for another ``aad``."""


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, MAGIC + aad)


def unseal(key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + NONCE_BYTES + 16:
        raise SealError("not a fieldface sealed file")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[len(MAGIC) + NONCE_BYTES :], MAGIC + aad)
    except InvalidTag:
        raise SealError("authentication failed: damaged, another key, or another version") from None


def write_sealed(path: Path, key: bytes, plaintext: bytes, aad: bytes = b"") -> None:
    write_atomic(path, seal(key, plaintext, aad))


def read_sealed(path: Path, key: bytes, aad: bytes = b"") -> bytes:
    return unseal(key, Path(path).read_bytes(), aad)
