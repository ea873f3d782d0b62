"""Workflow fixtures: a real store with the real models, a small gallery and four users."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from device.config import validate_config
from device.gallery import Gallery
from device.workflow import Workflow
from tests.conftest import FAST_KEYS
from tests.gallery.conftest import enroll_people
from tests.vision.conftest import photo_bytes

# Argon2id at 64 KiB / 1 pass for user passwords: the production code path, made cheap.
FAST_WORKFLOW = {"argon2_memory_kib": 64, "argon2_iterations": 1}
PASSWORD = "correct horse battery"
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


# The "searching" marker goes to a folder of the test run's, never the real /run/fieldface.
RUNTIME_DIR = Path(tempfile.gettempdir()) / f"fieldface-tests-run-{os.getpid()}"


def workflow_config(**workflow):
    return validate_config({"keys": FAST_KEYS, "workflow": {**FAST_WORKFLOW, **workflow},
                            "hooks": {"runtime_dir": str(RUNTIME_DIR)}})  # fmt: skip


class Clock:
    """A settable UTC clock: lockout and idle timeouts without sleeping."""

    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


def make_workflow(store, recognizer, clock=None) -> Workflow:
    """A workflow over ``store`` with the small gallery of tests/gallery enrolled."""
    config = workflow_config()
    gallery = Gallery(store, recognizer, config)
    enroll_people(gallery)
    return Workflow(store, gallery.audit, gallery, config, clock=clock or Clock())


@pytest.fixture
def wf(store, recognizer, clock):
    return make_workflow(store, recognizer, clock)


def make_people(wf) -> dict:
    """supervisor (first run), examiner, peer (reviewer), auditor, and a second examiner."""
    boss = wf.first_run("boss", "Supervisor", PASSWORD, NEXT_YEAR)
    made = {"boss": boss}
    for name, roles in (("exa", ["examiner"]), ("peer", ["reviewer", "examiner"]), ("aud", ["auditor"]),
                        ("exb", ["examiner"])):  # fmt: skip
        made[name] = wf.create_user(boss, name, name.title(), PASSWORD, roles, NEXT_YEAR)
    return made


@pytest.fixture
def people(wf):
    return make_people(wf)


def probe(name: str = "obama2.jpg") -> bytes:
    return photo_bytes(name)
