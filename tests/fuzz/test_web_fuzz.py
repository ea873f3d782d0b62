"""Hypothesis over every route, method, URL part, query and form field and API body: never a 500.

Routes are read from the app's own URL map and field names from web/*.py and the templates, so a
new route or field is fuzzed without editing this file. Hostile images (tests/hostile_images.py)
and a real portrait are among the file values. Requests carry a fresh one-time form token, so they
reach the views instead of stopping at the CSRF guard.
"""

from __future__ import annotations

import collections
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.fuzz.conftest import BUDGET
from tests.hostile_images import corpus
from tests.vision.conftest import photo_bytes
from tests.web.conftest import login

WEB = Path(__file__).resolve().parents[2] / "web"
SKIP = {"/logout", "/camera/preview.mjpg"}  # ends the fuzzing session; a stream held open by design
FILE_FIELDS = {"probe", "images"}


def field_names() -> list[str]:
    names = set()
    for path in [*WEB.glob("*.py"), *WEB.glob("templates/**/*.html")]:
        text = path.read_text()
        names.update(re.findall(r'(?:form|args)\.get(?:list)?\("([a-z_0-9]+)"', text))
        names.update(re.findall(r'name="([a-z_0-9]+)"', text))
    return sorted(names - {"csrf_token"})


NASTY = ["", "0", "1", "-1", "2", "1e400", "NaN", "Infinity", "9" * 30, "\x00", "../../etc/passwd", "=1+1",
         "<b>x</b>", "2026-02-30", "2026-01-01", "C-1", "robbery", "possible-lead", "excluded", "concur", "dissent",
         "on", "/\t/evil.example/", "\r\nX: y", "%00", "\u202e", "x" * 5000, "examiner", "supervisor", "crop",
         "0,0,10,10"]  # fmt: skip
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
FILES = st.sampled_from([photo_bytes("obama2.jpg"), *corpus().values()])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
RAW_JSON = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries({"case_id": JSON_VALUES, "face_index": JSON_VALUES}).map(json.dumps),
    st.sampled_from(["[" * 3000, '{"case_id": Infinity}', '{"case_id": 1e400}', "{", "null", '"x"', "\xff"]),
)
SEEN: collections.Counter = collections.Counter()


def routes(app) -> list[tuple[str, str, tuple]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule in SKIP or rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule, tuple(sorted(rule.arguments))))
    return sorted(out)


def url_part(name: str, rule: str):
    if f"<int:{name}>" in rule:
        return st.one_of(st.integers(0, 5), st.integers(-5, 2**70)).map(str)
    return TEXT.filter(lambda t: "/" not in t and t not in ("", ".", "..")).map(lambda t: quote(t, safe=""))


@st.composite
def requests(draw, route):
    method, rule, arguments = route
    path = rule
    for name in arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", draw(url_part(name, rule)), path)
    names = field_names()
    query = draw(st.dictionaries(st.sampled_from(names), TEXT, max_size=4))
    form = draw(st.dictionaries(st.sampled_from(names), TEXT, max_size=8)) if method == "POST" else {}
    files = draw(st.dictionaries(st.sampled_from(sorted(FILE_FIELDS)), FILES, max_size=1)) if method == "POST" else {}
    body = draw(RAW_JSON) if method == "POST" and path.startswith("/api/") else None
    role = draw(st.sampled_from(["boss", "exa", "aud", None]))
    return method, rule, path, query, form, files, body, role


def test_no_route_answers_500(app, users):
    """Every route/method gets ``PER_ROUTE`` examples (about 15 s for ~60 route/methods)."""
    clients = {name: login(app, name) for name in ("boss", "exa", "aud")}
    clients[None] = app.test_client()

    def one(request):
        method, rule, path, query, form, files, body, role = request
        client = clients[role]
        headers = {}
        if role is not None:
            headers["X-CSRF-Token"] = client.get("/api/v1/csrf-token").get_json()["token"]
        kwargs = {"query_string": query, "headers": headers}
        if body is not None:
            kwargs.update(data=body.encode("utf-8", "surrogatepass"), content_type="application/json")
        elif files:
            fields = {
                **form,
                **{k: FileStorage(io.BytesIO(v), "f.jpg", content_type="image/jpeg") for k, v in files.items()},
            }
            boundary, data = encode_multipart(fields)
            kwargs.update(data=data, content_type=f"multipart/form-data; boundary={boundary}")
        elif form:
            kwargs.update(data=form)
        response = client.open(path, method=method, **kwargs)
        SEEN[(method, rule, response.status_code // 100)] += 1
        assert response.status_code < 500, (method, path, query, form, body and body[:200], response.data[:300])
        if path.startswith("/api/") and response.status_code >= 400:
            assert response.get_json()["error"]

    for route in routes(app):
        BUDGET(given(requests(route))(one))()
