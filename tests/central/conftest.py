"""Central-side fixtures: the central store on SQLite and on a real PostgreSQL, with the test unit
registered; the broker, PKI and service fixtures of tests/sync."""

from __future__ import annotations

import pytest

from device.central.store import CentralStore, PostgresBackend
from tests.sync.conftest import broker, central_store, pki, register, registry, services  # noqa: F401 - fixtures
from tests.sync.postgres import Postgres, postgres_bin


@pytest.fixture(scope="session")
def postgres():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("Debian's postgresql package is not installed: PostgreSQL backend not tested")
    server = Postgres(bindir)
    server.start()
    yield server
    server.stop()


def fresh_postgres(server) -> CentralStore:
    """An empty database on the shared server (schema and roles dropped), migrated."""
    backend = PostgresBackend(server.dsn)
    conn = backend.connect()
    cur = conn.cursor()
    cur.execute("DROP SCHEMA public CASCADE")
    cur.execute("CREATE SCHEMA public")
    cur.execute("GRANT ALL ON SCHEMA public TO public")
    conn.commit()
    conn.close()
    return CentralStore(backend, create=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def central(request, tmp_path, audit):
    """The central store with the test unit registered, on each backend."""
    if request.param == "sqlite":
        store = central_store(tmp_path)
    else:
        store = fresh_postgres(request.getfixturevalue("postgres"))
    register(store, audit)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq(request, tmp_path):
    """An empty central store (no unit registered), on each backend: the gallery authority's tests."""
    from tests.sync.conftest import central_store as sqlite_store

    store = sqlite_store(tmp_path) if request.param == "sqlite" else fresh_postgres(request.getfixturevalue("postgres"))
    yield store
    store.close()
