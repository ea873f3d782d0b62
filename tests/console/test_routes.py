"""Every console route refuses anonymous and wrong-role use; login is the unit's (lockout, tokens)."""

from __future__ import annotations

import pytest

from tests.console.conftest import form_token, login

# route -> (method, an URL for it, the roles that may use it)
ROUTES = {
    "console.fleet": ("GET", "/fleet", {"auditor", "supervisor", "admin"}),
    "console.api_units": ("GET", "/api/v1/units", {"auditor", "supervisor", "admin"}),
    "console.acknowledge": ("POST", "/alerts/abc/acknowledge", {"supervisor"}),
    "console.console_log": ("GET", "/console-log", {"auditor", "admin"}),
    "fleet_reports.index": ("GET", "/reports", {"auditor", "supervisor"}),
    "fleet_reports.run": ("GET", "/reports/run?from=2026-01-01&to=2026-01-31", {"auditor", "supervisor"}),
    "fleet_reports.download": ("GET", "/reports/run.json?from=2026-01-01&to=2026-01-31", {"auditor", "supervisor"}),
    "explorer.index": ("GET", "/explorer", {"auditor", "supervisor"}),
    "explorer.entry": ("GET", "/explorer/unit-north/0/1", {"auditor", "supervisor"}),
    "explorer.verify": ("POST", "/explorer/unit-north/verify", {"auditor", "supervisor"}),
    "explorer.export": ("GET", "/explorer/unit-north/export", {"auditor", "supervisor"}),
    "galleries.index": ("GET", "/galleries", {"auditor", "supervisor", "admin"}),
    "galleries.api": ("GET", "/api/v1/galleries", {"auditor", "supervisor", "admin"}),
    "auth.logout": ("POST", "/logout", {"auditor", "supervisor", "admin"}),
}
OPEN = {"static", "console.healthz", "console.home", "auth.login", "auth.login_post", "auth.setup", "auth.setup_post"}


def test_every_route_is_in_the_table(console):
    assert {r.endpoint for r in console.url_map.iter_rules()} - OPEN == set(ROUTES)


def test_anonymous_use_is_refused_everywhere(console):
    client = console.test_client()
    for endpoint, (method, url, _roles) in ROUTES.items():
        r = client.open(url, method=method)
        if url.startswith("/api/"):
            assert r.status_code == 401 and r.json["error"], endpoint
        else:
            assert r.status_code == 302 and "/login" in r.headers["Location"], endpoint


def test_wrong_roles_are_refused_with_a_valid_form_token(console):
    for user in ("auditor", "supervisor", "admin"):
        client = login(console, user)
        for endpoint, (method, url, roles) in ROUTES.items():
            if user in roles or endpoint == "auth.logout":
                continue
            data = {"csrf_token": form_token(client)} if method == "POST" else None
            r = client.open(url, method=method, data=data)
            assert r.status_code == 403, (user, endpoint, r.status_code)


def test_allowed_roles_get_their_pages(console):
    for user in ("auditor", "supervisor", "admin"):
        client = login(console, user)
        for endpoint, (method, url, roles) in ROUTES.items():
            if method != "GET" or user not in roles:
                continue
            r = client.get(url)
            assert r.status_code == 200, (user, endpoint, r.status_code, r.get_data(as_text=True)[:300])
            assert "Content-Security-Policy" in r.headers


def test_healthz_and_the_units_json(console):
    client = console.test_client()
    assert client.get("/healthz").json["status"] == "ok"
    data = login(console, "auditor").get("/api/v1/units").json
    units = {u["unit"]: u for u in data["units"]}
    assert set(units) == {"unit-north", "unit-south", "unit-east"}
    assert units["unit-south"]["verified_head"]["epoch"] == 1
    assert [e["lost"] for e in units["unit-south"]["epochs"]][1] is not None
    kinds = {(a["unit"], a["kind"]) for a in data["alerts"]}
    assert {("unit-east", "silence"), ("unit-south", "epoch"), ("unit-north", "rejected")} <= kinds


def test_a_wrong_password_is_throttled_and_logged(console):
    client = console.test_client()
    for _ in range(5):
        r = client.post("/login", data={"username": "auditor", "password": "wrong one"})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "auditor", "password": "wrong one"})
    assert r.status_code == 401 and "too many failed logins" in r.get_data(as_text=True)
    actions = [e.action for e in console.extensions["fieldface_console"]["log"].entries(limit=1000)]
    assert actions.count("login.failed") >= 5 and "login.lockout" in actions


def test_a_form_token_is_single_use(console):
    client = login(console, "supervisor")
    token = form_token(client)
    assert client.post("/explorer/unit-north/verify", data={"csrf_token": token}).status_code == 200
    r = client.post("/explorer/unit-north/verify", data={"csrf_token": token})
    assert r.status_code == 403 and "already submitted" in r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/explorer/nope/0/1", "/explorer/unit-north/0/999999", "/explorer?page=-1",
                                 "/reports/run?from=2026-02-01&to=2026-01-01", "/reports/run.exe?from=x&to=y",
                                 "/explorer?from=yesterday"])  # fmt: skip
def test_bad_input_is_a_clear_4xx(console, url):
    r = login(console, "auditor").get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert "Traceback" not in r.get_data(as_text=True)
