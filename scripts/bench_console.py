#!/usr/bin/env python3
"""The central console at scale, on a real PostgreSQL (Debian's binaries, a throwaway cluster).

Generates signed chains fast, outside the MQTT path (device/central/simulate.py: real entries,
real hashes, each unit's head signed by its own Ed25519 key), loads them with COPY, then times:
  - the fleet page (GET /fleet as an auditor: status of every unit, alerts, the rendered page),
  - a month's fleet report (the unit's period report over every unit's entries of 30 days),
  - explorer queries (one unit's searches in a month; one user's newest entries, fleet-wide),
  - ingest through receivers: batches of 100 through the one verifier (what each MQTT message
    costs a receiver once it arrived), one and two receivers (threads, each its own connection).
Side by side: the same reads without migration 0002_console's expression indexes.

    .venv/bin/python scripts/bench_console.py --units 20 --entries 10000
The issue's size (200 x 100,000 = 20 M rows) is the same command with bigger numbers and a
bigger machine; the figures printed are per row so they can be compared.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from device.central import console_queries as Q  # noqa: E402
from device.central import console_users  # noqa: E402
from device.central.console_db import ConsoleDb, ConsoleLog  # noqa: E402
from device.central.console_reports import fleet_report  # noqa: E402
from device.central.simulate import SimUnit, stamp  # noqa: E402
from device.central.store import CentralStore, PostgresBackend  # noqa: E402
from device.central.verifier import Verifier  # noqa: E402
from device.config import validate_config  # noqa: E402
from tests.sync.postgres import Postgres, postgres_bin  # noqa: E402

INDEXES = ("audit_entries_at", "audit_entries_unit_at", "audit_entries_action_at", "audit_entries_actor_at")
REPORT = "a month's fleet report"
ACTIONS = (("login", "examiner"), ("search", "examiner"), ("exam.disposition", "examiner"), ("exam.review", "reviewer"))


def chain(unit: str, n: int, start: datetime, days: int) -> SimUnit:
    u = SimUnit(unit, unit)
    step = timedelta(days=days) / n
    for i in range(n):
        action, role = ACTIONS[i % 4]
        details = {"offense": ("robbery", "fraud", "burglary")[i % 3], "purpose": "investigation", "candidates": 20}
        if action == "exam.disposition":
            details = {"disposition": "excluded", "rank": 1}
        elif action == "exam.review":
            details = {"verdict": "concur" if i % 7 else "dissent"}
        elif action == "login":
            details = {}
        u.record(start + step * i, action, f"ex{i % 13}", role, case=f"C-{i // 20}", **details)
    return u


def load(store: CentralStore, u: SimUnit) -> None:
    """As the owner, straight into the tables (the receivers' path is timed separately)."""
    u.register(store, "bench")
    cur = store._conn.cursor()
    rows = io.StringIO()
    now = stamp(datetime.now(UTC))
    for e in u.entries:
        body = e.canonical().decode().replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        rows.write(f"{u.unit}\t0\t{e.seq}\t{e.hash}\t{body}\t{now}\tbench\n")
    rows.seek(0)
    cur.execute("COPY audit_entries(unit, epoch, seq, hash, body, received_at, via) FROM STDIN", stream=rows)
    first, last = u.entries[0], u.entries[-1]
    cur.execute(
        "INSERT INTO audit_epochs(unit, epoch, parent, start_seq, start_hash, start_prev, backup, started_at)"
        " VALUES (%s, 0, NULL, 1, %s, %s, '{}', %s)", (u.unit, first.hash, first.prev, now))  # fmt: skip
    cur.execute("INSERT INTO audit_heads(unit, epoch, seq, hash, sig, updated_at) VALUES (%s, 0, %s, %s, %s, %s)",
                (u.unit, last.seq, last.hash, u.signer.sign_head(last.seq, last.hash), now))  # fmt: skip
    store._conn.commit()
    store.record_status(u.unit, "online", {"head": {"seq": last.seq, "hash": last.hash}, "backlog": 0})


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reads(store, client, clog, month_start: datetime, now: datetime, unit: str) -> dict[str, float]:
    month = (month_start.date(), now.date())
    return {
        "fleet page (GET /fleet)": timed(lambda: client.get("/fleet").status_code == 200 or sys.exit("fleet failed")),
        REPORT: timed(lambda: fleet_report(store, clog, *month, {}, actor="bench", role="auditor", fmt="json"), 1),
        "explorer: one unit's searches in a month": timed(
            lambda: Q.search(store, {"unit": unit, "action": "search"}, month_start.date().isoformat(), None, 100)
        ),
        "explorer: one user's newest, fleet-wide": timed(lambda: Q.search(store, {"user": "ex3"}, None, None, 100)),
    }


def ingest(server, units: int, per_unit: int, receivers: int) -> float:
    """Entries/s through ``receivers`` verifiers (threads), each its own connection, batches of 100."""
    backend = PostgresBackend(server.dsn)
    owner = CentralStore(backend)
    start = datetime.now(UTC) - timedelta(days=1)
    sims = [chain(f"ingest-{receivers}-{i}", per_unit, start, 1) for i in range(units)]
    for s in sims:
        s.register(owner, "bench")
    owner.close()

    def work(mine: list[SimUnit]) -> None:
        store = CentralStore(backend)
        verifier = Verifier(store)
        for s in mine:
            for first in range(1, per_unit + 1, 100):
                out = s.deliver(verifier, first, min(first + 99, per_unit))
                assert out.status == "ok", out
        store.close()

    threads = [threading.Thread(target=work, args=(sims[k::receivers],)) for k in range(receivers)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return units * per_unit / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--entries", type=int, default=10_000, help="entries per unit")
    ap.add_argument("--days", type=int, default=60, help="the chains span this many days up to now")
    ap.add_argument("--ingest", type=int, default=20_000, help="entries to ingest through the verifier per run")
    args = ap.parse_args()
    bindir = postgres_bin()
    if bindir is None:
        sys.exit("Debian's postgresql package is not installed")
    server = Postgres(bindir)
    server.start()
    try:
        backend = PostgresBackend(server.dsn)
        store = CentralStore(backend, create=True)
        now = datetime.now(UTC)
        t = time.perf_counter()
        sims = [chain(f"unit-{i:03d}", args.entries, now - timedelta(days=args.days), args.days)
                for i in range(args.units)]  # fmt: skip
        made = time.perf_counter() - t
        rows = args.units * args.entries
        print(f"generated {rows:,} signed entries in {made:.1f} s ({rows / made:,.0f} entries/s, one core)")
        t = time.perf_counter()
        for s in sims:
            load(store, s)
        store.write("ANALYZE")
        loaded = time.perf_counter() - t
        print(f"loaded with COPY in {loaded:.1f} s ({rows / loaded:,.0f} rows/s, indexes of 0002 included)")
        fast = {"argon2_memory_kib": 64, "argon2_iterations": 1}
        config = validate_config({"workflow": fast, "keys": {**fast, "argon2_lanes": 1}})
        db = ConsoleDb(backend)
        clog = ConsoleLog(db)
        console_users.create(db, clog, config, "bench", "correct horse battery staple 7", ["auditor"], by="bench")
        from web.console import create_console

        client = create_console(config, backend).test_client()
        client.post("/login", data={"username": "bench", "password": "correct horse battery staple 7"})
        month_start = now - timedelta(days=30)
        with_idx = reads(store, client, clog, month_start, now, "unit-001")
        for name in INDEXES:
            store.write(f"DROP INDEX {name}")
        without = reads(store, client, clog, month_start, now, "unit-001")
        print(f"\n{args.units} units x {args.entries:,} entries = {rows:,} rows; median of 3 (the report: 1 run)")
        print(f"{'':44} {'with 0002 indexes':>18} {'without':>10}")
        for key in with_idx:
            print(f"{key:44} {with_idx[key] * 1000:>15.0f} ms {without[key] * 1000:>7.0f} ms")
        at = Q.field("postgresql", "at")
        month_rows = store.query(f"SELECT count(*) FROM audit_entries WHERE {at} >= %s",  # noqa: S608 - a fixed name
                                 (stamp(month_start),))[0][0]  # fmt: skip
        print(f"the month's report read {month_rows:,} entries: "
              f"{month_rows / with_idx[REPORT]:,.0f} entries/s")  # fmt: skip
        store.close()
        for receivers in (1, 2):
            rate = ingest(server, 2 * receivers, args.ingest // (2 * receivers), receivers)
            print(
                f"ingest through {receivers} verifier(s) (batches of 100, signed heads checked): {rate:,.0f} entries/s"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
