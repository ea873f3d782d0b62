"""Operational testing: rates proven on synthetic embeddings whose true rates are known by
construction, then the whole command on the real photos in tests/data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from device.audit import AuditLog
from device.errors import UsageError
from device.reports import evaluate, metrics
from device.reports.dataset import Embedded, ProbeQuality
from tests.gallery.conftest import repo_file

# v = a*u + b*e_identity + c*f_image over orthonormal axes: a genuine pair scores a^2 + b^2, an
# impostor pair a_i * a_j. Group A: a^2 = 0.25; group B: a^2 = 0.04 (cross pairs 0.1).
# 8 A identities score 0.70 genuine, 2 "weak" A identities 0.30; every B identity 0.60.
IDENTITIES = [("A", 0.25, 0.45)] * 8 + [("A", 0.25, 0.05)] * 2 + [("B", 0.04, 0.56)] * 10
PHOTOS = 3


def synthetic() -> Embedded:
    n = len(IDENTITIES) * PHOTOS
    dim = 1 + len(IDENTITIES) + n
    vectors, identity, files = np.zeros((n, dim)), [], []
    for i, (_, a2, b2) in enumerate(IDENTITIES):
        for j in range(PHOTOS):
            row = i * PHOTOS + j
            vectors[row, 0] = np.sqrt(a2)
            vectors[row, 1 + i] = np.sqrt(b2)
            vectors[row, 1 + len(IDENTITIES) + row] = np.sqrt(1 - a2 - b2)
            identity.append(i)
            files.append(f"id{i}/{j}.png")
    names = [f"id{i}" for i in range(len(IDENTITIES))]
    return Embedded(names, np.array(identity), vectors, files, "synthetic", "0" * 64,
                    {f"id{i}": {"group": g} for i, (g, _, _) in enumerate(IDENTITIES)}, ["group"], n)  # fmt: skip


def test_known_rates_at_two_lines():
    data = synthetic()
    pairs = metrics.all_pairs(data.vectors, data.identity)
    # 20 identities x 3 photos: 60 genuine pairs; C(60,2) - 60 = 1710 impostor pairs, of which
    # 405 within A (0.25), 405 within B (0.04) and 900 across (0.10).
    assert (len(pairs.genuine), len(pairs.impostor)) == (60, 1710)
    fmr, fnmr = metrics.fmr_fnmr(pairs.genuine, pairs.impostor, 0.2)
    assert fmr == pytest.approx(405 / 1710) and fnmr == 0
    fmr, fnmr = metrics.fmr_fnmr(pairs.genuine, pairs.impostor, 0.5)
    assert fmr == 0 and fnmr == pytest.approx(6 / 60)  # the 2 weak identities' 3 pairs each

    summary = evaluate.run(data, line=0.2, target_fmr=1e-2, top_k=5)
    groups = summary["subgroups"]["attributes"]["group"]
    assert groups["A"]["fmr"] == 1.0 and groups["A"]["impostor_pairs"] == 405
    assert groups["A"]["fmr_ratio"] == round(1.0 / (405 / 1710), 4)
    assert groups["B"]["fmr"] == 0 and groups["B"]["fmr_note"] == "0 of 405: below about 0.0074 (95%)"
    at_half = evaluate.run(data, line=0.5, target_fmr=1e-2, top_k=5)["subgroups"]["attributes"]["group"]
    assert at_half["A"]["fnmr"] == pytest.approx(6 / 30) and at_half["A"]["fnmr_ratio"] == 2.0
    assert at_half["B"]["fnmr"] == 0 and at_half["B"]["fnmr_ratio"] == 0


def test_tar_at_far_and_the_recommended_line_say_what_the_data_allows():
    summary = evaluate.run(synthetic(), line=0.4, target_fmr=1e-2, top_k=5)
    far2, far3, far4 = summary["tar_at_far"]
    # 1710 pairs x 1e-2 = 17 allowed false accepts, all inside the 405 pairs at 0.25: the
    # threshold sits just above 0.25, where every genuine pair (>= 0.30) is accepted.
    assert far2["status"] == "rough" and far2["threshold"] == 0.25 and far2["tar"] == 1.0 and far2["fmr"] == 0
    assert far3 == {"far": 1e-3, "status": "not-resolvable", "threshold": None, "tar": None,
                    "note": "1710 impostor pairs cannot show a false-accept rate of 0.001: at least 3000 are "
                            "needed (rule of three)"}  # fmt: skip
    assert far4["status"] == "not-resolvable"
    rec = summary["recommended_line"]
    assert rec["line"] == 0.251 and rec["fmr"] == 0 and rec["fnmr"] == 0 and rec["status"] == "rough"
    rec3 = evaluate.run(synthetic(), line=0.4, target_fmr=1e-3, top_k=5)["recommended_line"]
    assert rec3["line"] is None and "need at least 3000" in rec3["note"]


def test_threshold_at_fmr_never_exceeds_the_target():
    rng = np.random.default_rng(7)
    impostor = rng.normal(0.1, 0.1, 20_000)
    for target in (1e-2, 1e-3, 1e-4, 0.5):
        t = metrics.threshold_at_fmr(impostor, target)
        assert np.mean(impostor >= t) <= target
        assert np.mean(impostor >= np.nextafter(t, -np.inf)) > target or target * len(impostor) < 1


def test_identification_ranks_on_a_hand_made_set():
    # 2-D: identity 0 enrolled at (1,0); identity 1 at (0,1); identity 2 at (0.6,0.8).
    # Probe of identity 0 at (0.8,0.6): own 0.8, identity 2 scores 0.96 -> rank 2.
    # Probe of identity 1 at (0,1): own 1.0 -> rank 1.
    v = np.array([[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6], [0, 1]], dtype=float)
    identity = np.array([0, 1, 2, 0, 1])
    out = metrics.identification(v, identity, np.array([0, 1, 2]), k=2, line=0.9)
    assert out["mated_searches"] == 2 and out["rank_1"] == 0.5 and out["rank_k"] == 1.0
    # Own identity left out: probe 0's best other is 0.96 >= 0.9; probe 1's is 0.8 < 0.9.
    assert out["non_mated_fpir_at_line"] == 0.5
    assert out["mated_at_or_above_line_within_k"] == 0.5


def test_save_keeps_hashes_and_rates_and_audits_the_run(store):
    data = synthetic()
    summary = evaluate.run(data, line=0.4, target_fmr=1e-2, top_k=5)
    pictures = evaluate.plots(summary, data)
    assert all(png.startswith(b"\x89PNG") for png in pictures.values())
    evaluation_id = evaluate.save(store, summary, pictures, actor="sup1", role="supervisor")
    [stored] = evaluate.load(store, evaluation_id)
    assert stored["what"]["data_sha256"] == "0" * 64 and stored["created_by"] == "sup1"
    assert evaluate.picture(store, evaluation_id, "det.png") == pictures["det.png"]
    entry = AuditLog(store).entries()[-1]
    assert (entry.action, entry.object) == ("evaluation.run", f"evaluation:{evaluation_id}")
    assert entry.details["recommended_line"] == 0.251 and entry.details["pairs"] == {"genuine": 60, "impostor": 1710}


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="at least 2 are needed"):
        evaluate.read_dataset(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(repo_file("biden.jpg"), tmp_path / name / "x.jpg")
    bad = tmp_path / "groups.csv"
    bad.write_text("identity,sex\nc,female\n")
    with pytest.raises(UsageError, match="line 2: no identity folder named 'c'"):
        evaluate.read_dataset(tmp_path, bad)
    bad.write_text("name,sex\n")
    with pytest.raises(UsageError, match="first line must be 'identity,<attribute>"):
        evaluate.read_dataset(tmp_path, bad)
    with pytest.raises(UsageError, match="--target-fmr"):
        evaluate.run(synthetic(), line=0.4, target_fmr=2, top_k=5)


def test_error_versus_discard_falls_when_the_low_quality_photos_are_the_failing_ones():
    """Photos of the 2 weak identities (genuine 0.30, below the line 0.4) get low quality: discarding
    them takes FNMR from 2 of 20 identities' pairs to 0. A quality that is noise shows no such fall."""
    data = synthetic()
    weak = np.isin(data.identity, [8, 9])
    good_quality = np.where(weak, 20.0, 90.0)
    noise = np.random.default_rng(1).permutation(np.linspace(10, 100, len(data.identity)))
    data.probes = ProbeQuality(data.identity, data.vectors, {"unified": good_quality, "noise": noise}, weak)
    points = metrics.edc(data.vectors, data.identity, good_quality, 0.4)
    assert points[0] == (0.0, 0.1, 60)  # 6 of 60 genuine pairs below the line
    assert points[1] == (0.1, 0.0, 54)  # 6 of 60 photos discarded: every error gone
    summary = evaluate.run(data, line=0.4, target_fmr=0.01, top_k=3)["edc"]
    assert summary["gate_discards"] == 0.1 and summary["false_non_matches"] == 6
    assert "rough" in summary["note"]
    noisy = summary["curves"]["noise"]
    assert min(f for d, f, n in noisy if d <= 0.2) > 0.05  # discarding at random keeps the errors
    lines = evaluate.describe_edc(summary)
    assert lines[1] == "  unified: 0%: 0.1000 (60 pairs), 10%: 0.0000 (54 pairs)"
    assert evaluate.plots({**evaluate.run(data, line=0.4, target_fmr=0.01, top_k=3)}, data)["edc.png"].startswith(
        b"\x89PNG"
    )


@pytest.mark.slow
def test_evaluate_command_on_the_real_photos(run_cli, tmp_path, key_file):
    photos = tmp_path / "photos"
    for identity, files in {"obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"], "biden": ["biden.jpg"],
                            "astronaut": ["astronaut.png"]}.items():  # fmt: skip
        (photos / identity).mkdir(parents=True)
        for name in files:
            shutil.copy(repo_file(name), photos / identity / name)
    groups = tmp_path / "groups.csv"
    groups.write_text("identity,sex\nobama,male\nbiden,male\nastronaut,female\n")
    data, env, out = str(tmp_path / "d"), {"FIELDFACE_KEY_FILE": str(key_file)}, tmp_path / "out"
    assert run_cli("--data-dir", data, "init", env=env).returncode == 0
    done = run_cli("--data-dir", data, "evaluate", str(photos), "--subgroups", str(groups), "--out", str(out),
                   env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    print(done.stdout)  # the numbers quoted in the closing note (pytest -s)
    assert "3 identities, 5 of 5 photos used (0 skipped); 3 genuine and 7 impostor pairs" in done.stdout
    assert "TAR at FAR 0.01: 7 impostor pairs cannot show a false-accept rate of 0.01" in done.stdout
    assert "CAVEAT: A small labelled set cannot resolve low false-accept rates" in done.stdout
    assert "embedding 5/5" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    # Three photos of one person score well above the line; different people well below it.
    assert summary["scores"]["genuine"]["min"] > 0.6 and summary["scores"]["impostor"]["max"] < 0.35
    assert summary["line_in_force"] == {"line": 0.4, "fmr": 0.0, "fnmr": 0.0}
    assert summary["identification"]["rank_1"] == 1.0
    assert (out / "det.png").read_bytes().startswith(b"\x89PNG")
    # Only what it was asked to write, and nothing biometric in the summary.
    assert sorted(p.name for p in out.iterdir()) == ["det.png", "edc.png", "scores.png", "summary.json"]
    edc = summary["edc"]
    assert edc["photos"] == 5 and edc["genuine_pairs"] == 3 and edc["gate_discards"] == 0.0
    assert set(edc["curves"]) >= {"unified", "sharpness", "yaw_deg", "inter_eye_px"}
    assert "error versus discard (FNMR at the line 0.400" in done.stdout
    assert "nothing to lower, discarding cannot show a gain" in done.stdout
    assert "obama" not in (out / "summary.json").read_text()
    inside = run_cli("--data-dir", data, "evaluate", str(photos), "--out", str(photos / "o"), env=env)
    assert inside.returncode == 2 and "must not be inside the photo folder" in inside.stderr


def test_symbolic_links_inside_the_folder_are_refused_not_followed(tmp_path):
    """Issue 12: links inside the chosen folder led to photos outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(repo_file("obama.jpg"), outside / "secret.jpg")
    photos = tmp_path / "photos"
    for name in ("a", "b"):
        (photos / name).mkdir(parents=True)
        shutil.copy(repo_file("biden.jpg"), photos / name / "x.jpg")
    (photos / "a" / "link.jpg").symlink_to(outside / "secret.jpg")
    (photos / "c").symlink_to(outside)
    data = evaluate.read_dataset(photos)
    assert [str(p.relative_to(photos)) for _, p in data.images] == ["a/x.jpg", "b/x.jpg"]
    assert sorted(path for path, _ in data.skipped) == ["a/link.jpg", "c"]
    assert all("symbolic link" in why for _, why in data.skipped)
