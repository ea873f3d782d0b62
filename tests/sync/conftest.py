"""Fixtures for sync tests: a test PKI, a real mosquitto per test, receiver and publisher threads."""

from __future__ import annotations

import json
import threading
import time

import pytest

from device.audit import AuditLog
from device.audit.card import make_card
from device.audit.entry import Entry
from device.audit.signing import parse_public_key
from device.audit.verify import ChainChecker
from device.central.mqtt import run_receiver
from device.central.store import DB_FILE, CentralStore, SqliteBackend, backend_for
from device.config import KeysConfig, validate_config
from device.keys import MasterSecret
from device.sync.service import run_publisher
from tests.conftest import FAST_KEYS
from tests.sync.broker import RECEIVERS, Broker
from tests.sync.pki import CA

DEVICE = "test-unit"  # the store fixture's device id, and the CN of its client certificate
RECEIVER = RECEIVERS[0]


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder, "test-ca")
    rogue = CA(folder, "rogue-ca")
    certs = {name: ca.issue(name) for name in (*RECEIVERS, DEVICE, "unit-b")}
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


def make_config(
    pki, port: int, who: str = DEVICE, *, tmp_path=None, receiver: str = RECEIVER, receiver_extra=None, **sync
):
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
    rcert, rkey = pki[receiver]
    receiver_broker = {**broker, "cert_file": str(rcert), "key_file": str(rkey)}
    data = {
        "keys": FAST_KEYS,
        "sync": {
            "broker": broker,
            "batch_size": 100,
            "window": 4,
            "ack_timeout_s": 2,
            "poll_s": 0.05,
            "heartbeat_s": 0.5,
            **sync,
        },
    }
    if tmp_path is not None:
        data["receiver"] = {"broker": receiver_broker, "client_id": receiver, **(receiver_extra or {})}
        data["central"] = {"store_dir": str(tmp_path / "central")}
    return validate_config(data)


CENTRAL_SECRET = b"the central test key, never a real one"


def central_env(tmp_path) -> dict:
    """The environment that opens the tests' central store: its key file, as an operator's."""
    path = tmp_path / "central.key"
    if not path.exists():
        path.write_bytes(CENTRAL_SECRET + b"\n")
        path.chmod(0o600)
    return {"FIELDFACE_KEY_FILE": str(path)}


def central_store(tmp_path) -> CentralStore:
    """The tests' SQLCipher central store in tmp_path/central (made on first use)."""
    backend = SqliteBackend(
        tmp_path / "central" / DB_FILE, MasterSecret(CENTRAL_SECRET, "key file"), KeysConfig(**FAST_KEYS)
    )
    return CentralStore(backend, create=True)


def register(store: CentralStore, audit: AuditLog, name: str = "Test unit") -> None:
    card = make_card(audit, name)
    store.add_unit(card["unit"], name, card["audit_key"], "{}", "test")


@pytest.fixture
def registry(tmp_path, audit):
    """The central store with the test unit registered from its card."""
    store = central_store(tmp_path)
    register(store, audit)
    store.close()
    return tmp_path / "central"


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
        fn = {"receiver": _receiver, "publisher": run_publisher}[kind]
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


def _receiver(cfg, **kwargs):
    env = central_env(cfg.central.store_dir.parent)
    return run_receiver(cfg.receiver, CentralStore(backend_for(cfg, env=env)), **kwargs)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def central_rows(tmp_path, device=DEVICE):
    """``(entries of the current lineage, head, rejects)`` of the tests' central store."""
    store = central_store(tmp_path)
    try:
        return store.entries(device), store.head(device), store.rejects()
    finally:
        store.close()


def assert_delivered(tmp_path, audit: AuditLog) -> None:
    """Central store == local log: nothing lost, nothing duplicated, chain and signature verified."""
    rows, (head_seq, head_hash), _ = central_rows(tmp_path, audit.device_id)
    local = audit.entries()
    assert [r[0] for r in rows] == [e.seq for e in local], "central seqs differ from the local log"
    assert [r[1] for r in rows] == [e.hash for e in local]
    assert [r[2] for r in rows] == [e.canonical().decode() for e in local]
    store = central_store(tmp_path)
    try:
        heads = store.heads(audit.device_id)
        seq, hash_hex, sig = heads[max(heads)]
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
