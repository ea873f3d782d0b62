"""The accountability pages (web/reports.py): who may open what, the report's figures against a
hand-built audit log, policy changes with their one-line errors, and an operational test on the
real photos in tests/data read from a folder below the configured root."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date
from html import unescape

import pytest

from device.audit.log import entry_from_row
from device.config import validate_config
from device.policy import Policy
from device.reports import period, render
from tests.conftest import FAST_KEYS, REPO
from tests.reports.test_period import build_log
from tests.web.conftest import token_from
from tests.workflow.conftest import FAST_WORKFLOW

PHOTOS = REPO / "tests" / "data"
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
QUERY = "?from=2025-03-01&to=2025-03-31"
PAGES = [
    "/reports",
    "/reports/period" + QUERY,
    "/reports/period.csv" + QUERY,
    "/reports/evaluations",
    "/reports/policy",
]


@pytest.fixture
def media(tmp_path):
    return tmp_path / "media"


@pytest.fixture
def config(media):
    media.mkdir()
    return validate_config({"keys": FAST_KEYS, "workflow": FAST_WORKFLOW,
                            "reports": {"evaluation_root": str(media), "evaluation_max_images": 6}})  # fmt: skip


@pytest.fixture
def labelled(media):
    """A USB stick with one labelled set: three identities, five photos, a subgroup CSV."""
    photos = media / "stick" / "agency-set"
    for identity, files in {"p1": ["obama.jpg", "obama2.jpg", "obama3.jpg"], "p2": ["biden.jpg"],
                            "p3": ["astronaut.png"]}.items():  # fmt: skip
        (photos / identity).mkdir(parents=True)
        for name in files:
            shutil.copy(PHOTOS / name, photos / identity / name)
    (media / "stick" / "groups.csv").write_text("identity,sex\np1,male\np2,male\np3,female\n")
    return photos


def audited(store, action: str) -> list:
    with store.connection() as conn:
        rows = conn.execute("SELECT body, hash FROM audit_log WHERE action = ? ORDER BY seq", (action,)).fetchall()
    return [entry_from_row(b, h) for b, h in rows]


def post(client, path: str, data: dict, form_page: str = "/reports/policy"):
    return client.post(path, data={**data, "csrf_token": token_from(client, form_page)})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# ---- who may do what --------------------------------------------------------------------------


def test_strangers_are_sent_to_login_and_examiners_refused(app, as_user):
    stranger = app.test_client()
    for path in [*PAGES, "/reports/evaluations/1", "/reports/evaluations/jobs/x.json"]:
        response = stranger.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert stranger.post("/reports/policy", data={"key": "search.top_k", "value": "5"}).status_code == 302
    examiner = as_user("exa")
    for path in [*PAGES, "/reports/evaluations/1", "/reports/evaluations/1/det.png"]:
        assert examiner.get(path).status_code == 403, path
    for path in ("/reports/policy", "/reports/evaluations"):
        response = post(examiner, path, {"key": "search.top_k", "value": "5", "reason": "r", "folder": "x"}, "/status")
        assert response.status_code == 403 and "supervisor" in text(response), path
    assert "/reports" not in examiner.get("/status").get_data(as_text=True)  # no nav link either


def test_auditor_reads_reports_policy_and_tests_but_changes_nothing(app, as_user, store, config):
    auditor = as_user("aud")
    assert 'href="/reports"' in auditor.get("/status").get_data(as_text=True)
    for path in PAGES:
        assert auditor.get(path).status_code == 200, path
    page = text(auditor.get("/reports/policy"))
    assert "Only a supervisor may change it" in page and 'name="value"' not in page
    assert 'id="run-test"' not in text(auditor.get("/reports/evaluations"))
    response = post(auditor, "/reports/policy", {"key": "search.top_k", "value": "5", "reason": "r"}, "/status")
    assert response.status_code == 403
    assert post(auditor, "/reports/evaluations", {"folder": "stick"}, "/status").status_code == 403
    assert Policy.load(store, config).top_k == config.search.top_k and not audited(store, "policy.set")


# ---- the period report ------------------------------------------------------------------------


def table(page: str, title: str) -> list[tuple[str, str]]:
    body = re.search(rf'<table class="counts" id="t-{title}">(.*?)</table>', page, re.S)
    assert body, f"no table {title}"
    return re.findall(r"<tr><th>(.*?)</th><td class=\"num\">(.*?)</td></tr>", body.group(1))


def test_report_page_shows_the_figures_of_the_hand_built_log(app, as_user, store, users):
    build_log(store)
    auditor = as_user("aud")
    started = time.perf_counter()
    response = auditor.get("/reports/period", query_string=MARCH)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and elapsed < 5
    page = text(response)
    # The hand-built log's known counts (tests/reports/test_period.py), as the page shows them.
    assert table(page, "searches")[:1] == [("total", "5")]
    assert ("by_offense.robbery", "3") in table(page, "searches")
    assert table(page, "peer-review")[-2:] == [("concurrence_rate", "0.75"), ("dissent_rate", "0.25")]
    assert table(page, "leads-released") == [("leads released", "2")]
    assert "search.top_k" in page and "pilot" in page  # the policy change of the 13th
    # Every row of every table equals what period.generate computes for the same period.
    expected = period.generate(store, date(2025, 3, 1), date(2025, 3, 31), actor="t", role="auditor")
    sections = render.tables(expected)
    assert len(sections) == page.count("<h2>") - 1 == 16  # and the policy changes (16: "activity", issue 17)
    for title, rows in sections:
        shown = [(item or title, "—" if value in (None, "") else str(value)) for item, value in rows]
        assert table(page, title.replace(" ", "-")) == shown, title
    assert 'aria-label="Searches by offence category"' in page and "<script" not in page.split("<main>")[1]
    entry = audited(store, "report.generate")[0]
    assert (entry.actor, entry.role, entry.details["format"], entry.details["entries"]) == ("aud", "auditor", "web", 33)
    assert f'id="audit-seq">{entry.seq}<' in page and entry.details["sha256"] in page


def test_downloads_carry_the_same_figures_and_are_each_audited(as_user, store, users):
    build_log(store)
    boss = as_user("boss")
    got = {fmt: boss.get(f"/reports/period.{fmt}", query_string=MARCH) for fmt in ("json", "csv", "html")}
    assert all(r.status_code == 200 for r in got.values())
    assert (
        got["csv"].headers["Content-Disposition"] == 'attachment; filename="fieldface-report-2025-03-01-2025-03-31.csv"'
    )
    report = json.loads(got["json"].get_data(as_text=True))
    assert report["searches"]["by_offense"] == {"fraud": 1, "homicide": 1, "robbery": 3}
    assert "searches,total,5" in got["csv"].get_data(as_text=True)
    assert got["html"].mimetype == "text/html" and "Searches by offence category" in got["html"].get_data(as_text=True)
    assert [e.details["format"] for e in audited(store, "report.generate")] == ["json", "csv", "html"]
    assert boss.get("/reports/period.xml", query_string=MARCH).status_code == 400


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2025-13-01", "to": "2025-03-31"}, "from: expected a date YYYY-MM-DD, got '2025-13-01'"),
        ({"from": "2025-03-01"}, "to: expected a date YYYY-MM-DD, got nothing"),
        ({"from": "2025-03-31", "to": "2025-03-01"}, "the period ends (2025-03-01) before it starts (2025-03-31)"),
    ],
)
def test_bad_periods_are_one_line_errors_and_not_audited(as_user, store, query, message):
    boss = as_user("boss")
    for path in ("/reports/period", "/reports/period.json"):
        response = boss.get(path, query_string=query)
        assert response.status_code == 400 and message in text(response), path
    assert audited(store, "report.generate") == []


def test_a_cross_site_fetch_cannot_add_a_report_entry(as_user, store):
    boss = as_user("boss")
    response = boss.get("/reports/period", query_string=MARCH, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and audited(store, "report.generate") == []


# ---- policy -----------------------------------------------------------------------------------


def test_supervisor_changes_a_setting_with_a_reason_and_resets_it(as_user, store, config):
    boss = as_user("boss")
    response = post(boss, "/reports/policy", {"key": "search.top_k", "value": "12", "reason": "pilot month"})
    assert response.status_code == 302 and response.headers["Location"].endswith("changed=search.top_k#search-top_k")
    page = text(boss.get(response.headers["Location"]))
    assert 'id="value-search-top_k">12<' in page and "changed" in page and "by boss" in page
    entry = audited(store, "policy.set")[-1]
    assert (entry.actor, entry.role, entry.details["old"], entry.details["new"], entry.details["reason"]) == (
        "boss", "supervisor", 20, 12, "pilot month")  # fmt: skip
    # Touch-friendly shapes: one offence per line, yes/no for a switch.
    post(
        boss, "/reports/policy", {"key": "search.offense_categories", "value": "robbery\n homicide \n\n", "reason": "r"}
    )
    post(boss, "/reports/policy", {"key": "policy.blind_review", "value": "no", "reason": "small team"})
    policy = Policy.load(store, config)
    assert policy.top_k == 12 and policy.offense_categories == ["robbery", "homicide"] and policy.blind_review is False
    response = post(boss, "/reports/policy", {"key": "search.top_k", "action": "reset", "reason": "pilot over"})
    assert response.status_code == 302 and Policy.load(store, config).top_k == config.search.top_k
    assert audited(store, "policy.reset")[-1].details["reason"] == "pilot over"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"key": "search.top_k", "value": "500", "reason": "r"}, "top_k: Input should be less than or equal to 200"),
        ({"key": "search.top_k", "value": "ten", "reason": "r"}, "search.top_k: Input should be a valid integer"),
        ({"key": "policy.audit_retain_days", "value": "30", "reason": "r"}, "greater than or equal to 365"),
        ({"key": "vision.quality", "value": "{sharpness", "reason": "r"}, "policy: vision.quality: not JSON"),
        ({"key": "search.top_k", "value": "12", "reason": "  "}, "policy: a change needs a reason, which is recorded"),
        ({"key": "store.data_dir", "value": "/tmp", "reason": "r"}, "policy: unknown setting 'store.data_dir'"),
        ({"key": "search.top_k", "action": "reset", "reason": "r"}, "search.top_k is not changed from the config"),
    ],
)  # fmt: skip
def test_bad_policy_changes_are_one_line_errors_and_change_nothing(as_user, store, config, form, message):
    boss = as_user("boss")
    response = post(boss, "/reports/policy", form)
    assert response.status_code == 400
    error = re.search(r'<p class="error" role="alert" id="error">(.*?)</p>', text(response)).group(1)
    assert message in error and "\n" not in error
    assert Policy.load(store, config).changed == {} and audited(store, "policy.set") == []


def test_policy_posts_need_a_fresh_form_token_of_this_session(app, as_user, store, config):
    boss = as_user("boss")
    change = {"key": "search.top_k", "value": "12", "reason": "r"}
    assert boss.post("/reports/policy", data=change).status_code == 403
    other = as_user("boss").get("/reports/policy").get_data(as_text=True)
    foreign = re.search(r'name="csrf_token" value="([^"]+)"', other).group(1)
    assert boss.post("/reports/policy", data={**change, "csrf_token": foreign}).status_code == 403
    token = token_from(boss, "/reports/policy")
    assert boss.post("/reports/policy", data={**change, "csrf_token": token}).status_code == 302
    replay = boss.post("/reports/policy", data={**change, "value": "13", "csrf_token": token})
    assert replay.status_code == 403 and "already submitted" in text(replay)
    assert Policy.load(store, config).top_k == 12 and len(audited(store, "policy.set")) == 1


# ---- operational tests ------------------------------------------------------------------------


def wait_done(client, job_url: str) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = client.get(job_url + ".json").get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError("the operational test did not finish")


def test_supervisor_runs_a_test_on_the_stick_and_auditor_reads_it(as_user, store, labelled):
    boss = as_user("boss")
    page = text(boss.get("/reports/evaluations"))
    assert "<option>stick/agency-set</option>" in page and "<option>stick/groups.csv</option>" in page
    run = {"folder": "stick/agency-set", "subgroups": "stick/groups.csv", "target_fmr": "0.001", "top": "2"}
    response = post(boss, "/reports/evaluations", run, "/reports/evaluations")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert 'id="job-progress"' in text(boss.get(job_url)) or boss.get(job_url).status_code == 302
    status = wait_done(boss, job_url)
    assert status["state"] == "done" and (status["done"], status["total"]) == (5, 5), status
    assert boss.get(job_url).headers["Location"] == status["next"]
    page = text(as_user("aud").get(status["next"]))
    assert "3 identities, 5 of 5 photos used (0 skipped)" in page and "3 genuine, 7 impostor" in page
    assert "7 impostor pairs cannot show a false-accept rate of 0.01" in page and "not resolvable" in page
    assert "rank-1 <strong>1.0000</strong>, rank-2 <strong>1.0000</strong>" in page
    assert "not from this data: 7 impostor pairs cannot show an FMR of 0.001" in page
    assert "sex = female" in page and "sex = male" in page and "A small labelled set cannot resolve" in page
    png = as_user("aud").get(status["next"] + "/det.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert boss.get(status["next"] + "/other.png").status_code == 404
    assert f'href="{status["next"]}"' in text(boss.get("/reports/evaluations"))
    entry = audited(store, "evaluation.run")[-1]
    assert (entry.actor, entry.role, entry.details["identities"]) == ("boss", "supervisor", 3)
    assert "obama" not in json.dumps(entry.details)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"folder": "../data"}, "photo folder: give a path inside"),
        ({"folder": "stick/../../data"}, "photo folder: give a path inside"),
        ({"folder": "/etc"}, "photo folder: give a path inside"),
        ({"folder": "escape"}, "photo folder: escape leads outside"),
        ({"folder": "stick/nothing"}, "photo folder: stick/nothing does not exist below"),
        ({"folder": "stick/groups.csv"}, "photo folder: stick/groups.csv is not a folder"),
        ({"folder": ""}, "photo folder: choose one below"),
        ({"folder": "stick/agency-set", "subgroups": "../x.csv"}, "subgroup CSV: give a path inside"),
        ({"folder": "stick/agency-set", "target_fmr": "0.5"}, "target false-match rate: choose one of"),
        ({"folder": "stick/agency-set", "top": "abc"}, "rank K: a whole number from 1 to 200"),
        ({"folder": "stick"}, "found 0 identity folder(s) with photos; at least 2 are needed"),
        ({"folder": "big"}, "7 photos: the UI runs at most 6 (reports.evaluation_max_images)"),
    ],
)
def test_folders_outside_the_root_and_bad_inputs_are_refused(as_user, store, media, labelled, form, message):
    (media / "escape").symlink_to(media.parent / "data")  # a link on the stick to the unit's data dir
    shutil.copytree(labelled, media / "big")
    shutil.copy(PHOTOS / "obama.jpg", media / "big" / "p2" / "again.jpg")
    shutil.copy(PHOTOS / "biden.jpg", media / "big" / "p3" / "again.jpg")
    boss = as_user("boss")
    response = post(boss, "/reports/evaluations", form, "/reports/evaluations")
    assert response.status_code == 400
    assert message in re.search(r'id="error">(.*?)</p>', text(response)).group(1)
    assert audited(store, "evaluation.run") == [] and "None yet." in text(boss.get("/reports/evaluations"))


def test_no_stick_means_no_run_form(as_user, media):
    os.rmdir(media)
    page = text(as_user("boss").get("/reports/evaluations"))
    assert 'id="no-folders"' in page and 'id="run-test"' not in page
    assert as_user("boss").get("/reports/evaluations/jobs/nope").status_code == 404
    assert as_user("boss").get("/reports/evaluations/99").status_code == 404


def test_a_run_that_fails_says_why_on_its_page(as_user, store, media):
    for identity in ("p1", "p2"):
        (media / "junk" / identity).mkdir(parents=True)
        (media / "junk" / identity / "x.jpg").write_bytes(b"not a photo")
    boss = as_user("boss")
    job_url = post(boss, "/reports/evaluations", {"folder": "junk"}, "/reports/evaluations").headers["Location"]
    assert wait_done(boss, job_url)["state"] == "failed"
    page = text(boss.get(job_url))
    assert "The test stopped: fewer than 2 identities have a usable photo" in page and "job-progress" not in page
    assert audited(store, "evaluation.run") == []


def test_one_run_at_a_time_on_the_apps_own_executor(app, as_user, labelled):
    import threading

    from web import background

    release = threading.Event()
    running = background.jobs(app).submit("other", "stick/agency-set", 5, lambda job: release.wait(60))
    try:
        boss = as_user("boss")
        response = post(boss, "/reports/evaluations", {"folder": "stick/agency-set"}, "/reports/evaluations")
        assert response.status_code == 409 and "already running (by other)" in text(response)
        assert "A test is running (stick/agency-set, by other)" in text(as_user("aud").get("/reports/evaluations"))
        assert boss.get(f"/reports/evaluations/jobs/{running.id}.json").get_json()["done"] == 0
    finally:
        release.set()
    background.shutdown(app)  # waits for the job: no thread outlives the app
    assert running.state == "done" and background.EXTENSION not in app.extensions
