"""Fixtures for sync tests: a test PKI, a real mosquitto per test, receiver and publisher threads."""

from __future__ import annotations

import json
import threading
import time

import pytest

from device.audit import AuditLog
from device.audit.entry import Entry
from device.audit.signing import parse_public_key
from device.audit.verify import ChainChecker
from device.config import validate_config
from device.sync.central_store import CentralStore, SqliteBackend
from device.sync.service import run_publisher, run_receiver
from tests.conftest import FAST_KEYS
from tests.sync.broker import Broker
from tests.sync.pki import CA

DEVICE = "test-unit"  # the store fixture's device id, and the CN of its client certificate


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder, "test-ca")
    rogue = CA(folder, "rogue-ca")
    certs = {name: ca.issue(name) for name in ("receiver", DEVICE, "unit-b")}
    certs["server"] = ca.issue("server", server=True)
    rogue_folder = folder / "rogue"
    rogue_folder.mkdir()
    rogue.folder = rogue_folder
    certs["rogue"] = rogue.issue(DEVICE)
    return {"ca": ca.ca_file, **certs}


@pytest.fixture
def broker(tmp_path, pki):
    folder = tmp_path / "broker"
    folder.mkdir()
    b = Broker(folder, pki["ca"], *pki["server"])
    b.start()
    yield b
    b.stop()


def make_config(pki, port: int, who: str = DEVICE, *, tmp_path=None, **sync):
    cert, key = pki[who]
    broker = {
        "host": "127.0.0.1",
        "port": port,
        "ca_file": str(pki["ca"]),
        "cert_file": str(cert),
        "key_file": str(key),
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 2,
        "keepalive_s": 5,
    }
    rcert, rkey = pki["receiver"]
    receiver_broker = {**broker, "cert_file": str(rcert), "key_file": str(rkey)}
    data = {
        "keys": FAST_KEYS,
        "sync": {
            "broker": broker,
            "batch_size": 100,
            "window": 4,
            "ack_timeout_s": 2,
            "poll_s": 0.05,
            **sync,
        },
    }
    if tmp_path is not None:
        data["receiver"] = {
            "broker": receiver_broker,
            "registry": str(tmp_path / "devices.txt"),
            "database": str(tmp_path / "central.db"),
        }
    return validate_config(data)


@pytest.fixture
def registry(tmp_path, audit):
    path = tmp_path / "devices.txt"
    path.write_text(f"# known devices\n{DEVICE} ed25519:{audit.signer.public_key_hex}\n")
    return path


class Running:
    """A service function run in a thread with its own stop event, stopped and joined on demand."""

    def __init__(self, fn, *args, **kwargs):
        self.stop_event = threading.Event()
        self.result: list = []
        self.thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, fn, args, kwargs):
        try:
            self.result.append(fn(*args, stop=self.stop_event, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which re-raises it
            self.result.append(exc)

    def stop(self, timeout: float = 20) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "service did not stop within its timeout"
        if self.result and isinstance(self.result[0], BaseException):
            raise self.result[0]


@pytest.fixture
def services():
    running: list[Running] = []

    def start(kind: str, *args, **kwargs) -> Running:
        fn = {"receiver": run_receiver, "publisher": run_publisher}[kind]
        ready = threading.Event()
        if kind == "receiver":
            kwargs["ready"] = ready
        r = Running(fn, *args, **kwargs)
        running.append(r)
        if kind == "receiver":
            wait_for(lambda: ready.is_set() or not r.thread.is_alive(), 15, "the receiver's subscription")
        return r

    yield start
    for r in reversed(running):
        if r.thread.is_alive():
            r.stop()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def central_rows(path, device=DEVICE):
    store = CentralStore(SqliteBackend(path))
    try:
        return store.entries(device), store.head(device), store.rejects()
    finally:
        store.close()


def assert_delivered(path, audit: AuditLog) -> None:
    """Central store == local log: nothing lost, nothing duplicated, chain and signature verified."""
    rows, (head_seq, head_hash), _ = central_rows(path, audit.device_id)
    local = audit.entries()
    assert [r[0] for r in rows] == [e.seq for e in local], "central seqs differ from the local log"
    assert [r[1] for r in rows] == [e.hash for e in local]
    assert [r[2] for r in rows] == [e.canonical().decode() for e in local]
    store = CentralStore(SqliteBackend(path))
    try:
        cur = store._conn.execute("SELECT seq, hash, sig FROM audit_heads WHERE device = ?", (audit.device_id,))
        seq, hash_hex, sig = cur.fetchone()
    finally:
        store.close()
    checker = ChainChecker(audit.device_id, parse_public_key(audit.signer.public_key_hex))
    for _seq, hash_hex_row, body in rows:
        checker.feed(Entry.from_body(json.loads(body), hash_hex_row))
    checker.signed_head(seq, hash_hex, sig, "receiver head")
    report = checker.finish()
    assert report.ok, report.problems
    assert (head_seq, head_hash) == (local[-1].seq, local[-1].hash)


def fill(audit: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record("candidate.view", actor="alice", role="examiner", case="C-1", details={"i": i})
