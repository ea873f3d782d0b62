"""Each kind of tampering with the stored log is found and the entry named."""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.audit import verify_store
from device.audit.entry import canonical, digest
from device.audit.signing import DeviceSigner, parse_public_key


def insert(seq, body):
    """An INSERT of a made-up entry whose hash matches its body."""
    sql = "INSERT INTO audit_log(seq, at, actor, role, action, outcome, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    return sql, (seq, "x", "mallory", "r", "a", "ok", canonical(body).decode(), bytes.fromhex(digest(body)))


def kinds(report):
    return [(p.kind, p.seq) for p in report.problems]


def test_an_honest_log_verifies(filled, public_key):
    report = verify_store(filled, public_key)
    assert report.ok and report.entries == 10 and report.head_seq == 10 and report.signed_seq == 10


def test_empty_log_verifies(audit, public_key):
    assert verify_store(audit, public_key).ok


def test_edited_entry(filled, public_key, tamper):
    tamper('UPDATE audit_log SET body = replace(body, \'"actor":"alice"\', \'"actor":"mallory"\') WHERE seq = 4')
    assert ("edited", 4) in kinds(verify_store(filled, public_key))


def test_edited_and_rehashed_entry(filled, public_key, tamper, store):
    with store.connection() as conn:
        body = conn.execute("SELECT body FROM audit_log WHERE seq = 4").fetchone()[0]
    new_body = body.replace('"n":4', '"n":40')
    new_hash = hashlib.sha256(new_body.encode()).hexdigest()
    tamper(("UPDATE audit_log SET body = ?, hash = ? WHERE seq = 4", (new_body, bytes.fromhex(new_hash))))
    assert kinds(verify_store(filled, public_key))[0] == ("edited", 4)


def test_deleted_entry(filled, public_key, tamper):
    tamper("DELETE FROM audit_log WHERE seq = 6")
    assert kinds(verify_store(filled, public_key))[0] == ("deleted", 6)


def test_reordered_entries(filled, public_key, tamper):
    tamper("UPDATE audit_log SET seq = -5 WHERE seq = 5", "UPDATE audit_log SET seq = 5 WHERE seq = 6",
           "UPDATE audit_log SET seq = 6 WHERE seq = -5")  # fmt: skip
    found = kinds(verify_store(filled, public_key))
    assert ("reordered", 5) in found and ("reordered", 6) in found


def test_inserted_entry_without_the_key(filled, public_key, tamper, store):
    """An intruder appends a made-up entry with a correct hash link: no signature covers it."""
    last = filled.entries()[-1]

    body = {**last.body(), "seq": 11, "actor": "mallory", "prev": last.hash}
    tamper(insert(11, body))
    assert ("inserted", 11) in kinds(verify_store(filled, public_key))


def test_inserted_in_the_middle_with_renumbering(filled, public_key, tamper, store):
    """Entries 6.. shifted up by one and a forged entry put at 6 linking to 5."""
    entries = filled.entries()
    forged = {**entries[4].body(), "seq": 6, "actor": "mallory", "prev": entries[4].hash}
    statements = ["UPDATE audit_log SET seq = seq + 100 WHERE seq >= 6"]
    statements += [("UPDATE audit_log SET seq = ? WHERE seq = ?", (s + 1, s + 100)) for s in range(6, 11)]
    statements.append(insert(6, forged))
    tamper(*statements)
    found = kinds(verify_store(filled, public_key))
    assert found[0] == ("inserted", 6)
    assert not any(kind == "reordered" for kind, _ in found), "the renumbering is explained by the insertion"


def test_truncated_tail_is_caught_by_the_checkpoints(filled, public_key, tamper):
    tamper("DELETE FROM audit_log WHERE seq > 7")
    assert ("truncated", 8) in kinds(verify_store(filled, public_key))


def test_truncated_tail_and_checkpoints_is_caught_by_the_receivers_ack(filled, public_key, tamper):
    filled.set_acked("central", 9, filled.entry_hash(9))
    tamper("DELETE FROM audit_log WHERE seq > 7", "DELETE FROM audit_checkpoint WHERE seq > 7")
    report = verify_store(filled, public_key)
    assert ("truncated", 8) in kinds(report)
    assert "receiver" in str(report.problems[0])


def test_truncation_against_an_outside_anchor(filled, public_key, tamper):
    tamper("DELETE FROM audit_log WHERE seq > 7", "DELETE FROM audit_checkpoint WHERE seq > 7")
    assert verify_store(filled, public_key).ok  # nothing local is left to tell ...
    found = kinds(verify_store(filled, public_key, expect=(9, None)))  # ... but a kept head does
    assert found == [("truncated", 8)]


def test_forged_checkpoint(filled, public_key, tamper):
    tamper("INSERT INTO audit_checkpoint VALUES (11, x'00', x'00', 'x')")
    assert ("forged", 11) in kinds(verify_store(filled, public_key))


def test_the_wrong_public_key_fails_every_signature(filled):
    other = parse_public_key(DeviceSigner(Ed25519PrivateKey.generate(), "x").public_key_hex)
    report = verify_store(filled, other)
    assert report.problems and {p.kind for p in report.problems} >= {"forged"}


@pytest.mark.parametrize("garbage", ["not json", '{"seq": 3}'])
def test_unreadable_rows_are_reported_not_crashed_on(filled, public_key, tamper, garbage):
    tamper(("UPDATE audit_log SET body = ? WHERE seq = 3", (garbage,)))
    assert ("edited", 3) in kinds(verify_store(filled, public_key))
