"""fieldface: the appliance core (recognition, encrypted store, audit, sync).

Imports nothing from ``web`` or ``firmware_hooks``: those are doors into this package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fieldface")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
