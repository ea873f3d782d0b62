"""``fieldface user ...``: accounts from the console, through the workflow's rules and audit."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest

from tests.conftest import FAST_KEYS
from tests.processes import clean_env, run_in_terminal
from tests.workflow.conftest import FAST_WORKFLOW, NEXT_YEAR, PASSWORD

SOON = (date.today() + timedelta(days=200)).isoformat()

# "new password: ", "repeat the new password: " and "password for NAME"
PROMPTS = (b"password: ", b"password for")


@pytest.fixture
def unit(tmp_path, key_file, run_cli):
    """An initialised data dir, the config (cheap Argon2) and a ``cli(*args)`` that runs fieldface on it."""
    config = tmp_path / "users.toml"
    config.write_text("[keys]\n" + "".join(f"{k} = {v}\n" for k, v in FAST_KEYS.items())
                      + "[workflow]\n" + "".join(f"{k} = {v}\n" for k, v in FAST_WORKFLOW.items()))  # fmt: skip
    env = {"FIELDFACE_CONFIG": str(config), "FIELDFACE_KEY_FILE": str(key_file)}
    data = str(tmp_path / "data")
    assert run_cli("--data-dir", data, "init", "--device-id", "users-unit", env=env).returncode == 0
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")

    def cli(*args, **kw):
        return run_cli("--data-dir", data, *args, **{"env": env, **kw})

    cli.password_file, cli.env, cli.data = str(password_file), env, data
    return cli


def users(cli) -> dict:
    result = cli("user", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {u["username"]: u for u in json.loads(result.stdout)["users"]}


def audit_actions(cli) -> list[tuple[str, str, str]]:
    out = cli("audit", "export")
    assert out.returncode == 0, out.stderr
    entries = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    entries = [e for e in entries if e.get("type") == "entry"]
    return [(e["action"], e["actor"], e.get("object") or "") for e in entries if e["action"].startswith("user.")]


def test_add_list_disable_set_training_and_password_are_audited(unit):
    assert "no users yet" in unit("user", "list").stdout
    r = unit("user", "add", "boss", "--role", "supervisor", "--training-valid-until", NEXT_YEAR,
             "--password-file", unit.password_file)  # fmt: skip
    assert r.returncode == 0 and "added boss (supervisor)" in r.stdout, r.stderr
    r = unit("user", "add", "Ann", "--role", "examiner", "--role", "reviewer", "--password-file", unit.password_file)
    assert r.returncode == 0 and "not recorded" in r.stdout, r.stderr
    listed = users(unit)
    assert listed["ann"]["roles"] == ["examiner", "reviewer"] and listed["ann"]["training_valid_until"] is None
    assert listed["boss"]["active"] is True
    assert "ann " in unit("user", "list").stdout

    assert unit("user", "set-training", "ann", SOON).returncode == 0
    assert users(unit)["ann"]["training_valid_until"] == SOON
    assert unit("user", "set-password", "ann", "--password-file", unit.password_file).returncode == 0
    r = unit("user", "disable", "ann")
    assert r.returncode == 0 and "disabled ann" in r.stdout
    assert users(unit)["ann"]["active"] is False
    assert "already disabled" in unit("user", "disable", "ann").stdout

    me = f"cli:{os.environ.get('USER') or __import__('getpass').getuser()}"
    assert audit_actions(unit) == [
        ("user.create", me, "user:boss"),
        ("user.create", me, "user:ann"),
        ("user.update", me, "user:ann"),
        ("user.password", me, "user:ann"),
        ("user.update", me, "user:ann"),
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("user", "add", "x", "--role", "examiner"), 2, "a username is 2-32"),
        (("user", "add", "zed", "--role", "pilot"), 2, "unknown role(s) pilot"),
        (("user", "add", "zed", "--role", "examiner", "--training-valid-until", "soon"), 2, "is not a date"),
        (("user", "add", "zed"), 2, "--role"),
        (("user", "disable", "ghost"), 2, "there is no user 'ghost'"),
        (("user", "set-training", "ghost", "2030-01-01"), 2, "there is no user 'ghost'"),
        (("user", "set-password", "ghost"), 2, "there is no user 'ghost'"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code(unit, args, code, message):
    needs_password = args[:2] == ("user", "add") and "--role" in args
    r = unit(*args, *(("--password-file", unit.password_file) if needs_password else ()))
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_refusals_and_nothing_half_done(unit, tmp_path):
    assert unit("user", "add", "boss", "--role", "supervisor", "--password-file", unit.password_file).returncode == 0
    again = unit("user", "add", "boss", "--role", "auditor", "--password-file", unit.password_file)
    assert again.returncode == 2 and "already a user 'boss'" in again.stderr
    short = tmp_path / "short"
    short.write_text("short\n")
    r = unit("user", "add", "ann", "--role", "examiner", "--password-file", str(short))
    assert r.returncode == 2 and "at least 10 characters" in r.stderr
    # No terminal and no file: refused before anything is written, never a hang on a prompt.
    r = unit("user", "add", "ann", "--role", "examiner", input="")
    assert r.returncode == 2 and "use --password-file" in r.stderr
    assert set(users(unit)) == {"boss"}
    assert unit("user", "set-training", "boss", "tomorrow").returncode == 2
    locked = unit("user", "list", env={**unit.env, "FIELDFACE_KEY_FILE": str(tmp_path / "missing")})
    assert locked.returncode == 3


def test_password_typed_twice_at_the_terminal(unit):
    env = clean_env(**unit.env)
    argv = ["--data-dir", unit.data, "user", "add", "sup", "--role", "supervisor"]
    code, out = run_in_terminal(argv, [PASSWORD, "something else entirely"], env, PROMPTS)
    assert code == 2 and "the two passwords differ" in out, out
    code, out = run_in_terminal(argv, [PASSWORD, PASSWORD], env, PROMPTS)
    assert code == 0 and "added sup" in out, out
    assert PASSWORD not in out, "the password is not echoed"
    reset = ["--data-dir", unit.data, "user", "set-password", "sup"]
    code, out = run_in_terminal(reset, [PASSWORD + "!", PASSWORD + "!"], env, PROMPTS)
    assert code == 0 and "password of sup set" in out, out


def test_the_console_follows_the_policys_training_horizon(unit):
    """The policy is the one source: a supervisor's `policy set` reaches `user add` and
    `user set-training` on the console as it reaches the admin screen."""
    r = unit("user", "add", "boss", "--role", "supervisor", "--training-valid-until", NEXT_YEAR,
             "--password-file", unit.password_file)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = unit("policy", "set", "policy.training_valid_days", "30", "--reason", "annual refresher moved to monthly")
    assert r.returncode == 0, r.stderr
    far = (date.today() + timedelta(days=200)).isoformat()
    near = (date.today() + timedelta(days=20)).isoformat()
    refused = unit("user", "add", "ann", "--role", "examiner", "--training-valid-until", far,
                   "--password-file", unit.password_file)  # fmt: skip
    assert refused.returncode != 0 and "30" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    made = unit("user", "add", "ann", "--role", "examiner", "--training-valid-until", near,
                "--password-file", unit.password_file)  # fmt: skip
    assert made.returncode == 0, made.stderr
    refused = unit("user", "set-training", "ann", far)
    assert refused.returncode != 0 and "30" in refused.stderr
    assert users(unit)["ann"]["training_valid_until"] == near
    assert unit("user", "set-training", "ann", near).returncode == 0
