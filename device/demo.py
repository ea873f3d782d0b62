"""The demo unit: a data dir with its own random key, made once, for trying the box out.

Layout: ``<dir>/key`` (the demo's key file, mode 0600) and ``<dir>/data`` (the data dir). The
key sits next to the data only because this is a demo; a real unit keeps it in a TPM-sealed
systemd credential or in a person's head.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from device.errors import StoreError
from device.fsutil import write_atomic
from device.keys import MasterSecret
from device.store import Store, init_data_dir, is_data_dir, open_store

DEMO_DEVICE_ID = "demo-unit"


def ensure_demo(root: Path, config) -> Store:
    root = Path(root)
    key_path, data_dir = root / "key", root / "data"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not key_path.exists():
        if is_data_dir(data_dir):
            raise StoreError(f"{data_dir} exists but its key {key_path} is gone; delete {root} to start over")
        write_atomic(key_path, secrets.token_hex(32).encode() + b"\n", mode=0o600)
    secret = MasterSecret(key_path.read_bytes().strip(), "demo key file")
    if is_data_dir(data_dir):
        return open_store(data_dir, secret, config)
    return init_data_dir(data_dir, secret, config, device_id=DEMO_DEVICE_ID)
