"""Step 1 coached: live guidance on the preview, the best-shot burst, more stills of one person.

The camera is the ``files`` source on a folder holding a scene made from the committed photos
(blurred, dark, turned, good, good-but-softer: tests/camera/scenes.py). The privacy rules are
proved with spies on the real recognizer and gallery: no preview frame is embedded or searched,
and no still of a burst but the one kept is ever written, in the data dir or anywhere in /tmp.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.camera.scenes import make_scene
from tests.gallery.conftest import decrypted_pages
from tests.web.conftest import token_from
from tests.web.test_camera import camera_config, capture
from tests.workflow.test_probe_path import wal_pages
from web import create_app
from web.camera import holder


@pytest.fixture
def scene(tmp_path, preview_recognizer):
    return make_scene(preview_recognizer, tmp_path / "scene")


@pytest.fixture
def config(tmp_path, scene):
    return camera_config(tmp_path, source=str(scene), still_size=(800, 1000))


@pytest.fixture
def app(store, config, recognizer, preview_recognizer):
    app = create_app(store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer,
                                     "FIELDFACE_PREVIEW_RECOGNIZER": preview_recognizer})  # fmt: skip
    yield app
    holder(app).close()


@pytest.fixture
def spies(recognizer, preview_recognizer, monkeypatch):
    """Counts every embedding, search and full analysis the app's recognizers and gallery make."""
    from device.gallery import Gallery

    seen = {"embed": 0, "search": 0, "analyze": 0}

    def counting(owner, name, key):
        real = getattr(owner, name)

        def spy(*args, **kwargs):
            seen[key] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)

    counting(recognizer, "embed", "embed")
    counting(recognizer, "analyze", "analyze")
    counting(preview_recognizer, "embed", "embed")
    counting(Gallery, "search", "search")
    return seen


def guidance(client, until):
    """Poll the guidance endpoint until ``until(advice)`` (a state change, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while True:
        advice = client.get("/camera/guidance.json").get_json()
        if until(advice) or time.monotonic() > deadline:
            return advice
        time.sleep(0.05)


def test_the_preview_and_its_guidance_never_embed_or_search(app, users, as_user, spies):
    exa = as_user("exa")
    assert exa.get("/camera/guidance.json").get_json()["state"] == "waiting", "no preview: nothing analysed"
    assert b"--frame" in exa.get("/camera/preview.mjpg?frames=15").get_data()
    advice = guidance(exa, lambda a: a["state"] != "waiting")
    # The scene's first picture (nothing was captured yet): a blurred face, boxed, with its fix.
    assert advice["state"] == "adjust" and advice["box"] is not None
    assert "hold the camera steady and focus on the face" in advice["instructions"]
    assert spies == {"embed": 0, "search": 0, "analyze": 0}, "preview frames reach neither embedder nor gallery"

    response = capture(exa)  # the burst is judged by the preview recognizer too; the kept still is analysed
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases/1/probe")
    assert spies["embed"] == 0 and spies["search"] == 0
    page = exa.get("/cases/1/enhance").get_data(as_text=True)
    form = re.search(r'action="(/cases/1/search)"', page)
    assert form, "the enhancement page has the search form"
    exa.post("/cases/1/search", data={"csrf_token": token_from(exa, "/cases/1/enhance")})
    assert spies["embed"] >= 1 and spies["search"] == 1, "the spies do see the search when a person asks for it"


def test_guidance_follows_the_policy_thresholds(app, users, as_user):
    """A supervisor's stricter sharpness rule makes the good frame 'adjust' too: one gate, one verdict."""
    from device.policy import set_setting

    exa = as_user("exa")
    cam = holder(app)
    with app.app_context():
        from web.services import services

        svc = services()
        cam.owner().source._next = 3  # the scene's good frame
        exa.get("/camera/preview.mjpg?frames=5").get_data()
        assert guidance(exa, lambda a: a["state"] == "ready")["state"] == "ready"
        set_setting(svc.store, svc.workflow.config, "vision.quality", {"sharpness": [100000, 90000]},
                    actor="boss", role="supervisor", reason="test", audit=svc.audit)  # fmt: skip
    advice = exa.get("/camera/guidance.json").get_json()
    assert advice["state"] == "adjust" and "hold the camera steady and focus on the face" in advice["instructions"]


def _scan(root: Path, pieces: list[bytes], since: float) -> list[str]:
    """Files under ``root`` changed since ``since`` that hold any of ``pieces``."""
    found = []
    for folder, _dirs, files in os.walk(root, onerror=lambda _e: None):
        for name in files:
            path = Path(folder) / name
            try:
                if path.is_symlink() or not path.is_file() or path.stat().st_mtime < since:
                    continue
                if path.stat().st_size > 512 * 2**20:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if any(p in data for p in pieces):
                found.append(str(path))
    return found


def test_a_burst_keeps_the_best_still_and_writes_none_of_the_others(app, users, as_user, store, tmp_path):
    started = time.time() - 1
    exa = as_user("exa")
    assert capture(exa).status_code == 302
    burst = holder(app).shelf.get(1, users["exa"].id)
    scores = [s.unified for s in burst.stills]
    assert burst.size == 5 and burst.best == 3 == scores.index(max(scores)), scores
    with app.app_context():
        from web.services import services

        start = [e for e in services().audit.entries() if e.action == "exam.start"][-1]
        exam = services().workflow.examination(users["exa"], 1)
    assert start.details["burst"] == {"size": 5, "chosen": 3, "best": 3, "chosen_quality": scores[3], "scores": scores}
    assert exam.probe_sha256 == __import__("hashlib").sha256(burst.stills[3].jpeg).hexdigest()

    page = exa.get("/cases/1/probe").get_data(as_text=True)
    assert "Burst: 5 stills" in page and page.count('alt="burst still') == 5 and "never written" in page
    assert exa.get("/cases/1/burst/0.jpg").data[:2] == b"\xff\xd8"

    def pieces(jpeg: bytes) -> list[bytes]:
        return [jpeg[n : n + 48] for n in (len(jpeg) // 4, len(jpeg) // 2, 3 * len(jpeg) // 4)]

    discarded = [p for i, s in enumerate(burst.stills) if i != burst.best for p in pieces(s.jpeg)]
    kept = pieces(burst.stills[burst.best].jpeg)
    plain = decrypted_pages(store) + wal_pages(store)
    assert all(p in plain for p in kept), "the scanner finds the kept still in the decrypted database"
    assert not any(p in plain for p in discarded), "no discarded still in the database, free pages or WAL"
    assert _scan(store.data_dir, discarded + kept, started) == [], "nothing unencrypted in the data dir"
    control = Path(tempfile.gettempdir()) / f"fieldface-scan-control-{os.getpid()}"
    control.write_bytes(b"x" + discarded[0])
    try:
        assert _scan(Path(tempfile.gettempdir()), discarded, started) == [str(control)], "only the scanner's control"
    finally:
        control.unlink()


def test_another_burst_still_or_a_second_still_of_the_person(app, users, as_user):
    exa = as_user("exa")
    capture(exa)
    token = token_from(exa, "/cases/1/probe")
    response = exa.post("/cases/1/burst/4", data={"action": "use", "csrf_token": token})
    assert response.status_code == 302
    burst = holder(app).shelf.get(1, users["exa"].id)
    import hashlib

    page = exa.get("/cases/1/probe").get_data(as_text=True)
    assert hashlib.sha256(burst.stills[4].jpeg).hexdigest() in page, "still 5 is now the probe"
    exa.post("/cases/1/burst/3", data={"action": "add", "csrf_token": token_from(exa, "/cases/1/probe")})
    page = exa.get("/cases/1/probe").get_data(as_text=True)
    assert "The search combines 2 stills" in page and 'id="still-quality-2">pass<' in page
    # The blurred first still fails: its quality is shown, and the search is refused until an override.
    exa.post("/cases/1/burst/0", data={"action": "add", "csrf_token": token_from(exa, "/cases/1/probe")})
    page = exa.get("/cases/1/probe").get_data(as_text=True)
    assert 'id="still-quality-3">fail<' in page and "Another still of the same person" not in page, "three at most"
    with app.app_context():
        from web.services import drop

        drop(app)  # the box locks
    assert holder(app).shelf.get(1, users["exa"].id) is None, "the burst is dropped on lock"


def test_the_printed_lead_report_says_the_probe_was_combined(app, users, as_user):
    """Capture, add a second still of the burst, search, review, release: the report page discloses it."""
    from tests.workflow.test_flow import to_review_from

    exa = as_user("exa")
    capture(exa)
    exa.post("/cases/1/burst/4", data={"action": "add", "csrf_token": token_from(exa, "/cases/1/probe")})
    assert "combines this image with 1 more still of the person" in exa.get("/cases/1/enhance").get_data(as_text=True)
    exa.post("/cases/1/search", data={"csrf_token": token_from(exa, "/cases/1/enhance")})
    with app.app_context():
        from web.services import services

        wf = services().workflow
        exam = to_review_from(wf, users, wf.examination(users["exa"], 1))
        wf.submit_review(users["peer"], exam.id, 1, "same ears")
        wf.release(users["boss"], exam.id)  # a supervisor releases (policy.release_by)
    page = exa.get("/cases/1/report").get_data(as_text=True)
    assert re.search(r'id="combined-probe">The probe was <b>combined from 2 stills</b>', page)
    assert "quality-weighted mean" in page and page.count("<td><code>") >= 2
