"""Probes of several stills (device/workflow/stills.py) and the burst still the officer keeps."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from device.errors import ErasedError, NotAllowedError, StepError, UsageError
from device.workflow.stills import combine
from tests.gallery.conftest import blurred, decrypted_pages, found_before, pieces_of
from tests.vision.conftest import encode, photo_rgb
from tests.workflow.conftest import probe
from tests.workflow.test_flow import to_review_from
from tests.workflow.test_probe_path import SUPERVISOR, audit, wal_pages


def mirrored(name: str) -> bytes:
    return encode(np.ascontiguousarray(photo_rgb(name)[:, ::-1]), ".jpg")


def test_a_combined_probe_searches_is_audited_and_is_disclosed_in_the_report(wf, people):
    exa, peer = people["exa"], people["peer"]
    exam = wf.start(exa, "CASE-S", "robbery", "warrant 3/2026", probe())
    second = mirrored("obama2.jpg")
    held = wf.add_still(exa, exam.id, second)
    assert [(s["position"], s["sha256"], s["held"]) for s in held] == [(1, hashlib.sha256(second).hexdigest(), True)]
    assert wf.still_image(exa, exam.id, 1) == second
    result = wf.run_search(exa, exam.id)
    assert result.candidates[0].display_name == "Person A"

    # The search used the quality-weighted mean of both stills' embeddings, and said so.
    [(_seq, _a, details)] = audit(wf, "exam.search")
    combined = details["combined"]
    assert combined["stills"] == 2 and "quality-weighted mean" in combined["method"]
    assert [p["sha256"] for p in combined["parts"]] == [exam.probe_sha256, hashlib.sha256(second).hexdigest()]
    assert sum(p["weight"] for p in combined["parts"]) == pytest.approx(1.0, abs=1e-3)
    vectors = [wf.analyses.embedding(data, hashlib.sha256(data).hexdigest(), 0) for data in (probe(), second)]
    expected, _ = combine([(p["unified"], v) for p, v in zip(combined["parts"], vectors, strict=True)])
    reference = wf.gallery.recognizer.embed(wf.analyze(probe("obama.jpg")).faces[0])
    best = max(expected.similarity(reference), expected.similarity(
        wf.gallery.recognizer.embed(wf.analyze(probe("obama3.jpg")).faces[0])))  # fmt: skip
    assert result.candidates[0].score == pytest.approx(best, abs=2e-3), "the gallery searched the combined vector"
    [(_s, _a, added)] = audit(wf, "exam.still_add")
    assert added["position"] == 1 and added["sha256"] == hashlib.sha256(second).hexdigest()

    exam = to_review_from(wf, people, wf.examination(exa, exam.id))
    wf.submit_review(peer, exam.id, 1, "same ears")
    wf.release(people["boss"], exam.id)  # a supervisor releases (policy.release_by)
    report = wf.report(exa, exam.id)
    assert report["combined"] == combined, "the report says what the signed log says"


def test_a_single_still_probe_is_searched_and_reported_as_before(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())
    single = wf.run_search(exa, exam.id)
    [(_seq, _a, details)] = audit(wf, "exam.search")
    assert "combined" not in details and wf.stills(exa, exam.id) == []
    direct = wf.gallery.recognizer.embed(wf.analyze(probe()).faces[0])
    reference = wf.gallery.recognizer.embed(wf.analyze(probe("obama.jpg")).faces[0])
    assert single.candidates[0].score == pytest.approx(
        max(direct.similarity(reference), direct.similarity(wf.gallery.recognizer.embed(
            wf.analyze(probe("obama3.jpg")).faces[0]))), abs=2e-3)  # fmt: skip


def test_combination_is_a_quality_weighted_unit_mean():
    from device.vision.embed import Embedding

    a = Embedding(np.array([1, 0, 0], np.float32), "m")
    b = Embedding(np.array([0, 1, 0], np.float32), "m")
    vector, weights = combine([(90, a), (30, b)])
    assert weights == [0.75, 0.25]
    assert np.linalg.norm(vector.vector) == pytest.approx(1.0)
    assert vector.vector[0] / vector.vector[1] == pytest.approx(3.0)
    _, floor = combine([(0, a), (100, b)])
    assert floor[0] > 0, "a still scored 0 still counts a little, never negatively"
    with pytest.raises(Exception, match="different models"):
        combine([(50, a), (50, Embedding(b.vector, "other"))])


def test_still_rules_three_at_most_no_repeat_before_the_search_by_the_examiner(wf, people):
    exa, exb = people["exa"], people["exb"]
    exam = wf.start(exa, "CASE-R", "robbery", "warrant 4", probe())
    with pytest.raises(UsageError, match="already part of the probe"):
        wf.add_still(exa, exam.id, probe())
    with pytest.raises(NotAllowedError):
        wf.add_still(exb, exam.id, mirrored("obama2.jpg"))
    with pytest.raises(UsageError, match="a still is required"):
        wf.add_still(exa, exam.id, b"")
    wf.add_still(exa, exam.id, mirrored("obama2.jpg"))
    wf.add_still(exa, exam.id, encode(photo_rgb("obama2.jpg"), ".png"))
    with pytest.raises(UsageError, match="at most 3 stills"):
        wf.add_still(exa, exam.id, encode(cv2.resize(photo_rgb("obama2.jpg"), None, fx=0.9, fy=0.9), ".jpg"))
    wf.run_search(exa, exam.id)
    with pytest.raises(StepError):
        wf.add_still(exa, exam.id, encode(photo_rgb("obama2.jpg"), ".jpg"))
    assert [p["position"] for p in audit(wf, "exam.search")[0][2]["combined"]["parts"]] == [0, 1, 2]


def test_a_failing_still_is_refused_and_the_refusal_recorded(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-F", "robbery", "warrant 5", probe())
    wf.add_still(exa, exam.id, blurred("obama2.jpg"))
    with pytest.raises(UsageError, match="still 2: face blurred"):
        wf.run_search(exa, exam.id)
    assert audit(wf, "search.refused") and not audit(wf, "exam.search")
    wf.override_quality(people["boss"], exam.id, "only CCTV frames exist")
    wf.run_search(exa, exam.id)
    assert audit(wf, "exam.search")[0][2]["combined"]["stills"] == 2


def test_retention_erases_every_still(wf, people, clock):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-E", "robbery", "warrant 6", probe())
    second = mirrored("obama2.jpg")
    pieces = pieces_of(second)
    wf.add_still(exa, exam.id, second)
    wf.run_search(exa, exam.id)
    pieces = found_before(pieces, wal_pages(wf.store) + decrypted_pages(wf.store))
    clock.advance(days=wf.policy().probe_retain_days + 1)
    assert wf.purge(SUPERVISOR).examinations == [exam.id]
    after = wal_pages(wf.store) + decrypted_pages(wf.store)
    assert not any(p in after for p in pieces)
    with pytest.raises(ErasedError):
        wf.still_image(exa, exam.id, 1)
    [row] = wf.stills(exa, exam.id)
    assert row["held"] is False and row["sha256"] == hashlib.sha256(second).hexdigest(), "the hash stays"
    [listed] = wf.case_detail("CASE-E")["examinations"][0]["stills"]
    assert listed["image"] == "erased" and listed["sha256"] == row["sha256"], "the auditors' case file says so"


def test_another_burst_still_replaces_the_probe_before_any_edit(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-B", "robbery", "warrant 7", probe(), source="files:x",
                    burst={"size": 2, "chosen": 0, "best": 0, "chosen_quality": 90, "scores": [90, 80]})  # fmt: skip
    other = mirrored("obama2.jpg")
    replaced = wf.use_burst_still(exa, exam.id, other, {"size": 2, "chosen": 1, "best": 0, "chosen_quality": 80,
                                                        "scores": [90, 80]})  # fmt: skip
    assert replaced.probe_sha256 == hashlib.sha256(other).hexdigest() and wf.image(exa, exam.id, "original") == other
    [(_s, _a, start)] = audit(wf, "exam.start")
    assert start["burst"]["size"] == 2 and start["burst"]["chosen_quality"] == 90
    [(_s, _a, details)] = audit(wf, "exam.probe_still")
    assert details["replaced_sha256"] == exam.probe_sha256 and details["burst"]["chosen"] == 1
    wf.apply_edit(exa, exam.id, "rotate", {"degrees": "2"})
    with pytest.raises(StepError, match="already enhanced"):
        wf.use_burst_still(exa, exam.id, probe(), {"size": 2, "chosen": 0})
