"""A Flask test client on a real store with the real models, the demo-like gallery and users."""

from __future__ import annotations

import re

import pytest

from tests.gallery.conftest import enroll_people
from tests.workflow.conftest import PASSWORD, make_people, workflow_config
from web import create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def config():
    return workflow_config()


@pytest.fixture
def app(store, config, recognizer):
    return create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer})


@pytest.fixture
def users(app, store, config, recognizer):
    """The gallery (two people) and five users, made through the domain like a supervisor would."""
    with app.app_context():
        from web.services import services

        svc = services()
        enroll_people(svc.gallery)
        return make_people(svc.workflow)


def token_from(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no form token on {path}"
    return match.group(1)


def login(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302 and "/login" not in response.headers["Location"], response.get_data(as_text=True)
    return client


@pytest.fixture
def as_user(app, users):
    return lambda name: login(app, name)
