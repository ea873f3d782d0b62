"""The "searching" activity marker the hooks daemon shows on the green LED (firmware_hooks/daemon.py).

While a search runs, ``<runtime dir>/activity/searching`` exists. Searches overlap (gunicorn
threads, the CLI), so ``searching`` is a folder holding one file per running search, named
``<pid>-<n>``; the last search to finish removes the folder. A finished search never puts out
another one's light. The marker is best effort: a missing or read-only runtime folder (a test, a
development checkout) must not stop a search, so a failure is logged once and ignored.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
ACTIVITY_DIR = "activity"
SEARCHING = "searching"


class Activity:
    def __init__(self, runtime_dir: Path | None):
        self.marker = Path(runtime_dir) / ACTIVITY_DIR / SEARCHING if runtime_dir else None
        self._ids = itertools.count(1)
        self._warned = False

    @contextlib.contextmanager
    def searching(self):
        """The marker exists while the block runs."""
        if self.marker is None:
            yield
            return
        mine = self.marker / f"{os.getpid()}-{next(self._ids)}"
        self._guard(lambda: self._raise(mine))
        try:
            yield
        finally:
            self._guard(lambda: self._lower(mine))

    def _raise(self, mine: Path) -> None:
        for _ in range(3):  # another search may remove the folder between mkdir and touch
            self.marker.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                mine.touch()
                return

    def _lower(self, mine: Path) -> None:
        mine.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another search still runs
            self.marker.rmdir()

    def _guard(self, action) -> None:
        try:
            action()
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot write the searching marker %s: %s", self.marker, exc)
