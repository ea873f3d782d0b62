"""Disclosure fixtures: the workflow's real store, models, gallery and users, and a released case."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from device.workflow.analysis import FEATURES
from tests.workflow.conftest import clock, make_people, make_workflow, probe  # noqa: F401 - fixtures

PHOTOS = Path(__file__).resolve().parent.parent / "data"
BASES = ("obama.jpg", "obama3.jpg", "biden.jpg", "astronaut.png")
ALL_SIMILAR = {key: "similar" for key, _ in FEATURES}
LEAD_NAME, OTHER_NAME = "Person A", "Person B"  # tests/gallery's small gallery


@pytest.fixture
def wf(store, recognizer, clock):  # noqa: F811
    return make_workflow(store, recognizer, clock)


@pytest.fixture
def people(wf):
    return make_people(wf)


def released(wf, people, case: str = "CASE-1"):
    """An examination taken through the five steps: enhanced, searched, the lead put forward, the
    other candidate excluded, peer-reviewed (concur) and released."""
    exa, peer = people["exa"], people["peer"]
    exam = wf.start(exa, case, "robbery", "warrant 12/2025", probe())
    wf.apply_edit(exa, exam.id, "brightness_contrast", {"brightness": "8", "contrast": "1.05"})
    wf.run_search(exa, exam.id)
    _facts, rows = wf.candidates(exa, exam.id)
    for row in rows:
        lead = row["display_name"] == LEAD_NAME
        wf.record_analysis(exa, exam.id, row["rank"], ALL_SIMILAR if lead else {**ALL_SIMILAR, "nose": "dissimilar"},
                           {"ears": "lobe attached"}, "possible-lead" if lead else "excluded",
                           "ears and mole agree" if lead else "nose differs")  # fmt: skip
    wf.submit_for_review(exa, exam.id, "seen near the scene on the day (CCTV log 4)")
    lead_rank = next(r["rank"] for r in rows if r["display_name"] == LEAD_NAME)
    wf.submit_review(peer, exam.id, lead_rank, "same ear helix and lobe")
    wf.release(people["boss"], exam.id)  # a supervisor releases (policy.release_by)
    return wf.examination(exa, exam.id)


def variants(count: int) -> list[bytes]:
    """``count`` distinct gallery images: brightness, crop and mirror variants of the samples."""
    out: list[bytes] = []
    step = 0
    while len(out) < count:
        for base in BASES:
            bgr = cv2.imread(str(PHOTOS / base))
            h, w = bgr.shape[:2]
            m = 0.02 * (step % 4)
            img = bgr[int(h * m) : h - int(h * m), int(w * m) : w - int(w * m)]
            img = cv2.convertScaleAbs(img, alpha=1.0, beta=4 * (step % 5) - 8)
            if step % 2:
                img = cv2.flip(img, 1)
            out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
            if len(out) == count:
                break
        step += 1
    return out
