"""The central console over a real central store (SQLCipher, and a real PostgreSQL through the
console's own role), filled by the demo's simulated units through the one verifier."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from device.central import console_users
from device.central.console_db import ConsoleDb, ConsoleLog
from device.central.console_demo import DEMO_PASSWORD, fill_demo
from device.central.console_roles import ensure_console_role
from device.central.roles import ensure_roles
from device.central.store import PostgresBackend
from device.config import validate_config
from tests.central.conftest import fresh_postgres, postgres  # noqa: F401 - fixture
from tests.conftest import FAST_KEYS
from tests.sync.conftest import broker, central_store, pki  # noqa: F401 - fixtures

ACCOUNTS = {"auditor": ["auditor"], "supervisor": ["supervisor"], "admin": ["admin"]}


def console_config(**console):
    return validate_config({"keys": FAST_KEYS, "workflow": {"argon2_memory_kib": 64, "argon2_iterations": 1},
                            "console": console})  # fmt: skip


def make_store(request, tmp_path):
    """``(owner store, the backend the console uses)`` on the parametrised dialect."""
    if request.param == "sqlite":
        store = central_store(tmp_path)
        return store, store.backend
    server = request.getfixturevalue("postgres")
    store = fresh_postgres(server)
    ensure_roles(store, "fieldface_writer", "fieldface_auditor")
    ensure_console_role(store, "fieldface_console", "fieldface_auditor", "fieldface_writer")
    return store, PostgresBackend(server.dsn.replace("postgres@", "fieldface_console@"))


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request, tmp_path):
    """The demo's three units in a central store; console accounts made through the console's role."""
    store, backend = make_store(request, tmp_path)
    units = fill_demo(store, datetime.now(UTC))
    config = console_config()
    db = ConsoleDb(backend)
    log = ConsoleLog(db)
    for name, roles in ACCOUNTS.items():
        console_users.create(db, log, config, name, DEMO_PASSWORD, roles, by="test")
    yield store, backend, units, config
    store.close()


@pytest.fixture
def console(demo):
    from web.console import create_console

    _store, backend, _units, config = demo
    return create_console(config, backend)


def login(app, username: str):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def form_token(client, path: str = "/fleet") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
