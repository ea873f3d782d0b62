"""The period report's figures against a hand-built audit log whose true counts are known."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from device.audit import AuditLog
from device.errors import UsageError
from device.reports import actions as A
from device.reports import period, render


class Clock:
    """Wall time the test sets; the audit log stamps each entry with it."""

    def __init__(self):
        self.now = "2025-01-01T00:00:00.000000Z"
        self.mono = 0

    def utc(self) -> str:
        return self.now

    def monotonic_ns(self) -> int:
        self.mono += 1
        return self.mono

    def boot_id(self) -> str:
        return "boot-1"


def build_log(store) -> AuditLog:
    """March 2025: 5 searches, 2 refusals, dispositions, reviews, leads, gallery work, purges;
    the days either side hold entries that must not be counted."""
    clock = Clock()
    log = AuditLog(store, clock=clock)

    def at(day: str, action: str, actor: str = "ex1", role: str = "examiner", outcome: str = "ok", obj=None,
           **details):  # fmt: skip
        clock.now = f"{day}T10:00:00.000000Z"
        return log.record(action, actor=actor, role=role, outcome=outcome, object=obj, details=details)

    at("2025-02-28", A.SEARCH, offense="robbery", candidates=20, worth_examining=1)  # before the period
    at("2025-03-01", A.SEARCH, offense="robbery", candidates=20, worth_examining=2)
    at("2025-03-02", A.SEARCH, offense="robbery", candidates=20, worth_examining=0)
    at("2025-03-02", A.SEARCH, "ex2", offense="homicide", candidates=10, worth_examining=1,
       quality_override="only image of the suspect")  # fmt: skip
    at("2025-03-15", A.SEARCH, "ex2", offense="fraud", candidates=5, worth_examining=0)
    at("2025-03-31", A.SEARCH, offense="robbery", candidates=20, worth_examining=3)
    at("2025-03-03", A.SEARCH_REFUSED, outcome="denied", reason="quality", offense="robbery")
    at("2025-03-04", A.SEARCH_REFUSED, outcome="denied", reason="quality", offense="fraud")
    # Five candidates decided; exam 1's candidate 1 saved twice (inconclusive, then possible lead):
    # it counts once, as its last disposition.
    at("2025-03-05", A.DISPOSITION, obj="exam:1", disposition="inconclusive", rank=1)
    for obj, d in (("exam:1", "possible-lead"), ("exam:1", "excluded"), ("exam:2", "excluded"),
                   ("exam:3", "excluded"), ("exam:4", "inconclusive")):  # fmt: skip
        at("2025-03-05", A.DISPOSITION, obj=obj, disposition=d, rank=2 if d == "excluded" and obj == "exam:1" else 1)
    for v in ("concur", "concur", "concur", "dissent"):
        at("2025-03-06", A.REVIEW, "rv1", "reviewer", verdict=v)
    at("2025-03-07", A.LEAD_RELEASE, "sup1", "supervisor", lead_rank=1)
    at("2025-03-07", A.LEAD_RELEASE, "sup1", "supervisor", lead_rank=2)
    at("2025-03-08", A.QUALITY_OVERRIDE, "sup1", "supervisor", reason="r")
    at("2025-03-08", A.ENHANCE, op="crop")
    for new in (True, False, True):
        at("2025-03-09", A.ENROLL, "en1", "operator", new_subject=new, quality="pass")
    at("2025-03-09", A.ENROLL, "en1", "operator", new_subject=False, quality="warn", forced="old scan")
    at("2025-03-10", A.DELETE_SUBJECT, "en1", "operator", images=3, embeddings=3, reason="court order")
    at("2025-03-11", A.PURGE_SUBJECT, "system", "system", images=2, embeddings=2)
    at("2025-03-11", A.PURGE_PROBES, "system", "system", count=7, held=[1, 2], searches=[3])
    at("2025-03-12", A.LEGAL_HOLD, "sup1", "supervisor", hold=True, reason="r")
    at("2025-03-12", A.LOGIN, "ex1", "examiner")
    at("2025-03-12", A.LOGIN_FAILED, "ex1", "none", outcome="denied", reason="wrong password")
    at("2025-03-13", A.POLICY_SET, "sup1", "supervisor", key="search.top_k", old=20, new=30, reason="pilot")
    at("2025-03-14", "device.unlock", "os:root", "system")
    at("2025-04-01", A.SEARCH, offense="robbery", candidates=20, worth_examining=1)  # after the period
    log.set_acked("central", 12, log.entry_hash(12))
    return log


def test_figures_match_the_hand_built_log(store):
    log = build_log(store)
    report = period.generate(store, date(2025, 3, 1), date(2025, 3, 31), actor="aud1", role="auditor", audit=log)
    assert report["period"] == {"from": "2025-03-01", "to": "2025-03-31", "entries": 33, "first_seq": 2,
                                "last_seq": 34}  # fmt: skip
    assert report["searches"] == {
        "total": 5,
        "by_offense": {"fraud": 1, "homicide": 1, "robbery": 3},
        "by_user": {"ex1": 3, "ex2": 2},
        "by_purpose": {"unstated": 5},
        "with_candidates_worth_examining": 3,
        "candidates_listed": 75,
    }
    assert report["refusals"] == {"quality": 2, "other": {},
                                  "denied_actions": {A.LOGIN_FAILED: 1, A.SEARCH_REFUSED: 2}}  # fmt: skip
    assert report["dispositions"] == {"possible-lead": 1, "excluded": 3, "inconclusive": 1, "total": 5}
    assert report["peer_review"] == {"reviews": 4, "concur": 3, "dissent": 1, "concurrence_rate": 0.75,
                                     "dissent_rate": 0.25}  # fmt: skip
    assert report["leads_released"] == 2 and report["enhancements"] == 1
    assert report["overrides"] == {"searches_of_failing_probes": 1, "exam_quality_overrides": 1,
                                   "forced_enrollments": 1, "total": 3}  # fmt: skip
    assert report["gallery"] == {"images_enrolled": 4, "subjects_created": 2, "subjects_deleted": 1,
                                 "images_deleted": 3, "legal_holds_set": 1, "legal_holds_lifted": 0}  # fmt: skip
    assert report["purges"] == {"subjects": 1, "subject_images": 2, "probes": 7, "probes_kept_on_legal_hold": 2}
    assert report["access"] == {"logins": 1, "failed_logins": 1, "lockouts": 0}
    assert report["policy_changes"] == [{"at": "2025-03-13T10:00:00.000000Z", "by": "sup1", "action": "policy.set",
                                         "key": "search.top_k", "old": 20, "new": 30, "reason": "pilot"}]  # fmt: skip
    # seq 2..34 are in the period; the receiver acknowledged up to 12: 11 of 33 delivered.
    assert report["sync"] == {"central": {"acked_seq": 12, "entries_delivered": 11, "coverage": round(11 / 33, 4)}}
    assert report["outcomes"] == {"denied": 3, "ok": 30}
    assert report["not_counted"] == {"device.unlock": 1}


def test_the_report_is_itself_audited_with_the_hash_of_its_figures(store):
    log = build_log(store)
    report = period.generate(store, date(2025, 3, 1), date(2025, 3, 31), actor="aud1", role="auditor",
                             fmt="csv", audit=log)  # fmt: skip
    entry = log.entries()[-1]
    assert (entry.action, entry.actor, entry.role, entry.seq) == (A.REPORT, "aud1", "auditor", 36)
    figures = {k: v for k, v in report.items() if k not in ("title", "device", "generated", "notice")}
    assert entry.details == {"from": "2025-03-01", "to": "2025-03-31", "format": "csv", "entries": 33,
                             "sha256": period.figures_sha256(figures)}  # fmt: skip
    assert report["generated"]["audit_seq"] == 36
    # A later report over the same days counts the first one.
    again = period.generate(store, date(2025, 1, 1), date(2026, 12, 31), actor="aud1", role="auditor", audit=log)
    assert again["accountability"] == {"reports_generated": 1, "evaluations_run": 0, "disclosure_packages": 0,
                                       "unredacted_packages": 0, "unsealed_packages": 0}  # fmt: skip


def test_renderings_carry_the_same_figures(store):
    report = period.generate(store, date(2025, 3, 1), date(2025, 3, 31), actor="aud1", role="auditor",
                             audit=build_log(store))  # fmt: skip
    assert json.loads(render.to_json(report)) == report
    rows = {(r["section"], r["item"]): r["value"] for r in csv.DictReader(io.StringIO(render.to_csv(report)))}
    assert rows[("searches", "by_offense.robbery")] == "3"
    assert rows[("peer_review", "dissent_rate")] == "0.25"
    assert rows[("policy_changes[0]", "key")] == "search.top_k"
    html = render.to_html(report)
    assert "<script" not in html
    assert html.count("<svg") == 5 and ">robbery</text>" in html and "investigative leads only" in html


def test_labels_are_escaped_in_charts():
    svg = render.bar_chart("Searches <by> user", {"<img src=x>": 2})
    assert "<img" not in svg and "&lt;img src=x&gt;" in svg and "&lt;by&gt;" in svg


def test_an_empty_period_and_a_backwards_one(store):
    report = period.generate(store, date(2030, 1, 1), date(2030, 1, 31), actor="aud1", role="auditor")
    assert report["searches"]["total"] == 0 and report["peer_review"]["concurrence_rate"] is None
    assert report["sync"] == {} and report["period"]["entries"] == 0
    with pytest.raises(UsageError, match="ends"):
        period.generate(store, date(2030, 2, 1), date(2030, 1, 1), actor="aud1", role="auditor")


def test_report_cli_writes_each_format(run_cli, tmp_path, key_file):
    data, env = str(tmp_path / "d"), {"FIELDFACE_KEY_FILE": str(key_file)}
    assert run_cli("--data-dir", data, "init", env=env).returncode == 0
    today = date.today().isoformat()
    out = tmp_path / "r.html"
    done = run_cli("--data-dir", data, "report", "--from", today, "--to", today, "--format", "html", "-o", str(out),
                   env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "accountability report" in out.read_text()
    done = run_cli("--data-dir", data, "report", "--from", today, "--to", today, "--format", "json", env=env)
    # The init entry (store.init) is today's only entry before this report.
    assert json.loads(done.stdout)["not_counted"] == {"store.init": 1}
    assert json.loads(done.stdout)["accountability"]["reports_generated"] == 1
    bad = run_cli("--data-dir", data, "report", "--from", "March", "--to", today, env=env)
    assert bad.returncode == 2 and bad.stderr == "fieldface: --from: expected a date YYYY-MM-DD, got 'March'\n"


def test_real_recorders_feed_the_report(store, recognizer):
    """The action names and detail fields in device/reports/actions.py are the ones the gallery and
    the workflow write."""
    from device.errors import UsageError as Refused
    from device.gallery.records import list_subjects
    from tests.gallery.conftest import EXAMINER, blurred, repo_file
    from tests.workflow.conftest import make_people, make_workflow

    wf = make_workflow(store, recognizer)

    people = make_people(wf)
    exa = people["exa"]
    exam = wf.start(exa, "C-1", "robbery", "warrant 7", repo_file("obama2.jpg").read_bytes())
    wf.run_search(exa, exam.id)
    failing = wf.start(exa, "C-1", "fraud", "warrant 7", blurred("obama2.jpg", 20))
    with pytest.raises(Refused, match="quality"):
        wf.run_search(exa, failing.id)
    with wf.store.connection() as conn:
        subject_b = next(s.id for s in list_subjects(conn) if s.display_name == "Person B")
    wf.gallery.delete_subject(subject_b, EXAMINER, "consent withdrawn")
    today = date.today()
    report = period.generate(wf.store, today, today, actor="aud1", role="auditor")
    assert report["searches"]["total"] == 1 and report["searches"]["by_offense"] == {"robbery": 1}
    assert report["searches"]["by_user"] == {"exa": 1}
    assert report["searches"]["with_candidates_worth_examining"] == 1
    assert report["refusals"]["quality"] == 1
    assert report["gallery"] == {"images_enrolled": 3, "subjects_created": 2, "subjects_deleted": 1,
                                 "images_deleted": 1, "legal_holds_set": 0, "legal_holds_lifted": 0}  # fmt: skip
    # Steps of the workflow the report does not count as such (the search itself is counted once).
    assert report["not_counted"] == {"exam.start": 2, "exam.search": 1, "user.create": 5}


def test_csv_cells_that_a_spreadsheet_would_run_are_defused():
    """Issue 12: text from users (names, reasons, offence words) reached the CSV as formulas."""
    report = {"policy": {"changes": ['=HYPERLINK("http://evil")', "+cmd", "@SUM(A1)", "plain"]}, "delta": -1.5}
    rows = list(csv.reader(io.StringIO(render.to_csv(report))))
    values = [row[2] for row in rows[1:]]
    assert values == ['\'=HYPERLINK("http://evil")', "'+cmd", "'@SUM(A1)", "plain", "-1.5"]  # numbers stay numbers
