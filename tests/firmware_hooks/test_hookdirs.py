"""Integrator hook scripts: order, environment, failures and time-outs never stop the others."""

from __future__ import annotations

import pytest

from firmware_hooks.hookdirs import DisabledHooks, EventHooks, HookRunner, event_hooks
from tests.firmware_hooks.conftest import write_hook


def test_scripts_run_in_name_order_with_the_event_in_env(tmp_path):
    out = tmp_path / "out.txt"
    write_hook(tmp_path, "tamper", "20-second", f'echo "2 $FIELDFACE_EVENT $FIELDFACE_REASON" >> {out}')
    write_hook(tmp_path, "tamper", "10-first", f'echo "1 $FIELDFACE_EVENT" >> {out}')
    write_hook(tmp_path, "tamper", "30-not-executable", f"echo never >> {out}", executable=False)
    write_hook(tmp_path, "tamper", ".hidden", f"echo never >> {out}")
    results = EventHooks(tmp_path).run("tamper", {"reason": "case"})
    assert [r.path.name for r in results] == ["10-first", "20-second"]
    assert out.read_text().splitlines() == ["1 tamper", "2 tamper case"]


def test_a_failing_or_hanging_script_does_not_stop_the_next(tmp_path):
    out = tmp_path / "out.txt"
    write_hook(tmp_path, "unlock", "10-fails", "echo oops >&2; exit 3")
    write_hook(tmp_path, "unlock", "20-hangs", "sleep 5")
    write_hook(tmp_path, "unlock", "30-runs", f"echo ran > {out}")
    results = EventHooks(tmp_path, timeout_s=0.3).run("unlock")
    assert [(r.returncode, r.output) for r in results[:2]] == [(3, "oops"), (None, "timed out after 0.3 s")]
    assert results[2].returncode == 0 and out.read_text() == "ran\n"


def test_unknown_event_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="unknown hook event"):
        EventHooks(tmp_path).run("on-fire")
    assert EventHooks(tmp_path / "nothing").run("ready") == []


def test_runner_runs_off_the_callers_thread(tmp_path):
    out = tmp_path / "out.txt"
    write_hook(tmp_path, "sync-ok", "10-note", f'echo "$FIELDFACE_ACKED_SEQ" >> {out}')
    runner = HookRunner(EventHooks(tmp_path))
    runner.fire("sync-ok", {"acked_seq": 7})
    runner.fire("sync-ok", {"acked_seq": 9})
    runner.close()
    assert out.read_text().splitlines() == ["7", "9"]


def test_disabled_hooks(tmp_path, hooks_config):
    write_hook(tmp_path / "hooks", "ready", "10-x", "exit 0")
    assert len(event_hooks(hooks_config.hooks).run("ready")) == 1
    off = event_hooks(hooks_config.hooks.model_copy(update={"enabled": False}))
    assert isinstance(off, DisabledHooks) and off.run("ready") == []
