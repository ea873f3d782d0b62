"""fieldface: the appliance core (recognition, encrypted store, audit, sync).

Imports nothing from ``web`` or ``firmware_hooks``: those are doors into this package.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# One BLAS thread, set before numpy loads its OpenBLAS. After even a tiny matrix product (the face
# mesh's 468 points) OpenBLAS's extra threads spin-wait: measured, a process that analyses 10
# preview frames a second (~7 ms each) kept a whole second core busy doing nothing (0.99 cores;
# 0.08 with one BLAS thread). The appliance's parallelism is its request threads and TFLite's
# own, never BLAS. An operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("fieldface")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
