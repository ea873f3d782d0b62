#!/usr/bin/env python3
"""What the console's Galleries page and its erasure alert cost on a SQLCipher central store:
prints numbers side by side, asserts nothing.

    .venv/bin/python scripts/measure_console_galleries.py [--units 20] [--days 100]

Simulated units (device/central/simulate.py: real signed chains through the one verifier) with
``--days`` workdays each, one erasure order that half of them proved. Timed (median of 5):
the proofs read through the console's ``action`` index (status._entries now) beside the
``body LIKE`` scan it replaced; the erasure alert alone and every fleet alert (what each fleet
page view computes); the whole Galleries overview.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench_console  # noqa: E402

from device.central import console_alerts  # noqa: E402
from device.central.console_galleries import overview  # noqa: E402
from device.central.gallery import authority  # noqa: E402
from device.central.gallery.agency import AgencyKey  # noqa: E402
from device.central.gallery.status import _entries  # noqa: E402
from device.central.simulate import SimUnit, workday  # noqa: E402
from device.central.store import DB_FILE, CentralStore, SqliteBackend  # noqa: E402
from device.central.verifier import Verifier  # noqa: E402
from device.config import KeysConfig, validate_config  # noqa: E402
from device.keys import MasterSecret  # noqa: E402
from tests.conftest import FAST_KEYS  # noqa: E402


def timed(fn, runs: int = 5) -> float:
    """Median of ``runs``, in ms (bench_console's timing)."""
    return bench_console.timed(fn, runs) * 1000


def like_scan(store, action: str) -> int:
    """The query status._entries ran before: every body, a substring test."""
    rows = store.query(
        "SELECT unit, seq, hash, body, received_at FROM audit_entries WHERE body LIKE ? ORDER BY unit, epoch, seq",
        (f'%"action":"{action}"%',),
    )
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--days", type=int, default=100)
    args = ap.parse_args()
    config = validate_config({"keys": FAST_KEYS})
    with tempfile.TemporaryDirectory() as tmp:
        backend = SqliteBackend(Path(tmp) / DB_FILE, MasterSecret(secrets.token_hex(32).encode(), "key"),
                                KeysConfig(**FAST_KEYS))  # fmt: skip
        store = CentralStore(backend, create=True)
        verifier, now = Verifier(store), datetime.now(UTC)
        agency = AgencyKey(secrets.token_bytes(32))
        order = authority.erase(store, agency, "REC-0001", "measurement", "bench")
        start = now - timedelta(days=args.days)
        t0 = time.perf_counter()
        for i in range(args.units):
            unit = SimUnit(f"unit-{i:03d}", f"Unit {i}")
            unit.register(store, "bench")
            for day in range(args.days):
                workday(unit, start + timedelta(days=day), 3)
            if i % 2 == 0:
                unit.apply_order(now, order["envelope"])
            unit.deliver(verifier)
        entries = store.query("SELECT count(*) FROM audit_entries")[0][0]
        print(f"{args.units} units, {entries:,} entries stored in {time.perf_counter() - t0:.1f} s; one order, "
              f"proved by {(args.units + 1) // 2}")  # fmt: skip
        action = "gallery.erasure_applied"
        for label, fn in (
            ("proofs read, action index (now)", lambda: _entries(store, action)),
            ("proofs read, body LIKE (before)", lambda: like_scan(store, action)),
            ("erasure alert alone", lambda: console_alerts.overdue_erasures(store, 1, now)),
            ("every fleet alert (a page view)", lambda: console_alerts.current(store, config, now)),
            ("Galleries overview", lambda: overview(store, now)),
        ):
            print(f"{label + ':':<36}{timed(fn):8.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
