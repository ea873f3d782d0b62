"""The master secret, the key slots that it unlocks, and the per-purpose subkeys.

How the box is unlocked (LUKS-like, so that changing the passphrase never re-encrypts data):

* ``fieldface init`` makes a random 256-bit *root key*. Everything at rest is encrypted with
  subkeys derived from it by HKDF-SHA256, one per purpose (database, blobs, index, audit).
* The root key is stored only *wrapped*: AES-256-GCM under a key-encryption key that Argon2id
  derives from the master secret and a random salt. Salt, Argon2 cost and the wrapped key form a
  *slot* in ``<data dir>/keyslots`` (JSON; nothing in it is secret or personal).
* The master secret comes from, first match wins: the systemd credential
  ``$CREDENTIALS_DIRECTORY/<keys.credential_name>`` (so ``LoadCredentialEncrypted=`` and TPM2
  sealing work), the file named by ``$FIELDFACE_KEY_FILE``, or a passphrase typed at a prompt.
  A key file's bytes are the secret (trailing newline ignored); Argon2id is applied to every
  secret alike, since we cannot tell a random key file from a typed word.
* ``rekey`` wraps the same root key under a new secret and replaces the slot file atomically:
  instant, and a power cut leaves either the old or the new slot, never neither.

Keys live only in memory (``KeyRing``), in bytearrays that ``wipe()`` overwrites. Python may
have copied them elsewhere in the heap (bytes objects handed to OpenSSL/SQLCipher); wiping is
best effort, which is why a tampered box also stops the process (firmware_hooks).
"""

from __future__ import annotations

import base64
import enum
import getpass
import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device.config import KeysConfig
from device.errors import LockedError, StoreError, UsageError, WrongKeyError
from device.fsutil import read_user_file, write_atomic

ENV_KEY_FILE = "FIELDFACE_KEY_FILE"
KEYSLOTS_FILE = "keyslots"
SLOTS_FORMAT = "fieldface-keyslots/1"
ROOT_KEY_BYTES = 32
MAX_SECRET_BYTES = 4096


class Purpose(enum.Enum):
    """What a subkey is for; the value is the HKDF info label and must never change."""

    DATABASE = "fieldface/v1/sqlcipher"
    BLOBS = "fieldface/v1/blob-aead"
    INDEX = "fieldface/v1/index-aead"
    AUDIT_SIGNING = "fieldface/v1/audit-ed25519-seed"
    # The unit's X25519 key that agency bundles are wrapped for (its public half is on the unit
    # card); derived, never stored.
    BUNDLE_X25519 = "fieldface/v1/bundle-x25519"


@dataclass(frozen=True)
class MasterSecret:
    value: bytes
    source: str  # "credential", "key file", "passphrase": said in status, never the secret

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"MasterSecret(source={self.source!r})"


class KeyRing:
    """The unwrapped root key, held in memory; subkeys are derived on demand."""

    def __init__(self, root_key: bytes | bytearray, source: str = "unknown"):
        if len(root_key) != ROOT_KEY_BYTES:
            raise ValueError("root key must be 32 bytes")
        self._root = bytearray(root_key)
        self.source = source

    def subkey(self, purpose: Purpose) -> bytes:
        if not any(self._root):
            raise LockedError("the box is locked: keys were dropped from memory")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.value.encode())
        return hkdf.derive(bytes(self._root))

    @property
    def wiped(self) -> bool:
        return not any(self._root)

    def wipe(self) -> None:
        for i in range(len(self._root)):
            self._root[i] = 0

    def __repr__(self) -> str:
        return f"KeyRing(source={self.source!r}, wiped={self.wiped})"


# ---- where the master secret comes from -------------------------------------------------------


def _clean_secret(raw: bytes, where: str) -> bytes:
    value = raw.rstrip(b"\r\n")
    if not value:
        raise LockedError(f"{where} is empty")
    if len(value) > MAX_SECRET_BYTES:
        raise LockedError(f"{where} is larger than {MAX_SECRET_BYTES} bytes: not a key file")
    return value


def _read_secret_file(path: Path, what: str) -> bytes:
    return _clean_secret(read_user_file(path, what, LockedError), f"{what} {path}")


PromptFn = Callable[[str], str]


def obtain_secret(
    config: KeysConfig,
    env: Mapping[str, str] | None = None,
    prompt: PromptFn | None = None,
    interactive: bool | None = None,
) -> MasterSecret:
    """The master secret from the first source that has one; LockedError if none does."""
    env = os.environ if env is None else env
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / config.credential_name).exists():
        path = Path(cred_dir) / config.credential_name
        return MasterSecret(_read_secret_file(path, "systemd credential"), "credential")
    if env.get(ENV_KEY_FILE):
        return MasterSecret(_read_secret_file(Path(env[ENV_KEY_FILE]), "key file"), "key file")
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        raise LockedError(
            f"no key: set {ENV_KEY_FILE}, provide the systemd credential "
            f"'{config.credential_name}', or run interactively to type the passphrase"
        )
    prompt = prompt or getpass.getpass
    value = prompt("fieldface passphrase: ")
    return MasterSecret(_clean_secret(value.encode("utf-8"), "the passphrase"), "passphrase")


def new_passphrase(config: KeysConfig, prompt: PromptFn | None = None) -> MasterSecret:
    """Ask twice for a new passphrase and check its length."""
    prompt = prompt or getpass.getpass
    first = prompt("new passphrase: ")
    if len(first) < config.min_passphrase_length:
        raise UsageError(f"the passphrase must have at least {config.min_passphrase_length} characters")
    if prompt("repeat the new passphrase: ") != first:
        raise UsageError("the two passphrases differ; nothing was changed")
    return MasterSecret(first.encode("utf-8"), "passphrase")


def read_new_key_file(path: Path) -> MasterSecret:
    secret = _read_secret_file(path, "new key file")
    if len(secret) < 16:
        raise UsageError(f"new key file {path} holds fewer than 16 bytes: too weak to protect the store")
    return MasterSecret(secret, "key file")


# ---- key slots ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _kek(secret: bytes, salt: bytes, memory_kib: int, iterations: int, lanes: int) -> bytes:
    return Argon2id(
        salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=max(memory_kib, 8 * lanes)
    ).derive(secret)


def _slot_aad(slot: Mapping) -> bytes:
    # Binds the wrapped key to its own KDF parameters: a slot edited to a cheaper cost fails.
    return f"{SLOTS_FORMAT}|{slot['kdf']}|{slot['m']}|{slot['t']}|{slot['p']}|{slot['salt']}".encode()


def make_slot(root_key: bytes, secret: MasterSecret, config: KeysConfig) -> dict:
    slot = {
        "kdf": "argon2id",
        "m": config.argon2_memory_kib,
        "t": config.argon2_iterations,
        "p": config.argon2_lanes,
        "salt": _b64(secrets.token_bytes(16)),
    }
    kek = _kek(secret.value, _unb64(slot["salt"]), slot["m"], slot["t"], slot["p"])
    nonce = secrets.token_bytes(12)
    slot["nonce"] = _b64(nonce)
    slot["wrapped"] = _b64(AESGCM(kek).encrypt(nonce, root_key, _slot_aad(slot)))
    return slot


def read_slots(data_dir: Path) -> list[dict]:
    path = data_dir / KEYSLOTS_FILE
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{data_dir} is not a fieldface data dir (no {KEYSLOTS_FILE}); run 'fieldface init'") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is damaged: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != SLOTS_FORMAT or not doc.get("slots"):
        raise StoreError(f"{path} is not a key slot file this version understands")
    return doc["slots"]


def write_slots(data_dir: Path, slots: list[dict]) -> None:
    body = json.dumps({"format": SLOTS_FORMAT, "slots": slots}, indent=1).encode()
    write_atomic(data_dir / KEYSLOTS_FILE, body, mode=0o600)


def unlock(data_dir: Path, secret: MasterSecret) -> tuple[KeyRing, int]:
    """The key ring and the index of the slot that opened; WrongKeyError if none does."""
    for index, slot in enumerate(read_slots(data_dir)):
        try:
            kek = _kek(secret.value, _unb64(slot["salt"]), int(slot["m"]), int(slot["t"]), int(slot["p"]))
            root = AESGCM(kek).decrypt(_unb64(slot["nonce"]), _unb64(slot["wrapped"]), _slot_aad(slot))
        except InvalidTag:
            continue
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"{data_dir / KEYSLOTS_FILE}: slot {index} is damaged ({exc})") from None
        return KeyRing(root, source=secret.source), index
    raise WrongKeyError(f"the {secret.source} does not unlock {data_dir} (wrong key); nothing was changed")


def create_slots(data_dir: Path, secret: MasterSecret, config: KeysConfig) -> KeyRing:
    """New random root key, wrapped under ``secret``; the data dir must already exist."""
    root = secrets.token_bytes(ROOT_KEY_BYTES)
    write_slots(data_dir, [make_slot(root, secret, config)])
    return KeyRing(root, source=secret.source)


def rekey(data_dir: Path, current: MasterSecret, new: MasterSecret, config: KeysConfig) -> None:
    """Replace the slot that ``current`` opens with one for ``new``; data is untouched."""
    if new.value == current.value:
        raise UsageError("the new key is the same as the current one; nothing was changed")
    ring, index = unlock(data_dir, current)
    try:
        root = bytes(ring._root)
        slots = read_slots(data_dir)
        slots[index] = make_slot(root, new, config)
        write_slots(data_dir, slots)
    finally:
        ring.wipe()


def add_slot(data_dir: Path, current: MasterSecret, new: MasterSecret, config: KeysConfig) -> None:
    """Add a slot for ``new`` beside the one ``current`` opens (e.g. a supervisor's passphrase
    next to the TPM-sealed credential, so a tamper lock can be ended by a person)."""
    ring, _ = unlock(data_dir, current)
    try:
        slots = read_slots(data_dir)
        slots.append(make_slot(bytes(ring._root), new, config))
        write_slots(data_dir, slots)
    finally:
        ring.wipe()
