"""The receiver's rules without a broker: idempotent storage, and loud refusals."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.audit.entry import digest
from device.audit.signing import DeviceSigner
from device.sync.central_store import CentralStore, PostgresBackend, SqliteBackend
from device.sync.protocol import ACK_GAP, ACK_OK, ACK_REJECTED, Batch
from device.sync.receiver import Receiver
from device.sync.registry import Registry
from tests.sync.conftest import DEVICE, fill
from tests.sync.postgres import Postgres, postgres_bin


@pytest.fixture(scope="module")
def postgres():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("Debian's postgresql package is not installed: PostgreSQL backend not tested")
    server = Postgres(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def central(request, tmp_path):
    if request.param == "sqlite":
        store = CentralStore(SqliteBackend(tmp_path / "central.db"))
    else:
        backend = PostgresBackend(request.getfixturevalue("postgres").dsn)
        conn = backend.connect()
        for table in ("audit_entries", "audit_heads", "audit_rejects"):
            conn.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        conn.commit()
        conn.close()
        store = CentralStore(backend)
    yield store
    store.close()


@pytest.fixture
def receiver(central, registry):
    return Receiver(central, Registry(registry))


def batch(audit, first: int, last: int, signer=None) -> bytes:
    entries = [e for e in audit.entries(after=first - 1, limit=last - first + 1)]
    tail = entries[-1]
    sig = (signer or audit.signer).sign_head(tail.seq, tail.hash)
    return Batch(DEVICE, entries, tail.seq, tail.hash, sig).encode()


def kinds(central):
    return [(kind, seq) for _device, kind, seq, _detail in central.rejects()]


def test_in_order_batches_are_stored_and_acked(audit, receiver, central):
    fill(audit, 20)
    assert receiver.handle(DEVICE, batch(audit, 1, 10)).seq == 10
    ack = receiver.handle(DEVICE, batch(audit, 11, 20))
    assert (ack.status, ack.seq, ack.hash) == (ACK_OK, 20, audit.entry_hash(20))
    assert [r[0] for r in central.entries(DEVICE)] == list(range(1, 21))


def test_duplicates_and_overlaps_are_harmless(audit, receiver, central):
    fill(audit, 20)
    receiver.handle(DEVICE, batch(audit, 1, 10))
    assert receiver.handle(DEVICE, batch(audit, 1, 10)).status == ACK_OK
    assert receiver.handle(DEVICE, batch(audit, 5, 15)).seq == 15
    assert [r[0] for r in central.entries(DEVICE)] == list(range(1, 16))
    assert central.rejects() == []


def test_a_gap_is_refused_with_the_receivers_head(audit, receiver, central):
    fill(audit, 20)
    receiver.handle(DEVICE, batch(audit, 1, 5))
    ack = receiver.handle(DEVICE, batch(audit, 11, 20))
    assert (ack.status, ack.seq) == (ACK_GAP, 5)
    assert kinds(central) == [("gap", 6)]
    assert len(central.entries(DEVICE)) == 5


def test_a_forged_entry_is_refused(audit, receiver, central):
    fill(audit, 5)
    entries = audit.entries()
    body = {**entries[2].body(), "actor": "mallory"}
    forged = [*entries[:2], type(entries[2]).from_body(body, entries[2].hash), *entries[3:]]
    payload = Batch(DEVICE, forged, 5, entries[-1].hash, audit.signer.sign_head(5, entries[-1].hash)).encode()
    assert receiver.handle(DEVICE, payload).status == ACK_REJECTED
    rehashed = [*entries[:2], type(entries[2]).from_body(body, digest(body)), *entries[3:]]
    payload = Batch(DEVICE, rehashed, 5, entries[-1].hash, audit.signer.sign_head(5, entries[-1].hash)).encode()
    assert receiver.handle(DEVICE, payload).status == ACK_REJECTED
    assert kinds(central) == [("forged", 3), ("broken-chain", 4)]
    assert central.entries(DEVICE) == []


def test_a_wrong_signature_is_refused(audit, receiver, central):
    fill(audit, 5)
    other = DeviceSigner(Ed25519PrivateKey.generate(), DEVICE)
    assert receiver.handle(DEVICE, batch(audit, 1, 5, signer=other)).status == ACK_REJECTED
    assert kinds(central) == [("bad-signature", 5)]


def test_a_fork_is_refused(audit, receiver, central, store):
    """The device's history changed after delivery (a restored backup that went on differently)."""
    fill(audit, 5)
    receiver.handle(DEVICE, batch(audit, 1, 5))
    entries = audit.entries()
    body = {**entries[4].body(), "actor": "someone-else"}
    other = type(entries[4]).from_body(body, digest(body))
    payload = Batch(DEVICE, [other], 5, other.hash, audit.signer.sign_head(5, other.hash)).encode()
    assert receiver.handle(DEVICE, payload).status == ACK_REJECTED
    assert kinds(central) == [("fork", 5)]
    assert central.entries(DEVICE)[-1][1] == entries[4].hash


def test_unknown_devices_impostors_and_garbage_are_refused(audit, receiver, central):
    fill(audit, 3)
    assert receiver.handle("unit-x", batch(audit, 1, 3)).status == ACK_REJECTED
    assert receiver.handle(DEVICE, b"not json").status == ACK_REJECTED
    registry_text = receiver.registry.path.read_text()
    receiver.registry.path.write_text(registry_text + f"unit-b ed25519:{audit.signer.public_key_hex}\n")
    assert receiver.handle("unit-b", batch(audit, 1, 3)).status == ACK_REJECTED  # DEVICE's batch on unit-b
    assert [k for k, _ in kinds(central)] == ["unknown-device", "malformed", "impersonation"]
    assert central.entries(DEVICE) == []
