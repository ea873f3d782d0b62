#!/usr/bin/env python3
"""The central console at the issue's scale, on a real PostgreSQL (Debian's binaries, a throwaway
cluster): prints numbers, asserts nothing.

1. Generates signed chains fast, outside the MQTT path, in two processes
   (device/central/simulate.py: real entries, real hashes, each unit's head signed by its own
   Ed25519 key), with each unit's day tallies made by the receivers' own code (days.py), and
   loads both with COPY (indexes dropped for the load and built after, as one bulk-loads).
2. Times, median of 3:
   - the fleet page (GET /fleet as an auditor: every unit's status, alerts, the rendered page),
   - a month's fleet report (the unit's period report code over the fleet's day tallies) and a
     month's report for one unit; with --compare, the same month's fleet report counted from the
     entries (what the console did before migration 0004), once;
   - explorer queries: one unit's searches in a month, one user's newest entries fleet-wide,
     one case's entries, a page deep in one unit's month.

    .venv/bin/python scripts/bench_console.py --units 200 --entries 100000 --days 365
Ingest through two receivers over MQTT is ``scripts/bench_central.py ingest``.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from device.central import console_queries as Q  # noqa: E402
from device.central import console_users, days  # noqa: E402
from device.central.console_db import ConsoleDb, ConsoleLog  # noqa: E402
from device.central.console_reports import fleet_report  # noqa: E402
from device.central.days import as_text  # noqa: E402
from device.central.simulate import SimUnit, stamp  # noqa: E402
from device.central.store import CentralStore, PostgresBackend  # noqa: E402
from device.config import validate_config  # noqa: E402
from device.reports import period  # noqa: E402
from device.reports.tally import by_day, tally  # noqa: E402
from tests.sync.postgres import Postgres, postgres_bin  # noqa: E402

INDEXES = {
    "audit_entries_at": "(at)",
    "audit_entries_unit_at": "(unit, at)",
    "audit_entries_action_at": "(action, at)",
    "audit_entries_actor_at": "(actor, at)",
    "audit_entries_case_at": "(case_ref, at) WHERE case_ref IS NOT NULL",
}
ACTIONS = (("login", "examiner"), ("search", "examiner"), ("exam.disposition", "examiner"), ("exam.review", "reviewer"))
PG_SETTINGS = {"shared_buffers": "4GB", "maintenance_work_mem": "1GB", "work_mem": "64MB", "max_wal_size": "16GB",
               "checkpoint_timeout": "30min", "max_parallel_maintenance_workers": "2", "effective_cache_size": "16GB",
               "random_page_cost": "1.1", "jit": "off"}  # fmt: skip


def chain(unit: str, n: int, start: datetime, days: int) -> SimUnit:
    """``n`` entries spread evenly over ``days``: logins, searches, dispositions, reviews; 13 users
    per unit (named per unit, as real accounts are), a case every 20 entries."""
    u = SimUnit(unit, unit, seed=unit.encode().ljust(32, b"\0")[:32])
    step = timedelta(days=days) / n
    for i in range(n):
        action, role = ACTIONS[i % 4]
        details = {"offense": ("robbery", "fraud", "burglary")[i % 3], "purpose": "investigation", "candidates": 20}
        if action == "exam.disposition":
            details = {"disposition": "excluded", "rank": 1, "replaces": None}
        elif action == "exam.review":
            details = {"verdict": "concur" if i % 7 else "dissent"}
        elif action == "login":
            details = {}
        u.record(start + step * i, action, f"{unit}-ex{i % 13}", role, case=f"{unit}-C-{i // 20}", **details)
    return u


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def make_unit(job: tuple[str, int, datetime, int]) -> dict:
    """In a worker process: one unit's chain as COPY text, its day tallies, its signed head."""
    unit, n, start, days = job
    u = chain(unit, n, start, days)
    now = stamp(datetime.now(UTC))
    rows = io.StringIO()
    for e in u.entries:
        rows.write(f"{unit}\t0\t{e.seq}\t{e.hash}\t{_escape(e.canonical().decode())}\t{now}\tbench\n")
    day_rows = "".join(f"{unit}\t{day}\t{t['n']}\t{_escape(as_text(t))}\t{now}\n"
                       for day, t in by_day(u.entries).items())  # fmt: skip
    first, last = u.entries[0], u.entries[-1]
    head = (last.seq, last.hash, u.signer.sign_head(last.seq, last.hash))
    return {"unit": unit, "key": u.audit_key, "rows": rows.getvalue(), "days": day_rows,
            "first": (first.hash, first.prev), "head": head, "now": now}  # fmt: skip


def load(store: CentralStore, made: dict) -> None:
    """As the owner, straight into the tables (the receivers' path is bench_central.py's)."""
    unit, now = made["unit"], made["now"]
    store.add_unit(unit, unit, made["key"], "{}", "bench")
    cur = store._conn.cursor()
    cur.execute("COPY audit_entries(unit, epoch, seq, hash, body, received_at, via) FROM STDIN",
                stream=io.StringIO(made["rows"]))  # fmt: skip
    cur.execute("COPY audit_days(unit, day, entries, tally, updated_at) FROM STDIN", stream=io.StringIO(made["days"]))
    cur.execute("INSERT INTO audit_epochs(unit, epoch, parent, start_seq, start_hash, start_prev, backup, started_at)"
                " VALUES (%s, 0, NULL, 1, %s, %s, '{}', %s)", (unit, *made["first"], now))  # fmt: skip
    seq, hash_hex, sig = made["head"]
    cur.execute("INSERT INTO audit_heads(unit, epoch, seq, hash, sig, updated_at) VALUES (%s, 0, %s, %s, %s, %s)",
                (unit, seq, hash_hex, sig, now))  # fmt: skip
    store._conn.commit()
    store.record_status(unit, "online", {"head": {"seq": seq, "hash": hash_hex}, "backlog": 0})


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--entries", type=int, default=10_000, help="entries per unit")
    ap.add_argument("--days", type=int, default=365, help="the chains span this many days up to now")
    ap.add_argument("--compare", action="store_true", help="also count a month's fleet report from the entries")
    ap.add_argument("--cluster", type=Path, help="keep the PostgreSQL cluster here; a loaded one is timed again as is")
    args = ap.parse_args()
    bindir = postgres_bin()
    if bindir is None:
        sys.exit("Debian's postgresql package is not installed")
    server = Postgres(bindir, PG_SETTINGS, args.cluster)
    loaded_before = args.cluster is not None and (args.cluster / "data" / "PG_VERSION").exists()
    server.start()
    try:
        backend = PostgresBackend(server.dsn)
        store = CentralStore(backend, create=not loaded_before)
        rows = args.units * args.entries
        if loaded_before:
            made_at = store.query("SELECT min(received_at) FROM audit_entries WHERE unit = 'unit-000'")[0][0]
            now = datetime.fromisoformat(made_at.replace("Z", "+00:00"))
            print(f"the cluster in {args.cluster} as loaded on {made_at}")
        else:
            now = load_all(store, args)
        reads(store, backend, args, now, rows)
    finally:
        server.stop()
    return 0


def load_all(store, args) -> datetime:
    """Generate and load the chains, build the indexes; returns the 'now' the chains end at."""
    for name in INDEXES:
        store.write(f"DROP INDEX {name}")
    now = datetime.now(UTC)
    begin = now - timedelta(days=args.days)
    rows = args.units * args.entries
    t = time.perf_counter()
    jobs = [(f"unit-{i:03d}", args.entries, begin, args.days) for i in range(args.units)]
    with multiprocessing.Pool(2) as pool:
        for k, made in enumerate(pool.imap(make_unit, jobs), 1):
            load(store, made)
            if k % 10 == 0 or k == args.units:
                el = time.perf_counter() - t
                print(f"  {k}/{args.units} units loaded, {k * args.entries / el:,.0f} entries/s", flush=True)
    loaded = time.perf_counter() - t
    print(f"generated (2 processes) and loaded with COPY: {rows:,} signed entries in {loaded:.0f} s "
          f"({rows / loaded:,.0f} entries/s), and their day tallies")  # fmt: skip
    t = time.perf_counter()
    for name, columns in INDEXES.items():
        store.write(f"CREATE INDEX {name} ON audit_entries{columns}")
    store.write("ANALYZE")
    print(f"built the 5 indexes of migration 0004 and analyzed in {time.perf_counter() - t:.0f} s")
    size = store.query("SELECT pg_size_pretty(pg_total_relation_size('audit_entries')),"
                       " (SELECT count(*) FROM audit_days)")[0]  # fmt: skip
    print(f"audit_entries with its indexes: {size[0]}; day tallies: {size[1]:,} rows")
    return now


def reads(store, backend, args, now: datetime, rows: int) -> None:
    fast = {"argon2_memory_kib": 64, "argon2_iterations": 1}
    config = validate_config({"workflow": fast, "keys": {**fast, "argon2_lanes": 1}})
    db = ConsoleDb(backend)
    clog = ConsoleLog(db)
    if not store.query("SELECT 1 FROM users WHERE username = 'bench'"):
        console_users.create(db, clog, config, "bench", "correct horse battery staple 7", ["auditor"], by="bench")
    from web.console import create_console

    client = create_console(config, backend).test_client()
    client.post("/login", data={"username": "bench", "password": "correct horse battery staple 7"})
    month = (now.date() - timedelta(days=30), now.date())
    m0 = month[0].isoformat()
    unit = "unit-001"
    middle = (unit, args.entries // 2)
    case = store.query("SELECT case_ref FROM audit_entries WHERE unit = %s AND seq = %s", middle)[0][0]

    def report(scope):
        return fleet_report(store, clog, *month, scope, actor="bench", role="auditor", fmt="json")

    results = {
        "fleet page, GET /fleet (status, alerts, rendered)": timed(
            lambda: client.get("/fleet").status_code == 200 or sys.exit("fleet failed")),
        "a month's fleet report (day tallies)": timed(lambda: report({})),
        "a month's report of one unit (day tallies)": timed(lambda: report({"unit": unit})),
        "a month's report of one user (entries)": timed(lambda: report({"user": f"{unit}-ex3"})),
        "explorer: one unit's searches in a month": timed(
            lambda: Q.search(store, {"unit": unit, "action": "search"}, m0, None, 100)),
        "explorer: one user's newest, fleet-wide": timed(
            lambda: Q.search(store, {"user": f"{unit}-ex3"}, None, None, 100)),
        "explorer: one case's entries": timed(lambda: Q.search(store, {"case": case}, None, None, 100)),
        "explorer: page 20 of one unit's month": timed(
            lambda: Q.search(store, {"unit": unit}, m0, None, 100, 1900)),
        "explorer: the fleet's newest searches": timed(
            lambda: Q.search(store, {"action": "search"}, None, None, 100)),
    }  # fmt: skip
    month_rows = store.query("SELECT sum(entries) FROM audit_days WHERE day >= %s AND day <= %s",
                             (m0, month[1].isoformat()))[0][0]  # fmt: skip
    print(f"\n{args.units} units x {args.entries:,} entries = {rows:,} rows over {args.days} days; "
          f"a month holds {int(month_rows):,} entries; median of 3")  # fmt: skip
    for key, value in results.items():
        print(f"  {key:52} {value * 1000:>9,.0f} ms")
    if args.compare:
        t = time.perf_counter()
        entries = [e for _u, e in Q.period(store, {}, m0, (month[1] + timedelta(days=1)).isoformat())]
        figures = period.figures(tally(entries), *month)
        took = time.perf_counter() - t
        same = figures == period.figures(days.merged(store, *month), *month)
        print(f"  {'the same month counted from its entries (1 run)':52} {took * 1000:>9,.0f} ms"
              f"  ({len(entries) / took:,.0f} entries/s; same figures as the day tallies: {same})")  # fmt: skip
    store.close()


if __name__ == "__main__":
    raise SystemExit(main())
