"""Policy: config defaults overlaid by audited supervisor changes, validated by the config's own rules."""

from __future__ import annotations

import dataclasses
import json

import pytest

from device.audit import AuditLog
from device.config import validate_config
from device.errors import UsageError
from device.policy import SETTINGS, Policy, reset_setting, set_setting
from tests.conftest import FAST_KEYS

SUP = {"actor": "sup1", "role": "supervisor"}


def test_defaults_come_from_the_config(store):
    config = validate_config({"keys": FAST_KEYS, "search": {"top_k": 7}, "policy": {"blind_review": False}})
    policy = Policy.load(store, config)
    assert policy.top_k == 7 and policy.blind_review is False
    assert policy.changed == {}
    assert policy.audit_retain_days == 365 and policy.worth_examining == 0.40
    shown = policy.to_dict()
    assert set(shown) == set(SETTINGS)
    assert shown["search.top_k"] == {"value": 7, "meaning": SETTINGS["search.top_k"], "source": "config",
                                     "updated_at": None, "updated_by": None}  # fmt: skip


def test_a_change_is_stored_audited_and_overrides_the_config(store, fast_config):
    policy = set_setting(store, fast_config, "search.top_k", 30, reason="bigger lists for the pilot", **SUP)
    assert policy.top_k == 30
    assert Policy.load(store, fast_config).top_k == 30  # read back from the settings table
    entry = AuditLog(store).entries()[-1]
    assert (entry.action, entry.actor, entry.role, entry.object) == ("policy.set", "sup1", "supervisor",
                                                                     "setting:search.top_k")  # fmt: skip
    assert entry.details == {"key": "search.top_k", "old": 20, "new": 30, "reason": "bigger lists for the pilot"}
    with store.connection() as conn:
        key, value, by = conn.execute("SELECT key, value, updated_by FROM settings").fetchone()
    assert (key, json.loads(value), by) == ("search.top_k", 30, "sup1")

    policy = reset_setting(store, fast_config, "search.top_k", reason="pilot over", **SUP)
    assert policy.top_k == 20 and "search.top_k" not in policy.changed
    entry = AuditLog(store).entries()[-1]
    assert (entry.action, entry.details["old"], entry.details["new"]) == ("policy.reset", 30, 20)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("search.colour", 3, "unknown setting 'search.colour'"),
        ("search.top_k", 0, "search.top_k: Input should be greater than or equal to 1"),
        ("search.top_k", "many", "search.top_k: Input should be a valid integer"),
        ("policy.audit_retain_days", 200, "policy.audit_retain_days: Input should be greater than or equal to 365"),
        ("search.offense_categories", [], "search.offense_categories: List should have at least 1 item"),
        ("gallery.enroll_min_quality", "fail", "gallery.enroll_min_quality: Input should be 'pass' or 'warn'"),
        ("vision.quality", {"sharpness": [10, 40]}, "fail 40.0 must be at or below warn 10.0"),
        ("vision.quality", {"blur": [1, 2]}, "vision.quality.blur: unknown key"),
    ],
)
def test_invalid_changes_are_refused_in_one_line_and_change_nothing(store, fast_config, key, value, message):
    with pytest.raises(UsageError) as err:
        set_setting(store, fast_config, key, value, reason="try", **SUP)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert Policy.load(store, fast_config).changed == {}
    assert AuditLog(store).entries() == []


def test_a_change_needs_a_reason_and_reset_needs_a_change(store, fast_config):
    with pytest.raises(UsageError, match="needs a reason"):
        set_setting(store, fast_config, "search.top_k", 5, reason="  ", **SUP)
    with pytest.raises(UsageError, match="nothing to reset"):
        reset_setting(store, fast_config, "search.top_k", reason="r", **SUP)
    assert AuditLog(store).entries() == []


def test_quality_thresholds_change_one_measure_and_reassess_faces(store, fast_config):
    policy = set_setting(store, fast_config, "vision.quality", {"sharpness": [400.0, 300.0]}, reason="strict", **SUP)
    assert policy.quality.sharpness == (400.0, 300.0)
    assert policy.quality.yaw_deg == fast_config.vision.quality.yaw_deg  # the unnamed measures stay

    from device.vision.quality import assess

    values = {"face_presence": 0.99, "inter_eye_px": 60, "sharpness": 120, "brightness": 120, "clipped_fraction": 0,
              "yaw_deg": 0, "pitch_deg": 0, "roll_deg": 0, "eyes_open": 0.1}  # fmt: skip

    # reassess reads and replaces only .quality of a frozen dataclass, like device.vision.Face.
    face = dataclasses.make_dataclass("Face", [("quality", object)], frozen=True)(
        assess(values, fast_config.vision.quality)
    )
    assert face.quality.verdict == "pass"
    assert policy.reassess(face).quality.verdict == "fail"
    assert Policy.load(store, fast_config).reassess(face).quality.verdict == "fail"
    reset_setting(store, fast_config, "vision.quality", reason="back", **SUP)
    assert Policy.load(store, fast_config).reassess(face) is face


def test_policy_cli(run_cli, tmp_path, key_file):
    data = str(tmp_path / "cli-data")
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    assert run_cli("--data-dir", data, "init", env=env).returncode == 0
    done = run_cli("--data-dir", data, "policy", "set", "search.offense_categories", '["homicide","robbery"]',
                   "--reason", "council decision 12/3", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "search.offense_categories = ['homicide', 'robbery']"
    shown = run_cli("--data-dir", data, "policy", "show", "--json", env=env)
    item = json.loads(shown.stdout)["search.offense_categories"]
    assert item["value"] == ["homicide", "robbery"] and item["source"] == "supervisor"
    assert item["updated_by"].startswith("cli:")
    bad = run_cli("--data-dir", data, "policy", "set", "search.top_k", "0", "--reason", "x", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "search.top_k: Input should be greater than or equal to 1" in bad.stderr
