"""The package door of the web UI: who gets which package, bad input, and nothing made for a refusal."""

from __future__ import annotations

import io
import json
import zipfile

from tests.web.conftest import token_from
from tests.web.test_routes import post, to_review


def released(as_user):
    exa = as_user("exa")
    to_review(exa)
    assert post(as_user("peer"), "/review/1", {"choice": "1", "reason": "ears agree"}).status_code == 302
    # a supervisor releases (policy.release_by)
    assert post(as_user("boss"), "/cases/1/release", {}, "/cases/1/verify").status_code == 302
    return exa


def package(client, redaction: str):
    return client.post("/cases/1/package", data={"csrf_token": token_from(client, "/cases/1/report"),
                                                 "redaction": redaction})  # fmt: skip


def audited(app) -> list[dict]:
    with app.app_context():
        from web.services import services

        return [e.details for e in services().workflow.audit.entries() if e.action == "package.create"]


def test_the_package_route_hands_out_what_the_policy_allows(app, as_user):
    exa = released(as_user)
    page = exa.get("/cases/1/report").get_data(as_text=True)
    assert "Download package (other candidates redacted)" in page and "Download full package" not in page
    got = package(exa, "redacted")
    assert got.status_code == 200 and got.mimetype == "application/zip"
    assert "attachment" in got.headers["Content-Disposition"] and got.headers["Cache-Control"] == "private, no-store"
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        assert json.loads(archive.read("manifest.json"))["redacted"] is True
    refused = package(exa, "unredacted")
    assert refused.status_code == 403 and b"unredacted package is only for" in refused.data
    assert package(exa, "everything").status_code == 400
    assert exa.post("/cases/1/package", data={"redaction": "redacted"}).status_code in (400, 403)  # no form token
    assert package(as_user("exb"), "redacted").status_code == 403  # not theirs
    boss = as_user("boss")
    assert "Download full package" in boss.get("/cases/1/report").get_data(as_text=True)
    assert package(boss, "unredacted").status_code == 200
    assert [(d["redacted"], d["encrypted"]) for d in audited(app)] == [(True, False), (False, False)]


def test_no_package_before_release(app, as_user):
    exa = as_user("exa")
    to_review(exa)
    r = exa.post("/cases/1/package", data={"csrf_token": token_from(exa, "/cases/1/verify"), "redaction": "redacted"})
    assert r.status_code == 409 and audited(app) == []


def test_a_supervisor_packages_an_examination_closed_without_a_lead(app, as_user):
    exa = as_user("exa")
    to_review_closed(exa)
    assert "Disclosure package" not in exa.get("/cases/1/analysis").get_data(as_text=True)
    boss = as_user("boss")
    page = boss.get("/cases/1/analysis").get_data(as_text=True)
    assert "Download package (other candidates redacted)" in page
    r = boss.post("/cases/1/package", data={"csrf_token": token_from(boss, "/cases/1/analysis"),
                                            "redaction": "redacted"})  # fmt: skip
    assert r.status_code == 200 and r.mimetype == "application/zip"
    r = exa.post("/cases/1/package", data={"csrf_token": token_from(exa, "/cases/1/analysis"), "redaction": "redacted"})
    assert r.status_code == 403 and len(audited(app)) == 1


def to_review_closed(exa) -> None:
    from tests.web.test_routes import start

    assert start(exa).status_code == 302
    assert post(exa, "/cases/1/search", {"face": "0"}, "/cases/1/enhance").status_code == 302
    assert post(exa, "/cases/1/close", {"reason": "nobody plausible"}, "/cases/1/analysis").status_code == 302
