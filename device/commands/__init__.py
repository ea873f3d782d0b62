"""Subcommands of the ``fieldface`` CLI, one module per capability (see device.cli)."""
