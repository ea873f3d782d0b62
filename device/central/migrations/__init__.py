"""The central store's schema: NNNN_topic.<dialect>.sql, applied by device/central/store.py."""
