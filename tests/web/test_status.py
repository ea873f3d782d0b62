import signal

import pytest

from tests.processes import clean_env, serving, wait_http
from web import create_app


@pytest.fixture
def client(store, fast_config):
    app = create_app(store, fast_config, {"TESTING": True})
    return app.test_client()


def test_healthz_reads_the_encrypted_store(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "device_id": "test-unit", "schema": response.get_json()["schema"]}
    assert response.get_json()["schema"] >= 1


def test_status_page_shows_the_unit_to_a_logged_in_user(client):
    # A fresh unit asks for its first supervisor; the status page is behind the login.
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/status").headers["Location"].startswith("/login")
    form = {"username": "boss", "display_name": "Boss", "password": "a long password", "password2": "a long password"}
    assert client.post("/setup", data=form).status_code == 302
    assert client.post("/login", data={"username": "boss", "password": "a long password"}).status_code == 302
    page = client.get("/status").get_data(as_text=True)
    assert "test-unit" in page and "Unlocked (key file)" in page and "never an identification" in page
    assert 'id="models"' in page and "Sync backlog" in page


def test_security_headers_forbid_inline_script(client):
    headers = client.get("/setup").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_locked_store_answers_503_not_a_traceback(store, fast_config):
    app = create_app(store, fast_config, {"TESTING": True})
    store.lock()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "locked" in response.get_json()["error"]


@pytest.mark.slow
def test_fieldface_serve_runs_gunicorn_and_stops_cleanly(tmp_path, key_file, fast_config_file, run_cli):
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file), FIELDFACE_KEY_FILE=str(key_file))
    assert run_cli("--data-dir", str(tmp_path / "d"), "init", env=env).returncode == 0
    with serving(["--data-dir", str(tmp_path / "d"), "serve"], env) as (base, proc):
        body = wait_http(f"{base}/healthz", proc)
        assert b'"status":"ok"' in body.replace(b" ", b"")
        assert b"First-run setup" in wait_http(f"{base}/setup", proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
