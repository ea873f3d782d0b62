"""The gallery through the fieldface command: manifests, progress, exit codes, one-line errors."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from device.gallery import Gallery
from device.store import open_store
from tests.conftest import REPO
from tests.gallery.conftest import repo_file
from tests.vision.conftest import encode, photo_rgb


@pytest.fixture
def unit(tmp_path, key_file, run_cli):
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(tmp_path / "data")}
    assert run_cli("init", env=env).returncode == 0

    def cli(*args, **kw):
        return run_cli(*args, env=env, **kw)

    cli.env = env
    return cli


def add_examiner(unit, tmp_path, login="exa") -> list[str]:
    """A trained examiner account made with ``fieldface user add``; returns the --user options."""
    password = tmp_path / f"{login}.pw"
    password.write_text("quiet harbour lantern 7\n")
    until = (date.today() + timedelta(days=300)).isoformat()
    made = unit("user", "add", login, "--role", "examiner", "--training-valid-until", until,
                "--password-file", str(password))  # fmt: skip
    assert made.returncode == 0, made.stderr
    return ["--user", login, "--password-file", str(password)]


def write_manifest(folder, rows, header="image,subject,reference,legal_basis,retain_until"):
    path = folder / "manifest.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_manifest_enrollment_then_search_then_rerun_changes_nothing(unit, tmp_path):
    for name in ("obama.jpg", "obama3.jpg", "biden.jpg"):
        (tmp_path / name).write_bytes(repo_file(name).read_bytes())
    manifest = write_manifest(tmp_path, [
        "obama.jpg,Person A,A-1,consent form 1,",
        "obama3.jpg,Person A,A-1,consent form 1,",
        "biden.jpg,Person B,B-1,consent form 2,2099-01-01",
        "biden.jpg,Person B,B-1,consent form 2,2099-01-01",
    ])  # fmt: skip
    first = unit("enroll", "--manifest", str(manifest), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["enrolled"], report["skipped"]) == (3, 1)
    assert "duplicate" in next(i for i in report["images"] if i["status"] == "skipped")["reason"]
    assert "enrolling 4/4" in first.stderr, "progress is shown"

    before = json.loads(unit("galleries", "--json").stdout)
    again = json.loads(unit("enroll", "--manifest", str(manifest), "--json").stdout)
    assert (again["enrolled"], again["skipped"]) == (0, 4)
    assert json.loads(unit("galleries", "--json").stdout) == before

    who = add_examiner(unit, tmp_path)
    found = unit("search", str(repo_file("obama2.jpg")), "--case", "C-7", "--offense", "fraud",
                 "--purpose", "inquiry", "--json", *who)  # fmt: skip
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["candidates"][0]["display_name"] == "Person A"
    assert result["candidates"][0]["band"] == "worth-examining"
    text = unit("search", str(repo_file("obama2.jpg")), "--case", "C-7", "--offense", "fraud", "--purpose", "x", *who)
    assert "INVESTIGATIVE LEAD ONLY" in text.stdout and "match" not in text.stdout.lower()
    # Each search is an examination of that user's, which the review UI (and `cases show`) opens.
    case = json.loads(unit("cases", "show", "C-7", "--json").stdout)
    assert [(e["examination"], e["examiner"], e["step"]) for e in case["examinations"]] == [
        (result["examination"], "exa", 3),
        (result["examination"] + 1, "exa", 3),
    ]
    assert case["examinations"][0]["candidates"][0]["subject"] == "A-1", "by reference, never by name"
    assert "Person A" not in json.dumps(case)


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (["nosuch.jpg,P,R,basis,"], None, r"line 2: image nosuch.jpg does not exist"),
        (["obama.jpg,P,R,,"], None, r"line 2: 'legal_basis' is empty"),
        (["obama.jpg,P,R,basis,someday"], None, r"line 2: retain_until: 'someday' is not a date"),
        (["obama.jpg,P,R,basis"], "image,subject,reference,legal_basis,colour", r"line 1: unknown column\(s\) colour"),
        (["obama.jpg,P"], "image,subject", r"line 1: missing column\(s\) legal_basis"),
        (["obama.jpg,P,R,basis,,extra"], None, r"line 2: more fields than columns"),
        (["obama.jpg,P,R,basis,", "obama.jpg,P,R,other basis,"], None, r"line 3: subject details differ"),
    ],
)
def test_a_bad_manifest_row_stops_before_anything_is_written(unit, tmp_path, rows, header, message):
    (tmp_path / "obama.jpg").write_bytes(repo_file("obama.jpg").read_bytes())
    manifest = write_manifest(tmp_path, rows, *([header] if header else []))
    result = unit("enroll", "--manifest", str(manifest))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr), result.stderr
    assert json.loads(unit("status", "--json").stdout)["counts"]["face_images"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "PROBE", "--offense", "fraud", "--purpose", "x", "USER"],
         "the following arguments are required: --case"),
        (["search", "PROBE", "--case", "C", "--offense", "fraud", "--purpose", "x"],
         "the following arguments are required: --user"),
        (["search", "PROBE", "--case", "C", "--offense", "parking", "--purpose", "x", "USER"],
         "not allowed on this unit"),
        (["search", "/no/such.jpg", "--case", "C", "--offense", "fraud", "--purpose", "x", "USER"], "no such file"),
        (["enroll", "PROBE"], "enroll needs --subject NAME"),
        (["enroll", "--subject", "X", "PROBE"], "legal basis"),
        (["delete-subject", "42", "--reason", "x"], "no subject 42"),
        (["legal-hold", "C-1", "--reason", "x"], "no case 'C-1'"),
    ],
)  # fmt: skip
def test_gallery_commands_give_one_line_errors(unit, tmp_path, args, message):
    who = add_examiner(unit, tmp_path) if "USER" in args else []
    args = [str(repo_file("obama2.jpg")) if a == "PROBE" else a for a in args if a != "USER"] + who
    result = unit(*args)
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr


def test_delete_and_purge_from_the_command_line(unit):
    assert unit("enroll", "--subject", "P", "--legal-basis", "b", str(repo_file("biden.jpg"))).returncode == 0
    subjects = json.loads(unit("subjects", "--json").stdout)["subjects"]
    assert [s["display_name"] for s in subjects] == ["P"]
    erased = unit("delete-subject", str(subjects[0]["id"]), "--reason", "request 4")
    assert erased.returncode == 0 and "1 image(s), 1 embedding(s)" in erased.stdout
    assert json.loads(unit("subjects", "--json").stdout)["subjects"] == []
    purge = unit("purge", "--dry-run", "--json")
    assert purge.returncode == 0 and json.loads(purge.stdout)["subjects"] == []


@pytest.mark.slow
def test_kill_9_during_bulk_enrollment_leaves_index_and_database_in_agreement(
    unit, tmp_path, fast_config_file, secret, fast_config, recognizer
):
    rows = []
    for i in range(40):  # distinct images: each a slightly different crop and JPEG quality
        rgb = photo_rgb(("obama.jpg", "biden.jpg", "obama3.jpg", "astronaut.png")[i % 4])
        h, w = rgb.shape[:2]
        (tmp_path / f"p{i}.jpg").write_bytes(encode(rgb[i : h - i, i : w - i], ".jpg", (1, 90 - i % 5)))
        rows.append(f"p{i}.jpg,Person {i % 4},R{i % 4},basis,")
    manifest = write_manifest(tmp_path, rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    env.update(unit.env, FIELDFACE_CONFIG=str(fast_config_file))
    proc = subprocess.Popen(
        [sys.executable, "-m", "device.cli", "enroll", "--manifest", str(manifest)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline, seen = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "enrolling 1" not in seen:
        seen += proc.stderr.readline()  # not a terminal: a progress line every 10%
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stderr.close()
    assert "enrolling 1" in seen, seen

    counts = json.loads(unit("status", "--json").stdout)["counts"]
    assert 0 < counts["face_images"] < 40
    assert counts["face_images"] == counts["embeddings"], "nothing half-enrolled"
    # The next process brings the index up to the database (caught up or rebuilt): they agree.
    gallery = Gallery(open_store(tmp_path / "data", secret, fast_config), recognizer, fast_config)
    with gallery.store.connection() as conn:
        index = gallery.index(conn, 1)
        db_keys = {r[0] for r in conn.execute("SELECT id FROM embeddings")}
    assert index.keys() == db_keys
    # ... and re-running the manifest finishes the job without enrolling anything twice.
    rerun = json.loads(unit("enroll", "--manifest", str(manifest), "--json").stdout)
    duplicates = [i for i in rerun["images"] if "duplicate" in i["reason"]]
    assert len(duplicates) == counts["face_images"]
    assert (
        json.loads(unit("status", "--json").stdout)["counts"]["face_images"]
        == counts["face_images"] + rerun["enrolled"]
    )


def test_the_command_line_search_follows_every_search_setting_of_the_policy(unit, tmp_path):
    """Offences, K, the line and the quality thresholds, changed with `policy set`, apply to
    `fieldface search` at once (the web form and the API: tests/web/test_policy_screens.py)."""
    for name in ("obama.jpg", "biden.jpg"):
        assert unit("enroll", "--subject", name, "--legal-basis", "b", str(repo_file(name))).returncode == 0
    who = add_examiner(unit, tmp_path)

    def policy(key, value):
        done = unit("policy", "set", key, value, "--reason", "agency rule")
        assert done.returncode == 0, done.stderr

    def search(offense="arson", case="C-1"):
        return unit("search", str(repo_file("obama2.jpg")), "--case", case, "--offense", offense, "--purpose", "x",
                    "--json", *who)  # fmt: skip

    policy("search.offense_categories", '["arson"]')
    refused = search("robbery")
    assert refused.returncode == 2 and "'robbery' is not allowed on this unit" in refused.stderr
    policy("search.top_k", "1")
    policy("search.worth_examining", "0.99")
    found = search()
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert len(body["candidates"]) == 1 and body["candidates"][0]["band"] == "below-line"
    policy("vision.quality", '{"sharpness": [1e9, 1e8]}')
    failing = search(case="C-2")
    assert failing.returncode == 2 and "fails the quality assessment" in failing.stderr
    assert "stays open in the review UI" in failing.stderr


def test_search_needs_a_named_trained_user_and_other_commands_accept_one(unit, tmp_path):
    who = add_examiner(unit, tmp_path)
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not it\n")
    denied = unit("search", str(repo_file("obama2.jpg")), "--case", "C", "--offense", "fraud", "--purpose", "x",
                  "--user", "exa", "--password-file", str(wrong))  # fmt: skip
    assert denied.returncode == 9 and "wrong username or password" in denied.stderr
    as_examiner = unit("purge", "--dry-run", *who)  # an examiner is not a supervisor
    assert as_examiner.returncode == 10 and len(as_examiner.stderr.strip().splitlines()) == 1
    assert unit("purge", "--dry-run").returncode == 0, "whoever holds the key, as cli:<login>"
    listed = json.loads(unit("cases", "list", "--json").stdout)
    assert listed == {"cases": []}
