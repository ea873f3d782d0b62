"""The device's Ed25519 audit key and what it signs: heads of the hash chain.

A signature over a head (device, seq, hash of entry seq) vouches for that entry and, through the
chain, for every entry before it; so one signature per commit (or per synced batch) covers a
whole group of entries. The private key is the HKDF subkey ``Purpose.AUDIT_SIGNING`` of the
store's root key: nothing extra to back up, and it exists only while the box is unlocked.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from device.errors import UsageError
from device.keys import KeyRing, Purpose

HEAD_DOMAIN = b"fieldface-audit-head/1"
EXPORT_END_DOMAIN = b"fieldface-audit-export-end/1"


def head_message(device: str, seq: int, hash_hex: str) -> bytes:
    # Domain-separated and unambiguous: device ids cannot hold a newline (config pattern).
    return b"\n".join((HEAD_DOMAIN, device.encode(), str(int(seq)).encode(), hash_hex.encode()))


def export_end_message(device: str, after: int, seq: int, hash_hex: str, count: int, exported_at: str) -> bytes:
    # Its own domain: a chain checkpoint cannot pass for the end of an export (and vice versa).
    parts = (
        EXPORT_END_DOMAIN,
        device,
        str(int(after)),
        str(int(seq)),
        hash_hex,
        str(int(count)),
        exported_at,
    )
    return b"\n".join(p if isinstance(p, bytes) else p.encode() for p in parts)


class DeviceSigner:
    def __init__(self, private_key: Ed25519PrivateKey, device: str):
        self._key = private_key
        self.device = device

    @classmethod
    def from_keyring(cls, keyring: KeyRing, device: str) -> DeviceSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(keyring.subkey(Purpose.AUDIT_SIGNING)), device)

    def sign_head(self, seq: int, hash_hex: str) -> str:
        return self.sign(head_message(self.device, seq, hash_hex))

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).hex()

    @property
    def public_key_hex(self) -> str:
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as printed by ``fieldface audit pubkey``: 64 hex digits, ``ed25519:`` optional."""
    value = text.strip().removeprefix("ed25519:")
    try:
        raw = bytes.fromhex(value)
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise UsageError(f"not an Ed25519 public key (64 hex digits): {text.strip()[:80]!r}") from None


def head_signature_valid(key: Ed25519PublicKey, device: str, seq: int, hash_hex: str, sig_hex: str) -> bool:
    return signature_valid(key, head_message(device, seq, hash_hex), sig_hex)


def signature_valid(key: Ed25519PublicKey, message: bytes, sig_hex: str) -> bool:
    try:
        key.verify(bytes.fromhex(sig_hex), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
