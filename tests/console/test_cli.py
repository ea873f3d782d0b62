"""``fieldface central user add`` (password typed twice, the unit's rules) and ``central console-log``."""

from __future__ import annotations

from tests.processes import clean_env, run_in_terminal
from tests.sync.conftest import central_env, central_store


def test_user_add_and_console_log_verify(tmp_path, fast_config_file, run_cli):
    central_store(tmp_path).close()
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file), **central_env(tmp_path))
    store = ["central", "--store", str(tmp_path / "central")]
    code, screen = run_in_terminal([*store, "user", "add", "ada", "--role", "auditor"], ["password123", "password123"],
                                   env, prompts=(b"password: ", b"again: "))  # fmt: skip
    assert code == 2 and "too easy to guess" in screen
    good = "violet harbour lantern 42"
    code, screen = run_in_terminal([*store, "user", "add", "ada", "--role", "auditor", "--role", "supervisor"],
                                   [good, good], env, prompts=(b"password: ", b"again: "))  # fmt: skip
    assert code == 0 and "console user ada: auditor, supervisor" in screen
    done = run_cli(*store, "console-log", env=env)
    assert done.returncode == 0 and "console log intact: 1 entries" in done.stdout
    bad = run_cli(*store, "user", "add", "bob", "--role", "root", env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
