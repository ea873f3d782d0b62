"""Integrator scripts: every executable in ``<hooks dir>/on-<event>/`` runs when the event happens.

Scripts run in name order (``10-siren``, ``20-notify``), each with a timeout, with the event in
their environment (``FIELDFACE_EVENT``, ``FIELDFACE_REASON``, ...) and nothing on stdin. A failing
or hanging script is logged and skipped: a site's add-on must never stop a tamper lock. They run
on one worker thread behind a bounded queue, so a slow script delays only later scripts.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EVENTS = ("tamper", "lock", "unlock", "wipe", "sync-ok", "ready", "shutdown")


@dataclass(frozen=True)
class HookResult:
    path: Path
    returncode: int | None  # None: timed out or could not start
    output: str


class EventHooks:
    def __init__(self, root: Path, timeout_s: float = 10.0, env: dict | None = None):
        self.root = Path(root)
        self.timeout_s = timeout_s
        self._env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **(env or {})}

    def scripts(self, event: str) -> list[Path]:
        folder = self.root / f"on-{event}"
        if not folder.is_dir():
            return []
        return sorted(
            p for p in folder.iterdir()
            if p.is_file() and os.access(p, os.X_OK) and not p.name.startswith(".") and not p.name.endswith("~")
        )  # fmt: skip

    def run(self, event: str, details: dict | None = None) -> list[HookResult]:
        """Run the event's scripts now, one after another; never raises."""
        if event not in EVENTS:
            raise ValueError(f"unknown hook event {event!r} (known: {', '.join(EVENTS)})")
        env = {**self._env, "FIELDFACE_EVENT": event}
        env.update({f"FIELDFACE_{k.upper()}": str(v) for k, v in (details or {}).items()})
        results = []
        for path in self.scripts(event):
            try:
                done = subprocess.run(
                    [str(path)], env=env, cwd=path.parent, stdin=subprocess.DEVNULL, capture_output=True,
                    text=True, timeout=self.timeout_s, check=False,
                )  # fmt: skip
                result = HookResult(path, done.returncode, (done.stdout + done.stderr).strip())
            except subprocess.TimeoutExpired:
                result = HookResult(path, None, f"timed out after {self.timeout_s:g} s")
            except OSError as exc:
                result = HookResult(path, None, f"cannot run: {exc.strerror}")
            (log.info if result.returncode == 0 else log.error)(
                "hook %s: exit %s %s", path, result.returncode, result.output[:500]
            )
            results.append(result)
        return results


class DisabledHooks:
    def scripts(self, event: str) -> list[Path]:
        return []

    def run(self, event: str, details: dict | None = None) -> list[HookResult]:
        return []


class HookRunner:
    """Runs hooks off the caller's thread; a full queue drops (and logs) rather than blocks."""

    def __init__(self, hooks, maxsize: int = 32):
        self.hooks = hooks
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._work, name="event-hooks", daemon=True)
        self._thread.start()

    def fire(self, event: str, details: dict | None = None) -> None:
        try:
            self._queue.put_nowait((event, details))
        except queue.Full:
            log.error("hook queue full: on-%s dropped", event)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self.hooks.run(*item)
            self._queue.task_done()
        self._queue.task_done()

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


def event_hooks(config):
    return EventHooks(config.dir, config.timeout_s) if config.enabled else DisabledHooks()
