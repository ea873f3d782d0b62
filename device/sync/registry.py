"""The receiver's list of known devices and their audit public keys.

A text file, one device per line as printed by ``fieldface audit pubkey``::

    unit-07 ed25519:3b6a27bc...
    # comments and blank lines are ignored

Re-read when it changes, so enrolling a device needs no receiver restart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device.audit.signing import parse_public_key
from device.errors import ConfigError, UsageError

log = logging.getLogger(__name__)


class Registry:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._load()

    def _load(self) -> None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return
            text = self.path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"device registry {self.path}: {exc.strerror}") from None
        keys = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                device, key = line.split()
                keys[device] = parse_public_key(key)
            except (ValueError, UsageError) as exc:
                raise ConfigError(f"device registry {self.path} line {number}: {exc}") from None
        self._keys, self._stamp = keys, stamp
        log.info("device registry %s: %d device(s)", self.path, len(keys))

    def key(self, device: str) -> Ed25519PublicKey | None:
        if device not in self._keys:
            self._load()
        return self._keys.get(device)
