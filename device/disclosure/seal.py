"""Sealing a package to its recipient: only the holder of the recipient's private key opens it.

The unit keeps no registry of recipients, so the recipient brings a key: ``fieldface package
keygen -o court.key`` (on any machine with fieldface) prints the public half, ``x25519:<hex>``,
which the unit's operator passes as ``--recipient``. The sealed file is::

    fieldface-sealed-package/1\\n
    {"ephemeral": hex, "nonce": hex, "recipient": hex}\\n
    AES-256-GCM(package) (its tag last)

The key is HKDF-SHA256 over X25519(ephemeral, recipient), salted with both public keys; the two
header lines are the AEAD's associated data, so neither can be swapped. ``fieldface package open
FILE --key @court.key -o case.zip`` gives back the signed package, which then verifies as usual.
Sealing hides the package from whoever carries it; the signature inside still says who made it.
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from device.disclosure.verify import SEALED as MAGIC
from device.errors import UsageError

INFO = b"fieldface-disclosure-seal/1"
MAX_HEADER = 1024


def _raw(key) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _hex32(text: str, prefix: str, what: str) -> bytes:
    value = text.strip().split()[-1] if text.strip() else ""
    value = value.removeprefix(prefix)
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise UsageError(f"not an X25519 {what} ({prefix}<64 hex digits>): {text.strip()[:80]!r}")
    return raw


def parse_recipient(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(_hex32(text, "x25519:", "public key"))


def parse_private(text: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_hex32(text, "x25519-private:", "private key"))


def keygen() -> tuple[str, str]:
    """``(private key text, public key text)`` for a recipient."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    return f"x25519-private:{private}\n", f"x25519:{_raw(key.public_key()).hex()}"


def fingerprint(recipient: X25519PublicKey) -> str:
    return "x25519:" + _raw(recipient).hex()


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=INFO).derive(shared)


def seal(package: bytes, recipient: X25519PublicKey) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    eph, rcp, nonce = _raw(ephemeral.public_key()), _raw(recipient), os.urandom(12)
    header = MAGIC + json.dumps({"ephemeral": eph.hex(), "nonce": nonce.hex(), "recipient": rcp.hex()},
                                sort_keys=True).encode() + b"\n"  # fmt: skip
    key = _key(ephemeral.exchange(recipient), eph, rcp)
    return header + AESGCM(key).encrypt(nonce, package, header)


def open_sealed(data: bytes, private: X25519PrivateKey) -> bytes:
    """The package inside; UsageError for a file that is not sealed, sealed to another key, or changed."""
    if not data.startswith(MAGIC):
        raise UsageError("not a sealed fieldface package")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    try:
        meta = json.loads(data[len(MAGIC) : end])
        eph, rcp, nonce = (bytes.fromhex(meta[k]) for k in ("ephemeral", "recipient", "nonce"))
        ephemeral = X25519PublicKey.from_public_bytes(eph)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the sealed package's header is damaged ({exc})") from None
    if end < 0:
        raise UsageError("the sealed package's header is damaged")
    if rcp != _raw(private.public_key()):
        raise UsageError(f"sealed to another recipient (x25519:{rcp.hex()[:16]}…), not to this key")
    header = data[: end + 1]
    try:
        return AESGCM(_key(private.exchange(ephemeral), eph, rcp)).decrypt(nonce, data[end + 1 :], header)
    except InvalidTag:
        raise UsageError("the sealed package was changed or cut short: it does not decrypt") from None
