"""Background work the web app owns: long jobs (operational tests) on an executor it shuts down.

One worker thread: an operational test embeds every photo on the box's two cores with the same
recognizer the searches use, so two at once would only slow both and every search. The jobs'
progress records live on the ``Jobs`` object in ``app.extensions`` (no module state), the newest
``KEPT`` of them, for the progress page. ``shutdown(app)`` (gunicorn's worker exit, tests) waits
for a running job to finish its current photo set; nothing is left half-written, since a job
stores its result in one transaction at its end.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

log = logging.getLogger(__name__)
KEPT = 20
EXTENSION = "fieldface_jobs"


@dataclass
class Job:
    id: str
    owner: str
    label: str
    total: int
    started: float
    done: int = 0
    state: str = "running"  # running | done | failed
    result_id: int | None = None
    error: str | None = None


class Jobs:
    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldface-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def running(self) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.state == "running"), None)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def submit(self, owner: str, label: str, total: int, work) -> Job | None:
        """Start ``work(job)`` unless a job is running (then None). ``work`` sets ``result_id``; an
        exception it raises is the job's failure, with ``describe_error`` deciding what is shown."""
        with self._lock:
            if any(j.state == "running" for j in self._jobs.values()):
                return None
            for old in sorted(self._jobs.values(), key=lambda j: j.started)[: max(0, len(self._jobs) - KEPT + 1)]:
                del self._jobs[old.id]
            job = Job(secrets.token_urlsafe(9), owner, label, total, time.time())
            self._jobs[job.id] = job
        self._executor.submit(self._run, job, work)
        return job

    @staticmethod
    def _run(job: Job, work) -> None:
        try:
            work(job)
            job.state = "done"
        except Exception as exc:  # noqa: BLE001 - the job's failure, said on its page; the unit keeps serving
            job.error, job.state = describe_error(exc, job), "failed"

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)


def describe_error(exc: Exception, job: Job) -> str:
    from device.errors import FieldfaceError

    if isinstance(exc, FieldfaceError):
        return str(exc)
    if isinstance(exc, OSError):  # the stick pulled out mid-run, an unreadable photo
        return f"cannot read the photos: {exc.strerror or exc} ({exc.filename})"
    log.error("background job %s failed", job.id, exc_info=exc)
    return "internal error; the details are in the unit's log"


def jobs(app) -> Jobs:
    return app.extensions[EXTENSION]


def attach(app) -> None:
    app.extensions[EXTENSION] = Jobs()


def shutdown(app) -> None:
    found = app.extensions.pop(EXTENSION, None)
    if found is not None:
        found.shutdown()
