"""Step 1 from the unit's camera: preview stream, Capture as a probe, a camera that is off or away.

The camera is the ``files`` source on tests/data photos, owned by the app like the real one.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from device.camera import Still
from device.camera.files import FileSource
from device.config import validate_config
from tests.conftest import FAST_KEYS
from tests.vision.conftest import DATA
from tests.web.conftest import token_from
from tests.workflow.conftest import FAST_WORKFLOW
from web import create_app
from web.camera import holder

FORM = {"case": "C-CAM-1", "offense": "robbery", "purpose": "warrant 7"}


def camera_config(tmp_path, **camera):
    camera = {"type": "files", "source": str(DATA / "obama2.jpg"), "lock_file": str(tmp_path / "camera.lock"),
              "preview_fps": 30.0, **camera}  # fmt: skip
    return validate_config({"keys": FAST_KEYS, "workflow": FAST_WORKFLOW, "camera": camera})


@pytest.fixture
def config(tmp_path):
    return camera_config(tmp_path)


@pytest.fixture
def app(store, config, recognizer):
    app = create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer})
    yield app
    holder(app).close()  # releases the camera's lock file like a stopping server


def expected_still(config) -> bytes:
    """What the camera's Capture must store: the source's full-resolution still, JPEG-encoded."""
    source = FileSource(config.camera)
    source.open()
    return Still(source.still(), "x").jpeg(config.camera.still_jpeg_quality)


def capture(client, **form):
    data = {**FORM, "source": "camera", "csrf_token": token_from(client, "/cases/new"), **form}
    return client.post("/cases/new", data=data, content_type="multipart/form-data")


def test_capture_takes_a_still_and_uses_it_as_the_probe(app, users, as_user, config):
    exa = as_user("exa")
    page = exa.get("/cases/new").get_data(as_text=True)
    assert 'id="capture"' in page and 'id="camera-preview"' in page and 'id="probe"' in page
    response = capture(exa)
    assert response.status_code == 302, response.get_data(as_text=True)
    sha = hashlib.sha256(expected_still(config)).hexdigest()
    probe = exa.get("/cases/1/probe").get_data(as_text=True)
    assert re.search(r'id="probe-sha">([0-9a-f]{64})<', probe).group(1) == sha
    assert re.search(r'id="quality-0">(pass|warn)<', probe), "the quality report is shown per face"
    with app.app_context():
        from web.services import services

        entry = [e for e in services().audit.entries() if e.action == "exam.start"][-1]
    assert entry.details["probe_sha256"] == sha and entry.actor == "exa"
    assert entry.details["probe_source"].startswith("files:")


def test_an_imported_file_is_audited_as_an_import(app, users, as_user):
    from tests.web.test_routes import start

    assert start(as_user("exa")).status_code == 302
    with app.app_context():
        from web.services import services

        entry = [e for e in services().audit.entries() if e.action == "exam.start"][-1]
    assert entry.details["probe_source"] == "import"


def test_capture_needs_a_login_and_a_form_token(app, users, as_user):
    anonymous = app.test_client()
    response = anonymous.post("/cases/new", data={**FORM, "source": "camera"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    exa = as_user("exa")
    assert exa.post("/cases/new", data={**FORM, "source": "camera"}).status_code == 403
    assert exa.post("/cases/new", data={**FORM, "source": "camera", "csrf_token": "forged"}).status_code == 403
    assert exa.get("/cases").get_data(as_text=True).count('href="/cases/') == 1, "nothing was saved"


def test_preview_streams_jpeg_frames_and_never_reaches_recognition(app, users, as_user, recognizer, monkeypatch):
    assert app.test_client().get("/camera/preview.mjpg").headers["Location"].startswith("/login")
    exa = as_user("exa")
    calls = []
    monkeypatch.setattr(recognizer, "analyze", lambda *a, **k: calls.append(a) or pytest.fail("preview analysed"))
    response = exa.get("/camera/preview.mjpg?frames=3")
    assert response.status_code == 200
    assert response.mimetype == "multipart/x-mixed-replace"
    body = response.get_data()
    frames = re.findall(rb"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: (\d+)\r\n\r\n", body)
    assert len(frames) == 3
    first = body.index(b"\r\n\r\n") + 4
    assert body[first : first + 3] == b"\xff\xd8\xff", "each part is a JPEG"
    assert int(frames[0]) < 200_000, "a low-resolution preview"
    assert calls == []


def test_preview_streams_are_bounded(app, users, as_user, monkeypatch):
    from web import camera

    cam = holder(app)
    oldest = cam.stream(1000)
    assert next(oldest).startswith(b"--frame"), "a running stream"
    newer = [cam.stream(1000) for _ in range(camera.MAX_STREAMS)]
    for stream in newer:
        next(stream)
    assert len(cam._streams) == camera.MAX_STREAMS, "the oldest viewer was stopped"
    assert list(oldest) == [], "and its stream ends at once"
    for stream in newer:
        stream.close()  # what the server does when the page goes away
    assert cam._streams == []
    # However many frames are asked for, a stream ends after PREVIEW_MAX_S.
    monkeypatch.setattr(camera, "PREVIEW_MAX_S", 0.5)
    body = as_user("exa").get("/camera/preview.mjpg?frames=100000").get_data()
    assert 0 < body.count(b"--frame\r\n") < 30, "about 0.5 s at 30 frames/s"


def test_no_camera_on_the_unit_shows_only_the_file_import(tmp_path, store, recognizer, users, as_user):
    config = camera_config(tmp_path, type="disabled")
    app = create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer})
    from tests.web.conftest import login

    exa = login(app, "exa")
    page = exa.get("/cases/new").get_data(as_text=True)
    assert 'id="capture"' not in page and 'id="camera-preview"' not in page
    assert 'id="no-camera"' in page and 'id="probe"' in page
    assert exa.get("/camera/preview.mjpg").status_code == 503
    assert not holder(app).is_open, "a unit without a camera never opens one"


def test_camera_away_is_said_on_the_page_and_file_import_still_works(tmp_path, store, recognizer, users):
    from tests.web.conftest import login
    from tests.web.test_routes import start

    config = camera_config(tmp_path, source=str(tmp_path / "unplugged"))
    app = create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer})
    try:
        exa = login(app, "exa")
        page = exa.get("/cases/new").get_data(as_text=True)
        assert 'id="camera-unavailable"' in page and "does not exist" in page and 'id="capture"' not in page
        response = capture(exa)
        assert response.status_code == 503 and "Import a photo file instead" in response.get_data(as_text=True)
        assert start(exa).status_code == 302, "the file import is unaffected"
    finally:
        holder(app).close()


def test_a_camera_owned_by_another_process_is_refused_clearly(tmp_path, store, recognizer, users, config):
    from device.camera import open_camera
    from tests.web.conftest import login

    app = create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer})
    with open_camera(config.camera):  # another owner holds the lock file
        page = login(app, "exa").get("/cases/new").get_data(as_text=True)
    assert 'id="camera-unavailable"' in page and "owned by another process" in page
