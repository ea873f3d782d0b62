#!/usr/bin/env python3
"""Central-side measurements for issue 13: prints numbers side by side, asserts nothing.

    .venv/bin/python scripts/bench_central.py drain [--entries 5000] [--before-max 120]
    .venv/bin/python scripts/bench_central.py share [--units 3] [--entries 3000]

drain  A unit comes back after a long outage with a backlog. What a 10-minute outage leaves is
       (a) the backlog and (b) paho's reconnect back-off at its maximum; both are set up directly
       rather than waited for: the broker is down, the unit's client has failed to connect, its
       next wait is forced to reconnect_max_s (paho's own `_reconnect_delay`), and the broker
       comes back right after a failed attempt (the worst case: a whole back-off period to sit
       out; on average it is half). Time from the broker's return to the last ack, for the old
       default maximum (120 s) and the new one, same run.
share  Two receivers in one share group on one PostgreSQL, three units sending. Throughput with
       both alive, then with one killed by SIGKILL, for persistent share-group members (the old
       behaviour: the broker keeps queueing every other batch for the dead member's session) and
       for non-persistent ones (the new behaviour), same run.

Everything runs on 127.0.0.1 in a temp dir: mosquitto from docs/broker/ (tests/sync/broker.py),
PostgreSQL from Debian's package (tests/sync/postgres.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_audit import fill_fast, new_log  # noqa: E402

from device.audit.card import make_card  # noqa: E402
from device.central.mqtt import run_receiver  # noqa: E402
from device.central.store import CentralStore, PostgresBackend, SqliteBackend  # noqa: E402
from device.config import KeysConfig, validate_config  # noqa: E402
from device.keys import MasterSecret  # noqa: E402
from device.sync.publisher import Publisher  # noqa: E402
from tests.conftest import FAST_KEYS  # noqa: E402
from tests.sync.broker import RECEIVERS, Broker  # noqa: E402
from tests.sync.pki import CA  # noqa: E402

CENTRAL_KEY = MasterSecret(b"bench central key, not a real one", "key file")


class Site:
    """A CA, a broker from the documented config, certificates on demand."""

    def __init__(self, root: Path):
        self.root = root
        (root / "pki").mkdir()
        self.ca = CA(root / "pki", "bench-ca")
        (root / "broker").mkdir()
        self.broker = Broker(root / "broker", self.ca.ca_file, *self.ca.issue("server", server=True))
        self.broker.start()
        self.certs: dict[str, tuple[Path, Path]] = {}

    def broker_cfg(self, who: str, **extra) -> dict:
        if who not in self.certs:
            self.certs[who] = self.ca.issue(who)
        cert, key = self.certs[who]
        return {
            "host": "127.0.0.1",
            "port": self.broker.port,
            "ca_file": str(self.ca.ca_file),
            "cert_file": str(cert),
            "key_file": str(key),
            **extra,
        }

    def close(self) -> None:
        self.broker.stop()


def _wait(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


# ---- drain after an outage ----------------------------------------------------------------------


def drain_once(site: Site, root: Path, unit: str, entries: int, max_s: float) -> float:
    log = new_log(root, f"unit-{unit}", unit)
    store = CentralStore(
        SqliteBackend(root / f"central-{unit}" / "central.db", CENTRAL_KEY, KeysConfig(**FAST_KEYS)), create=True
    )
    store.add_unit(unit, unit, make_card(log, unit)["audit_key"], "{}", "bench")
    cfg = validate_config(
        {
            "keys": FAST_KEYS,
            "sync": {"broker": site.broker_cfg(unit, reconnect_max_s=max_s)},
            "receiver": {"broker": site.broker_cfg(RECEIVERS[0]), "client_id": f"rx-{unit}"},
        }
    )
    fill_fast(log, entries)
    stop, ready = threading.Event(), threading.Event()
    rx = threading.Thread(target=run_receiver, args=(cfg.receiver, store), kwargs={"stop": stop, "ready": ready})
    rx.start()
    ready.wait(15)
    site.broker.stop()  # the outage
    pub = Publisher(log, cfg.sync)
    failures = []
    pub.client.on_connect_fail = lambda client, userdata: failures.append(time.monotonic())
    pub.start()
    _wait(lambda: len(failures) >= 2, 30)
    # Ten minutes of failures leave the back-off at its maximum: set it so, then wait for the next
    # failed attempt, after which the client sleeps a whole maximum period.
    with pub.client._reconnect_delay_mutex:
        pub.client._reconnect_delay = max_s
    seen = len(failures)
    _wait(lambda: len(failures) > seen, max_s + 30)
    site.broker.start()
    t0 = time.monotonic()
    done = threading.Event()

    def loop():
        while not done.is_set():
            if pub.step() == 0:
                pub.wait_for_change(cfg.sync.poll_s)

    sender = threading.Thread(target=loop, daemon=True)
    sender.start()
    connected = _wait(pub.connected.is_set, max_s + 60)
    t_connect = time.monotonic() - t0
    _wait(lambda: pub.acked >= entries, 300)
    elapsed = time.monotonic() - t0
    done.set()
    sender.join(10)
    pub.stop()
    stop.set()
    rx.join(30)
    print(
        f"  reconnect_max_s {max_s:>5.0f}: reconnected after {t_connect:6.1f} s (connected={connected}), "
        f"{pub.acked} of {entries} acked {elapsed:6.1f} s after the broker came back "
        f"(transfer {elapsed - t_connect:.1f} s)"
    )
    log.close()
    return elapsed


def drain(args) -> None:
    from device.config import MqttBrokerConfig

    new_max = MqttBrokerConfig().reconnect_max_s
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        root = Path(tmp)
        site = Site(root)
        try:
            print(
                f"drain after an outage: {args.entries} entries queued, back-off at its maximum, broker back "
                "right after a failed attempt (worst case)"
            )
            before = drain_once(site, root, "unit-old", args.entries, args.before_max)
            after = drain_once(site, root, "unit-new", args.entries, new_max)
            print(f"  before {before:.1f} s, after {after:.1f} s")
        finally:
            site.close()


# ---- a dead receiver in the share group ---------------------------------------------------------


def receiver_main(argv) -> int:
    """Child process: one receiver of the share group (persistent session or not)."""
    import json

    cfg = validate_config(json.loads(Path(argv[0]).read_text()))
    store = CentralStore(PostgresBackend(argv[1]))
    return run_receiver(cfg.receiver, store, persistent=argv[2] == "persistent")


def share(args) -> None:

    from tests.sync.postgres import Postgres, postgres_bin

    bindir = postgres_bin()
    if bindir is None:
        sys.exit("share: Debian's postgresql package is needed")
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        root = Path(tmp)
        site = Site(root)
        pg = Postgres(bindir)
        pg.start()
        try:
            print(
                f"two receivers in one share group, {args.units} units, {args.entries} entries each per phase; "
                "rate = entries acked end to end per second"
            )
            results = {}
            for mode in ("persistent", "clean"):
                results[mode] = share_once(site, root, pg, mode, args)
            for mode, (both, one) in results.items():
                label = "before (persistent members)" if mode == "persistent" else "after (non-persistent members)"
                print(f"  {label:<32} both alive {both:7.0f}/s   one killed {one:7.0f}/s   ({one / both:.0%})")
        finally:
            pg.stop()
            site.close()


def new_database(pg, name: str) -> tuple[str, CentralStore]:
    """A database of its own on the bench's server, migrated: its DSN and the owner's store."""
    admin = PostgresBackend(pg.dsn).connect()
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    dsn = pg.dsn.rsplit("/", 1)[0] + f"/{name}"
    return dsn, CentralStore(PostgresBackend(dsn), create=True)


def share_once(site: Site, root: Path, pg, mode: str, args) -> tuple[float, float]:
    import json

    dsn, store = new_database(pg, f"bench_{mode}")
    logs = []
    for i in range(args.units):
        unit = f"{mode}-unit-{i}"
        log = new_log(root, f"share-{unit}", unit)
        store.add_unit(unit, unit, make_card(log, unit)["audit_key"], "{}", "bench")
        logs.append(log)
    store.close()
    procs = []
    for n, name in enumerate(RECEIVERS):
        cfg = {
            "keys": FAST_KEYS,
            "receiver": {"broker": site.broker_cfg(name), "client_id": f"{mode}-{name}", "share_group": f"g-{mode}"},
        }
        path = root / f"rx-{mode}-{n}.json"
        path.write_text(json.dumps(cfg))
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "_receiver", str(path), dsn, mode],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    time.sleep(3)  # both subscribed
    pubs, stop = [], threading.Event()
    for log in logs:
        cfg = validate_config({"keys": FAST_KEYS, "sync": {"broker": site.broker_cfg(log.device_id)}})
        pub = Publisher(log, cfg.sync)
        pub.start()
        pubs.append(pub)

    def loop(pub):
        while not stop.is_set():
            if pub.step() == 0:
                pub.wait_for_change(0.05)

    threads = [threading.Thread(target=loop, args=(p,), daemon=True) for p in pubs]
    for t in threads:
        t.start()

    def phase(target: int, limit: float) -> float:
        for log in logs:
            fill_fast(log, args.entries)
        t0 = time.monotonic()
        _wait(lambda: all(p.acked >= target for p in pubs), limit, 0.05)
        elapsed = time.monotonic() - t0
        acked = sum(min(p.acked, target) - (target - args.entries) for p in pubs)
        return acked / elapsed

    def gaps() -> int:
        reader = CentralStore(PostgresBackend(dsn))
        try:
            return int(reader.query("SELECT count(*) FROM audit_gaps")[0][0])
        finally:
            reader.close()

    both = phase(args.entries, 120)
    gaps_both = gaps()
    procs[1].send_signal(signal.SIGKILL)
    procs[1].wait()
    one = phase(2 * args.entries, args.limit)
    print(f"  {mode}: gaps answered with both alive {gaps_both}, after the kill {gaps() - gaps_both}")
    stop.set()
    for t in threads:
        t.join(10)
    for p in pubs:
        p.stop()
    procs[0].terminate()
    procs[0].wait(30)
    for log in logs:
        log.close()
    return both, one


# ---- ingest through receivers over MQTT ---------------------------------------------------------


class SimPublisher:
    """A simulated unit's sending side over the real broker: its own certificate (the ACL's %u),
    batches pre-made and signed by its own key, up to ``window`` batches ahead of its ack, a gap
    ack rewinds to the acked seq, as device/sync/publisher.py does. Pre-made, because a real
    unit's CPU is not the central side's: what is timed is broker, receivers and database."""

    def __init__(self, site: Site, unit, batch: int, window: int):
        from device.sync.mqtt import connect_async, make_client
        from device.sync.protocol import Batch, ack_topic, entries_topic

        self.unit, self.window, self.batch, self.acked, self.sent, self.gaps = unit.unit, window, batch, 0, 0, 0
        self.total = len(unit.entries)
        self.batches = {}
        for first in range(0, self.total, batch):
            run = unit.entries[first : first + batch]
            last = run[-1]
            self.batches[first] = Batch(unit.unit, run, last.seq, last.hash,
                                        unit.signer.sign_head(last.seq, last.hash)).encode()  # fmt: skip
        self.topic, self.acks = entries_topic("fieldface/audit", unit.unit), ack_topic("fieldface/audit", unit.unit)
        self.lock, self.done = threading.Lock(), threading.Event()
        cfg = validate_config({"keys": FAST_KEYS, "sync": {"broker": site.broker_cfg(unit.unit)}})
        self.client = make_client(f"bench-{unit.unit}", cfg.sync.broker)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(self.acks, qos=1)
        self.client.on_message = self._on_ack
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        connect_async(self.client, cfg.sync.broker, persistent=False)
        self.client.loop_start()

    def _on_ack(self, client, userdata, message) -> None:
        from device.sync.protocol import Ack

        ack = Ack.decode(message.payload)
        with self.lock:
            if ack.status == "gap":
                self.gaps += 1
                self.sent = ack.seq  # rewind: resend from what central holds
            self.acked = max(self.acked, ack.seq)
            self.sent = max(self.sent, self.acked)
            if self.acked >= self.total:
                self.done.set()
        self.pump()

    def pump(self) -> None:
        with self.lock:
            while self.sent < self.total and self.sent - self.acked < self.window * self.batch:
                self.client.publish(self.topic, self.batches[self.sent], qos=1)
                self.sent = min(self.sent + self.batch, self.total)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def ingest(args) -> None:
    from bench_console import PG_SETTINGS

    from tests.sync.postgres import Postgres, postgres_bin

    bindir = postgres_bin()
    if bindir is None:
        sys.exit("ingest: Debian's postgresql package is needed")
    start = datetime.now(UTC) - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        root = Path(tmp)
        site = Site(root)
        pg = Postgres(bindir, PG_SETTINGS)
        pg.start()
        try:
            print(f"ingest over MQTT (TLS, QoS 1, mosquitto from docs/broker) into PostgreSQL: {args.units} units x "
                  f"{args.entries:,} entries, batches of {args.batch}, window {args.window} (the unit's defaults: "
                  "500, 4); rate = entries acked end to end per second")  # fmt: skip
            for receivers, mode in ((1, "one"), (2, "share"), (2, "shard")):
                rate, gaps, busy = ingest_once(site, root, pg, receivers, mode, args, start)
                label = {"one": "1 receiver", "share": "2 receivers, one share group",
                         "shard": "2 receivers, units sharded by name"}[mode]  # fmt: skip
                print(f"  {label:<36} {rate:8,.0f} entries/s   gap acks {gaps:5}   receiver CPU {busy}")
        finally:
            pg.stop()
            site.close()


def ingest_once(site, root, pg, receivers: int, mode: str, args, start):
    import json

    from bench_console import chain

    dsn, store = new_database(pg, f"ingest_{mode}")
    units = [chain(f"{mode}-unit-{i:02d}", args.entries, start, 1) for i in range(args.units)]
    for u in units:
        u.register(store, "bench")
    store.close()
    procs = []
    for n in range(receivers):
        name = RECEIVERS[n]
        rx = {"broker": site.broker_cfg(name), "client_id": f"{mode}-{name}"}
        if mode == "share":
            rx["share_group"] = "g-ingest"
        elif mode == "shard":
            rx["shard"] = f"{n}/{receivers}"
        path = root / f"rx-{mode}-{n}.json"
        path.write_text(json.dumps({"keys": FAST_KEYS, "receiver": rx}))
        procs.append(subprocess.Popen([sys.executable, __file__, "_receiver", str(path), dsn, "clean"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    pubs = [SimPublisher(site, u, args.batch, args.window) for u in units]
    _wait(lambda: all(p.subscribed.is_set() for p in pubs), 30)
    time.sleep(3)  # the receivers subscribed
    cpu0 = [_cpu(p.pid) for p in procs]
    t0 = time.monotonic()
    for p in pubs:
        p.pump()
    _wait(lambda: all(p.done.is_set() for p in pubs), args.limit, 0.01)
    elapsed = time.monotonic() - t0
    busy = ", ".join(f"{(_cpu(p.pid) - c) / elapsed:.0%}" for p, c in zip(procs, cpu0, strict=True))
    acked = sum(min(p.acked, p.total) for p in pubs)
    for p in pubs:
        p.stop()
    for p in procs:
        p.terminate()
        p.wait(30)
    if acked < args.units * args.entries:
        print(f"  ({mode}: only {acked:,} acked within {args.limit:.0f} s)")
    reader = CentralStore(PostgresBackend(dsn))
    stored = int(reader.query("SELECT count(*) FROM audit_entries")[0][0])
    days = int(reader.query("SELECT sum(entries) FROM audit_days")[0][0] or 0)
    reader.close()
    if stored != acked or days != stored:
        print(f"  ({mode}: {acked:,} acked but {stored:,} stored, {days:,} counted in the day tallies)")
    return acked / elapsed, sum(p.gaps for p in pubs), busy


def _cpu(pid: int) -> float:
    """CPU seconds a process has used (utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_receiver":
        return receiver_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("drain")
    d.add_argument("--entries", type=int, default=5000)
    d.add_argument("--before-max", type=float, default=120.0, help="the old reconnect_max_s default")
    s = sub.add_parser("share")
    s.add_argument("--units", type=int, default=3)
    s.add_argument("--entries", type=int, default=3000)
    s.add_argument("--limit", type=float, default=120.0, help="give up on a phase after this many seconds")
    i = sub.add_parser("ingest")
    i.add_argument("--units", type=int, default=20)
    i.add_argument("--entries", type=int, default=5000, help="entries per unit")
    i.add_argument("--batch", type=int, default=500)
    i.add_argument("--window", type=int, default=4)
    i.add_argument("--limit", type=float, default=300.0, help="give up on a run after this many seconds")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    {"drain": drain, "share": share, "ingest": ingest}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
