"""The verifier's rules without a broker, on SQLite and PostgreSQL: idempotent storage, loud
refusals, gaps kept apart from rejects."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.audit.entry import digest
from device.audit.signing import DeviceSigner
from device.central.mqtt import MqttReceiver
from device.central.verifier import Verifier
from device.config import ReceiverConfig
from device.sync.protocol import ACK_GAP, ACK_OK, ACK_REJECTED, Ack, Batch
from tests.sync.conftest import DEVICE, fill


def handle(central, unit: str, payload: bytes) -> Ack:
    out = MqttReceiver(Verifier(central), ReceiverConfig()).on_batch(unit, payload)
    return Ack.decode(out[0][1])


def batch(audit, first: int, last: int, signer=None) -> bytes:
    entries = audit.entries(after=first - 1, limit=last - first + 1)
    tail = entries[-1]
    sig = (signer or audit.signer).sign_head(tail.seq, tail.hash)
    return Batch(DEVICE, entries, tail.seq, tail.hash, sig).encode()


def kinds(central):
    return [(kind, seq) for _unit, kind, seq, _detail in central.rejects()]


def test_in_order_batches_are_stored_and_acked(audit, central):
    fill(audit, 20)
    assert handle(central, DEVICE, batch(audit, 1, 10)).seq == 10
    ack = handle(central, DEVICE, batch(audit, 11, 20))
    assert (ack.status, ack.seq, ack.hash, ack.epoch) == (ACK_OK, 20, audit.entry_hash(20), 0)
    assert [r[0] for r in central.entries(DEVICE)] == list(range(1, 21))


def test_duplicates_and_overlaps_are_harmless(audit, central):
    fill(audit, 20)
    handle(central, DEVICE, batch(audit, 1, 10))
    assert handle(central, DEVICE, batch(audit, 1, 10)).status == ACK_OK
    assert handle(central, DEVICE, batch(audit, 5, 15)).seq == 15
    assert [r[0] for r in central.entries(DEVICE)] == list(range(1, 16))
    assert central.rejects() == []


def test_a_gap_is_answered_with_the_head_and_kept_apart_from_rejects(audit, central, caplog):
    fill(audit, 20)
    handle(central, DEVICE, batch(audit, 1, 5))
    with caplog.at_level("INFO"):
        ack = handle(central, DEVICE, batch(audit, 11, 20))
    assert (ack.status, ack.seq) == (ACK_GAP, 5)
    assert central.rejects() == [] and central.gaps(DEVICE) == 1
    assert [r.levelname for r in caplog.records if "gap" in r.getMessage()] == ["INFO"]
    assert len(central.entries(DEVICE)) == 5


def test_a_forged_entry_is_refused(audit, central):
    fill(audit, 5)
    entries = audit.entries()
    body = {**entries[2].body(), "actor": "mallory"}
    forged = [*entries[:2], type(entries[2]).from_body(body, entries[2].hash), *entries[3:]]
    payload = Batch(DEVICE, forged, 5, entries[-1].hash, audit.signer.sign_head(5, entries[-1].hash)).encode()
    assert handle(central, DEVICE, payload).status == ACK_REJECTED
    rehashed = [*entries[:2], type(entries[2]).from_body(body, digest(body)), *entries[3:]]
    payload = Batch(DEVICE, rehashed, 5, entries[-1].hash, audit.signer.sign_head(5, entries[-1].hash)).encode()
    assert handle(central, DEVICE, payload).status == ACK_REJECTED
    assert kinds(central) == [("forged", 3), ("broken-chain", 4)]
    assert central.entries(DEVICE) == []


def test_a_wrong_signature_is_refused(audit, central):
    fill(audit, 5)
    other = DeviceSigner(Ed25519PrivateKey.generate(), DEVICE)
    assert handle(central, DEVICE, batch(audit, 1, 5, signer=other)).status == ACK_REJECTED
    assert kinds(central) == [("bad-signature", 5)]


def test_a_fork_is_refused(audit, central):
    """History changed after delivery without an epoch entry (a data dir copied back by hand)."""
    fill(audit, 5)
    handle(central, DEVICE, batch(audit, 1, 5))
    entries = audit.entries()
    body = {**entries[4].body(), "actor": "someone-else"}
    other = type(entries[4]).from_body(body, digest(body))
    payload = Batch(DEVICE, [other], 5, other.hash, audit.signer.sign_head(5, other.hash)).encode()
    assert handle(central, DEVICE, payload).status == ACK_REJECTED
    assert kinds(central) == [("fork", 5)]
    assert central.entries(DEVICE)[-1][1] == entries[4].hash


def test_unknown_units_impostors_and_garbage_are_refused(audit, central):
    fill(audit, 3)
    assert handle(central, "unit-x", batch(audit, 1, 3)).status == ACK_REJECTED
    assert handle(central, DEVICE, b"not json").status == ACK_REJECTED
    central.add_unit("unit-b", "B", f"ed25519:{audit.signer.public_key_hex}", "{}", "test")
    assert handle(central, "unit-b", batch(audit, 1, 3)).status == ACK_REJECTED  # DEVICE's batch on unit-b
    assert [k for k, _ in kinds(central)] == ["unknown-device", "malformed", "impersonation"]
    assert central.entries(DEVICE) == []
