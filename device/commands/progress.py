"""A progress line on stderr for long work: redrawn in place on a terminal, every 10% otherwise."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int, label: str, stream=None, width: int = 30):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last_decile = -1

    def update(self, done: int, note: str = "") -> None:
        self._draw(done, note)

    def _draw(self, done: int, note: str) -> None:
        fraction = done / self.total if self.total else 1.0
        rate = done / max(time.monotonic() - self.started, 1e-6)
        text = f"{self.label} {done}/{self.total} ({rate:.1f}/s){'  ' + note if note else ''}"
        if self.tty:
            filled = int(self.width * fraction)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text}\x1b[K")
            if done >= self.total:
                self.stream.write("\n")
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(text + "\n")
        self.stream.flush()
