"""Hostile input at the web door: images, uploads, JSON, redirects. Each a 4xx, never a 500 or a file."""

from __future__ import annotations

import io
import os
import signal
import struct
import threading

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from device.vision import safe_decode
from tests.hostile_images import corpus
from tests.vision.conftest import photo_bytes
from tests.web.conftest import token_from
from web.server import gunicorn_options


def start(client, probe: bytes, case: str = "C-1"):
    """Step 1 with ``probe``, the body encoded in memory (the test client would spool a big one to a file)."""
    token = token_from(client, "/cases/new")
    fields = {"case": case, "offense": "robbery", "purpose": "warrant 1", "csrf_token": token,
              "probe": FileStorage(io.BytesIO(probe), "probe.jpg", content_type="image/jpeg")}  # fmt: skip
    boundary, body = encode_multipart(fields)
    return client.post("/cases/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def tagged(jpeg: bytes, tag: bytes) -> bytes:
    """Other bytes, same picture: the workflow caches analyses by the probe's hash (cases.py)."""
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag + jpeg[2:]


def padded_jpeg(size: int) -> bytes:
    """A real portrait grown to ``size`` bytes with JPEG comment segments (a camera still's size)."""
    jpeg = photo_bytes("obama2.jpg")
    segments, body = [], b"x" * 65533
    while len(jpeg) + sum(map(len, segments)) < size:
        segments.append(b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body)
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def test_a_5_mb_probe_upload_creates_no_file(app, as_user):
    """Werkzeug spooled any upload over 500 KB to a temporary file in /tmp (on a unit: the SD card)."""
    seen = {}

    @app.before_request
    def look_at_open_files():
        from flask import request

        if request.path == "/cases/new" and request.method == "POST":
            upload = request.files.get("probe")
            seen["stream"] = type(upload.stream).__name__ if upload else None
            fds = os.listdir("/proc/self/fd")
            seen["files"] = [t for fd in fds if (t := _target(fd)) and ("/tmp" in t or "(deleted)" in t)]
            seen["tmp"] = sorted(os.listdir(os.environ.get("TMPDIR", "/tmp")))

    exa = as_user("exa")
    probe = padded_jpeg(5 * 1024 * 1024)
    assert len(probe) >= 5 * 1024 * 1024
    before_tmp = sorted(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    before_fds = [t for fd in os.listdir("/proc/self/fd") if (t := _target(fd)) and ("/tmp" in t or "(deleted)" in t)]
    assert start(exa, probe).status_code == 302  # a real probe, accepted
    assert seen["stream"] == "BytesIO"
    assert sorted(seen["files"]) == sorted(before_fds)  # (pytest's own capture files)
    assert set(seen["tmp"]) - set(before_tmp) == set()


def _target(fd: str) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


@pytest.mark.parametrize("name", sorted(corpus()))
def test_hostile_images_are_a_400_and_the_app_keeps_serving(as_user, name):
    exa = as_user("exa")
    refused = start(exa, corpus()[name])
    assert refused.status_code == 400
    assert start(exa, photo_bytes("obama2.jpg"), case="C-2").status_code == 302


@pytest.fixture
def one_decoder(config, recognizer):
    """The app's recognizer decodes with one child for this test (its own pool is put back after)."""
    own, recognizer.decoder = recognizer.decoder, safe_decode.DecodePool(1, config.vision.decode_timeout_s)
    yield recognizer.decoder
    recognizer.decoder.close()
    recognizer.decoder = own


def test_a_decoder_dying_under_an_upload_is_a_400_and_the_worker_lives_on(as_user, one_decoder):
    exa = as_user("exa")
    pool = one_decoder
    assert start(exa, tagged(photo_bytes("obama2.jpg"), b"before")).status_code == 302
    pids = pool.pids()
    assert len(pids) == 1
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)

    def crash():
        for pid in pids:
            os.kill(pid, signal.SIGSEGV)
            os.kill(pid, signal.SIGCONT)

    threading.Timer(0.3, crash).start()
    refused = start(exa, tagged(photo_bytes("obama.jpg"), b"crash"), case="C-2")
    assert refused.status_code == 400 and b"could not be decoded safely" in refused.data
    assert start(exa, tagged(photo_bytes("obama3.jpg"), b"after"), case="C-3").status_code == 302


BAD_JSON = {
    "a list": "[1, 2]",
    "a number": "1",
    "Infinity": '{"case_id": Infinity}',
    "NaN": '{"case_id": NaN}',
    "1e400": '{"case_id": 1e400}',
    "nested 5000 deep": "[" * 5000 + "]" * 5000,
    "huge int": '{"case_id": 99999999999999999999999999}',
    "bool": '{"case_id": true}',
    "not json": "{case_id: 1}",
    "face too big": '{"case_id": 1, "face_index": 1e9}',
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_bad_json_is_a_400_with_a_json_error(as_user, name):
    exa = as_user("exa")
    token = exa.get("/api/v1/csrf-token").get_json()["token"]
    r = exa.post("/api/v1/searches", data=BAD_JSON[name], content_type="application/json",
                 headers={"X-CSRF-Token": token})  # fmt: skip
    assert r.status_code == 400, r.data[:200]
    assert r.get_json()["error"]


def test_audit_limit_stays_within_1_to_1000(as_user):
    aud = as_user("aud")
    for bad in ("-1", "0", "1001", "x", "99999999999999999999999"):
        assert aud.get(f"/api/v1/audit?limit={bad}").status_code == 400, bad
    assert aud.get("/api/v1/audit?after=-5").status_code == 400
    assert len(aud.get("/api/v1/audit?limit=2").get_json()["entries"]) == 2


def test_huge_ids_in_urls_are_404_not_500(as_user):
    exa = as_user("exa")
    assert exa.get("/cases/99999999999999999999999999").status_code == 404
    assert exa.get("/api/v1/cases/9223372036854775808").status_code == 404


@pytest.mark.parametrize("target", ["/\t/evil.example/", "/\\evil.example", "//evil.example/", "/\r\nSet-Cookie: x=1",
                                    "https://evil.example/", "/%09/evil.example", "javascript:alert(1)"])  # fmt: skip
def test_login_next_never_leaves_the_site_nor_breaks_the_answer(app, users, target):
    from tests.workflow.conftest import PASSWORD

    client = app.test_client()
    r = client.post("/login", data={"username": "exa", "password": PASSWORD, "next": target})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not any(ord(c) < 0x20 for c in location)  # a browser drops these: "/\t/x" is "//x"
    if target != "/%09/evil.example":  # (a path on this site: %09 stays encoded in the browser)
        assert location == "/cases"


def test_the_access_log_leaves_query_strings_out():
    from device.config import Config

    fmt = gunicorn_options(Config(), "127.0.0.1:8080")["access_log_format"]
    assert "%(U)s" in fmt and not any(atom in fmt for atom in ("%(r)s", "%(q)s", "%(f)s", "%(a)s"))


def test_ids_and_numbers_are_checked_at_the_door_issue_15(as_user):
    """Each case of issue 15: a 4xx with a JSON error in the API's own words, never a 500."""
    exa = as_user("exa")

    def search(body):
        token = exa.get("/api/v1/csrf-token").get_json()["token"]
        return exa.post("/api/v1/searches", json=body, headers={"X-CSRF-Token": token})

    for body in ({"case_id": 9223372036854775808}, {"case_id": 1.5}, {"case_id": True}, {"case_id": "1x"}):
        r = search(body)
        assert r.status_code == 400 and "case_id" in r.get_json()["error"], body
    missing = search({"case_id": 77})
    assert missing.status_code == 404 and missing.get_json()["error"] == "no case examination 77 on this unit"
    assert exa.get("/api/v1/cases/77").status_code == 404 and exa.get("/cases/77").status_code == 404
    aud = as_user("aud")
    for query in ("after=99999999999999999999999", "after=9223372036854775808", "after=1.5", "limit=true"):
        r = aud.get(f"/api/v1/audit?{query}")
        assert r.status_code == 400 and r.get_json()["error"], query
    assert start(exa, photo_bytes("obama2.jpg")).status_code == 302
    wrong_face = search({"case_id": 1, "face_index": 7})
    assert wrong_face.status_code == 400 and "--" not in wrong_face.get_json()["error"]
    assert exa.get("/cases/1/candidates/99").status_code in (404, 409)
