"""The commands as an agency and a unit operator type them: agency key, trust, central enroll,
publish to media, import, erase with an order file, status (SQLite central store). Then the unit
is killed (-9) in the middle of applying a bundle and recovers with the old version intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np

from tests.conftest import REPO
from tests.sync.conftest import central_env
from tests.vision.conftest import DATA

# Runs the real CLI and kills its own process with SIGKILL right after the first subject of a
# bundle was written inside the apply transaction: a power cut at a known point, no hook in the code.
KILL_MID_APPLY = """
import os, signal, sys
import device.gallery.central as applier
original = applier._insert
def insert_then_die(*args, **kwargs):
    original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
applier._insert = insert_then_die
from device.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_agency_to_unit_on_media_then_kill_9_mid_apply(tmp_path, key_file, run_cli, fast_config_file):
    hq_env = {**central_env(tmp_path), "FIELDFACE_AGENCY_KEY_FILE": str(tmp_path / "agency.key")}
    central = lambda *a: run_cli("central", "--store", str(tmp_path / "hq"), *a, env=hq_env)  # noqa: E731
    unit_env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(tmp_path / "u1")}
    unit = lambda *a: run_cli(*a, env=unit_env)  # noqa: E731

    assert central("init").returncode == 0
    made = central("agency-key", "--new", str(tmp_path / "agency.key"), "--name", "Test Police")
    assert made.returncode == 0 and made.stdout.startswith("ed25519:"), made.stderr
    assert central("agency-key", "--new", str(tmp_path / "agency.key")).returncode == 2  # never overwritten
    (tmp_path / "agency.pub").write_text(made.stdout)
    assert central("agency-key").stdout == made.stdout.replace("Test Police", "agency")
    assert unit("init").returncode == 0
    assert unit("unit-card", "-o", str(tmp_path / "card.json")).returncode == 0
    assert json.loads((tmp_path / "card.json").read_text())["bundle_key"].startswith("x25519:")
    assert central("unit", "add", str(tmp_path / "card.json")).returncode == 0
    trusted = unit("gallery", "trust", str(tmp_path / "agency.pub"))
    assert trusted.returncode == 0 and made.stdout.split()[0] in trusted.stdout, trusted.stderr

    photos = [str(DATA / "obama.jpg"), str(DATA / "obama3.jpg")]
    enrolled = central("gallery", "enroll", "--gallery", "wanted", "--subject", "Person A", "--reference", "REC-0001",
                       "--legal-basis", "court order 2026/17", *photos)  # fmt: skip
    assert enrolled.returncode == 0 and "enrolled 2 image(s)" in enrolled.stdout, enrolled.stderr
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((240, 320, 3), 128, np.uint8))  # the same rules: no face
    no_face = central("gallery", "enroll", "--gallery", "wanted", "--subject", "Nobody", "--reference", "REC-0009",
                      "--legal-basis", "test", str(tmp_path / "wall.png"))  # fmt: skip
    assert no_face.returncode == 2 and "skipped" in no_face.stdout, no_face.stdout + no_face.stderr
    published = central("gallery", "publish", "--gallery", "wanted", "-o", str(tmp_path / "v1.ffbundle"))
    assert published.returncode == 0 and "full bundle" in published.stdout, published.stderr

    # kill -9 in the middle of the apply: nothing of the bundle is there, the unit opens and verifies.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    env.update(unit_env, FIELDFACE_CONFIG=str(fast_config_file))
    killed = subprocess.run([sys.executable, "-c", KILL_MID_APPLY, "gallery", "import", str(tmp_path / "v1.ffbundle")],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    galleries = json.loads(unit("galleries", "--json").stdout)
    assert [g for g in galleries["galleries"] if g["name"] == "wanted"] == []
    assert unit("audit", "verify").returncode == 0

    applied = unit("gallery", "import", str(tmp_path / "v1.ffbundle"))
    assert applied.returncode == 0 and "1 added" in applied.stdout, applied.stderr
    again = unit("gallery", "import", str(tmp_path / "v1.ffbundle"))
    assert again.returncode == 2 and "not newer" in again.stderr and again.stderr.count("\n") == 1

    erased = central("gallery", "erase", "REC-0001", "--reason", "court order: erase", "-o", str(tmp_path / "o1"))
    assert erased.returncode == 0 and "erasure order 1" in erased.stdout, erased.stderr
    proof = unit("gallery", "import", str(tmp_path / "o1"))
    assert proof.returncode == 0 and "1 subject(s) erased; proof: audit entry seq" in proof.stdout, proof.stderr

    assert unit("audit", "export", "-o", str(tmp_path / "a.jsonl")).returncode == 0
    assert central("receive-file", str(tmp_path / "a.jsonl")).returncode == 0
    status = json.loads(central("gallery", "status", "--json").stdout)
    (order,) = status["orders"]
    (unit_id,) = order["applied"]
    assert order["outstanding"] == {} and str(order["applied"][unit_id]["seq"]) in proof.stdout
    text = central("gallery", "status").stdout
    assert "1 applied, 0 outstanding" in text and "wanted v1" in text


def test_central_enroll_from_a_manifest_checks_every_row_first(tmp_path, run_cli):
    """The unit's manifest format centrally: rows grouped by reference, every row needs one, a bad
    manifest changes nothing, and the single-subject options still work beside it."""
    hq_env = {**central_env(tmp_path), "FIELDFACE_AGENCY_KEY_FILE": str(tmp_path / "agency.key")}
    central = lambda *a: run_cli("central", "--store", str(tmp_path / "hq"), *a, env=hq_env)  # noqa: E731
    assert central("init").returncode == 0
    assert central("agency-key", "--new", str(tmp_path / "agency.key")).returncode == 0
    for name in ("obama.jpg", "obama3.jpg", "biden.jpg"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    header = "image,subject,reference,gallery,legal_basis\n"
    (tmp_path / "no-ref.csv").write_text(header + "biden.jpg,Person B,,wanted,warrant 2\n")
    refused = central("gallery", "enroll", "--manifest", str(tmp_path / "no-ref.csv"))
    assert refused.returncode == 2 and "need the agency's reference" in refused.stderr, refused.stderr
    mixed = central("gallery", "enroll", "--manifest", str(tmp_path / "no-ref.csv"), "--subject", "X")
    assert mixed.returncode == 2 and "not both" in mixed.stderr
    assert json.loads(central("gallery", "list", "--json").stdout)["subjects"] == []

    (tmp_path / "people.csv").write_text(header + "obama.jpg,Person A,REC-0001,wanted,court order 17\n"
                                         "obama3.jpg,Person A,REC-0001,wanted,court order 17\n"
                                         "biden.jpg,Person B,REC-0002,wanted,warrant 2\n")  # fmt: skip
    made = central("gallery", "enroll", "--manifest", str(tmp_path / "people.csv"), "--json")
    assert made.returncode == 0, made.stderr
    assert [(s["reference"], s["enrolled"]) for s in json.loads(made.stdout)["subjects"]] == [
        ("REC-0001", 2), ("REC-0002", 1)]  # fmt: skip
    listed = json.loads(central("gallery", "list", "--json").stdout)["subjects"]
    assert sorted((r["reference"], r["images"]) for r in listed) == [("REC-0001", 2), ("REC-0002", 1)]
    again = central("gallery", "enroll", "--manifest", str(tmp_path / "people.csv"))
    assert again.returncode == 0 and again.stdout.count("enrolled 0 image(s)") == 2, "a re-run changes nothing"
    missing = central("gallery", "enroll", "--gallery", "wanted", "--subject", "Person C")
    assert missing.returncode == 2 and "--reference" in missing.stderr and "--manifest" in missing.stderr
