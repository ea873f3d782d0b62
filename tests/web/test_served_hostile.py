"""The served unit (gunicorn, one worker) under hostile uploads: 4xx, same worker, no file written."""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.hostile_images import apng_oversized_frame, png_141_bytes
from tests.processes import clean_env, serving
from tests.vision.conftest import photo_bytes
from tests.web.test_hostile import padded_jpeg, tagged

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: bytes | None = None, content_type: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 - loopback only
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def start(self, probe: bytes, case: str) -> int:
        token = TOKEN.search(self.open("/cases/new")[1].decode()).group(1)
        upload = FileStorage(io.BytesIO(probe), "probe.jpg", content_type="image/jpeg")
        fields = {"csrf_token": token, "case": case, "offense": "robbery", "purpose": "warrant 1", "probe": upload}
        boundary, body = encode_multipart(fields)
        return self.open("/cases/new", body, f"multipart/form-data; boundary={boundary}")[0]


def worker_of(master: int) -> int:
    """gunicorn's only worker: the master's only child (it keeps no decoding children of its own)."""
    (worker,) = [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    return worker


def files_of(pid: int) -> set[str]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return {f for f in out if f.startswith("/") and not f.startswith(("/dev/", "/proc/"))}


@pytest.mark.slow
def test_hostile_uploads_are_refused_by_the_same_worker_and_nothing_reaches_the_disk(tmp_path, fast_config_file):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file), TMPDIR=str(tmp))
    with serving(["demo", "--dir", str(tmp_path / "demo")], env) as (base, proc):
        unit = Browser(base)
        status, _ = unit.open("/login", b"username=examiner&password=fieldface-demo")
        assert status == 200  # followed the redirect to the case list
        worker = worker_of(proc.pid)
        assert unit.start(png_141_bytes(), "C-1") == 400
        assert unit.start(apng_oversized_frame(), "C-2") == 400
        assert worker_of(proc.pid) == worker, "the same worker serves on"

        before = files_of(worker)
        seen: set[str] = set()
        done = threading.Event()

        def watch():
            while not done.is_set():
                seen.update(files_of(worker) - before)
                done.wait(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert unit.start(tagged(padded_jpeg(5 * 1024 * 1024), b"served"), "C-3") == 200  # 302 followed
        finally:
            done.set()
            watcher.join()
        data_dir = str(tmp_path / "demo" / "data")  # the encrypted store's own files, opened per request
        spooled = {f for f in seen if not f.startswith(data_dir)
                   and (f.endswith("(deleted)") or f.startswith(("/tmp/", "/var/tmp/", str(tmp))))}  # fmt: skip
        assert spooled == set(), "no temporary file was opened for the upload"
        assert list(tmp.iterdir()) == [], "nothing was written to TMPDIR"
        assert unit.start(photo_bytes("obama2.jpg"), "C-4") == 200
        assert worker_of(proc.pid) == worker
