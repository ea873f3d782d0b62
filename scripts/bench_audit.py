#!/usr/bin/env python3
"""Audit log and sync benchmark: prints numbers, asserts nothing.

    .venv/bin/python scripts/bench_audit.py [--backlog 100000] [--threads 16]

1. durable append latency: one caller, each record() fsync'd before it returns
2. appends/s under concurrency (group commit) beside the naive way: one transaction per entry
3. sync throughput to a local mosquitto (TLS, client certs) with end-to-end acks
4. time to drain a backlog (default 100k entries) through the same path

Needs mosquitto (scripts/setup --test). Everything runs in a temp dir on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from device.audit import AuditLog, Draft  # noqa: E402
from device.audit.card import make_card  # noqa: E402
from device.central.mqtt import run_receiver  # noqa: E402
from device.central.store import CentralStore, SqliteBackend  # noqa: E402
from device.config import KeysConfig, validate_config  # noqa: E402
from device.keys import MasterSecret  # noqa: E402
from device.store import init_data_dir  # noqa: E402
from device.sync.service import run_publisher  # noqa: E402
from tests.conftest import FAST_KEYS  # noqa: E402
from tests.sync.broker import Broker  # noqa: E402
from tests.sync.pki import CA  # noqa: E402

DEVICE = "bench-unit"

CENTRAL_KEY = MasterSecret(b"bench central key, not a real one", "key file")


def new_log(root: Path, name: str, device: str = DEVICE) -> AuditLog:
    cfg = validate_config({"keys": FAST_KEYS})
    store = init_data_dir(root / name, MasterSecret(b"bench-secret-bench-secret", "key file"), cfg, device)
    return AuditLog(store)


def record(log: AuditLog, i: int) -> None:
    log.record(
        "candidate.view",
        actor="bench",
        role="examiner",
        case="C-1",
        object=f"subject:{i}",
        details={"rank": i % 10, "probe_sha256": "ab" * 32},
    )


def latency(root: Path, n: int = 300) -> None:
    log = new_log(root, "latency")
    samples = []
    for i in range(n):
        t = time.perf_counter()
        record(log, i)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    print(
        f"durable append latency, 1 caller, {n} appends: median {statistics.median(samples):.2f} ms, "
        f"p99 {samples[int(n * 0.99) - 1]:.2f} ms  (fsync per append)"
    )


def concurrent(root: Path, threads: int, per_thread: int) -> None:
    log = new_log(root, f"group-{threads}")
    total = threads * per_thread
    t = time.perf_counter()
    run_threads(threads, lambda k: [record(log, k * per_thread + i) for i in range(per_thread)])
    rate = total / (time.perf_counter() - t)
    with log._store.connection() as conn:
        commits = conn.execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0]
    print(
        f"group commit:   {threads} threads x {per_thread}: {rate:8.0f} appends/s "
        f"({total / commits:.1f} entries per fsync)"
    )

    naive = new_log(root, f"naive-{threads}")
    naive_total = threads * max(per_thread // 10, 20)

    def one_tx_per_entry(k):
        # The naive way: every caller commits its own entry in its own transaction (synchronous=FULL).
        with naive._store.connection() as conn:
            for i in range(naive_total // threads):
                with naive._store.transaction(conn):
                    naive.append_in(
                        conn,
                        [
                            Draft(
                                "candidate.view",
                                "bench",
                                "examiner",
                                f"subject:{i}",
                                "C-1",
                                details={"rank": i % 10, "probe_sha256": "ab" * 32},
                            )
                        ],
                    )

    t = time.perf_counter()
    run_threads(threads, one_tx_per_entry)
    rate = naive_total / (time.perf_counter() - t)
    print(f"naive:          {threads} threads, one transaction + fsync per entry: {rate:8.0f} appends/s")


def run_threads(n, fn) -> None:
    workers = [threading.Thread(target=fn, args=(k,)) for k in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def fill_fast(log: AuditLog, n: int) -> None:
    """A backlog, written as the group commit would under load (1,000 entries per commit)."""
    for start in range(0, n, 1000):
        with log._store.transaction() as conn:
            log.append_in(
                conn,
                [
                    Draft("candidate.view", "bench", "examiner", f"subject:{i}", "C-1", details={"rank": i % 10})
                    for i in range(start, min(n, start + 1000))
                ],
            )


def sync_bench(root: Path, backlog: int) -> None:
    pki_dir = root / "pki"
    pki_dir.mkdir()
    ca = CA(pki_dir, "bench-ca")
    server, receiver = ca.issue("server", server=True), ca.issue("central-receiver-1")
    (root / "broker").mkdir()
    broker = Broker(root / "broker", ca.ca_file, *server)
    broker.start()
    try:
        for label, n in (("sync throughput", min(20_000, backlog)), ("drain backlog", backlog)):
            # A device (and certificate) per run: the retained ack of one run must not meet another log.
            device_id = f"bench-{label.split()[0]}"
            device = ca.issue(device_id)
            log = new_log(root, f"sync-{device_id}", device_id)
            fill_fast(log, n)
            central = CentralStore(
                SqliteBackend(root / f"central-{device_id}" / "central.db", CENTRAL_KEY, KeysConfig(**FAST_KEYS)),
                create=True,
            )
            card = make_card(log, device_id)
            central.add_unit(device_id, device_id, card["audit_key"], "{}", "bench")
            base = {"host": "127.0.0.1", "port": broker.port, "ca_file": str(ca.ca_file)}
            cfg = validate_config(
                {
                    "keys": FAST_KEYS,
                    "sync": {
                        "broker": {**base, "cert_file": str(device[0]), "key_file": str(device[1])},
                        "batch_size": 1000,
                        "window": 8,
                        "poll_s": 0.05,
                    },
                    "receiver": {
                        "broker": {**base, "cert_file": str(receiver[0]), "key_file": str(receiver[1])},
                        "client_id": f"receiver-{device_id}",
                    },
                }
            )
            stop, ready = threading.Event(), threading.Event()
            rx = threading.Thread(target=run_receiver, args=(cfg.receiver, central),
                                  kwargs={"stop": stop, "ready": ready})  # fmt: skip
            rx.start()
            ready.wait(15)
            t = time.perf_counter()
            code = run_publisher(log, cfg.sync, once_timeout=300)
            elapsed = time.perf_counter() - t
            stop.set()
            rx.join(30)
            acked = log.acked("central")[0]
            print(
                f"{label}: {n} entries acked end to end in {elapsed:.1f} s = {acked / elapsed:8.0f} entries/s "
                f"(exit {code}, acked {acked})"
            )
    finally:
        broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--threads", default="8,16,64", help="concurrent callers, comma-separated")
    parser.add_argument("--per-thread", type=int, default=1000)
    parser.add_argument("--dir", help="where to put the temp stores (default: /tmp); fsync cost depends on it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-", dir=args.dir) as tmp:
        root = Path(tmp)
        latency(root)
        for n in (int(x) for x in args.threads.split(",")):
            concurrent(root, n, args.per_thread)
        sync_bench(root, args.backlog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
