"""The agency report: the unit's period report over the fleet, checked against a hand-built
two-unit log whose true counts are known (one unit restored from a backup mid-period)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from device.central.console_db import ConsoleDb, ConsoleLog
from device.central.console_reports import fleet_report
from device.central.simulate import SimUnit
from device.central.verifier import Verifier
from device.errors import UsageError
from device.reports import period
from tests.console.conftest import make_store

MARCH = (date(2025, 3, 1), date(2025, 3, 31))


def d(text: str) -> datetime:
    return datetime.fromisoformat(text + "T10:00:00+00:00")


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet(request, tmp_path):
    store, backend = make_store(request, tmp_path)
    a, b = SimUnit("unit-a", "A"), SimUnit("unit-b", "B")
    for u in (a, b):
        u.register(store)
    a.record(d("2025-02-28"), "search", "ex1", offense="robbery", purpose="warrant 1", candidates=5)  # before
    a.record(d("2025-03-01"), "search", "ex1", offense="robbery", purpose="warrant 1", candidates=10,
             worth_examining=1)  # fmt: skip
    a.record(d("2025-03-02"), "search", "ex2", offense="fraud", purpose="investigation", candidates=3,
             quality_override="only image")  # fmt: skip
    a.record(d("2025-03-03"), "search.refused", "ex1", outcome="denied", reason="quality", offense="robbery")
    a.record(d("2025-03-04"), "exam.disposition", "ex1", disposition="possible-lead", rank=1)
    a.record(d("2025-03-04"), "exam.disposition", "ex2", disposition="excluded", rank=1)
    a.record(d("2025-03-05"), "exam.review", "rv1", "reviewer", verdict="concur")
    a.record(d("2025-03-05"), "exam.review", "rv1", "reviewer", verdict="dissent")
    a.record(d("2025-03-06"), "exam.release", "sup1", "supervisor", lead_rank=1)
    a.record(d("2025-03-07"), "gallery.enroll", "en1", "operator", new_subject=True)
    a.record(d("2025-03-07"), "gallery.delete_subject", "en1", "operator", images=2, embeddings=2, reason="order")
    a.record(d("2025-04-01"), "search", "ex1", offense="robbery", purpose="warrant 1", candidates=5)  # after
    b.record(d("2025-03-10"), "search", "ex3", offense="homicide", purpose="warrant 1", candidates=7)
    b.record(d("2025-03-11"), "exam.quality_override", "sup2", "supervisor", reason="r")
    b.record(d("2025-03-12"), "exam.review", "rv2", "reviewer", verdict="dissent")  # lost on the card later
    b.record(d("2025-03-12"), "login", "ex3", "examiner")  # lost on the card later
    verifier = Verifier(store)
    a.deliver(verifier)
    b.deliver(verifier)
    b.restore(2, d("2025-03-13"))
    b.record(d("2025-03-14"), "search", "ex3", offense="robbery", purpose="investigation", candidates=4)
    b.deliver(verifier, 3)
    db = ConsoleDb(backend)
    yield store, ConsoleLog(db), a
    store.close()


def run(fleet, **scope):
    store, clog, _a = fleet
    return fleet_report(store, clog, *MARCH, scope, actor="aud", role="auditor", fmt="json")


def test_the_fleet_figures_match_the_hand_built_log(fleet):
    r = run(fleet)
    assert r["period"]["entries"] == 16
    assert r["searches"]["total"] == 4
    assert r["searches"]["by_offense"] == {"fraud": 1, "homicide": 1, "robbery": 2}
    assert r["searches"]["by_user"] == {"ex1": 1, "ex2": 1, "ex3": 2}
    assert r["searches"]["by_purpose"] == {"investigation": 2, "warrant 1": 2}
    assert r["refusals"]["quality"] == 1
    assert r["dispositions"] == {"possible-lead": 1, "excluded": 1, "inconclusive": 0, "total": 2}
    # Both dissents count: the one on unit-b's lost card happened, and central verified it.
    assert r["peer_review"] == {"reviews": 3, "concur": 1, "dissent": 2, "concurrence_rate": 0.3333,
                                "dissent_rate": 0.6667}  # fmt: skip
    assert r["leads_released"] == 1
    assert r["overrides"] == {"searches_of_failing_probes": 1, "exam_quality_overrides": 1, "forced_enrollments": 0,
                              "total": 2}  # fmt: skip
    assert r["gallery"]["images_enrolled"] == 1 and r["gallery"]["subjects_deleted"] == 1
    assert r["gallery"]["images_deleted"] == 2
    assert r["access"]["logins"] == 1
    assert r["activity"] == {"units_active": 2, "entries_by_unit": {"unit-a": 10, "unit-b": 6},
                             # ex1 ex2 rv1 sup1 en1 | ex3 sup2 rv2, and os:root who restored unit-b
                             "users_active": 9}  # fmt: skip
    assert r["not_counted"] == {"audit.epoch": 1}
    assert r["device"] == "fleet: all 2 registered units"


def test_scopes(fleet):
    assert run(fleet, unit="unit-b")["searches"]["by_offense"] == {"homicide": 1, "robbery": 1}
    assert run(fleet, user="ex3")["searches"]["by_user"] == {"ex3": 2}
    robbery = run(fleet, offense="robbery")
    assert robbery["searches"]["total"] == 2 and robbery["refusals"]["quality"] == 1
    assert run(fleet, purpose="warrant 1")["searches"]["by_offense"] == {"homicide": 1, "robbery": 1}
    with pytest.raises(UsageError, match="one unit, user, offense, purpose"):
        run(fleet, colour="red")


def test_one_report_code_a_units_figures_are_the_units_own_report(fleet):
    """Scoped to one unit, the fleet report is exactly period.compute over that unit's own entries."""
    _store, _clog, a = fleet
    own = [e for e in a.entries if "2025-03-01" <= e.at < "2025-04-01"]
    mine = period.compute(own, {}, *MARCH)
    fleet_r = run(fleet, unit="unit-a")
    assert {k: fleet_r[k] for k in mine} == mine


def test_each_run_is_in_the_console_log_with_the_figures_digest(fleet):
    _store, clog, _a = fleet
    r = run(fleet, unit="unit-a")
    entry = clog.entries(limit=100)[-1]
    assert entry.action == "report.generate" and entry.actor == "aud"
    assert entry.details["sha256"] == r["generated"]["figures_sha256"] and entry.seq == r["generated"]["audit_seq"]
    assert entry.details["scope"] == {"unit": "unit-a"}
    assert clog.verify() == []


def test_the_web_report_and_its_downloads(console):
    from tests.console.conftest import login

    client = login(console, "auditor")
    today = datetime.now(UTC).date()
    q = f"from={today - timedelta(days=30)}&to={today}"  # the demo's 20 days of work
    page = client.get(f"/reports/run?{q}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "Searches by offence category" in html
    data = json.loads(client.get(f"/reports/run.json?{q}").get_data(as_text=True))
    assert data["activity"]["units_active"] == 3 and data["searches"]["total"] > 0
    rows = list(csv.reader(io.StringIO(client.get(f"/reports/run.csv?{q}&unit=unit-north").get_data(as_text=True))))
    assert ["activity", "units_active", "1"] in rows
    attachment = client.get(f"/reports/run.html?{q}")
    assert "attachment" in attachment.headers["Content-Disposition"] and b"<svg" in attachment.data
