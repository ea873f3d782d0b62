"""The encrypted store: SQLCipher database, migrations, sealed files."""

from device.store.db import Store, init_data_dir, is_data_dir, open_store

__all__ = ["Store", "init_data_dir", "is_data_dir", "open_store"]
